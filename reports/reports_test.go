package reports

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"flag"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func render(t testing.TB, write func(io.Writer, *Run) error, r *Run) string {
	t.Helper()
	var b bytes.Buffer
	if err := write(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestMarkdownDeterministic(t *testing.T) {
	r := sampleRun(t)
	a := render(t, WriteMarkdown, r)
	// Another start time, the devices in reverse order: the same bytes.
	r2 := sampleRun(t)
	r2.Started = time.Now()
	for i, j := 0, len(r2.Devices)-1; i < j; i, j = i+1, j-1 {
		r2.Devices[i], r2.Devices[j] = r2.Devices[j], r2.Devices[i]
	}
	if b := render(t, WriteMarkdown, r2); a != b {
		t.Fatalf("Markdown depends on Started or device order:\n%s\n---\n%s", a, b)
	}
	if strings.Contains(a, "2026") {
		t.Error("Markdown contains the start time")
	}
	if r.Devices[0].ID != "samsung-galaxy-s3-stock" {
		t.Error("WriteMarkdown reordered the caller's devices")
	}
	path := filepath.Join("testdata", "sample.md")
	if *update {
		if err := os.WriteFile(path, []byte(a), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update once to create it)", err)
	}
	if a != string(want) {
		t.Fatalf("Markdown drifted from %s:\n%s", path, a)
	}
}

func TestMarkdownContent(t *testing.T) {
	md := render(t, WriteMarkdown, sampleRun(t))
	for _, want := range []string{
		"# Supported devices (emulator)",
		"These verdicts are predictions, not measurements",
		"| samsung-galaxy-s3-stock | Samsung | Galaxy S3 | Android 4.4 | 261 | no | 261 | 5890 | no | command 262 B (TRN-C262, transceive-length) | ◯ | × | 3/3 (100%) | 0/3 (0%) | 420.0 | – | 目視確認: VIS-002 terminal certificate (80 A2): transceive length exceeds supported maximum (612 > 261) — Remedy: The handset carries at most 261 bytes per command",
		"| 65279 (responses ≤ 1693) | yes | 52148 | 1693 | yes | command 52149 B (TRN-C65535, timeout); response Le 1692 (TRN-R1693, response-cap) | ◯ | ◯ | 3/3 (100%) | 3/3 (100%) | 380.0 | 1234.0 |",
		"| Reader X | pcsc-lite 2.0 | unknown | no | – | – | – | card not reached (card-removed) | × | × | 1/3 (33%) | – |",
		"| Android 14 | 65279 | yes | – | – | – | – | ◯ | ◯ |",
		"Longest command, measured (bytes) | Longest response, measured (bytes) | Extended, measured | First length that failed (spec, cause) |",
		"- Runs of each device's path (-repeat): 3",
		"[Apple Developer Forums thread 120496](https://developer.apple.com/forums/thread/120496)",
		"PIN: PIN-002 VERIFY 0018: card removed during VERIFY — Remedy: The card left the handset",
		"目視確認: failed (no reason recorded)",
		`acme-reader-x\|1`, // a | in a cell does not break the table
		"ACME &lt;Labs>",   // no raw HTML
		"- PIN (暗証番号) ◯: 3 / 4",
		"- Visual check (目視確認) ◯: 2 / 4",
		"- Both ◯: 2; Neither: 1",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	// Every table row has the header's number of columns.
	var cols int
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		n := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|")
		if cols == 0 {
			cols = n
		} else if n != cols {
			t.Errorf("row with %d separators, header has %d: %s", n, cols, line)
		}
	}
}

// checkWellFormed walks the HTML tokens and checks that every non-void element is closed in
// order, and that nothing loads another resource (links to sources are followed only when
// clicked). It returns the images.
func checkWellFormed(t *testing.T, page string) (imgs []string) {
	t.Helper()
	void := map[string]bool{"meta": true, "img": true, "br": true, "link": true, "hr": true, "input": true}
	var stack []string
	z := html.NewTokenizer(strings.NewReader(page))
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				t.Fatalf("tokenize: %v", z.Err())
			}
			if len(stack) != 0 {
				t.Fatalf("unclosed elements: %v", stack)
			}
			return imgs
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			for _, a := range tok.Attr {
				if tok.Data == "a" && a.Key == "href" && strings.HasPrefix(a.Val, "https://") {
					continue
				}
				if a.Key == "src" || a.Key == "href" {
					if tok.Data != "img" || !strings.HasPrefix(a.Val, "data:image/png;base64,") {
						t.Errorf("<%s %s=%.40q> references a resource", tok.Data, a.Key, a.Val)
					}
					imgs = append(imgs, a.Val)
				}
			}
			if tok.Data == "script" || tok.Data == "link" || tok.Data == "iframe" {
				t.Errorf("<%s> in a self-contained page", tok.Data)
			}
			if tt == html.StartTagToken && !void[tok.Data] {
				stack = append(stack, tok.Data)
			}
		case html.EndTagToken:
			tok := z.Token()
			if len(stack) == 0 || stack[len(stack)-1] != tok.Data {
				t.Fatalf("</%s> closes %v", tok.Data, stack)
			}
			stack = stack[:len(stack)-1]
		}
	}
}

