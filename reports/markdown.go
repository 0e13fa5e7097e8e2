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

// WriteMarkdown writes the supported-device list as Markdown in the run's language. The output
// depends only on the run's target, catalogue, language and devices (sorted by ID), never on
// Started or the machine, so the list of a checked-in catalogue can be checked in and compared
// byte for byte.
func WriteMarkdown(w io.Writer, r *Run) error {
	if r == nil {
		return fmt.Errorf("reports: nil run")
	}
	ds := sortedDevices(r)
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }

	lang := r.Lang
	p("# %s (%s)\n\n", txtTitle.in(lang), cell(orUnknown(r.Target)))
	p("%s\n\n", banner(r))
	if r.Catalogue != "" {
		p("%s: `%s`\n\n", txtCatalogue.in(lang), strings.ReplaceAll(oneLine(r.Catalogue), "`", "'"))
	}
	p("%s\n\n", txtLegend.in(lang))

	repeat := r.Runs() > 1
	head := []string{"ID", txtMaker.in(lang), txtModel.in(lang), txtOS.in(lang), txtMaxTx.in(lang), txtExtended.in(lang),
		txtEnvCommandCol.in(lang), txtEnvResponseCol.in(lang), txtEnvExtendedCol.in(lang), txtEnvFailureCol.in(lang),
		txtPIN.in(lang), txtVisual.in(lang)}
	align := []string{"---", "---", "---", "---", "--:", ":-:", "--:", "--:", ":-:", "---", ":-:", ":-:"}
	if repeat {
		head = append(head, txtPassRatePIN.in(lang), txtPassRateVisual.in(lang))
		align = append(align, "--:", "--:")
	}
	head = append(head, txtTapPIN.in(lang), txtTapVisual.in(lang), txtReason.in(lang), txtSource.in(lang))
	align = append(align, "--:", "--:", "---", "---")
	p("| %s |\n", strings.Join(head, " | "))
	p("|%s|\n", strings.Join(align, "|"))
	for _, d := range ds {
		row := []string{cell(d.ID), cell(d.Maker), cell(d.Model), cell(d.OS),
			cell(maxTransceive(lang, d)), yesNo(lang, d.Extended),
			envCommand(d.Envelope), envResponse(d.Envelope), envExtended(lang, d.Envelope), cellJoin(envFailures(lang, d.Envelope)),
			mark(d.PIN), mark(d.Visual)}
		if repeat {
			row = append(row, passRate(d.PIN), passRate(d.Visual))
		}
		row = append(row, tapTime(d.PIN), tapTime(d.Visual), cellJoin(reasons(lang, d)), mdSource(lang, d))
		p("| %s |\n", strings.Join(row, " | "))
	}

	c := count(ds)
	p("\n## %s\n\n", txtSummary.in(lang))
	p("- %s: %d\n", txtDevices.in(lang), c.total)
	if repeat {
		p("- %s: %d\n", txtRuns.in(lang), r.Runs())
	}
	p("- %s %s: %d / %d\n", txtPIN.in(lang), markYes, c.pin, c.total)
	p("- %s %s: %d / %d\n", txtVisual.in(lang), markYes, c.visual, c.total)
	p("- %s %s: %d; %s: %d\n", txtBoth.in(lang), markYes, c.both, txtNeither.in(lang), c.none)
	return bw.Flush()
}

// mdSource is the profile's source, linked where it has a URL; for a PC/SC reader, what was
// measured.
func mdSource(lang string, d DeviceResult) string {
	if d.Platform == "pcsc" {
		return cell(pcscWhat(lang, d))
	}
	if d.Source == "synthetic" {
		return txtSynthetic.in(lang)
	}
	if d.SourceURL != "" {
		return "[" + strings.NewReplacer("[", "(", "]", ")").Replace(cell(d.Source)) + "](" + strings.ReplaceAll(d.SourceURL, ")", "%29") + ")"
	}
	return cell(d.Source)
}

// pcscWhat names the reader, the card's ATR and the card of a PC/SC row.
func pcscWhat(lang string, d DeviceResult) string {
	parts := []string{}
	if d.Reader != "" {
		parts = append(parts, txtReaderLabel.in(lang)+": "+d.Reader)
	}
	if d.ATR != "" {
		parts = append(parts, "ATR "+d.ATR)
	}
	if d.Card != "" {
		parts = append(parts, txtCardLabel.in(lang)+": "+d.Card)
	}
	if d.Source != "" {
		parts = append(parts, d.Source)
	}
	return strings.Join(parts, "; ")
}

// banner says what the list is: predictions from stated capabilities (emulator) or
// measurements (PC/SC).
func banner(r *Run) string {
	if r.Target == "pcsc" {
		return txtPCSCBanner.in(r.Lang)
	}
	return txtEmulatorBanner.in(r.Lang)
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
