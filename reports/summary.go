package reports

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/width"
)

// ANSI colours of the marks on a terminal.
const (
	ansiGreen = "\x1b[32m"
	ansiRed   = "\x1b[31m"
	ansiReset = "\x1b[0m"
)

// Summary writes an aligned plain-text table of the run for the terminal (what `make run`
// prints at the end) in the run's language: one line per device with the same marks (◯/×) and
// milliseconds as the files, then the per-mode counts, then each distinct remedy once. Columns
// are padded by display width, so Japanese names stay aligned (◯ and × count as one column, as
// most terminals draw them). color adds ANSI colour to the marks: only for a terminal.
func Summary(w io.Writer, r *Run, color bool) error {
	if r == nil {
		return errors.New("reports: nil run")
	}
	lang := r.Lang
	ds := sortedDevices(r)
	repeat := r.Runs() > 1
	head := []string{"ID", txtMaker.in(lang), txtModel.in(lang), txtMaxTx.in(lang), txtEnvShortCol.in(lang), txtPINShort.in(lang), txtVisualShort.in(lang)}
	if repeat {
		head = append(head, txtPassRatePIN.in(lang), txtPassRateVisual.in(lang))
	}
	head = append(head, txtTapPIN.in(lang), txtTapVisual.in(lang), txtReason.in(lang))
	rows := [][]string{head}
	type fix struct{ cause, text string }
	var fixes []fix
	seen := map[fix]bool{}
	for _, d := range ds {
		var why []string
		for _, m := range []struct {
			name text
			r    ModeResult
		}{{txtPINShort, d.PIN}, {txtVisualShort, d.Visual}} {
			if m.r.Supported {
				continue
			}
			why = append(why, m.name.in(lang)+": "+failure(lang, m.r))
			if f := (fix{m.r.Cause, oneLine(m.r.Remedy)}); f.text != "" && !seen[f] {
				seen[f] = true
				fixes = append(fixes, f)
			}
		}
		row := []string{oneLine(d.ID), oneLine(d.Maker), oneLine(d.Model), maxTransceive(lang, d), envShort(lang, d.Envelope), mark(d.PIN), mark(d.Visual)}
		if repeat {
			row = append(row, passRate(d.PIN), passRate(d.Visual))
		}
		rows = append(rows, append(row, tapTime(d.PIN), tapTime(d.Visual), strings.Join(why, "; ")))
	}
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row[:len(row)-1] {
			widths[i] = max(widths[i], displayWidth(c))
		}
	}
	bw := bufio.NewWriter(w)
	for ri, row := range rows {
		var b strings.Builder
		for i, c := range row {
			pad := ""
			if i < len(row)-1 {
				pad = strings.Repeat(" ", widths[i]-displayWidth(c)+2)
			}
			if color && ri > 0 && (c == markYes || c == markNo) {
				col := ansiGreen
				if c == markNo {
					col = ansiRed
				}
				c = col + c + ansiReset
			}
			b.WriteString(c + pad)
		}
		fmt.Fprintln(bw, strings.TrimRight(b.String(), " "))
	}
	c := count(ds)
	fmt.Fprintf(bw, "\n%s (%s): %s %d; %s ◯ %d, %s ◯ %d, %s %d, %s %d",
		txtTitle.in(lang), orUnknown(r.Target), txtDevices.in(lang), c.total, txtPINShort.in(lang), c.pin,
		txtVisualShort.in(lang), c.visual, txtBoth.in(lang), c.both, txtNeither.in(lang), c.none)
	if repeat {
		fmt.Fprintf(bw, "; %s %d", txtRuns.in(lang), r.Runs())
	}
	fmt.Fprintln(bw)
	if len(fixes) > 0 {
		fmt.Fprintf(bw, "\n%s (×):\n", txtRemedy.in(lang))
		for _, f := range fixes {
			fmt.Fprintf(bw, "- [%s] %s\n", f.cause, f.text)
		}
	}
	return bw.Flush()
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

var (
	txtLeft    = text{"left", "残り"}
	txtAbout   = text{"about", "約"}
	txtSeconds = text{"s", "秒"}
)

// ProgressLine is the terminal's line for one finished device: "[ 3/20] google-nexus-s  PIN ◯
// 目視確認 ×  about 2 s left". color adds ANSI colour to the marks (only for a terminal).
func ProgressLine(lang string, color bool, done, total int, d DeviceResult, left time.Duration) string {
	w := len(strconv.Itoa(total))
	m := func(r ModeResult) string {
		s := mark(r)
		if color {
			col := ansiGreen
			if !r.Supported {
				col = ansiRed
			}
			s = col + s + ansiReset
		}
		return s
	}
	line := fmt.Sprintf("[%*d/%d] %s  %s %s  %s %s", w, done, total, d.ID,
		txtPINShort.in(lang), m(d.PIN), txtVisualShort.in(lang), m(d.Visual))
	if secs := int(left.Round(time.Second) / time.Second); done < total && secs > 0 {
		if lang == LangJA {
			line += fmt.Sprintf("  %s %s%d %s", txtLeft.in(lang), txtAbout.in(lang), secs, txtSeconds.in(lang))
		} else {
			line += fmt.Sprintf("  %s %d %s %s", txtAbout.in(lang), secs, txtSeconds.in(lang), txtLeft.in(lang))
		}
	}
	return line
}