func TestHTML(t *testing.T) {
	page := render(t, WriteHTML, sampleRun(t))
	for _, bad := range []string{"http://", "url(", "@import", "ACME <Labs>", "#ZgotmplZ"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	for _, want := range []string{
		"ACME &lt;Labs&gt;",
		"VIS-002 terminal certificate (80 A2)",
		"transceive length exceeds supported maximum (612 &gt; 261)",
		`class="mark yes"`, `class="mark no"`,
		`<html lang="en">`, `id="what"`, "These verdicts are predictions",
		`<a href="https://developer.apple.com/forums/thread/120496">Apple Developer Forums thread 120496</a>`,
		"420.0", "1234.0", "Remedy:",
		"PIN-001 read auth certificate",
		"<th>Envelope, measured</th>",
		"<div>command ≤ 261 B</div><div>response ≤ 5890 B</div><div>Extended APDU: no</div><div>✗ command 262 B (TRN-C262, transceive-length)</div>",
		"<div>✗ response Le 1692 (TRN-R1693, response-cap)</div>",
		"<div>card not reached (card-removed)</div>",
		`×<div class="rate">1/3 (33%)</div>`, `◯<div class="rate">3/3 (100%)</div>`,
		"Runs of each device&#39;s path (-repeat): <b>3</b>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	imgs := checkWellFormed(t, page)
	// One thumbnail per passing visual run with a photo (iPhone, Pixel); none for the others.
	if len(imgs) != 2 {
		t.Fatalf("%d images, want 2", len(imgs))
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(imgs[0], "data:image/png;base64,"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("thumbnail is not a PNG: %v", err)
	}
	if _, ok := img.(*image.Gray); !ok {
		t.Errorf("thumbnail is %T, want greyscale", img)
	}
	if b := img.Bounds(); b.Dy() != ThumbHeight || b.Dx() != 90 {
		t.Errorf("thumbnail is %v, want 90x%d (aspect kept)", b, ThumbHeight)
	}
}

func TestHTMLJapanese(t *testing.T) {
	page := render(t, WriteHTML, Localize(sampleRun(t), LangJA))
	for _, want := range []string{`<html lang="ja">`, "対応端末一覧", "暗証番号", "目視確認", "実機の測定ではなく予測", "対処:", "端末証明書の送信（80 A2）", "失敗（理由の記録なし）"} {
		if !strings.Contains(page, want) {
			t.Errorf("Japanese page lacks %q", want)
		}
	}
	if !strings.Contains(page, "実測の送受信範囲") || !strings.Contains(page, "カードに届かず") {
		t.Error("the Japanese page does not name the measured envelope in Japanese")
	}
	if strings.Contains(page, "Tap time") || strings.Contains(page, "Remedy") || strings.Contains(page, "no reason recorded") {
		t.Error("English headings on the Japanese page")
	}
}

func TestHTMLNoThumbnailForFailedVisual(t *testing.T) {
	r := sampleRun(t)
	for i := range r.Devices {
		r.Devices[i].Visual.Supported = false
	}
	if imgs := checkWellFormed(t, render(t, WriteHTML, r)); len(imgs) != 0 {
		t.Fatalf("%d thumbnails for runs whose visual mode failed", len(imgs))
	}
}

func TestHTMLBadPhoto(t *testing.T) {
	r := sampleRun(t)
	r.Devices[1].FacePhoto = []byte("not a JPEG 2000 image")
	page := render(t, WriteHTML, r)
	if !strings.Contains(page, "face photo") || len(checkWellFormed(t, page)) != 1 {
		t.Fatal("an unreadable photo should show its error and leave the other thumbnail")
	}
}

func TestThumbnail(t *testing.T) {
	p, err := Thumbnail(testPhoto(t))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(p))
	if err != nil {
		t.Fatal(err)
	}
	g := img.(*image.Gray)
	// The synthetic portrait: a light head in the middle, a dark background in the corner.
	head, corner := g.GrayAt(45, 64).Y, g.GrayAt(3, 3).Y
	if head < 180 || corner > 100 {
		t.Fatalf("head %d, corner %d: the photo was not decoded as drawn", head, corner)
	}
	photo := testPhoto(t)
	for name, b := range map[string][]byte{
		"empty":     nil,
		"garbage":   []byte("\x00\x00\x00\x0cjP  \r\n\x87\n garbage"),
		"truncated": photo[:len(photo)/2],
		"header":    photo[:40],
	} {
		if _, err := Thumbnail(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestCSVRoundTrip(t *testing.T) {
	r := sampleRun(t)
	rows, err := csv.NewReader(strings.NewReader(render(t, WriteCSV, r))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rows[0], CSVHeader) {
		t.Fatalf("header %v", rows[0])
	}
	if len(rows) != 1+len(r.Devices) {
		t.Fatalf("%d rows for %d devices", len(rows), len(r.Devices))
	}
	want := map[string]DeviceResult{}
	for _, d := range r.Devices {
		want[d.ID] = d
	}
	atoi := func(s string) int {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	millis := func(s string) time.Duration {
		if s == "" {
			return 0
		}
		d, err := time.ParseDuration(s + "ms")
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	var prev string
	for _, row := range rows[1:] {
		if row[0] <= prev {
			t.Errorf("rows not sorted by ID: %q after %q", row[0], prev)
		}
		prev = row[0]
		c := func(name string) string {
			i := slices.Index(CSVHeader, name)
			if i < 0 {
				t.Fatalf("no CSV column %s", name)
			}
			return row[i]
		}
		mode := func(p string) ModeResult {
			return ModeResult{Supported: c(p+"_supported") == "true", FailedStep: c(p + "_failed_step"), Cause: c(p + "_cause"), Reason: c(p + "_reason"),
				Remedy: c(p + "_remedy"), TapTime: millis(c(p + "_tap_time_ms")), Runs: atoi(c(p + "_runs")), PassedRuns: atoi(c(p + "_passed_runs"))}
		}
		got := DeviceResult{
			ID: c("id"), Maker: c("maker"), Model: c("model"), OS: c("os"), Platform: c("platform"), Source: c("source"), SourceURL: c("source_url"),
			MaxTransceive: atoi(c("max_transceive")), Extended: c("extended") == "true", MaxResponse: atoi(c("max_response")), BitRate: atoi(c("bit_rate_kbps")),
			Reader: c("reader"), ATR: c("atr"), Card: c("card"), PIN: mode("pin"), Visual: mode("visual"),
		}
		switch {
		case c("envelope_unreachable") != "":
			got.Envelope = &Envelope{Unreachable: c("envelope_unreachable")}
		case c("envelope_longest_command") != "":
			got.Envelope = &Envelope{LongestCommand: atoi(c("envelope_longest_command")), LongestResponse: atoi(c("envelope_longest_response")),
				Extended: c("envelope_extended") == "true", FirstFailedCommand: atoi(c("envelope_first_failed_command")),
				CommandFailedBy: c("envelope_command_failed_by"), CommandCause: c("envelope_command_cause"),
				FirstFailedResponse: atoi(c("envelope_first_failed_response")), ResponseFailedBy: c("envelope_response_failed_by"),
				ResponseCause: c("envelope_response_cause")}
		}
		w := want[got.ID]
		w.PIN, w.Visual = shown(w.PIN), shown(w.Visual)
		w.PIN.Reason, w.Visual.Reason = oneLine(w.PIN.Reason), oneLine(w.Visual.Reason)
		w.FacePhoto, w.PIN.Steps, w.Visual.Steps = nil, nil, nil // not in the CSV
		if !reflect.DeepEqual(got, w) {
			t.Errorf("row %s:\n got %+v\nwant %+v", got.ID, got, w)
		}
	}
}

func TestMillis(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0", 420 * time.Millisecond: "420", time.Millisecond + 1: "1.000001", 1500 * time.Microsecond: "1.5", 90 * time.Second: "90000",
	} {
		if got := Millis(d); got != want {
			t.Errorf("Millis(%v) = %q, want %q", d, got, want)
		}
		back, err := parseMillis(mustFloat(t, Millis(d)))
		if err != nil || back != d {
			t.Errorf("Millis(%v) reads back as %v, %v", d, back, err)
		}
	}
}

func mustFloat(t *testing.T, s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestJSONRoundTripAndStrict(t *testing.T) {
	r := sampleRun(t)
	js := render(t, WriteJSON, r)
	got, err := ReadJSON(strings.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	want := *r
	want.Devices = sortedDevices(r)
	for i := range want.Devices {
		want.Devices[i].PIN, want.Devices[i].Visual = shown(want.Devices[i].PIN), shown(want.Devices[i].Visual)
	}
	if !reflect.DeepEqual(got, &want) {
		t.Fatalf("JSON round trip differs:\n got %+v\nwant %+v", got, &want)
	}
	for _, key := range []string{`"schema": "` + Schema + `"`, `"repeat": 3`, `"envelope": null`, `"first_failed_response": 1692`, `"unreachable": "card-removed"`, `"passed_runs": 1`, `"max_transceive"`, `"failed_step"`, `"tap_time_ms": 1234`, `"tap_time_ms": null`, `"time_ms": 180`, `"cause": "transceive-length"`, `"face_photo"`, `"bit_rate"`, `"lang": "en"`} {
		if !strings.Contains(js, key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
	for name, in := range map[string]string{
		"no schema":               `{"target":"emulator","devices":[]}`,
		"unknown mode field":      `{"schema":"` + Schema + `","target":"emulator","devices":[{"id":"a","pin":{"tap_time":1}}]}`,
		"negative time":           `{"schema":"` + Schema + `","target":"emulator","devices":[{"id":"a","pin":{"supported":true,"tap_time_ms":-1}}]}`,
		"unknown top-level field": `{"target":"emulator","started":"2026-01-01T00:00:00Z","devices":[],"extra":1}`,
		"unknown device field":    `{"target":"emulator","devices":[{"id":"a","colour":"red"}]}`,
		"trailing data":           `{"target":"emulator","devices":[]} {}`,
		"duplicate id":            `{"target":"emulator","devices":[{"id":"a"},{"id":"a"}]}`,
		"empty id":                `{"target":"emulator","devices":[{"id":""}]}`,
		"not JSON":                `supported-devices`,
	} {
		if _, err := ReadJSON(strings.NewReader(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestWriteAll(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	r := sampleRun(t)
	if err := WriteAll(dir, r); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{CSVFile, HTMLFile, JSONFile, MarkdownFile}; !reflect.DeepEqual(names, want) {
		t.Fatalf("files %v, want %v (no temporaries left)", names, want)
	}
	md, err := os.ReadFile(filepath.Join(dir, MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	if string(md) != render(t, WriteMarkdown, r) {
		t.Fatal("the Markdown file differs from WriteMarkdown")
	}
	// Writing again replaces the files.
	r.Devices = r.Devices[:1]
	if err := WriteAll(dir, r); err != nil {
		t.Fatal(err)
	}
	if md2, _ := os.ReadFile(filepath.Join(dir, MarkdownFile)); bytes.Equal(md, md2) {
		t.Fatal("second WriteAll did not replace the list")
	}
}

func TestSummary(t *testing.T) {
	r := sampleRun(t)
	r.Devices[3].Maker = "シャープ" // wide characters stay aligned
	s := render(t, func(w io.Writer, r *Run) error { return Summary(w, r, false) }, r)
	lines := strings.Split(s, "\n")
	col := func(line, field string) int { return displayWidth(line[:strings.Index(line, field)]) }
	header := col(lines[0], "  PIN  ")
	for _, l := range lines[1:5] {
		var mark string
		for _, f := range strings.Fields(l) {
			if f == markYes || f == markNo {
				mark = f
				break
			}
		}
		if mark == "" || col(l, "  "+mark+" ") != header {
			t.Errorf("PIN column not aligned with the header:\n%s\n%s", lines[0], l)
		}
	}
	for _, want := range []string{
		"Supported devices (emulator): Devices 4; PIN ◯ 3, 目視確認 ◯ 2, Both 2, Neither 1; Runs of each device's path (-repeat) 3",
		"- [transceive-length] The handset carries at most 261 bytes",
		"- [card-removed] The card left",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	// The envelope and the pass rates, in columns separated by two or more spaces.
	gap := regexp.MustCompile(`\s{2,}`)
	cells := map[string]string{}
	for _, l := range lines[1:5] {
		f := gap.Split(l, -1)
		cells[f[0]] = strings.Join(f[4:9], " | ")
	}
	for id, want := range map[string]string{
		"samsung-galaxy-s3-stock": "261/5890 short ✗TRN-C262 | ◯ | × | 3/3 (100%) | 0/3 (0%)",
		"apple-iphone-ios13":      "52148/1693 ext ✗TRN-C65535 ✗TRN-R1693 | ◯ | ◯ | 3/3 (100%) | 3/3 (100%)",
		"acme-reader-x|1":         "– (card-removed) | × | × | 1/3 (33%) | –",
		"google-pixel-8":          "– | ◯ | ◯ | 3/3 (100%) | 3/3 (100%)",
	} {
		if cells[id] != want {
			t.Errorf("summary of %s: %q, want %q", id, cells[id], want)
		}
	}
	if strings.Contains(s, "\x1b[") {
		t.Error("colour codes without color")
	}
	if c := render(t, func(w io.Writer, r *Run) error { return Summary(w, r, true) }, r); !strings.Contains(c, ansiGreen+markYes+ansiReset) {
		t.Error("no colour with color")
	}
}

// FuzzThumbnail feeds the JPEG 2000 decoder bytes as a card could return them: an error is
// fine, a panic is not.
func FuzzThumbnail(f *testing.F) {
	photo := testPhoto(f)
	f.Add(photo)
	f.Add(photo[:len(photo)/3])
	f.Add([]byte("\x00\x00\x00\x0cjP  \r\n\x87\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Thumbnail(b)
		if err == nil {
			if _, err := png.Decode(bytes.NewReader(p)); err != nil {
				t.Fatalf("Thumbnail returned a broken PNG: %v", err)
			}
		}
	})
}

func TestEmptyRun(t *testing.T) {
	r := &Run{Schema: Schema, Target: "pcsc"}
	md := render(t, WriteMarkdown, r)
	if !strings.Contains(md, "- Devices: 0") || !strings.Contains(md, "measured through PC/SC") {
		t.Errorf("empty run:\n%s", md)
	}
	checkWellFormed(t, render(t, WriteHTML, r))
	got, err := ReadJSON(strings.NewReader(render(t, WriteJSON, r)))
	if err != nil || got.Devices == nil || len(got.Devices) != 0 {
		t.Fatalf("empty run JSON: %+v, %v", got, err)
	}
	if WriteMarkdown(io.Discard, nil) == nil || WriteHTML(io.Discard, nil) == nil || WriteCSV(io.Discard, nil) == nil ||
		WriteJSON(io.Discard, nil) == nil || Summary(io.Discard, nil, false) == nil || WriteAll(t.TempDir(), nil) == nil {
		t.Fatal("a nil run must be an error")
	}
}

// TestThumbnailRefusesAllocationBombs: header fields the decoder would size allocations by are
// checked first (an out-of-range code-block exponent made it allocate terabytes; see
// testdata/fuzz/FuzzThumbnail).
func TestThumbnailRefusesAllocationBombs(t *testing.T) {
	photo := testPhoto(t)
	cs, err := codestreamOf(photo)
	if err != nil {
		t.Fatal(err)
	}
	off := len(photo) - len(cs) // codestream position in the file
	find := func(marker []byte) int {
		i := bytes.Index(cs, marker)
		if i < 0 {
			t.Fatalf("marker % X not in the test photo", marker)
		}
		return off + i
	}
	siz, cod := find([]byte{0xFF, 0x51}), find([]byte{0xFF, 0x52})
	for name, patch := range map[string]func(b []byte){
		"code-block width exponent": func(b []byte) { b[cod+4+5+1] = 0xFF },
		"code-block area":           func(b []byte) { b[cod+4+5+1], b[cod+4+5+2] = 6, 6 },
		"decomposition levels":      func(b []byte) { b[cod+4+5] = 200 },
		"quality layers":            func(b []byte) { b[cod+4+2], b[cod+4+3] = 0xFF, 0xFF },
		"image width":               func(b []byte) { binary.BigEndian.PutUint32(b[siz+6:], 1<<30) },
		"tile width zero":           func(b []byte) { binary.BigEndian.PutUint32(b[siz+6+16:], 0) },
		"components":                func(b []byte) { binary.BigEndian.PutUint16(b[siz+6+32:], 300) },
		"box length":                func(b []byte) { binary.BigEndian.PutUint32(b[off-8:], 0xFFFFFFF0) },
	} {
		b := bytes.Clone(photo)
		patch(b)
		if _, err := Thumbnail(b); !errors.Is(err, errCodestream) {
			t.Errorf("%s: %v, want the header refused", name, err)
		}
	}
}

func TestTapTime(t *testing.T) {
	for _, tc := range []struct {
		m    ModeResult
		want string
	}{
		{ModeResult{Supported: true}, "–"}, {ModeResult{Supported: true, TapTime: 3200 * time.Microsecond}, "3.2"},
		{ModeResult{Supported: true, TapTime: 1390*time.Millisecond + 49*time.Microsecond}, "1390.0"},
		{ModeResult{Supported: false, TapTime: time.Second}, "–"},
	} {
		if got := tapTime(tc.m); got != tc.want {
			t.Errorf("tapTime(%+v) = %q, want %q", tc.m, got, tc.want)
		}
	}
}

func TestProgressLine(t *testing.T) {
	d := DeviceResult{ID: "google-nexus-s", PIN: ModeResult{Supported: true}}
	for _, tc := range []struct {
		lang        string
		color       bool
		done, total int
		left        time.Duration
		want        string
	}{
		{LangEN, false, 3, 20, 2 * time.Second, "[ 3/20] google-nexus-s  PIN ◯  目視確認 ×  about 2 s left"},
		{LangJA, false, 3, 20, 2 * time.Second, "[ 3/20] google-nexus-s  暗証番号 ◯  目視確認 ×  残り 約2 秒"},
		{LangEN, false, 20, 20, 0, "[20/20] google-nexus-s  PIN ◯  目視確認 ×"},
		{LangEN, true, 1, 2, 0, "[1/2] google-nexus-s  PIN " + ansiGreen + "◯" + ansiReset + "  目視確認 " + ansiRed + "×" + ansiReset},
	} {
		if got := ProgressLine(tc.lang, tc.color, tc.done, tc.total, d, tc.left); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}

// TestPassRateOnlyWithRepeat: a run of one pass per device shows no pass-rate column in the
// Markdown, the page or the terminal (the JSON and the CSV keep runs and passed_runs, so that
// their layout does not depend on the flag).
func TestPassRateOnlyWithRepeat(t *testing.T) {
	r := sampleRun(t)
	r.Repeat = 1
	for i := range r.Devices {
		for _, m := range []*ModeResult{&r.Devices[i].PIN, &r.Devices[i].Visual} {
			if m.Runs > 0 {
				m.Runs = 1
				m.PassedRuns = min(m.PassedRuns, 1)
			}
		}
	}
	summary := func(w io.Writer, r *Run) error { return Summary(w, r, false) }
	for name, out := range map[string]string{"Markdown": render(t, WriteMarkdown, r), "HTML": render(t, WriteHTML, r), "terminal": render(t, summary, r)} {
		if strings.Contains(out, "Pass rate") || strings.Contains(out, "(-repeat)") {
			t.Errorf("%s shows a pass rate for a run without -repeat", name)
		}
	}
	if csv := render(t, WriteCSV, r); !strings.Contains(csv, "pin_runs,pin_passed_runs") {
		t.Error("the CSV lost its runs columns")
	}
	if js := render(t, WriteJSON, r); !strings.Contains(js, `"repeat": 1`) || !strings.Contains(js, `"passed_runs": 1`) {
		t.Error("the JSON lost repeat or passed_runs")
	}
}
