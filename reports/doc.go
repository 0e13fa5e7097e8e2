// Package reports turns a conformance run into the supported-device list: Markdown (checked in
// and golden-tested, so deterministic), a self-contained HTML page with the face-photo thumbnail
// of passing visual runs, JSON and CSV, plus a plain-text summary for the terminal.
//
// The model (Run, DeviceResult, ModeResult) is filled by the conformance suite in its
// ReportAfterSuite; this package only renders it. Nothing here ever sees a PIN, 照合番号 or My
// Number: reasons are one-line failure texts written by the suite.
package reports
