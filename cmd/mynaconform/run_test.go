package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// userRun runs the built binary as a user with no checkout and no Go toolchain would: a copy
// of it in a temporary folder outside the source tree, run from there, with a PATH that holds
// no go command and an English locale.
type userRun struct {
	dir, bin string
}

func newUserRun(t *testing.T) *userRun {
	t.Helper()
	dir := t.TempDir()
	if wd, _ := os.Getwd(); strings.HasPrefix(dir, filepath.Dir(filepath.Dir(wd))) {
		t.Fatalf("temporary folder %s is inside the checkout", dir)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	u := &userRun{dir: dir, bin: filepath.Join(dir, "mynaconform")}
	if err := os.WriteFile(u.bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return u
}

func (u *userRun) run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return u.runIn(t, "C.UTF-8", args...)
}

// runIn runs the binary with LANG=locale.
func (u *userRun) runIn(t *testing.T, locale string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(u.bin, args...)
	cmd.Dir = u.dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + u.dir, "LANG=" + locale, "TMPDIR=" + os.TempDir()}
	return execute(t, cmd)
}

func (u *userRun) path(p ...string) string { return filepath.Join(append([]string{u.dir}, p...)...) }

// listed reads the device IDs of a result set's JSON list.
func listed(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "supported-devices.json"))
	if err != nil {
		t.Fatal(err)
	}
	var run struct {
		Devices []struct{ ID string }
	}
	if err := json.Unmarshal(b, &run); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range run.Devices {
		ids = append(ids, d.ID)
	}
	return ids
}

// files lists every file under dir, relative, and every entry beside it (staging leftovers).
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			r, _ := filepath.Rel(dir, p)
			out = append(out, r)
		}
		return nil
	})
	return out
}

func TestRunFromAnyFolder(t *testing.T) {
	u := newUserRun(t)
	// A space after the comma is trimmed, not a second run of one device.
	stdout, stderr, code := u.run(t, "run", "-only", "google-nexus-s, apple-iphone-ios13", "-out", "out")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"[1/2] apple-iphone-ios13  PIN ◯  目視確認 ◯", "[2/2] google-nexus-s  PIN ◯  目視確認 ×",
		"Supported devices (emulator): Devices 2", "[transceive-length]", "result set: out",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "\x1b[") {
		t.Error("colour codes on a stdout that is not a terminal")
	}
	if strings.Contains(stdout, "Ginkgo") || strings.Contains(stdout, "Ran 24 of") || stderr != "" {
		t.Errorf("Ginkgo's report or errors in a plain run:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	if got := listed(t, u.path("out")); strings.Join(got, ",") != "apple-iphone-ios13,google-nexus-s" {
		t.Errorf("listed %v", got)
	}
	got := strings.Join(files(t, u.path("out")), "\n")
	for _, dev := range []string{"apple-iphone-ios13", "google-nexus-s"} {
		for _, spec := range []string{"PIN-001", "PIN-003", "PIN-004", "VIS-001", "VIS-003"} {
			if f := filepath.Join("transcripts", dev, spec+".cbor"); !strings.Contains(got, f) {
				t.Errorf("no transcript %s (every spec that talks to a card has one)", f)
			}
		}
	}
	for _, f := range []string{"supported-devices.md", "supported-devices.html", "supported-devices.json", "supported-devices.csv", "junit.xml", "ginkgo-report.json"} {
		if !strings.Contains(got, f) {
			t.Errorf("result set lacks %s", f)
		}
	}
	ents, _ := os.ReadDir(u.dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left %s beside the result set", e.Name())
		}
	}
}

