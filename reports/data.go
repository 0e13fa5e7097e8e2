package reports

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// maxJSON bounds what ReadJSON accepts: a run of thousands of devices with face photos of a
// few KB each stays far below it.
const maxJSON = 64 << 20

// WriteJSON writes the run as indented JSON (devices sorted by ID; durations in nanoseconds;
// FacePhoto base64).
func WriteJSON(w io.Writer, r *Run) error {
	if r == nil {
		return errors.New("reports: nil run")
	}
	out := *r
	out.Devices = sortedDevices(r)
	if out.Devices == nil {
		out.Devices = []DeviceResult{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(&out)
}

// ReadJSON reads a run written by WriteJSON. It is strict: unknown fields, trailing data, a
// device without an ID or two devices with the same ID are errors.
func ReadJSON(r io.Reader) (*Run, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxJSON+1))
	if err != nil {
		return nil, fmt.Errorf("reports: read JSON: %w", err)
	}
	if len(data) > maxJSON {
		return nil, fmt.Errorf("reports: JSON run larger than %d bytes", maxJSON)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var run Run
	if err := dec.Decode(&run); err != nil {
		return nil, fmt.Errorf("reports: decode JSON run: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("reports: trailing data after the JSON run")
	}
	seen := make(map[string]bool, len(run.Devices))
	for i, d := range run.Devices {
		if d.ID == "" {
			return nil, fmt.Errorf("reports: device %d has no id", i)
		}
		if seen[d.ID] {
			return nil, fmt.Errorf("reports: device %q listed twice", d.ID)
		}
		seen[d.ID] = true
	}
	return &run, nil
}

// CSVHeader is the header row of WriteCSV. Tap times are exact decimal seconds.
var CSVHeader = []string{
	"id", "maker", "model", "os", "platform", "source",
	"max_transceive", "extended", "max_response", "bit_rate_kbps",
	"pin_supported", "pin_failed_step", "pin_reason", "pin_tap_time_s",
	"visual_supported", "visual_failed_step", "visual_reason", "visual_tap_time_s",
}

// WriteCSV writes one row per device (sorted by ID) after the header row (RFC 4180).
func WriteCSV(w io.Writer, r *Run) error {
	if r == nil {
		return errors.New("reports: nil run")
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, d := range sortedDevices(r) {
		row := []string{
			d.ID, d.Maker, d.Model, d.OS, d.Platform, d.Source,
			strconv.Itoa(d.MaxTransceive), strconv.FormatBool(d.Extended),
			strconv.Itoa(d.MaxResponse), strconv.Itoa(d.BitRate),
			strconv.FormatBool(d.PIN.Supported), d.PIN.FailedStep, d.PIN.Reason, exactSeconds(d.PIN.TapTime),
			strconv.FormatBool(d.Visual.Supported), d.Visual.FailedStep, d.Visual.Reason, exactSeconds(d.Visual.TapTime),
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
