package reports

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/width"
)

// Summary writes an aligned plain-text table of the run for the terminal (what `make run`
// prints at the end): one line per device, then the per-mode counts. Columns are padded by
// display width, so Japanese maker or model names stay aligned; marks are ASCII ("ok", "NO")
// because ◯ and × have an ambiguous width in terminals.
func Summary(w io.Writer, r *Run) error {
	if r == nil {
		return errors.New("reports: nil run")
	}
	ds := sortedDevices(r)
	rows := [][]string{{"ID", "MAKER", "MODEL", "OS", "MAX", "EXT", "PIN", "VISUAL", "TAP PIN", "TAP VISUAL", "REASON"}}
	for _, d := range ds {
		rows = append(rows, []string{
			oneLine(d.ID), oneLine(d.Maker), oneLine(d.Model), oneLine(d.OS),
			maxTransceive(d), yesNo(d.Extended),
			okNo(d.PIN), okNo(d.Visual),
			tapTime(d.PIN), tapTime(d.Visual),
			strings.Join(reasons(d), "; "),
		})
	}
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row[:len(row)-1] {
			widths[i] = max(widths[i], displayWidth(c))
		}
	}
	bw := bufio.NewWriter(w)
	for _, row := range rows {
		var b strings.Builder
		for i, c := range row {
			b.WriteString(c)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-displayWidth(c)+2))
			}
		}
		fmt.Fprintln(bw, strings.TrimRight(b.String(), " "))
	}
	c := count(ds)
	fmt.Fprintf(bw, "\n%s: %d devices; PIN ok %d, visual (目視) ok %d, both %d, neither %d\n",
		orUnknown(r.Target), c.total, c.pin, c.visual, c.both, c.none)
	return bw.Flush()
}

func okNo(m ModeResult) string {
	if m.Supported {
		return "ok"
	}
	return "NO"
}

// displayWidth counts East Asian wide and full-width runes as two columns.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		switch width.LookupRune(r).Kind() {
		case width.EastAsianWide, width.EastAsianFullwidth:
			n += 2
		default:
			n++
		}
	}
	return n
}
