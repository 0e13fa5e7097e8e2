package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// row is one device as a format shows it: the cells that every format has, in the format's own
// spelling, normalised to compare (marks ◯/×, milliseconds to 0.1, the measured envelope).
type row struct {
	mark, tap, rate [2]string // per mode: ◯/×, "688.3" or "–", "2/2 (100%)" ("" where not shown)
	reasons         string    // the failing steps, reasons and remedies (contains each failing step)
	envCmd, envResp string    // measured longest command / response, "–" when not measured
	envExt          string    // "yes" / "no" / "–"
	envFail         string    // the first failures as text
}

// jsonRun is what the tests read of supported-devices.json.
type jsonRun struct {
	Repeat  int `json:"repeat"`
	Devices []struct {
		ID       string
		Envelope *struct {
			LongestCommand      int    `json:"longest_command"`
			LongestResponse     int    `json:"longest_response"`
			Extended            bool   `json:"extended"`
			FirstFailedCommand  int    `json:"first_failed_command"`
			CommandFailedBy     string `json:"command_failed_by"`
			CommandCause        string `json:"command_cause"`
			FirstFailedResponse int    `json:"first_failed_response"`
			ResponseFailedBy    string `json:"response_failed_by"`
			ResponseCause       string `json:"response_cause"`
			Unreachable         string `json:"unreachable"`
		}
		PIN, Visual jsonMode
	}
}

type jsonMode struct {
	Supported  bool     `json:"supported"`
	FailedStep string   `json:"failed_step"`
	Cause      string   `json:"cause"`
	TapTimeMS  *float64 `json:"tap_time_ms"`
	Runs       int      `json:"runs"`
	PassedRuns int      `json:"passed_runs"`
}

// TestFormatsAgree runs the whole catalogue and reads every format back: the JSON, the CSV,
// the Markdown, the HTML page and the terminal summary give each device the same verdicts,
// the same failing steps, the same times in the same unit (exact milliseconds in JSON and CSV,
// rounded to 0.1 ms in the others; no time for a mode that is not supported) and the same
// measured envelope (longest command and response, extended, the first lengths that failed with
// the spec that found them and the cause).
func TestFormatsAgree(t *testing.T) {
	formatsAgree(t, "run", "-out", "out", "-lang", "en")
}

// TestFormatsAgreeRepeat: with -repeat every format gives each mode's pass rate, the same in
// each, and on the emulator it is 100% or 0%.
func TestFormatsAgreeRepeat(t *testing.T) {
	run := formatsAgree(t, "run", "-out", "out", "-lang", "en", "-repeat", "2", "-only", "google-nexus-s,apple-iphone-ios13,synthetic-no-nfc")
	if run.Repeat != 2 {
		t.Errorf("JSON repeat %d, want 2", run.Repeat)
	}
	for _, d := range run.Devices {
		for _, m := range []jsonMode{d.PIN, d.Visual} {
			if m.Runs != 2 || m.PassedRuns != 0 && m.PassedRuns != 2 || m.Supported != (m.PassedRuns == 2) {
				t.Errorf("%s: %d of %d runs passed, supported %v (the emulator gives 100%% or 0%%)", d.ID, m.PassedRuns, m.Runs, m.Supported)
			}
		}
	}
}

