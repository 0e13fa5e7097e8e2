package reports

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Schema names the JSON layout of a run (docs/output.md). It changes when a field changes
// meaning or unit.
const Schema = "mynaconform.supported-devices/v2"

// Run is one conformance run: every device of a target with its verdict per mode.
type Run struct {
	Schema    string         `json:"schema"`              // Schema
	Target    string         `json:"target"`              // "emulator" | "pcsc"
	Catalogue string         `json:"catalogue,omitempty"` // where the profiles came from
	Lang      string         `json:"lang"`                // "ja" | "en": the language of remedy texts
	Started   time.Time      `json:"started"`             // not in the Markdown (golden)
	Devices   []DeviceResult `json:"devices"`             // sorted by ID
}

// DeviceResult is one handset (or PC/SC reader) with its limits and its verdict per mode.
type DeviceResult struct {
	ID            string `json:"id"`
	Maker         string `json:"maker"`
	Model         string `json:"model"`
	OS            string `json:"os"`
	Platform      string `json:"platform"`             // "android" | "ios" | "pcsc"
	Source        string `json:"source"`               // where the profile's facts come from, "synthetic" otherwise
	SourceURL     string `json:"source_url,omitempty"` // a link to that source
	MaxTransceive int    `json:"max_transceive"`       // bytes; 0 unknown
	Extended      bool   `json:"extended"`
	MaxResponse   int    `json:"max_response"` // bytes, 0 none
	BitRate       int    `json:"bit_rate"`     // kbit/s, 0 unknown (PC/SC)
	// PC/SC: what was measured.
	Reader string     `json:"reader,omitempty"` // the reader's PC/SC name
	ATR    string     `json:"atr,omitempty"`    // the card's answer to reset, hex
	Card   string     `json:"card,omitempty"`   // which card: the virtual card of a persona, or the lab's test card
	PIN    ModeResult `json:"pin"`
	Visual ModeResult `json:"visual"`
	// FacePhoto is the JPEG 2000 photo as read from the card in a passing visual run (nil
	// otherwise); the HTML page shows it as the staff would see it.
	FacePhoto []byte `json:"face_photo,omitempty"`
}

// ModeResult is the verdict of one mode (暗証番号 or 目視確認) on one device. A mode that is not
// supported has no tap time and no steps: the time up to a failure predicts nothing.
type ModeResult struct {
	Supported  bool          // ◯ when every spec of the mode passed
	FailedStep string        // spec ID + step of the first failure, e.g. "VIS-001 terminal certificate (80 A2)"
	Cause      string        // one of the Cause constants
	Reason     string        // the failure as the code saw it (one line, English)
	Remedy     string        // what the cause means and what a vendor can do, in the run's language
	TapTime    time.Duration // predicted time the card must stay on the handset for the mode's card steps
	Steps      []StepTime    // the same, per card step
}

// StepTime is the predicted time of one card step of a mode.
type StepTime struct {
	Step  string
	Time  time.Duration
	APDUs int
	Bytes int // command + response bytes on the air
}

// Millis renders a duration as an exact decimal number of milliseconds ("690.123456"): the one
// unit of every format.
func Millis(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', -1, 64)
}

func parseMillis(f float64) (time.Duration, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > float64(math.MaxInt64/int64(time.Millisecond)) {
		return 0, fmt.Errorf("%v ms is not a duration", f)
	}
	return time.Duration(math.Round(f * float64(time.Millisecond))), nil
}

type modeJSON struct {
	Supported  bool       `json:"supported"`
	FailedStep string     `json:"failed_step,omitempty"`
	Cause      string     `json:"cause,omitempty"`
	Reason     string     `json:"reason,omitempty"`
	Remedy     string     `json:"remedy,omitempty"`
	TapTimeMS  *jsonMS    `json:"tap_time_ms"` // null when not supported
	Steps      []StepTime `json:"steps,omitempty"`
}

type stepJSON struct {
	Step   string `json:"step"`
	TimeMS jsonMS `json:"time_ms"`
	APDUs  int    `json:"apdus"`
	Bytes  int    `json:"bytes"`
}

// jsonMS is a duration written as a JSON number of milliseconds.
type jsonMS time.Duration

func (m jsonMS) MarshalJSON() ([]byte, error) { return []byte(Millis(time.Duration(m))), nil }

func (m *jsonMS) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	d, err := parseMillis(f)
	*m = jsonMS(d)
	return err
}

func (m ModeResult) MarshalJSON() ([]byte, error) {
	j := modeJSON{Supported: m.Supported, FailedStep: m.FailedStep, Cause: m.Cause, Reason: m.Reason, Remedy: m.Remedy}
	if m.Supported {
		t := jsonMS(m.TapTime)
		j.TapTimeMS = &t
		j.Steps = m.Steps
	}
	return json.Marshal(j)
}

func (m *ModeResult) UnmarshalJSON(b []byte) error {
	var j modeJSON
	if err := strictUnmarshal(b, &j); err != nil {
		return err
	}
	*m = ModeResult{Supported: j.Supported, FailedStep: j.FailedStep, Cause: j.Cause, Reason: j.Reason, Remedy: j.Remedy, Steps: j.Steps}
	if j.TapTimeMS != nil {
		m.TapTime = time.Duration(*j.TapTimeMS)
	}
	return nil
}

func (s StepTime) MarshalJSON() ([]byte, error) {
	return json.Marshal(stepJSON{Step: s.Step, TimeMS: jsonMS(s.Time), APDUs: s.APDUs, Bytes: s.Bytes})
}

func (s *StepTime) UnmarshalJSON(b []byte) error {
	var j stepJSON
	if err := strictUnmarshal(b, &j); err != nil {
		return err
	}
	*s = StepTime{Step: j.Step, Time: time.Duration(j.TimeMS), APDUs: j.APDUs, Bytes: j.Bytes}
	return nil
}

// shown returns the mode as every format shows it: no time or steps for a failed mode.
func shown(m ModeResult) ModeResult {
	if !m.Supported {
		m.TapTime, m.Steps = 0, nil
	}
	return m
}
