//go:build pcsc && linux

package loop_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/conformance/hil/stack"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/readers/pcsc"
)

// slots is how many vpcd slots the tests drive at once, one stand-in each.
const slots = 4

var (
	held  stack.Held
	bin   string   // mynaconform, built with the pcsc tag
	free  chan int // vpcd slots not in use by a test
	adult *fixtures.Persona
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mynaconform-loop-")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "mynaconform")
	if out, err := exec.Command("go", "build", "-tags", "pcsc", "-o", bin, "github.com/mynaconform/mynaconform/cmd/mynaconform").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		panic("go build: " + err.Error() + "\n" + string(out))
	}
	if adult, err = fixtures.PersonaByID("adult"); err != nil {
		panic(err)
	}
	code := stack.RunTests(m, &held, stack.WithSlots(slots))
	os.RemoveAll(dir)
	os.Exit(code)
}

// slot takes a free vpcd slot for the test; the cleanup gives it back.
func slot(t *testing.T) int {
	t.Helper()
	need(t)
	select {
	case n := <-free:
		t.Cleanup(func() { free <- n })
		return n
	case <-time.After(10 * time.Minute):
		t.Fatal("no vpcd slot came free")
		return 0
	}
}

var freeOnce sync.Once

func init() { free = make(chan int, slots) }

// need skips without the PC/SC stack and fills the pool of slots on first use.
func need(t *testing.T) {
	t.Helper()
	held.Need(t)
	freeOnce.Do(func() {
		for i := range min(slots, held.Stack.Slots()) {
			free <- i
		}
	})
}

// run runs the binary and returns its output and exit code.
func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
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

// standIn is `mynaconform phone serve` of one profile in one slot: a handset running the Remote
// Smart Card Reader app, with the adult persona's card in its field.
type standIn struct {
	slot    int
	noTag   chan struct{} // closed when the stand-in says it never dials (no NFC, no ISO-DEP)
	mu      sync.Mutex
	log     bytes.Buffer
	scanned chan struct{}
}

func (s *standIn) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// serve starts the stand-in for profile in slot n and, unless the handset cannot read the card,
// waits until pcscd lists its card. The cleanup stops it (SIGTERM), waits until the slot is empty
// and checks that its APDU log holds none of the card's secrets.
func serve(t *testing.T, profile string, n int) *standIn {
	t.Helper()
	cmd := exec.Command(bin, "phone", "serve", "--vpcd", stack.Addr(n), "--profile", profile, "--persona", adult.ID, "--retap", "50ms")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &standIn{slot: n, noTag: make(chan struct{}), scanned: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(s.scanned)
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var once sync.Once
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.log.WriteString(line + "\n")
			s.mu.Unlock()
			if strings.Contains(line, "cannot read the card") {
				once.Do(func() { close(s.noTag) })
			}
		}
		_, _ = io.Copy(io.Discard, pipe)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-s.scanned
		if err := cmd.Wait(); err != nil {
			t.Errorf("phone serve %s: %v\n%s", profile, err, s.logText())
		}
		waitPresent(t, n, false)
		log := strings.ToUpper(s.logText())
		for name, v := range map[string]string{"auth PIN": adult.AuthPIN, "照合番号B": adult.VerificationB(), "My Number": adult.MyNumber} {
			if strings.Contains(log, strings.ToUpper(hex.EncodeToString([]byte(v)))) {
				t.Errorf("phone serve %s logged the card's %s", profile, name)
			}
		}
		if t.Failed() {
			t.Logf("phone serve %s:\n%s", profile, s.logText())
		}
	})
	return s
}

// present waits until pcscd lists the stand-in's card.
func (s *standIn) present(t *testing.T) {
	t.Helper()
	waitPresent(t, s.slot, true)
}

func waitPresent(t *testing.T, n int, want bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := stack.WaitPresent(ctx, n, want); err != nil {
		t.Fatal(err)
	}
}