// TestRunLanguageFromLocale: a Japanese locale gives the terminal output and the list in
// Japanese with the official app's words; -lang overrides the locale.
func TestRunLanguageFromLocale(t *testing.T) {
	u := newUserRun(t)
	stdout, stderr, code := u.runIn(t, "ja_JP.UTF-8", "run", "-only", "google-nexus-s", "-out", "out")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"[1/1] google-nexus-s  暗証番号 ◯  目視確認 ×", "対応端末一覧 (emulator): 端末数 1", "対処 (×):", "結果: out"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	md, err := os.ReadFile(u.path("out", "supported-devices.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "# 対応端末一覧") || !strings.Contains(string(md), "目視確認: VIS-001 端末証明書の送信（80 A2）") {
		t.Errorf("the list is not in Japanese:\n%s", md)
	}
	stdout, _, _ = u.runIn(t, "ja_JP.UTF-8", "run", "-only", "google-nexus-s", "-out", "out", "-lang", "en")
	if !strings.Contains(stdout, "PIN ◯  目視確認 ×") || strings.Contains(stdout, "暗証番号") {
		t.Errorf("-lang en under a Japanese locale:\n%s", stdout)
	}
}

// TestRunColourOnTerminal: on a terminal (a pseudo-terminal from util-linux's script) the marks
// are coloured; TestRunFromAnyFolder checks there is no colour code on a pipe.
func TestRunColourOnTerminal(t *testing.T) {
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("no script(1) to give the command a terminal (Debian package util-linux)")
	}
	u := newUserRun(t)
	cmd := exec.Command(script, "-qec", u.bin+" run -only google-nexus-s -out out", "/dev/null")
	cmd.Dir = u.dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + u.dir, "LANG=C.UTF-8", "TERM=xterm"}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(out), "PIN \x1b[32m◯\x1b[0m  目視確認 \x1b[31m×\x1b[0m") {
		t.Errorf("no coloured marks on a terminal:\n%q", out)
	}
}

