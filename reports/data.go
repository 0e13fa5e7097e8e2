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

// WriteJSON writes the run as indented JSON (docs/output.md): devices sorted by ID, every
// duration a number of milliseconds in a key ending in _ms, no time for a failed mode,
// face_photo base64.
func WriteJSON(w io.Writer, r *Run) error {
	if r == nil {
		return errors.New("reports: nil run")
	}
	out := *r
	out.Schema = Schema
	if out.Lang != LangJA {
		out.Lang = LangEN
	}
	out.Repeat = r.Runs()
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
	if run.Schema != Schema {
		return nil, fmt.Errorf("reports: schema %q, want %q", run.Schema, Schema)
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

// strictUnmarshal decodes one JSON value, refusing unknown fields.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// CSVHeader is the header row of WriteCSV. Tap times are exact decimal milliseconds, empty for
// a mode that is not supported (as in the JSON).
var CSVHeader = []string{
	"id", "maker", "model", "os", "platform", "source", "source_url",
	"max_transceive", "extended", "max_response", "bit_rate_kbps", "reader", "atr", "card",
	"envelope_longest_command", "envelope_longest_response", "envelope_extended",
	"envelope_first_failed_command", "envelope_command_failed_by", "envelope_command_cause",
	"envelope_first_failed_response", "envelope_response_failed_by", "envelope_response_cause", "envelope_unreachable",
	"pin_supported", "pin_failed_step", "pin_cause", "pin_reason", "pin_remedy", "pin_tap_time_ms", "pin_runs", "pin_passed_runs",
	"visual_supported", "visual_failed_step", "visual_cause", "visual_reason", "visual_remedy", "visual_tap_time_ms", "visual_runs", "visual_passed_runs",
}

// envelopeCSV is the envelope's cells: empty when it was not measured, numbers 0 for "none".
func envelopeCSV(e *Envelope) []string {
	if e == nil {
		return make([]string, 10)
	}
	if e.Unreachable != "" {
		return []string{"", "", "", "", "", "", "", "", "", e.Unreachable}
	}
	return []string{
		strconv.Itoa(e.LongestCommand), strconv.Itoa(e.LongestResponse), strconv.FormatBool(e.Extended),
		strconv.Itoa(e.FirstFailedCommand), e.CommandFailedBy, e.CommandCause,
		strconv.Itoa(e.FirstFailedResponse), e.ResponseFailedBy, e.ResponseCause, "",
	}
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
			d.ID, d.Maker, d.Model, d.OS, d.Platform, d.Source, d.SourceURL,
			strconv.Itoa(d.MaxTransceive), strconv.FormatBool(d.Extended),
			strconv.Itoa(d.MaxResponse), strconv.Itoa(d.BitRate), d.Reader, d.ATR, d.Card,
		}
		row = append(row, envelopeCSV(d.Envelope)...)
		for _, m := range []ModeResult{d.PIN, d.Visual} {
			tap := ""
			if m.Supported {
				tap = Millis(m.TapTime)
			}
			row = append(row, strconv.FormatBool(m.Supported), m.FailedStep, m.Cause, oneLine(m.Reason), oneLine(m.Remedy), tap,
				strconv.Itoa(m.Runs), strconv.Itoa(m.PassedRuns))
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
