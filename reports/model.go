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
	Schema    string    `json:"schema"`              // Schema
	Target    string    `json:"target"`              // "emulator" | "pcsc"
	Catalogue string    `json:"catalogue,omitempty"` // where the profiles came from
	Lang      string    `json:"lang"`                // "ja" | "en": the language of remedy texts
	Started   time.Time `json:"started"`             // not in the Markdown (golden)
	// Repeat is how many times each device's path ran (-repeat; 0 in a list of before it: 1).
	Repeat  int            `json:"repeat"`
	Devices []DeviceResult `json:"devices"` // sorted by ID
}

// Runs is how many times each device's path ran (at least 1).
func (r *Run) Runs() int { return max(r.Repeat, 1) }

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
	Reader string `json:"reader,omitempty"` // the reader's PC/SC name
	ATR    string `json:"atr,omitempty"`    // the card's answer to reset, hex
	Card   string `json:"card,omitempty"`   // which card: the virtual card of a persona, or the lab's test card
	// Envelope is the APDU envelope the TRN specs measured (nil when none of them ran).
	Envelope *Envelope  `json:"envelope"`
	PIN      ModeResult `json:"pin"`
	Visual   ModeResult `json:"visual"`
	// FacePhoto is the JPEG 2000 photo as read from the card in a passing visual run (nil
	// otherwise); the HTML page shows it as the staff would see it.
	FacePhoto []byte `json:"face_photo,omitempty"`
}

// Envelope is a device's APDU envelope as the envelope stage (the TRN specs) measured it with a
// card: the longest command and response that went through, whether extended-length APDUs did,
// and the first lengths that did not, each with the spec that found it and why.
type Envelope struct {
	LongestCommand  int  `json:"longest_command"`  // bytes of the longest command APDU carried
	LongestResponse int  `json:"longest_response"` // bytes of the longest response APDU, SW included
	Extended        bool `json:"extended"`         // a 262-byte command and an Le of 257 both carried
	// FirstFailedCommand is the shortest command (bytes) that did not carry, exact after
	// bisection; 0 when every command carried. CommandFailedBy is the spec whose probe found the
	// failure, CommandCause why it failed (a cause code).
	FirstFailedCommand int    `json:"first_failed_command,omitempty"`
	CommandFailedBy    string `json:"command_failed_by,omitempty"`
	CommandCause       string `json:"command_cause,omitempty"`
	// FirstFailedResponse is the smallest Le (bytes asked) whose response did not carry; 0 when
	// every response carried.
	FirstFailedResponse int    `json:"first_failed_response,omitempty"`
	ResponseFailedBy    string `json:"response_failed_by,omitempty"`
	ResponseCause       string `json:"response_cause,omitempty"`
	// Unreachable is the cause code when no probe reached the card (no NFC, no ISO-DEP, no card):
	// then nothing else is set.
	Unreachable string `json:"unreachable,omitempty"`
}

// ModeResult is the verdict of one mode (暗証番号 or 目視確認) on one device. A mode that is not
// supported has no tap time and no steps: the time up to a failure predicts nothing. With
// -repeat the verdict is ◯ only when the mode passed in every run; Runs and PassedRuns give
// the pass rate.
type ModeResult struct {
	Supported  bool          // ◯ when every spec of the mode passed (in every run)
	FailedStep string        // spec ID + step of the first failure, e.g. "VIS-001 terminal certificate (80 A2)"
	Cause      string        // one of the Cause constants
	Reason     string        // the failure as the code saw it (one line, English)
	Remedy     string        // what the cause means and what a vendor can do, in the run's language
	TapTime    time.Duration // predicted time the card must stay on the handset for the mode's card steps
	Steps      []StepTime    // the same, per card step
	Runs       int           // runs of the device's path in which the mode ran
	PassedRuns int           // of those, the runs in which it passed
}

// PassRate is PassedRuns / Runs (0 when the mode never ran).
func (m ModeResult) PassRate() float64 {
	if m.Runs <= 0 {
		return 0
	}
	return float64(m.PassedRuns) / float64(m.Runs)
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
	Runs       int        `json:"runs"`
	PassedRuns int        `json:"passed_runs"`
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
	j := modeJSON{Supported: m.Supported, FailedStep: m.FailedStep, Cause: m.Cause, Reason: m.Reason, Remedy: m.Remedy, Runs: m.Runs, PassedRuns: m.PassedRuns}
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
	*m = ModeResult{Supported: j.Supported, FailedStep: j.FailedStep, Cause: j.Cause, Reason: j.Reason, Remedy: j.Remedy, Steps: j.Steps, Runs: j.Runs, PassedRuns: j.PassedRuns}
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