// TestRunBadInputs: each bad input is refused before anything runs, with exit 2 and one line
// that names the flag, file or field and what is allowed; an earlier result set stays as it
// was and nothing of it is shown as this run's.
func TestRunBadInputs(t *testing.T) {
	u := newUserRun(t)
	if _, stderr, code := u.run(t, "run", "-only", "synthetic-max-65279", "-out", "out"); code != 0 {
		t.Fatalf("first run: exit %d: %s", code, stderr)
	}
	before := files(t, u.path("out"))

	src, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "devices", "google-nexus-s.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(dir, name, content string) string {
		p := u.path(dir)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	negative := write("neg", "google-nexus-s.yaml", strings.Replace(string(src), "max_transceive: 261", "max_transceive: -5", 1))
	yml := write("yml", "google-nexus-s.yml", string(src))
	noUnit := write("nounit", "google-nexus-s.yaml", strings.Replace(string(src), "timeout: 618ms", "timeout: 5000", 1))
	write("notes", "README.txt", "my notes")
	write(".", "afile", "x")

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown ID under strict", []string{"-only", "apple-iphone-ios13,typo", "-verdicts", "strict"}, `-only: no device "typo" in the built-in catalogue; known: apple-iphone-ios13, google-nexus-s,`},
		{"unknown ID", []string{"-only", "no-such-phone"}, `-only: no device "no-such-phone"`},
		{"close to a known ID", []string{"-only", "google-nexus"}, "(did you mean google-nexus-s?)"},
		{"empty entry", []string{"-only", "google-nexus-s,,apple-iphone-ios13"}, "-only: entry 2 of"},
		{"negative generate", []string{"-generate", "-3"}, "-generate: -3 is outside 1..100000"},
		{"huge generate", []string{"-generate", "1000000"}, "-generate: 1000000 is outside 1..100000"},
		{"generate not a number", []string{"-generate", "many"}, `invalid value "many" for flag -generate`},
		{"positional argument", []string{"google-nexus-s"}, `unexpected argument "google-nexus-s": run takes flags only`},
		{"unknown flag", []string{"-devise", "x"}, "flag provided but not defined: -devise ('mynaconform run -h' lists the flags)"},
		{"negative max transceive", []string{"-devices", negative}, "-devices neg: google-nexus-s.yaml: max_transceive: -5 outside 0..65544"},
		{"duration without unit", []string{"-devices", noUnit}, "-devices nounit: google-nexus-s.yaml: line 9: timeout: 5000 has no unit"},
		{".yml profile", []string{"-devices", yml}, "-devices: yml/google-nexus-s.yml: profiles end in .yaml, not .yml (rename it to google-nexus-s.yaml)"},
		{"missing devices folder", []string{"-devices", "nowhere"}, "-devices: nowhere does not exist"},
		{"devices folder without profiles", []string{"-devices", "notes"}, "-devices: notes holds no *.yaml profile"},
		{"devices and generate", []string{"-devices", yml, "-generate", "3"}, "-generate and -devices exclude each other"},
		{"verdicts", []string{"-verdicts", "lenient"}, `-verdicts: "lenient" is not allowed (allowed: expect, strict, record)`},
		{"target", []string{"-target", "bluetooth"}, `-target: "bluetooth" is not a target (allowed: emulator, pcsc)`},
		{"pcsc without the build tag", []string{"-target", "pcsc"}, "-tags pcsc"},
		{"reader without pcsc", []string{"-reader", "ACS ACR122U"}, "-reader and -lab need -target pcsc"},
		{"language", []string{"-lang", "fr"}, `-lang: "fr" is not allowed (allowed: ja, en)`},
		{"zero devices at once", []string{"-p", "0"}, "-p: 0 is outside 1..256"},
		{"too many at once", []string{"-p", "1000"}, "-p: 1000 is outside 1..256"},
		{"zero repeats", []string{"-repeat", "0"}, "-repeat: 0 is outside 1..100"},
		{"too many repeats", []string{"-repeat", "1000"}, "-repeat: 1000 is outside 1..100"},
		{"negative repeats", []string{"-repeat", "-2"}, "-repeat: -2 is outside 1..100"},
		{"repeat not a number", []string{"-repeat", "twice"}, `invalid value "twice" for flag -repeat`},
		{"slots without pcsc", []string{"-slots", "3"}, "-slots is for -target pcsc without -reader (one device per vpcd slot)"},
		{"zero slots", []string{"-slots", "0"}, "-slots: 0 is outside 1..64"},
		{"too many slots", []string{"-slots", "65", "-target", "pcsc"}, "-slots: 65 is outside 1..64"},
		{"certify a missing key", []string{"-certify", "nokey.pem"}, "-certify: open nokey.pem: no such file or directory"},
		{"certify a file that is no key", []string{"-certify", "afile"}, "-certify: afile: unusable key: no PEM block (want a PKCS#8 private key)"},
		{"out is a file", []string{"-out", "afile"}, "-out: afile is a file, not a folder"},
		{"out holds other files", []string{"-out", "notes"}, "-out: notes holds README.txt, which no result set has"},
		// With -lang ja the same refusals in Japanese.
		{"unknown ID, in Japanese", []string{"-lang", "ja", "-only", "typo"}, `-only: 内蔵の端末カタログに端末 "typo" はありません。指定できる ID: apple-iphone-ios13, google-nexus-s,`},
		{"close to a known ID, in Japanese", []string{"-lang", "ja", "-only", "google-nexus"}, "（google-nexus-s のことですか？）"},
		{"zero repeats, in Japanese", []string{"-lang", "ja", "-repeat", "0"}, "-repeat: 0 は 1〜100 の範囲外です"},
		{"positional argument, in Japanese", []string{"-lang", "ja", "google-nexus-s"}, `余分な引数 "google-nexus-s": run にはフラグだけを指定します`},
		{".yml profile, in Japanese", []string{"-lang", "ja", "-devices", yml}, "-devices: yml/google-nexus-s.yml: プロファイルの拡張子は .yml ではなく .yaml です（google-nexus-s.yaml に名前を変えてください）"},
		{"out is a file, in Japanese", []string{"-lang", "ja", "-out", "afile"}, "-out: afile はファイルです。フォルダを指定してください"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"run"}, tc.args...)
			if !contains(tc.args, "-out") {
				args = append(args, "-out", "out")
			}
			stdout, stderr, code := u.run(t, args...)
			if code != 2 {
				t.Errorf("exit %d, want 2\nstderr: %s", code, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q lacks %q", stderr, tc.want)
			}
			if n := strings.Count(strings.TrimSpace(stderr), "\n"); n != 0 {
				t.Errorf("%d lines on stderr, want one:\n%s", n+1, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout of a refused run (nothing may look like this run's list):\n%s", stdout)
			}
			if strings.Contains(stderr, "[FAILED]") || strings.Contains(stderr, "phone.Profile") {
				t.Errorf("Ginkgo output or a Go type in the error: %s", stderr)
			}
			if after := files(t, u.path("out")); strings.Join(after, ",") != strings.Join(before, ",") {
				t.Errorf("a refused run changed the earlier result set")
			}
		})
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestRunNonConforming: a vendor's own profile that cannot do 目視確認 fails the run under
// -verdicts strict with exit 1 (a device, not the set-up), and the list is still written.
func TestRunNonConforming(t *testing.T) {
	u := newUserRun(t)
	src, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "devices", "synthetic-max-261.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(u.path("mine"), 0o755); err != nil {
		t.Fatal(err)
	}
	prof := strings.Replace(string(src), "id: synthetic-max-261", "id: acme-phone-1", 1)
	if err := os.WriteFile(u.path("mine", "acme-phone-1.yaml"), []byte(prof), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := u.run(t, "run", "-devices", "mine", "-verdicts", "strict", "-out", "out")
	if code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "does not conform (-verdicts strict): 3 specs failed that must pass") || !strings.Contains(stderr, "acme-phone-1 VIS-001: terminal certificate (80 A2): transceive length exceeds supported maximum") {
		t.Errorf("stderr does not name the failing device and spec:\n%s", stderr)
	}
	if strings.Contains(stdout+stderr, "[FAILED]") || strings.Contains(stdout+stderr, "Summarizing") {
		t.Errorf("Ginkgo's failure report in a plain run:\n%s%s", stdout, stderr)
	}
	if got := listed(t, u.path("out")); len(got) != 1 || got[0] != "acme-phone-1" {
		t.Errorf("listed %v", got)
	}
	// The same profile under -verdicts record only writes the list.
	if _, stderr, code := u.run(t, "run", "-devices", "mine", "-verdicts", "record", "-out", "out"); code != 0 {
		t.Errorf("record: exit %d: %s", code, stderr)
	}
}

