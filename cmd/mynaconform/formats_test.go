package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// verdict is one mode of one device as a format shows it.
type verdict struct {
	mark string // ◯ or ×
	tap  string // milliseconds as the format writes them, "–" for none
	step string // the failing spec and step ("" when supported)
}

// TestFormatsAgree runs the whole catalogue and reads every format back: the JSON, the CSV,
// the Markdown, the HTML page and the terminal summary give each device the same verdicts,
// the same failing steps and the same times in the same unit (exact milliseconds in JSON and
// CSV, rounded to 0.1 ms in the others; no time for a mode that is not supported).
func TestFormatsAgree(t *testing.T) {
	u := newUserRun(t)
	stdout, stderr, code := u.run(t, "run", "-out", "out", "-lang", "en")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	read := func(name string) string {
		b, err := os.ReadFile(u.path("out", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	// JSON: the reference.
	var run struct {
		Devices []struct {
			ID          string
			PIN, Visual struct {
				Supported  bool     `json:"supported"`
				FailedStep string   `json:"failed_step"`
				Cause      string   `json:"cause"`
				TapTimeMS  *float64 `json:"tap_time_ms"`
			}
		}
	}
	if err := json.Unmarshal([]byte(read("supported-devices.json")), &run); err != nil {
		t.Fatal(err)
	}
	if len(run.Devices) < 20 {
		t.Fatalf("%d devices in the JSON list", len(run.Devices))
	}
	type modes [2]verdict
	exact := map[string][2]string{} // id -> exact ms per mode as JSON has them ("" for null)
	want := map[string]modes{}
	for _, d := range run.Devices {
		var m modes
		var ex [2]string
		for i, r := range []struct {
			Supported  bool     `json:"supported"`
			FailedStep string   `json:"failed_step"`
			Cause      string   `json:"cause"`
			TapTimeMS  *float64 `json:"tap_time_ms"`
		}{d.PIN, d.Visual} {
			v := verdict{mark: "◯", tap: "–"}
			if !r.Supported {
				v.mark, v.step = "×", r.FailedStep
				if r.TapTimeMS != nil {
					t.Errorf("%s: JSON gives a tap time for a mode that is not supported", d.ID)
				}
			} else if r.TapTimeMS != nil {
				v.tap = fmt.Sprintf("%.1f", *r.TapTimeMS)
				ex[i] = strconv.FormatFloat(*r.TapTimeMS, 'f', -1, 64)
			}
			m[i] = v
		}
		want[d.ID], exact[d.ID] = m, ex
	}

	// CSV: exact milliseconds, empty for none.
	rows, err := csv.NewReader(strings.NewReader(read("supported-devices.csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, row := range rows[1:] {
		id := row[col["id"]]
		for i, mode := range []string{"pin", "visual"} {
			w := want[id][i]
			got := verdict{mark: map[string]string{"true": "◯", "false": "×"}[row[col[mode+"_supported"]]], tap: "–", step: row[col[mode+"_failed_step"]]}
			if s := row[col[mode+"_tap_time_ms"]]; s != "" {
				if s != exact[id][i] {
					t.Errorf("CSV %s %s: %s ms, JSON %s ms", id, mode, s, exact[id][i])
				}
				f, _ := strconv.ParseFloat(s, 64)
				got.tap = fmt.Sprintf("%.1f", f)
			}
			if got != w {
				t.Errorf("CSV %s %s: %+v, JSON %+v", id, mode, got, w)
			}
		}
	}
	if len(rows)-1 != len(want) {
		t.Errorf("CSV has %d devices, JSON %d", len(rows)-1, len(want))
	}

	// Markdown: ID | maker | model | OS | max | ext | PIN | 目視 | tap PIN | tap 目視 | reasons | source.
	n := 0
	cellSplit := regexp.MustCompile(`\s*(?:^|[^\\])\|\s*`)
	for _, line := range strings.Split(read("supported-devices.md"), "\n") {
		id, _, _ := strings.Cut(strings.TrimPrefix(line, "| "), " ")
		if _, ok := want[id]; !ok || !strings.HasPrefix(line, "| ") {
			continue
		}
		n++
		cells := cellSplit.Split(line, -1)
		cells = cells[1 : len(cells)-1]
		for i := range 2 {
			got := verdict{mark: cells[6+i], tap: cells[8+i]}
			w := want[id][i]
			if got.mark != w.mark || got.tap != w.tap || w.step != "" && !strings.Contains(cells[10], w.step) {
				t.Errorf("Markdown %s mode %d: %q %q (reasons %q), JSON %+v", id, i, got.mark, got.tap, cells[10], w)
			}
		}
	}
	if n != len(want) {
		t.Errorf("Markdown has %d devices, JSON %d", n, len(want))
	}

	// HTML: one row per device (id attribute); cells 4-7 are the marks and the tap times.
	doc, err := html.Parse(strings.NewReader(read("supported-devices.html")))
	if err != nil {
		t.Fatal(err)
	}
	n = 0
	var walk func(*html.Node)
	walk = func(nd *html.Node) {
		if nd.Type == html.ElementNode && nd.Data == "tr" && attr(nd, "id") != "" {
			id := attr(nd, "id")
			var tds []*html.Node
			for c := nd.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.ElementNode && c.Data == "td" {
					tds = append(tds, c)
				}
			}
			n++
			for i := range 2 {
				got := verdict{mark: strings.TrimSpace(text(tds[4+i], false)), tap: strings.TrimSpace(text(tds[6+i], false))}
				w := want[id][i]
				if got.mark != w.mark || got.tap != w.tap || w.step != "" && !strings.Contains(text(tds[8], true), w.step) {
					t.Errorf("HTML %s mode %d: %+v, JSON %+v", id, i, got, w)
				}
			}
			return
		}
		for c := nd.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if n != len(want) {
		t.Errorf("HTML has %d devices, JSON %d", n, len(want))
	}

	// The terminal summary: columns separated by two or more spaces.
	n = 0
	gap := regexp.MustCompile(`\s{2,}`)
	for _, line := range strings.Split(stdout, "\n") {
		f := gap.Split(line, -1)
		if _, ok := want[f[0]]; !ok || len(f) < 8 {
			continue
		}
		n++
		for i := range 2 {
			got := verdict{mark: f[4+i], tap: f[6+i]}
			w := want[f[0]][i]
			if got.mark != w.mark || got.tap != w.tap || w.step != "" && !strings.Contains(line, w.step) {
				t.Errorf("terminal %s mode %d: %+v, JSON %+v\n%s", f[0], i, got, w, line)
			}
		}
	}
	if n != len(want) {
		t.Errorf("the terminal summary has %d devices, JSON %d", n, len(want))
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// text is the text of n; without deep, only its own text nodes (not the folded step table).
func text(n *html.Node, deep bool) string {
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		switch {
		case c.Type == html.TextNode:
			b.WriteString(c.Data)
		case deep:
			b.WriteString(text(c, true))
		}
	}
	return b.String()
}
