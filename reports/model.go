package reports

import "time"

// Run is one conformance run: every device of a target with its verdict per mode.
type Run struct {
	Target    string         `json:"target"`              // "emulator" | "pcsc"
	Catalogue string         `json:"catalogue,omitempty"` // where the profiles came from
	Started   time.Time      `json:"started"`             // not in the Markdown (golden)
	Devices   []DeviceResult `json:"devices"`             // sorted by ID
}

// DeviceResult is one handset (or PC/SC reader) with its limits and its verdict per mode.
type DeviceResult struct {
	ID            string     `json:"id"`
	Maker         string     `json:"maker"`
	Model         string     `json:"model"`
	OS            string     `json:"os"`
	Platform      string     `json:"platform"`       // "android" | "ios" | "pcsc"
	Source        string     `json:"source"`         // where the profile's facts come from, "synthetic" otherwise
	MaxTransceive int        `json:"max_transceive"` // bytes; 0 unknown
	Extended      bool       `json:"extended"`
	MaxResponse   int        `json:"max_response"` // 0 none
	BitRate       int        `json:"bit_rate"`     // kbit/s, 0 unknown (PC/SC)
	PIN           ModeResult `json:"pin"`
	Visual        ModeResult `json:"visual"`
	// FacePhoto is the JPEG 2000 photo as read from the card in a passing visual run (nil
	// otherwise); the HTML page shows it as the staff would see it.
	FacePhoto []byte `json:"face_photo,omitempty"`
}

// ModeResult is the verdict of one mode (PIN or 目視) on one device.
type ModeResult struct {
	Supported  bool          `json:"supported"`             // ◯ when every spec of the mode passed
	FailedStep string        `json:"failed_step,omitempty"` // spec ID + step name of the first failure, e.g. "VIS-002 terminal certificate (80 A2)"
	Reason     string        `json:"reason,omitempty"`      // the failure reason as a user reads it (one line)
	TapTime    time.Duration `json:"tap_time"`              // predicted time the card must stay on the handset for the mode's card steps
	Steps      []StepTime    `json:"steps,omitempty"`       // per card step
}

// StepTime is the predicted time of one card step of a mode.
type StepTime struct {
	Step  string        `json:"step"`
	Time  time.Duration `json:"time"` // nanoseconds in JSON
	APDUs int           `json:"apdus"`
	Bytes int           `json:"bytes"` // command + response bytes on the air
}