// TestRunReplacesEarlierResults: a narrower second run into the same -out leaves no file of the
// first run; a folder inside -out that is not part of the result set (make hil's) is kept.
func TestRunReplacesEarlierResults(t *testing.T) {
	u := newUserRun(t)
	if _, stderr, code := u.run(t, "run", "-only", "google-nexus-s,apple-iphone-ios13", "-out", "out"); code != 0 {
		t.Fatalf("first run: exit %d: %s", code, stderr)
	}
	if _, stderr, code := u.run(t, "run", "-only", "synthetic-max-65279", "-out", "out/hil"); code != 0 {
		t.Fatalf("nested run: exit %d: %s", code, stderr)
	}
	if err := os.WriteFile(u.path("out", "hil", "go-test.log"), []byte("make hil's log"), 0o644); err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(u.path("out", "supported-devices.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := u.run(t, "run", "-only", "google-nexus-s", "-out", "out"); code != 0 {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}
	for _, f := range files(t, u.path("out")) {
		if strings.Contains(f, "apple-iphone-ios13") {
			t.Errorf("%s of the first run is still in the result set", f)
		}
	}
	if got := listed(t, u.path("out")); len(got) != 1 || got[0] != "google-nexus-s" {
		t.Errorf("listed %v", got)
	}
	second, _ := os.ReadFile(u.path("out", "supported-devices.json"))
	if bytes.Equal(first, second) {
		t.Error("the JSON list was not replaced")
	}
	if got := listed(t, u.path("out", "hil")); len(got) != 1 || got[0] != "synthetic-max-65279" {
		t.Errorf("nested result set: %v", got)
	}
	if b, err := os.ReadFile(u.path("out", "hil", "go-test.log")); err != nil || string(b) != "make hil's log" {
		t.Errorf("a folder inside -out was not carried over: %q, %v", b, err)
	}
	md, _ := os.ReadFile(u.path("out", "supported-devices.md"))
	if bytes.Contains(md, []byte("apple")) {
		t.Error("the Markdown list still names a device of the first run")
	}
}
