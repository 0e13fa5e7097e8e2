package reports

import (
	"cmp"
	"fmt"
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

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// tapTime renders the predicted tap time of a mode as "0.42 s"; "–" for a mode that is not
// supported (the time up to a failure tells the user nothing) or when nothing was predicted.
func tapTime(m ModeResult) string {
	if !m.Supported {
		return "–"
	}
	return tapSeconds(m.TapTime)
}

// tapSeconds renders a duration as "0.42 s", or in milliseconds under 0.1 s ("3.2 ms": a PC/SC
// reader's measured time, where "0.00 s" would read as nothing); "–" when nothing was predicted.
func tapSeconds(d time.Duration) string {
	switch {
	case d <= 0:
		return "–"
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// exactSeconds renders d as an exact decimal number of seconds ("0.42", "1.000000001"), so a
// CSV cell reads naturally in a spreadsheet and parses back to the same nanoseconds.
func exactSeconds(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	s := strconv.FormatInt(int64(d/time.Second), 10)
	if ns := int64(d % time.Second); ns != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%09d", ns), "0")
	}
	if neg {
		s = "-" + s
	}
	return s
}

// maxTransceive renders the transceive limit ("65279", "261"), with the response cap of iOS
// handsets (devices.md: responses up to 1693 bytes) when there is one.
func maxTransceive(d DeviceResult) string {
	s := "unknown"
	if d.MaxTransceive > 0 {
		s = strconv.Itoa(d.MaxTransceive)
	}
	if d.MaxResponse > 0 {
		s += " (responses ≤ " + strconv.Itoa(d.MaxResponse) + ")"
	}
	return s
}

// oneLine folds a text to a single line: reasons are table cells.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// failure is "VIS-002 terminal certificate (80 A2): transceive length exceeds ..." for a mode
// that did not pass.
func failure(m ModeResult) string {
	step, reason := oneLine(m.FailedStep), oneLine(m.Reason)
	switch {
	case step != "" && reason != "":
		return step + ": " + reason
	case step != "":
		return step
	case reason != "":
		return reason
	}
	return "failed (no reason recorded)"
}

// reasons lists the failure of each × mode, prefixed with the mode's name.
func reasons(d DeviceResult) []string {
	var out []string
	if !d.PIN.Supported {
		out = append(out, "PIN: "+failure(d.PIN))
	}
	if !d.Visual.Supported {
		out = append(out, "目視: "+failure(d.Visual))
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
