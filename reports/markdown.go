package reports

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// mdCell escapes a text for a GitHub-flavoured Markdown table cell: one line, no column break,
// no raw HTML ("<" starts a tag; ">" and "&" stay readable, as in "(612 > 261)").
var mdCell = strings.NewReplacer(`\`, `\\`, `|`, `\|`, `<`, `&lt;`)

func cell(s string) string { return mdCell.Replace(oneLine(s)) }

// WriteMarkdown writes the supported-device list as Markdown. The output depends only on the
// run's target, catalogue and devices (sorted by ID), never on Started or the machine, so the
// list of a checked-in catalogue can be checked in and compared byte for byte.
func WriteMarkdown(w io.Writer, r *Run) error {
	if r == nil {
		return fmt.Errorf("reports: nil run")
	}
	ds := sortedDevices(r)
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }

	p("# Supported devices (%s)\n\n", cell(orUnknown(r.Target)))
	if r.Catalogue != "" {
		p("Device catalogue: `%s`\n\n", strings.ReplaceAll(oneLine(r.Catalogue), "`", "'"))
	}
	p("Legend: %s supported (every spec of the mode passed), %s not supported (the failing step and its reason are given). ", markYes, markNo)
	p("Max transceive in bytes; extended = extended-length APDUs (Lc/Le). ")
	p("Tap time: predicted time the card must stay on the handset for the mode's card steps (PIN / 目視).\n\n")

	p("| ID | Maker | Model | OS | Max transceive | Extended | PIN | 目視 | Tap time (PIN / 目視) | Reason (×) | Source |\n")
	p("|---|---|---|---|--:|:-:|:-:|:-:|--:|---|---|\n")
	for _, d := range ds {
		p("| %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s | %s |\n",
			cell(d.ID), cell(d.Maker), cell(d.Model), cell(d.OS),
			cell(maxTransceive(d)), yesNo(d.Extended),
			mark(d.PIN), mark(d.Visual),
			tapTime(d.PIN), tapTime(d.Visual),
			cellJoin(reasons(d)), cell(d.Source))
	}

	c := count(ds)
	p("\n## Summary\n\n")
	p("- Devices: %d\n", c.total)
	p("- PIN mode %s: %d of %d\n", markYes, c.pin, c.total)
	p("- 目視 mode %s: %d of %d\n", markYes, c.visual, c.total)
	p("- Both modes %s: %d; neither: %d\n", markYes, c.both, c.none)
	return bw.Flush()
}

func cellJoin(parts []string) string {
	for i, s := range parts {
		parts[i] = cell(s)
	}
	if len(parts) == 0 {
		return "–"
	}
	return strings.Join(parts, "; ")
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown target"
	}
	return s
}
