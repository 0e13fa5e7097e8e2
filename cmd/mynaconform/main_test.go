package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/reports/transcript"
)

var bin string

// TestMain builds the binary once; the tests run it as a user would.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mynaconform-cmd-")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "mynaconform")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		panic("go build: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return execute(t, exec.Command(bin, args...))
}

// execute runs cmd and returns its output and exit code; t fails if it could not run at all.
func execute(t *testing.T, cmd *exec.Cmd) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func TestUsage(t *testing.T) {
	_, stderr, code := run(t)
	if code != 2 {
		t.Errorf("no command: exit %d, want 2", code)
	}
	for _, c := range []string{"run", "devices", "onshi", "card", "readers", "transcript"} {
		if !strings.Contains(stderr, "  "+c) {
			t.Errorf("usage does not list %q:\n%s", c, stderr)
		}
	}
	if _, stderr, code := run(t, "frobnicate"); code != 2 || !strings.Contains(stderr, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d, %q", code, stderr)
	}
}

// Every command answers -h with its usage on standard error (exit 0), a flag it does not have
// with one line naming the command and the flag (exit 2), and a stray argument where it takes
// none, or a missing one, with one line too (exit 2): no usage text wall, no Go type names.
func TestCommandsFlags(t *testing.T) {
	commands := [][]string{{"run"}, {"merge"}, {"devices"}, {"cards"}, {"onshi", "serve"}, {"card", "serve"},
		{"phone", "serve"}, {"transcript"}, {"replay"}, {"verify"}, {"keygen"}, {"version"}}
	for _, c := range commands {
		name := strings.Join(c, " ")
		t.Run(name, func(t *testing.T) {
			_, stderr, code := run(t, append(append([]string{}, c...), "-h")...)
			hasFlags := name != "version"
			if code != 0 || !strings.HasPrefix(stderr, "usage: mynaconform "+name) || strings.Contains(stderr, "\n  -") != hasFlags {
				t.Errorf("-h: exit %d, want 0 with the usage and the flags:\n%s", code, stderr)
			}
			_, stderr, code = run(t, append(append([]string{}, c...), "-no-such-flag")...)
			want := "mynaconform " + name + ": flag provided but not defined: -no-such-flag ('mynaconform " + name + " -h' lists the flags)\n"
			if code != 2 || stderr != want {
				t.Errorf("a bad flag: exit %d, stderr %q; want 2 and %q", code, stderr, want)
			}
		})
	}
	for _, args := range [][]string{{"devices", "x"}, {"cards", "x"}, {"transcript"}, {"transcript", "a", "b"},
		{"replay"}, {"verify", "r.cose"}, {"keygen", "-key", "k"}, {"onshi", "serve", "x", "-data", t.TempDir()}, {"run", "x"},
		{"version", "x"}} {
		_, stderr, code := run(t, args...)
		if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "mynaconform "+args[0]) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and one line", args, code, stderr)
		}
	}
}

// version names the build as result sets record it (module, version, Go, plan hash) and says
// whether the PC/SC target is in; --version is the same.
func TestVersion(t *testing.T) {
	out, _, code := run(t, "version")
	if code != 0 || !strings.HasPrefix(out, "mynaconform github.com/mynaconform/mynaconform ") ||
		!regexp.MustCompile(` plan [0-9a-f]{12}\n`).MatchString(out) || !strings.Contains(out, "\npcsc ") {
		t.Errorf("version: exit %d\n%s", code, out)
	}
	if again, _, _ := run(t, "--version"); again != out {
		t.Errorf("--version printed %q, version %q", again, out)
	}
}

func TestDevicesJSON(t *testing.T) {
	stdout, stderr, code := run(t, "devices", "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var list []struct {
		ID            string `json:"id"`
		MaxTransceive int    `json:"max_transceive"`
	}
	if err := json.Unmarshal([]byte(stdout), &list); err != nil {
		t.Fatalf("devices -json is not a JSON list: %v\n%s", err, stdout)
	}
	ids := map[string]int{}
	for _, d := range list {
		ids[d.ID] = d.MaxTransceive
	}
	if ids["google-nexus-s"] != 261 || ids["synthetic-max-65279"] != 65279 || len(list) < 20 {
		t.Errorf("catalogue: %d devices, nexus-s %d, max-65279 %d", len(list), ids["google-nexus-s"], ids["synthetic-max-65279"])
	}
}

func TestTranscriptPrintsMasked(t *testing.T) {
	f := &transcript.File{Version: 1, Target: "emulator", Device: "d", Mode: "pin", Persona: "adult", Exchanges: []transcript.Exchange{
		{Step: "select", Command: []byte{0x00, 0xA4, 0x04, 0x0C, 0x02, 0xD3, 0x92}, Response: []byte{0x90, 0x00}},
		transcript.Mask(transcript.Exchange{Step: "verify", Command: []byte{0x00, 0x20, 0x00, 0x98, 0x04, '1', '2', '3', '4'}, Response: []byte{0x63, 0xC2}}, true),
	}}
	path := filepath.Join(t.TempDir(), "t.cbor")
	var buf bytes.Buffer
	if err := transcript.Write(&buf, f); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := run(t, "transcript", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "SELECT") || !strings.Contains(stdout, "VERIFY") || strings.Contains(stdout, "31 32 33 34") {
		t.Errorf("transcript output:\n%s", stdout)
	}
	if _, _, code := run(t, "transcript", filepath.Join(t.TempDir(), "missing.cbor")); code == 0 {
		t.Error("a missing file exits 0")
	}
}

// onshi serve is a long-lived service: it listens, answers over HTTP, and exits 0 on SIGTERM.
func TestOnshiServe(t *testing.T) {
	cmd := exec.Command(bin, "onshi", "serve", "--listen", "127.0.0.1:0", "--data", t.TempDir())
	cmd.Env = append(os.Environ(), "MYNACONFORM_ONSHI_ADMIN_PASSWORD=Serve-Test-2026")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(out)
	addr := ""
	deadline := time.Now().Add(30 * time.Second)
	for addr == "" && time.Now().Before(deadline) && lines.Scan() {
		if _, rest, ok := strings.Cut(lines.Text(), "listening on "); ok {
			addr, _, _ = strings.Cut(rest, " ")
		}
	}
	if addr == "" {
		t.Fatalf("no listening line; stderr: %s", stderr.String())
	}
	go func() {
		for lines.Scan() {
		}
	}()
	resp, err := http.Post(addr+"/v1/admin/login", "application/json", strings.NewReader(`{"institution_code":"1310123458","user_id":"admin","password":"wrong-password"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 4 {
		t.Errorf("wrong admin password: HTTP %d, want 4xx", resp.StatusCode)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v; stderr: %s", err, stderr.String())
	}
	if strings.Contains(stderr.String(), "Serve-Test-2026") {
		t.Error("the admin password appears in the service's output")
	}
}
