package conformance

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/mynaconform/mynaconform/conformance/target"
	"github.com/mynaconform/mynaconform/reports"
)

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		name string
		res  *Result
		err  error
		want int
	}{
		{"all as required", &Result{Passed: true}, nil, 0},
		{"a device does not conform", &Result{NonConforming: []string{"d VIS-001: x"}}, nil, 1},
		{"bad input", nil, usagef("-only: no device"), 2},
		{"the suite failed", &Result{NonConforming: []string{"d VIS-001"}, Internal: []string{"panic"}}, nil, 3},
		{"ran twice", nil, ErrAlreadyRan, 3},
		{"other error", nil, errors.New("boom"), 3},
	} {
		if got := ExitCode(tc.res, tc.err); got != tc.want {
			t.Errorf("%s: exit %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestParseIDList(t *testing.T) {
	got, err := ParseIDList("only", " a, b ,a,c")
	if err != nil || !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Errorf("%v, %v", got, err)
	}
	if got, err := ParseIDList("only", ""); got != nil || err != nil {
		t.Errorf("empty: %v, %v", got, err)
	}
	for _, bad := range []string{"a,", ",a", "a,,b", "a, ,b"} {
		var ue *UsageError
		if _, err := ParseIDList("only", bad); !errors.As(err, &ue) || !strings.HasPrefix(err.Error(), "-only: entry") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestSelectDevices(t *testing.T) {
	ds := []target.Device{{ID: "apple-iphone-ios13"}, {ID: "google-nexus-s"}, {ID: "synthetic-max-261"}}
	cat := place{"the catalogue", "端末カタログ"}
	got, err := selectDevices(ds, []string{"synthetic-max-261", "apple-iphone-ios13"}, cat)
	if err != nil || len(got) != 2 || got[0].ID != "apple-iphone-ios13" {
		t.Errorf("%v, %v (the target's order, whatever the order of -only)", got, err)
	}
	for id, want := range map[string][2]string{
		"google-nexus-z": {"(did you mean google-nexus-s?)", "（google-nexus-s のことですか？）"},
		"nexus-s":        {"(did you mean google-nexus-s?)", "（google-nexus-s のことですか？）"},
		"typo":           {"known: apple-iphone-ios13, google-nexus-s, synthetic-max-261", "指定できる ID: apple-iphone-ios13, google-nexus-s, synthetic-max-261"},
	} {
		_, err := selectDevices(ds, []string{id}, cat)
		if err == nil || !strings.Contains(err.Error(), want[0]) || !strings.Contains(err.Error(), `no device "`+id+`" in the catalogue`) {
			t.Errorf("%s: %v, want %q", id, err, want[0])
			continue
		}
		if ja := MessageIn(reports.LangJA, err); !strings.Contains(ja, want[1]) || !strings.Contains(ja, `端末カタログに端末 "`+id+`" はありません`) {
			t.Errorf("%s in Japanese: %s, want %q", id, ja, want[1])
		}
	}
}

// TestUsageErrorsJapanese: every input error of run that has a Japanese text gives it under
// -lang ja, formatted from the same arguments (no %!verb), and English otherwise.
func TestUsageErrorsJapanese(t *testing.T) {
	for _, o := range []Options{
		{Target: "usb"}, {Verdicts: "lax"}, {Lang: "de"}, {Generate: -3}, {Repeat: 101}, {Slots: 65},
		{Slots: 2}, {Certify: "k.pem"}, {Concurrency: 999}, {Generate: 3, DevicesDir: "x"},
		{Target: "pcsc", Generate: 3}, {Reader: "r"}, {DevicesDir: filepath.Join(t.TempDir(), "none")},
	} {
		err := o.normalize()
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Errorf("%+v: %v, want a UsageError", o, err)
			continue
		}
		ja, en := ue.In(reports.LangJA), ue.In(reports.LangEN)
		if ja == en || !strings.HasPrefix(ja, "-") || strings.Contains(ja+en, "%!") || ue.JA == "" {
			t.Errorf("%+v: en %q, ja %q", o, en, ja)
		}
	}
}

func TestLangFromEnv(t *testing.T) {
	for _, tc := range []struct{ all, msg, lang, want string }{
		{"", "", "ja_JP.UTF-8", reports.LangJA},
		{"", "", "en_US.UTF-8", reports.LangEN},
		{"C", "", "ja_JP.UTF-8", reports.LangEN}, // LC_ALL wins
		{"", "ja_JP.UTF-8", "C", reports.LangJA},
		{"", "", "", reports.LangEN},
	} {
		t.Setenv("LC_ALL", tc.all)
		t.Setenv("LC_MESSAGES", tc.msg)
		t.Setenv("LANG", tc.lang)
		if got := LangFromEnv(); got != tc.want {
			t.Errorf("LC_ALL=%q LC_MESSAGES=%q LANG=%q: %s, want %s", tc.all, tc.msg, tc.lang, got, tc.want)
		}
	}
}

// TestInstallReplacesWhole: the staging folder takes the old result set's place; nothing of the
// old set survives but a nested result set; a folder with foreign files is refused.
func TestInstallReplacesWhole(t *testing.T) {
	base := t.TempDir()
	out := filepath.Join(base, "out")
	write := func(p string) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(out, reports.JSONFile))
	write(filepath.Join(out, TranscriptsDir, "old-device", "PIN-001.cbor"))
	write(filepath.Join(out, "hil", reports.JSONFile))
	write(filepath.Join(out, "hil", "go-test.log"))
	if err := checkOut(out); err != nil {
		t.Fatal(err)
	}
	staging, err := stagingName(out, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(staging, reports.JSONFile))
	write(filepath.Join(staging, TranscriptsDir, "new-device", "PIN-001.cbor"))
	if err := install(staging, out); err != nil {
		t.Fatal(err)
	}
	var got []string
	_ = filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
		if !d.IsDir() {
			r, _ := filepath.Rel(base, p)
			got = append(got, r)
		}
		return nil
	})
	want := []string{"out/hil/go-test.log", "out/hil/supported-devices.json", "out/supported-devices.json", "out/transcripts/new-device/PIN-001.cbor"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after install: %v, want %v", got, want)
	}
	write(filepath.Join(out, "notes.txt"))
	if err := checkOut(out); err == nil || !strings.Contains(err.Error(), "holds notes.txt") {
		t.Errorf("foreign file: %v", err)
	}
	// Under the ginkgo CLI every process finds the same staging folder.
	a, _ := stagingName(out, 42, "http://127.0.0.1:5000")
	b, _ := stagingName(out, 42, "http://127.0.0.1:5000")
	c, _ := stagingName(out, 43, "http://127.0.0.1:5000")
	if a != b || a == c || filepath.Dir(a) != base {
		t.Errorf("staging names %s %s %s", a, b, c)
	}
}