func formatsAgree(t *testing.T, args ...string) jsonRun {
	t.Helper()
	u := newUserRun(t)
	stdout, stderr, code := u.run(t, args...)
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
	var run jsonRun
	if err := json.Unmarshal([]byte(read("supported-devices.json")), &run); err != nil {
		t.Fatal(err)
	}
	repeat := run.Repeat > 1
	want := map[string]row{}
	exact := map[string][2]string{} // id -> exact ms per mode as JSON has them ("" for null)
	for _, d := range run.Devices {
		var w row
		var ex [2]string
		for i, m := range []jsonMode{d.PIN, d.Visual} {
			w.mark[i], w.tap[i] = "◯", "–"
			if !m.Supported {
				w.mark[i] = "×"
				w.reasons += m.FailedStep + "\n"
				if m.TapTimeMS != nil {
					t.Errorf("%s: JSON gives a tap time for a mode that is not supported", d.ID)
				}
			} else if m.TapTimeMS != nil {
				w.tap[i] = fmt.Sprintf("%.1f", *m.TapTimeMS)
				ex[i] = strconv.FormatFloat(*m.TapTimeMS, 'f', -1, 64)
			}
			if repeat {
				w.rate[i] = fmt.Sprintf("%d/%d (%d%%)", m.PassedRuns, m.Runs, (200*m.PassedRuns+m.Runs)/(2*m.Runs))
			}
		}
		w.envCmd, w.envResp, w.envExt = "–", "–", "–"
		switch e := d.Envelope; {
		case e == nil:
			t.Errorf("%s: no envelope in the JSON (every device runs the TRN specs)", d.ID)
		case e.Unreachable != "":
			w.envFail = "(" + e.Unreachable + ")"
		default:
			w.envCmd, w.envResp = strconv.Itoa(e.LongestCommand), strconv.Itoa(e.LongestResponse)
			w.envExt = map[bool]string{true: "yes", false: "no"}[e.Extended]
			if e.FirstFailedCommand > 0 {
				w.envFail += fmt.Sprintf("command %d B (%s, %s)\n", e.FirstFailedCommand, e.CommandFailedBy, e.CommandCause)
			}
			if e.FirstFailedResponse > 0 {
				w.envFail += fmt.Sprintf("response Le %d (%s, %s)\n", e.FirstFailedResponse, e.ResponseFailedBy, e.ResponseCause)
			}
		}
		want[d.ID], exact[d.ID] = w, ex
	}
	if len(want) == 0 {
		t.Fatal("no device in the JSON list")
	}
	// agree checks one format's row against the JSON's; terse formats give the failures only as
	// the specs that found them.
	agree := func(format, id string, got row, terse bool) {
		t.Helper()
		w, ok := want[id]
		if !ok {
			t.Errorf("%s lists %s, the JSON does not", format, id)
			return
		}
		if got.mark != w.mark || got.tap != w.tap || got.rate != w.rate {
			t.Errorf("%s %s: marks %v taps %v rates %v; JSON %v %v %v", format, id, got.mark, got.tap, got.rate, w.mark, w.tap, w.rate)
		}
		for _, step := range strings.Split(strings.TrimSpace(w.reasons), "\n") {
			if !strings.Contains(got.reasons, step) {
				t.Errorf("%s %s: reasons %q lack the failing step %q", format, id, got.reasons, step)
			}
		}
		if got.envCmd != w.envCmd || got.envResp != w.envResp || !terse && got.envExt != w.envExt {
			t.Errorf("%s %s: envelope %s/%s extended %s; JSON %s/%s %s", format, id, got.envCmd, got.envResp, got.envExt, w.envCmd, w.envResp, w.envExt)
		}
		for _, f := range strings.Split(strings.TrimSpace(w.envFail), "\n") {
			if terse {
				if i := strings.Index(f, "(TRN-"); i >= 0 {
					f = strings.Fields(f[i+1:])[0]
					f = strings.TrimSuffix(f, ",")
				}
			}
			if !strings.Contains(got.envFail, f) {
				t.Errorf("%s %s: envelope failures %q lack %q", format, id, got.envFail, f)
			}
		}
	}

	// CSV: exact milliseconds, empty for none; the envelope in its own columns.
	rows, err := csv.NewReader(strings.NewReader(read("supported-devices.csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows[1:] {
		c := func(name string) string {
			i := slices.Index(rows[0], name)
			if i < 0 {
				t.Fatalf("CSV has no column %s", name)
			}
			return r[i]
		}
		id := c("id")
		var got row
		for i, mode := range []string{"pin", "visual"} {
			got.mark[i] = map[string]string{"true": "◯", "false": "×"}[c(mode+"_supported")]
			got.tap[i] = "–"
			if s := c(mode + "_tap_time_ms"); s != "" {
				if s != exact[id][i] {
					t.Errorf("CSV %s %s: %s ms, JSON %s ms", id, mode, s, exact[id][i])
				}
				f, _ := strconv.ParseFloat(s, 64)
				got.tap[i] = fmt.Sprintf("%.1f", f)
			}
			got.reasons += c(mode+"_failed_step") + "\n"
			if repeat {
				n, _ := strconv.Atoi(c(mode + "_runs"))
				p, _ := strconv.Atoi(c(mode + "_passed_runs"))
				got.rate[i] = fmt.Sprintf("%d/%d (%d%%)", p, n, (200*p+n)/(2*n))
			}
		}
		got.envCmd, got.envResp, got.envExt = "–", "–", "–"
		if c("envelope_unreachable") != "" {
			got.envFail = "(" + c("envelope_unreachable") + ")"
		} else {
			got.envCmd, got.envResp = c("envelope_longest_command"), c("envelope_longest_response")
			got.envExt = map[string]string{"true": "yes", "false": "no"}[c("envelope_extended")]
			if c("envelope_first_failed_command") != "0" {
				got.envFail += fmt.Sprintf("command %s B (%s, %s)\n", c("envelope_first_failed_command"), c("envelope_command_failed_by"), c("envelope_command_cause"))
			}
			if c("envelope_first_failed_response") != "0" {
				got.envFail += fmt.Sprintf("response Le %s (%s, %s)\n", c("envelope_first_failed_response"), c("envelope_response_failed_by"), c("envelope_response_cause"))
			}
		}
		agree("CSV", id, got, false)
	}
	if len(rows)-1 != len(want) {
		t.Errorf("CSV has %d devices, JSON %d", len(rows)-1, len(want))
	}

	// Markdown: columns found by their headers.
	n := 0
	cellSplit := regexp.MustCompile(`\s*(?:^|[^\\])\|\s*`)
	var head []string
	for _, line := range strings.Split(read("supported-devices.md"), "\n") {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		cells := cellSplit.Split(line, -1)
		cells = cells[1 : len(cells)-1]
		if cells[0] == "ID" {
			head = cells
			continue
		}
		c := func(name string) string {
			i := slices.Index(head, name)
			if i < 0 {
				t.Fatalf("Markdown has no column %q: %v", name, head)
			}
			return cells[i]
		}
		n++
		got := row{
			mark: [2]string{c("PIN (暗証番号)"), c("Visual check (目視確認)")}, tap: [2]string{c("Tap time PIN (ms)"), c("Tap time 目視確認 (ms)")},
			reasons: c("Failing step, reason and remedy (×)"), envCmd: c("Longest command, measured (bytes)"),
			envResp: c("Longest response, measured (bytes)"), envExt: c("Extended, measured"), envFail: c("First length that failed (spec, cause)"),
		}
		if repeat {
			got.rate = [2]string{c("Pass rate PIN"), c("Pass rate 目視確認")}
		} else if slices.Contains(head, "Pass rate PIN") {
			t.Error("Markdown shows a pass rate without -repeat")
		}
		agree("Markdown", cells[0], got, false)
	}
	if n != len(want) {
		t.Errorf("Markdown has %d devices, JSON %d", n, len(want))
	}

	// HTML: one row per device (id attribute); cells found by the headers.
	doc, err := html.Parse(strings.NewReader(read("supported-devices.html")))
	if err != nil {
		t.Fatal(err)
	}
	n = 0
	var ths []string
	var walk func(*html.Node)
	walk = func(nd *html.Node) {
		if nd.Type == html.ElementNode && nd.Data == "th" {
			ths = append(ths, strings.TrimSpace(text(nd, true)))
		}
		if nd.Type == html.ElementNode && nd.Data == "tr" && attr(nd, "id") != "" {
			id := attr(nd, "id")
			var tds []*html.Node
			for c := nd.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.ElementNode && c.Data == "td" {
					tds = append(tds, c)
				}
			}
			td := func(name string) *html.Node {
				i := slices.Index(ths, name)
				if i < 0 {
					t.Fatalf("page has no column %q: %v", name, ths)
				}
				return tds[i]
			}
			n++
			var got row
			for i, name := range []string{"PIN (暗証番号)", "Visual check (目視確認)"} {
				got.mark[i] = strings.TrimSpace(text(td(name), false))
				if repeat {
					got.rate[i] = strings.TrimSpace(strings.TrimPrefix(text(td(name), true), got.mark[i]))
				}
			}
			for i, name := range []string{"Tap time PIN (ms)", "Tap time 目視確認 (ms)"} {
				got.tap[i] = strings.TrimSpace(text(td(name), false))
			}
			got.reasons = text(td("Failing step, reason and remedy (×)"), true)
			got.envCmd, got.envResp, got.envExt = "–", "–", "–"
			for c := td("Envelope, measured").FirstChild; c != nil; c = c.NextSibling {
				line := strings.TrimSpace(text(c, true))
				switch {
				case strings.HasPrefix(line, "command ≤ "):
					got.envCmd = strings.TrimSuffix(strings.TrimPrefix(line, "command ≤ "), " B")
				case strings.HasPrefix(line, "response ≤ "):
					got.envResp = strings.TrimSuffix(strings.TrimPrefix(line, "response ≤ "), " B")
				case strings.HasPrefix(line, "Extended APDU: "):
					got.envExt = strings.TrimPrefix(line, "Extended APDU: ")
				default:
					got.envFail += line + "\n"
				}
			}
			agree("HTML", id, got, false)
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

	// The terminal summary: columns separated by two or more spaces, found by the header line.
	n = 0
	gap := regexp.MustCompile(`\s{2,}`)
	var thead []string
	for _, line := range strings.Split(stdout, "\n") {
		f := gap.Split(line, -1)
		if f[0] == "ID" {
			thead = f
			continue
		}
		if _, ok := want[f[0]]; !ok || len(f) < 8 || thead == nil {
			continue
		}
		c := func(name string) string {
			i := slices.Index(thead, name)
			if i < 0 || i >= len(f) {
				t.Fatalf("terminal has no column %q: %v", name, thead)
			}
			return f[i]
		}
		n++
		got := row{mark: [2]string{c("PIN"), c("目視確認")}, tap: [2]string{c("Tap time PIN (ms)"), c("Tap time 目視確認 (ms)")}, reasons: line}
		if repeat {
			got.rate = [2]string{c("Pass rate PIN"), c("Pass rate 目視確認")}
		}
		env := c("Envelope cmd/resp (bytes)")
		got.envCmd, got.envResp, got.envFail = "–", "–", env
		if cr, _, ok := strings.Cut(env, " "); ok && strings.Contains(cr, "/") {
			got.envCmd, got.envResp, _ = strings.Cut(cr, "/")
		}
		agree("terminal", f[0], got, true)
	}
	if n != len(want) {
		t.Errorf("the terminal summary has %d devices, JSON %d", n, len(want))
	}
	return run
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
	if n.Type == html.TextNode {
		return n.Data
	}
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
