package reports

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Marks of the supported-device list, as on the portal's list (◯ supported, × not).
const (
	markYes = "◯"
	markNo  = "×"
)

// sortedDevices returns the devices ordered by ID (stable), without touching r.
func sortedDevices(r *Run) []DeviceResult {
	ds := slices.Clone(r.Devices)
	slices.SortStableFunc(ds, func(a, b DeviceResult) int { return cmp.Compare(a.ID, b.ID) })
	return ds
}

func mark(m ModeResult) string {
	if m.Supported {
		return markYes
	}
	return markNo
}

func yesNo(lang string, b bool) string {
	if b {
		return txtYes.in(lang)
	}
	return txtNo.in(lang)
}

// tapTime renders the predicted tap time of a mode in milliseconds with one decimal
// ("690.1"), the unit of every format; "–" for a mode that is not supported (the time up to a
// failure predicts nothing) or when nothing was predicted.
func tapTime(m ModeResult) string {
	if !m.Supported || m.TapTime <= 0 {
		return "–"
	}
	return msShown(m.TapTime)
}

// msShown is a duration in milliseconds rounded to 0.1 ms, as the Markdown, the page and the
// terminal show it (JSON and CSV carry the exact value).
func msShown(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64)
}

// maxTransceive renders the transceive limit ("65279", "261"), with the response cap of iOS
// handsets (docs/handsets.md: responses up to 1693 bytes) when there is one.
func maxTransceive(lang string, d DeviceResult) string {
	s := txtUnknown.in(lang)
	if d.MaxTransceive > 0 {
		s = strconv.Itoa(d.MaxTransceive)
	}
	if d.MaxResponse > 0 {
		s += " (" + txtResponses.in(lang) + " ≤ " + strconv.Itoa(d.MaxResponse) + ")"
	}
	return s
}

// oneLine folds a text to a single line: reasons are table cells.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// failure is "VIS-001 terminal certificate (80 A2): transceive length exceeds ..." for a mode
// that did not pass.
func failure(lang string, m ModeResult) string {
	step, reason := oneLine(failedStep(lang, m.FailedStep)), oneLine(m.Reason)
	switch {
	case step != "" && reason != "":
		return step + ": " + reason
	case step != "":
		return step
	case reason != "":
		return reason
	}
	return txtNoReason.in(lang)
}

// reasons lists the failure of each × mode, prefixed with the mode's name, with its remedy.
func reasons(lang string, d DeviceResult) []string {
	var out []string
	for _, m := range []struct {
		name text
		r    ModeResult
	}{{txtPINShort, d.PIN}, {txtVisualShort, d.Visual}} {
		if m.r.Supported {
			continue
		}
		s := m.name.in(lang) + ": " + failure(lang, m.r)
		if m.r.Remedy != "" {
			s += " — " + txtRemedy.in(lang) + ": " + oneLine(m.r.Remedy)
		}
		out = append(out, s)
	}
	return out
}

// counts is the per-mode summary of a run.
type counts struct{ total, pin, visual, both, none int }

func count(ds []DeviceResult) counts {
	c := counts{total: len(ds)}
	for _, d := range ds {
		if d.PIN.Supported {
			c.pin++
		}
		if d.Visual.Supported {
			c.visual++
		}
		if d.PIN.Supported && d.Visual.Supported {
			c.both++
		}
		if !d.PIN.Supported && !d.Visual.Supported {
			c.none++
		}
	}
	return c
}

// passRate renders a mode's pass rate over the runs of a -repeat run: "2/3 (67%)"; "–" when the
// mode never ran.
func passRate(m ModeResult) string {
	if m.Runs <= 0 {
		return "–"
	}
	return strconv.Itoa(m.PassedRuns) + "/" + strconv.Itoa(m.Runs) + " (" + strconv.Itoa(int(m.PassRate()*100+0.5)) + "%)"
}

// envLongest renders a measured length in bytes, "–" without a measurement.
func envLongest(e *Envelope, n func(*Envelope) int) string {
	if e == nil || e.Unreachable != "" {
		return "–"
	}
	return strconv.Itoa(n(e))
}

func envCommand(e *Envelope) string {
	return envLongest(e, func(e *Envelope) int { return e.LongestCommand })
}
func envResponse(e *Envelope) string {
	return envLongest(e, func(e *Envelope) int { return e.LongestResponse })
}

func envExtended(lang string, e *Envelope) string {
	if e == nil || e.Unreachable != "" {
		return "–"
	}
	return yesNo(lang, e.Extended)
}

// envFailures lists the first command length and the first Le that did not carry, each with the
// spec that found it and the cause: "command 262 B (TRN-C262, transceive-length)"; "none" when
// everything carried, "not reached (no-nfc)" when no probe reached the card, "–" when the
// envelope was not measured.
func envFailures(lang string, e *Envelope) []string {
	switch {
	case e == nil:
		return []string{"–"}
	case e.Unreachable != "":
		return []string{txtNotReached.in(lang) + " (" + e.Unreachable + ")"}
	}
	var out []string
	if e.FirstFailedCommand > 0 {
		out = append(out, txtEnvCommand.in(lang)+" "+strconv.Itoa(e.FirstFailedCommand)+" B ("+e.CommandFailedBy+", "+e.CommandCause+")")
	}
	if e.FirstFailedResponse > 0 {
		out = append(out, txtEnvResponse.in(lang)+" Le "+strconv.Itoa(e.FirstFailedResponse)+" ("+e.ResponseFailedBy+", "+e.ResponseCause+")")
	}
	if out == nil {
		out = []string{txtNone.in(lang)}
	}
	return out
}

// envShort is the envelope in one terminal cell: "261/5890 short ✗TRN-C262".
func envShort(lang string, e *Envelope) string {
	switch {
	case e == nil:
		return "–"
	case e.Unreachable != "":
		return "– (" + e.Unreachable + ")"
	}
	s := strconv.Itoa(e.LongestCommand) + "/" + strconv.Itoa(e.LongestResponse)
	if e.Extended {
		s += " " + txtExt.in(lang)
	} else {
		s += " " + txtShortOnly.in(lang)
	}
	for _, by := range []string{e.CommandFailedBy, e.ResponseFailedBy} {
		if by != "" {
			s += " ✗" + by
		}
	}
	return s
}