// TestStepsHaveJapaneseNames: every step the app names (each Step constant of conformance/app,
// read from its source so that a new one cannot be missed) has a Japanese name in the list.
func TestStepsHaveJapaneseNames(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, "app", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	steps := []string{stepTerminalSetUp}
	for _, pkg := range pkgs {
		for _, f := range pkg.Files {
			ast.Inspect(f, func(n ast.Node) bool {
				vs, ok := n.(*ast.ValueSpec)
				if !ok {
					return true
				}
				for i, name := range vs.Names {
					if i >= len(vs.Values) {
						break
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && strings.HasPrefix(name.Name, "Step") && lit.Kind == token.STRING {
						v, _ := strconv.Unquote(lit.Value)
						steps = append(steps, v)
					}
				}
				return true
			})
		}
	}
	if len(steps) < 10 {
		t.Fatalf("found only %d steps in conformance/app", len(steps))
	}
	for _, step := range steps {
		if !reports.StepJA(step) {
			t.Errorf("step %q has no Japanese name (reports/i18n.go stepsJA)", step)
		}
	}
}

// TestLabTrustCheckedFirst: a trust-anchor file that cannot be read is a set-up error before
// anything runs, naming the variable.
func TestLabTrustCheckedFirst(t *testing.T) {
	t.Setenv(envLabAuthCA, filepath.Join(t.TempDir(), "missing.pem"))
	o := Options{}
	var ue *UsageError
	if err := o.normalize(); !errors.As(err, &ue) || !strings.HasPrefix(err.Error(), envLabAuthCA+": ") {
		t.Errorf("%v, want a usage error naming %s", err, envLabAuthCA)
	}
}
