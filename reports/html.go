package reports

import (
	"bufio"
	"errors"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"
)

// htmlPage is one self-contained page: inline CSS, images as data: URIs, no script, no
// external reference. html/template escapes every value.
var htmlPage = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.T.Title}} ({{.Target}})</title>
<style>
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK JP","Hiragino Sans",sans-serif;margin:1rem;color:#1b1b1b;background:#fff;max-width:100%}
h1{font-size:1.35rem;margin:0 0 .3rem}
p.banner{border-left:4px solid #b26b00;background:#fff6e5;padding:.5rem .7rem;margin:.4rem 0 .8rem;font-size:.9rem}
p.meta{color:#555;margin:.2rem 0 .8rem;font-size:.85rem}
ul.counts{display:flex;flex-wrap:wrap;gap:.4rem 1.5rem;list-style:none;padding:0;margin:0 0 .8rem;font-size:.95rem}
ul.counts b{font-size:1.1rem}
table.list{border-collapse:collapse;width:100%;font-size:.82rem}
th,td{border:1px solid #d0d0d0;padding:.3rem .4rem;vertical-align:top;text-align:left;overflow-wrap:anywhere}
th{background:#f0f2f5;position:sticky;top:0;font-weight:600;overflow-wrap:break-word}
tbody tr:nth-child(even){background:#fafafa}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap;overflow-wrap:normal}
td.mark{text-align:center;font-size:1.1rem;font-weight:bold}
td.yes{background:#dcf3e0;color:#116329}
td.no{background:#fbe0e0;color:#a40e26}
.id{font-family:ui-monospace,Menlo,Consolas,monospace;color:#555;font-size:.75rem}
.reason{margin-bottom:.3rem}
.reason .why{color:#a40e26}
.reason .fix{color:#1b1b1b}
.reason b{font-weight:600}
td.reasons{width:30%}
td.env{font-size:.75rem;white-space:normal}
td.env div{white-space:nowrap}
td.mark .rate{font-size:.7rem;font-weight:normal;white-space:nowrap}
td.photo{text-align:center}
td.photo img{height:{{.ThumbHeight}}px;max-width:100%;border:1px solid #888;background:#eee;filter:grayscale(1)}
.muted{color:#888}
details summary{cursor:pointer;color:#555;font-size:.75rem}
details table{font-size:.72rem;border-collapse:collapse;margin-top:.2rem}
details td,details th{padding:.1rem .2rem}
p.legend{font-size:.8rem;color:#444}
a{color:#0b57a4}
</style>
</head>
<body>
<h1>{{.T.Title}} <span class="muted">({{.Target}})</span></h1>
<p class="banner" id="what">{{.Banner}}</p>
<p class="meta">{{if .Catalogue}}{{.T.Catalogue}}: {{.Catalogue}} · {{end}}{{.T.Started}} {{.Started}}</p>
<ul class="counts">
<li>{{.T.Devices}}: <b>{{.Counts.Total}}</b></li>
<li>{{.T.PIN}} ◯: <b>{{.Counts.PIN}}</b></li>
<li>{{.T.Visual}} ◯: <b>{{.Counts.Visual}}</b></li>
<li>{{.T.Both}}: <b>{{.Counts.Both}}</b></li>
<li>{{.T.Neither}}: <b>{{.Counts.None}}</b></li>
{{if .Runs}}<li>{{.T.Runs}}: <b>{{.Runs}}</b></li>{{end}}
</ul>
<p class="legend">{{.T.Legend}}</p>
<table class="list">
<thead><tr>
<th>{{.T.Maker}} / {{.T.Model}}</th><th>{{.T.OS}}</th><th>{{.T.MaxTx}}</th><th>{{.T.Extended}}</th><th>{{.T.Envelope}}</th>
<th>{{.T.PIN}}</th><th>{{.T.Visual}}</th><th>{{.T.TapPIN}}</th><th>{{.T.TapVisual}}</th><th>{{.T.Reason}}</th><th>{{.T.Photo}}</th><th>{{.T.Source}}</th>
</tr></thead>
<tbody>
{{range .Rows}}<tr id="{{.ID}}">
<td>{{.Maker}} {{.Model}}<div class="id">{{.ID}}</div></td>
<td>{{.OS}}{{if .Platform}}<div class="id">{{.Platform}}{{if .BitRate}} · {{.BitRate}} kbit/s{{end}}</div>{{end}}</td>
<td class="num">{{.MaxTransceive}}{{if .MaxResponse}}<div class="id">≤ {{.MaxResponse}}</div>{{end}}</td>
<td>{{.Extended}}</td>
<td class="env">{{if .Env}}{{range .Env}}<div>{{.}}</div>{{end}}{{else}}<span class="muted">–</span>{{end}}</td>
{{template "mark" .PIN}}{{template "mark" .Visual}}
{{template "tap" .PIN}}{{template "tap" .Visual}}
<td class="reasons">{{range .Reasons}}<div class="reason"><b>{{.Mode}}:</b> <span class="why">{{if .Step}}<b>{{.Step}}</b>{{if .Reason}}: {{end}}{{end}}{{.Reason}}</span>{{if .Remedy}}<div class="fix"><b>{{$.T.Remedy}}:</b> {{.Remedy}}</div>{{end}}</div>{{else}}<span class="muted">–</span>{{end}}</td>
<td class="photo">{{if .Photo}}<img src="{{.Photo}}" alt="{{.ID}}">{{else if .PhotoError}}<span class="why">{{.PhotoError}}</span>{{else}}<span class="muted">–</span>{{end}}</td>
<td class="source">{{if .SourceURL}}<a href="{{.SourceURL}}">{{.Source}}</a>{{else}}{{.Source}}{{end}}</td>
</tr>
{{end}}</tbody>
</table>
</body>
</html>
{{define "mark"}}{{if .Supported}}<td class="mark yes" title="◯">◯{{if .Rate}}<div class="rate">{{.Rate}}</div>{{end}}</td>{{else}}<td class="mark no" title="×">×{{if .Rate}}<div class="rate">{{.Rate}}</div>{{end}}</td>{{end}}{{end}}
{{define "tap"}}<td class="num">{{.Tap}}{{if .Steps}}<details><summary>{{len .Steps}}</summary><table>
{{range .Steps}}<tr><td>{{.Step}}</td><td class="num">{{.Time}}</td><td class="num">{{.APDUs}}</td><td class="num">{{.Bytes}} B</td></tr>
{{end}}</table></details>{{end}}</td>{{end}}
`))

// htmlText is the page's phrases in the run's language.
type htmlText struct {
	Title, Catalogue, Started, Devices, PIN, Visual, Both, Neither, Legend, Runs                  string
	Maker, Model, OS, MaxTx, Extended, Envelope, TapPIN, TapVisual, Reason, Photo, Source, Remedy string
}

func htmlTextIn(lang string) htmlText {
	return htmlText{
		Title: txtTitle.in(lang), Catalogue: txtCatalogue.in(lang), Started: txtStarted.in(lang),
		Devices: txtDevices.in(lang), PIN: txtPIN.in(lang), Visual: txtVisual.in(lang),
		Both: txtBoth.in(lang), Neither: txtNeither.in(lang), Legend: txtLegend.in(lang),
		Maker: txtMaker.in(lang), Model: txtModel.in(lang), OS: txtOS.in(lang), MaxTx: txtMaxTx.in(lang),
		Extended: txtExtended.in(lang), Envelope: txtEnvelope.in(lang), Runs: txtRuns.in(lang), TapPIN: txtTapPIN.in(lang), TapVisual: txtTapVisual.in(lang),
		Reason: txtReason.in(lang), Photo: txtPhoto.in(lang), Source: txtSource.in(lang), Remedy: txtRemedy.in(lang),
	}
}

type htmlData struct {
	Lang, Banner               string
	T                          htmlText
	Target, Catalogue, Started string
	ThumbHeight                int
	Counts                     struct{ Total, PIN, Visual, Both, None int }
	Runs                       int // > 1: runs of each device's path (-repeat)
	Rows                       []htmlRow
}

type htmlRow struct {
	ID, Maker, Model, OS, Platform, Source string
	SourceURL                              template.URL
	BitRate, MaxResponse                   int
	MaxTransceive, Extended                string
	PIN, Visual                            htmlMode
	Env                                    []string
	Reasons                                []htmlReason
	Photo                                  template.URL
	PhotoError                             string
}

type htmlMode struct {
	Supported bool
	Rate      string // pass rate of a -repeat run
	Tap       string
	Steps     []htmlStep
}

type htmlStep struct {
	Step, Time   string
	APDUs, Bytes int
}

type htmlReason struct{ Mode, Step, Reason, Remedy string }

// WriteHTML writes the supported-device list as one self-contained HTML page in the run's
// language: a banner saying what the verdicts are (predictions or measurements), a table with
// ◯/× coloured, the failing step, its reason and remedy, the predicted tap times (with the
// per-step breakdown folded), the source of each profile as a link, and for passing 目視確認 runs
// a greyscale thumbnail of the face photo read from the card, embedded as a data: URI. It needs
// no script, loads nothing, and fits a 1366-pixel-wide window without sideways scrolling.
func WriteHTML(w io.Writer, r *Run) error {
	if r == nil {
		return errors.New("reports: nil run")
	}
	ds := sortedDevices(r)
	c := count(ds)
	lang := r.Lang
	if lang != LangJA {
		lang = LangEN
	}
	d := htmlData{
		Lang: lang, Banner: banner(r), T: htmlTextIn(lang),
		Target:      orUnknown(r.Target),
		Catalogue:   r.Catalogue,
		ThumbHeight: ThumbHeight,
	}
	if !r.Started.IsZero() {
		d.Started = r.Started.UTC().Format(time.RFC3339)
	} else {
		d.Started = "(time not recorded)"
	}
	if r.Runs() > 1 {
		d.Runs = r.Runs()
	}
	d.Counts.Total, d.Counts.PIN, d.Counts.Visual, d.Counts.Both, d.Counts.None = c.total, c.pin, c.visual, c.both, c.none
	thumbs := thumbCache{}
	d.Rows = make([]htmlRow, 0, len(ds))
	for _, dev := range ds {
		row := htmlRow{
			ID: dev.ID, Maker: dev.Maker, Model: dev.Model, OS: dev.OS, Platform: dev.Platform,
			Source: dev.Source, SourceURL: sourceURL(dev.SourceURL), BitRate: dev.BitRate,
			MaxTransceive: maxTransceiveOnly(lang, dev), MaxResponse: dev.MaxResponse, Extended: yesNo(lang, dev.Extended),
			PIN: htmlModeOf(dev.PIN), Visual: htmlModeOf(dev.Visual),
		}
		if dev.Envelope != nil {
			row.Env = envLines(lang, dev.Envelope)
		}
		if d.Runs > 0 {
			row.PIN.Rate, row.Visual.Rate = passRate(dev.PIN), passRate(dev.Visual)
		}
		switch {
		case dev.Platform == "pcsc":
			row.Source = pcscWhat(lang, dev)
		case dev.Source == "synthetic":
			row.Source = txtSynthetic.in(lang)
		}
		if !dev.PIN.Supported {
			row.Reasons = append(row.Reasons, htmlReason{txtPINShort.in(lang), oneLine(failedStep(lang, dev.PIN.FailedStep)), reasonText(lang, dev.PIN), oneLine(dev.PIN.Remedy)})
		}
		if !dev.Visual.Supported {
			row.Reasons = append(row.Reasons, htmlReason{txtVisualShort.in(lang), oneLine(failedStep(lang, dev.Visual.FailedStep)), reasonText(lang, dev.Visual), oneLine(dev.Visual.Remedy)})
		}
		if dev.Visual.Supported && len(dev.FacePhoto) > 0 {
			t := thumbs.get(dev.FacePhoto)
			row.Photo, row.PhotoError = t.uri, t.err
		}
		d.Rows = append(d.Rows, row)
	}
	bw := bufio.NewWriter(w)
	if err := htmlPage.Execute(bw, &d); err != nil {
		return err
	}
	return bw.Flush()
}

func reasonText(lang string, m ModeResult) string {
	if m.FailedStep == "" && m.Reason == "" {
		return txtNoReason.in(lang)
	}
	return oneLine(m.Reason)
}

func htmlModeOf(m ModeResult) htmlMode {
	m = shown(m)
	hm := htmlMode{Supported: m.Supported, Tap: tapTime(m)}
	for _, s := range m.Steps {
		hm.Steps = append(hm.Steps, htmlStep{Step: s.Step, Time: msShown(s.Time), APDUs: s.APDUs, Bytes: s.Bytes})
	}
	return hm
}

func maxTransceiveOnly(lang string, d DeviceResult) string {
	if d.MaxTransceive > 0 {
		return strconv.Itoa(d.MaxTransceive)
	}
	return txtUnknown.in(lang)
}

// sourceURL lets only http(s) links onto the page (a profile is user input).
func sourceURL(u string) template.URL {
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		return template.URL(u)
	}
	return ""
}

// envLines is the measured envelope as the page shows it, one fact a line.
func envLines(lang string, e *Envelope) []string {
	if e.Unreachable != "" {
		return envFailures(lang, e)
	}
	out := []string{
		txtEnvCommand.in(lang) + " ≤ " + envCommand(e) + " B",
		txtEnvResponse.in(lang) + " ≤ " + envResponse(e) + " B",
		txtExtended.in(lang) + ": " + envExtended(lang, e),
	}
	if e.FirstFailedCommand > 0 || e.FirstFailedResponse > 0 {
		for _, f := range envFailures(lang, e) {
			out = append(out, "✗ "+f)
		}
	}
	return out
}
