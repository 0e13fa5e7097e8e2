package reports

import (
	"bufio"
	"errors"
	"html/template"
	"io"
	"strconv"
	"time"
)

// htmlPage is one self-contained page: inline CSS, images as data: URIs, no script, no
// external reference. html/template escapes every value.
var htmlPage = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Supported devices ({{.Target}})</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK JP","Hiragino Sans",sans-serif;margin:1.5rem;color:#1b1b1b;background:#fff}
h1{font-size:1.4rem;margin:0 0 .3rem}
p.meta{color:#555;margin:.2rem 0 1rem;font-size:.9rem}
ul.counts{display:flex;gap:1.5rem;list-style:none;padding:0;margin:0 0 1rem;font-size:.95rem}
ul.counts b{font-size:1.1rem}
table{border-collapse:collapse;width:100%;font-size:.88rem}
th,td{border:1px solid #d0d0d0;padding:.35rem .5rem;vertical-align:top;text-align:left}
th{background:#f0f2f5;position:sticky;top:0}
tbody tr:nth-child(even){background:#fafafa}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.mark{text-align:center;font-size:1.15rem;font-weight:bold;width:2.5rem}
td.yes{background:#dcf3e0;color:#116329}
td.no{background:#fbe0e0;color:#a40e26}
.id{font-family:ui-monospace,Menlo,Consolas,monospace;color:#555;font-size:.8rem}
.reason{color:#a40e26}
td.reasons{min-width:16rem}
.reason b{color:#1b1b1b;font-weight:600}
td.photo{text-align:center;width:100px}
td.photo img{height:{{.ThumbHeight}}px;border:1px solid #888;background:#eee;filter:grayscale(1)}
.muted{color:#888}
details summary{cursor:pointer;color:#555;font-size:.8rem}
details table{font-size:.78rem;width:auto;margin-top:.2rem}
details td,details th{padding:.1rem .3rem;white-space:normal}
details td:first-child{min-width:9rem}
p.legend{font-size:.85rem;color:#444}
</style>
</head>
<body>
<h1>Supported devices <span class="muted">({{.Target}})</span></h1>
<p class="meta">{{if .Catalogue}}Device catalogue: {{.Catalogue}} · {{end}}Run started {{.Started}}</p>
<ul class="counts">
<li>Devices: <b>{{.Counts.Total}}</b></li>
<li>PIN ◯: <b>{{.Counts.PIN}}</b></li>
<li>目視 ◯: <b>{{.Counts.Visual}}</b></li>
<li>Both: <b>{{.Counts.Both}}</b></li>
<li>Neither: <b>{{.Counts.None}}</b></li>
</ul>
<p class="legend">◯ supported (every spec of the mode passed) · × not supported, with the failing step and its reason ·
tap time: predicted time the card must stay on the handset for the mode's card steps ·
photo: the face photo read from the card in a passing 目視 run, as the staff see it.</p>
<table>
<thead><tr>
<th>Maker</th><th>Model</th><th>OS</th><th>Max transceive<br>(bytes)</th><th>Extended</th>
<th>PIN</th><th>目視</th><th>Tap time<br>PIN</th><th>Tap time<br>目視</th><th>Failing step and reason</th><th>Photo</th><th>Source</th>
</tr></thead>
<tbody>
{{range .Rows}}<tr>
<td>{{.Maker}}<div class="id">{{.ID}}</div></td>
<td>{{.Model}}</td>
<td>{{.OS}}{{if .Platform}}<div class="id">{{.Platform}}{{if .BitRate}} · {{.BitRate}} kbit/s{{end}}</div>{{end}}</td>
<td class="num">{{.MaxTransceive}}{{if .MaxResponse}}<div class="id">responses ≤ {{.MaxResponse}}</div>{{end}}</td>
<td>{{.Extended}}</td>
{{template "mark" .PIN}}{{template "mark" .Visual}}
{{template "tap" .PIN}}{{template "tap" .Visual}}
<td class="reasons">{{range .Reasons}}<div class="reason"><b>{{.Mode}}:</b> {{if .Step}}<b>{{.Step}}</b>{{if .Reason}}: {{end}}{{end}}{{.Reason}}</div>{{else}}<span class="muted">–</span>{{end}}</td>
<td class="photo">{{if .Photo}}<img src="{{.Photo}}" alt="face photo read from the card ({{.ID}})">{{else if .PhotoError}}<span class="reason">{{.PhotoError}}</span>{{else}}<span class="muted">–</span>{{end}}</td>
<td>{{.Source}}</td>
</tr>
{{end}}</tbody>
</table>
</body>
</html>
{{define "mark"}}{{if .Supported}}<td class="mark yes" title="supported">◯</td>{{else}}<td class="mark no" title="not supported">×</td>{{end}}{{end}}
{{define "tap"}}<td class="num">{{.Tap}}{{if .Steps}}<details><summary>{{len .Steps}} steps</summary><table>
<tr><th>step</th><th>time</th><th>APDUs</th><th>bytes</th></tr>
{{range .Steps}}<tr><td>{{.Step}}</td><td class="num">{{.Time}}</td><td class="num">{{.APDUs}}</td><td class="num">{{.Bytes}}</td></tr>
{{end}}</table></details>{{end}}</td>{{end}}
`))

type htmlData struct {
	Target, Catalogue, Started string
	ThumbHeight                int
	Counts                     struct{ Total, PIN, Visual, Both, None int }
	Rows                       []htmlRow
}

type htmlRow struct {
	ID, Maker, Model, OS, Platform, Source string
	BitRate, MaxResponse                   int
	MaxTransceive, Extended                string
	PIN, Visual                            htmlMode
	Reasons                                []htmlReason
	Photo                                  template.URL
	PhotoError                             string
}

type htmlMode struct {
	Supported bool
	Tap       string
	Steps     []htmlStep
}

type htmlStep struct {
	Step, Time   string
	APDUs, Bytes int
}

type htmlReason struct{ Mode, Step, Reason string }

// WriteHTML writes the supported-device list as one self-contained HTML page: a table with ◯/×
// coloured, the failing step and its reason, the predicted tap times (with the per-step
// breakdown folded), and for passing 目視 runs a greyscale thumbnail of the face photo read from
// the card, embedded as a data: URI. It needs no script and loads nothing.
func WriteHTML(w io.Writer, r *Run) error {
	if r == nil {
		return errors.New("reports: nil run")
	}
	ds := sortedDevices(r)
	c := count(ds)
	d := htmlData{
		Target:      orUnknown(r.Target),
		Catalogue:   r.Catalogue,
		ThumbHeight: ThumbHeight,
	}
	if !r.Started.IsZero() {
		d.Started = r.Started.UTC().Format(time.RFC3339)
	} else {
		d.Started = "(time not recorded)"
	}
	d.Counts.Total, d.Counts.PIN, d.Counts.Visual, d.Counts.Both, d.Counts.None = c.total, c.pin, c.visual, c.both, c.none
	thumbs := thumbCache{}
	d.Rows = make([]htmlRow, 0, len(ds))
	for _, dev := range ds {
		row := htmlRow{
			ID: dev.ID, Maker: dev.Maker, Model: dev.Model, OS: dev.OS, Platform: dev.Platform,
			Source: dev.Source, BitRate: dev.BitRate,
			MaxTransceive: maxTransceiveOnly(dev), MaxResponse: dev.MaxResponse, Extended: yesNo(dev.Extended),
			PIN: htmlModeOf(dev.PIN), Visual: htmlModeOf(dev.Visual),
		}
		if !dev.PIN.Supported {
			row.Reasons = append(row.Reasons, htmlReason{"PIN", oneLine(dev.PIN.FailedStep), reasonText(dev.PIN)})
		}
		if !dev.Visual.Supported {
			row.Reasons = append(row.Reasons, htmlReason{"目視", oneLine(dev.Visual.FailedStep), reasonText(dev.Visual)})
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

func reasonText(m ModeResult) string {
	if m.FailedStep == "" && m.Reason == "" {
		return "failed (no reason recorded)"
	}
	return oneLine(m.Reason)
}

func htmlModeOf(m ModeResult) htmlMode {
	hm := htmlMode{Supported: m.Supported, Tap: tapTime(m)}
	for _, s := range m.Steps {
		hm.Steps = append(hm.Steps, htmlStep{
			Step: s.Step, Time: strconv.FormatFloat(float64(s.Time)/float64(time.Millisecond), 'f', 1, 64) + " ms",
			APDUs: s.APDUs, Bytes: s.Bytes,
		})
	}
	return hm
}

func maxTransceiveOnly(d DeviceResult) string {
	if d.MaxTransceive > 0 {
		return strconv.Itoa(d.MaxTransceive)
	}
	return "unknown"
}
