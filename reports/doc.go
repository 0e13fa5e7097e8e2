// Package reports turns a conformance run into the supported-device list: Markdown (checked in
// and golden-tested, so deterministic), a self-contained HTML page with the face-photo thumbnail
// of passing visual runs, JSON (schema.json) and CSV, plus a summary and progress lines for the
// terminal. Every format carries the same verdicts and the same times in milliseconds, and
// none gives a time for a mode that is not supported (docs/output.md).
//
// The list is written in Japanese or English (Run.Lang; Localize fills each failure's remedy
// from its cause code) with the official app's words for the modes, 暗証番号 and 目視確認. The
// model (Run, DeviceResult, ModeResult) is filled by the conformance suite from its report; this
// package only renders it. Nothing here ever sees a PIN, 照合番号 or My Number: reasons are
// one-line failure texts written by the suite.
package reports