// mode is one mode's verdict as supported-devices.json gives it.
type mode struct {
	Supported  bool   `json:"supported"`
	FailedStep string `json:"failed_step"`
	Cause      string `json:"cause"`
	Reason     string `json:"reason"`
}

// device is one row of supported-devices.json.
type device struct {
	ID            string `json:"id"`
	MaxTransceive int    `json:"max_transceive"`
	Extended      bool   `json:"extended"`
	MaxResponse   int    `json:"max_response"`
	ATR           string `json:"atr"`
	PIN           mode   `json:"pin"`
	Visual        mode   `json:"visual"`
}

// suite runs `mynaconform run ARGS -verdicts record -out DIR` and returns the list's rows by ID.
func suite(t *testing.T, args ...string) (map[string]device, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	args = append(args, "-verdicts", "record", "-out", out)
	stdout, stderr, code := run(t, append([]string{"run"}, args...)...)
	if code != 0 {
		t.Fatalf("mynaconform run %s: exit %d\n%s\n%s", strings.Join(args, " "), code, stdout, stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "supported-devices.json"))
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Devices []device `json:"devices"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	rows := map[string]device{}
	for _, d := range list.Devices {
		rows[d.ID] = d
	}
	return rows, out
}

// inProcess is the in-process list of the whole built-in catalogue, made once.
var (
	inProcessOnce sync.Once
	inProcessRows map[string]device
	inProcessErr  string
)

func catalogue(t *testing.T) map[string]device {
	t.Helper()
	inProcessOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mynaconform-loop-catalogue-")
		if err != nil {
			inProcessErr = err.Error()
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "out")
		cmd := exec.Command(bin, "run", "-verdicts", "record", "-out", out)
		if b, err := cmd.CombinedOutput(); err != nil {
			inProcessErr = fmt.Sprintf("%v\n%s", err, b)
			return
		}
		b, err := os.ReadFile(filepath.Join(out, "supported-devices.json"))
		if err != nil {
			inProcessErr = err.Error()
			return
		}
		var list struct {
			Devices []device `json:"devices"`
		}
		if err := json.Unmarshal(b, &list); err != nil {
			inProcessErr = err.Error()
			return
		}
		inProcessRows = map[string]device{}
		for _, d := range list.Devices {
			inProcessRows[d.ID] = d
		}
	})
	if inProcessErr != "" {
		t.Fatalf("the in-process run of the catalogue: %s", inProcessErr)
	}
	return inProcessRows
}

// sameModes checks that two rows give each mode the same verdict and, with steps, that a mode
// not supported fails at the same step (else a different step is only logged).
func sameModes(t *testing.T, what string, got, want device, steps bool) {
	t.Helper()
	for _, m := range []struct {
		name      string
		got, want mode
	}{{"PIN", got.PIN, want.PIN}, {"目視確認", got.Visual, want.Visual}} {
		switch {
		case m.got.Supported != m.want.Supported || steps && m.got.FailedStep != m.want.FailedStep:
			t.Errorf("%s: %s %v at %q (%s), want %v at %q (%s)", what, m.name, m.got.Supported, m.got.FailedStep, m.got.Reason,
				m.want.Supported, m.want.FailedStep, m.want.Reason)
		case m.got.FailedStep != m.want.FailedStep:
			t.Logf("%s: %s fails at %q (%s), in the other run at %q (%s)", what, m.name, m.got.FailedStep, m.got.Reason, m.want.FailedStep, m.want.Reason)
		}
	}
}

// onlyRow is the one row of a pcsc run on a named reader.
func onlyRow(t *testing.T, rows map[string]device) device {
	t.Helper()
	if len(rows) != 1 {
		t.Fatalf("%d devices in a run on one reader", len(rows))
	}
	for _, d := range rows {
		return d
	}
	return device{}
}

// readerHasCard reports whether pcscd lists a card in slot n.
func readerHasCard(t *testing.T, n int) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := pcsc.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if s.Name == stack.ReaderName(n) {
			return s.Present
		}
	}
	t.Fatalf("pcscd lists no reader %q", stack.ReaderName(n))
	return false
}
