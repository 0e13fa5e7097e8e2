//go:build linux

package stack

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Ports of the two vpcd slots configured by Debian's /etc/reader.conf.d/vpcd.
const (
	Port0 = 35963 // "Virtual PCD 00 00"
	Port1 = 35964 // "Virtual PCD 00 01"
)

// Paths the stack needs (Debian packages pcscd and vsmartcard-vpcd).
const (
	vpcdDriver = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
	vpcdConf   = "/etc/reader.conf.d/vpcd"
	// LockPath is the machine-wide lock of pcscd's users. It is as fixed as pcscd's own socket
	// (/run/pcscd/pcscd.comm): a path under $TMPDIR would give two processes with different
	// TMPDIRs two locks on one pcscd (seen: a test run with its own TMPDIR stopped the pcscd
	// another run was using).
	LockPath = "/tmp/mynaconform-pcscd.lock"
)

// ErrUnavailable is returned (wrapped, with the reason) when the PC/SC stack is not installed
// here; tests skip on it.
var ErrUnavailable = errors.New("PC/SC stack not installed (apt-get install pcscd vsmartcard-vpcd)")

// Available reports nil when pcscd and the vpcd driver are installed, else an error wrapping
// ErrUnavailable that names what is missing.
func Available() error {
	if _, err := exec.LookPath("pcscd"); err != nil {
		if _, err2 := os.Stat("/usr/sbin/pcscd"); err2 != nil {
			return fmt.Errorf("%w: pcscd not found", ErrUnavailable)
		}
	}
	for _, p := range []string{vpcdDriver, vpcdConf} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%w: %s missing", ErrUnavailable, p)
		}
	}
	return nil
}

// Stack is a running pcscd with vpcd, held exclusively by this process until Stop.
type Stack struct {
	lock  *os.File
	cmd   *exec.Cmd // nil when pcscd was already running (not ours)
	done  chan struct{}
	werr  error
	out   *tail
	debug bool
	want  int    // slots asked for (WithSlots)
	slots int    // slots listening
	conf  string // generated reader.conf.d (WithSlots > 2), removed by Stop

	stopOnce sync.Once
	stopErr  error
}

// Option configures Start.
type Option func(*Stack)

// WithAPDULog starts pcscd with `-d -a` (every APDU logged) writing to w instead of `--error`.
// For diagnosis only: the log holds PINs sent in VERIFY.
func WithAPDULog(w io.Writer) Option {
	return func(s *Stack) { s.debug = true; s.out.w = w }
}

// WithSlots asks for n vpcd slots (default 2, the Debian configuration). More than two need a
// pcscd of our own with a generated configuration: one reader.conf entry per pair of slots,
// each with its own copy of libifdvpcd.so (docs/pcsc.md: sharing one .so across entries is broken).
// Slot i listens on port 35963+i; see ReaderName. With a pcscd started by someone else, Slots
// reports what it offers.
func WithSlots(n int) Option { return func(s *Stack) { s.want = n } }

// Slots is the number of consecutive vpcd slots listening from Port0.
func (s *Stack) Slots() int { return s.slots }

// Start takes the machine-wide lock (waiting for other users until ctx is done), then reuses a
// running pcscd or starts one, and returns once vpcd listens on Port0.
func Start(ctx context.Context, opts ...Option) (*Stack, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	s := &Stack{out: &tail{}, want: 2}
	for _, o := range opts {
		o(s)
	}
	if s.want < 1 || s.want > 64 {
		return nil, fmt.Errorf("stack: %d slots: want 1 to 64", s.want)
	}
	lock, err := acquire(ctx, LockPath)
	if err != nil {
		return nil, err
	}
	s.lock = lock
	if pid := findPcscd(); pid > 0 {
		if err := waitListening(ctx, Port0, nil); err != nil {
			s.release()
			return nil, fmt.Errorf("pcscd (pid %d, not started by us) runs without vpcd on port %d: %w", pid, Port0, err)
		}
		s.slots = countSlots()
		return s, nil
	}
	if s.want > 2 {
		if err := s.writeConf(); err != nil {
			s.release()
			return nil, err
		}
	}
	if err := s.startPcscd(ctx); err != nil {
		s.removeConf()
		s.release()
		return nil, err
	}
	return s, nil
}

// countSlots counts the vpcd ports listening from Port0 on.
func countSlots() int {
	n := 0
	for Listening(Port0 + n) {
		n++
	}
	return n
}

// writeConf generates a reader.conf.d for s.want slots: pair k is FRIENDLYNAME "Virtual PCD"
// (k = 0, as Debian's) or "Virtual PCD k", on CHANNELID 35963+2k, with its own driver copy.
func (s *Stack) writeConf() error {
	drv, err := os.ReadFile(vpcdDriver)
	if err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	dir, err := os.MkdirTemp("", "mynaconform-pcscd-")
	if err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	s.conf = dir
	conf, lib := filepath.Join(dir, "reader.conf.d"), filepath.Join(dir, "lib")
	for _, d := range []string{conf, lib} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return fmt.Errorf("stack: %w", err)
		}
	}
	for k := 0; 2*k < s.want; k++ {
		so := filepath.Join(lib, fmt.Sprintf("libifdvpcd%d.so", k))
		if err := os.WriteFile(so, drv, 0o755); err != nil {
			return fmt.Errorf("stack: %w", err)
		}
		name := "Virtual PCD"
		if k > 0 {
			name = fmt.Sprintf("Virtual PCD %d", k)
		}
		port := Port0 + 2*k
		entry := fmt.Sprintf("FRIENDLYNAME \"%s\"\nDEVICENAME /dev/null:0x%X\nLIBPATH %s\nCHANNELID 0x%X\n", name, port, so, port)
		if err := os.WriteFile(filepath.Join(conf, fmt.Sprintf("vpcd%d", k)), []byte(entry), 0o644); err != nil {
			return fmt.Errorf("stack: %w", err)
		}
	}
	return nil
}

func (s *Stack) removeConf() {
	if s.conf != "" {
		_ = os.RemoveAll(s.conf)
		s.conf = ""
	}
}

func (s *Stack) startPcscd(ctx context.Context) error {
	path, err := exec.LookPath("pcscd")
	if err != nil {
		path = "/usr/sbin/pcscd"
	}
	args := []string{"--foreground", "--error"}
	if s.debug {
		args = []string{"--foreground", "-d", "-a"}
	}
	if s.conf != "" {
		args = append(args, "--config", filepath.Join(s.conf, "reader.conf.d"))
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = s.out, s.out
	// If this process dies without Stop, pcscd goes with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start pcscd: %w", err)
	}
	s.cmd = cmd
	s.done = make(chan struct{})
	go func() { s.werr = cmd.Wait(); close(s.done) }()
	// The last slot's port is the last one vpcd opens.
	last := Port0 + max(s.want, 2) - 1
	if s.conf != "" {
		last = Port0 + 2*((s.want+1)/2) - 1
	}
	if err := waitListening(ctx, last, s.done); err != nil {
		s.stopPcscd()
		return fmt.Errorf("pcscd did not bring vpcd up on port %d: %w; pcscd said: %s", last, err, s.out.String())
	}
	s.slots = countSlots()
	return nil
}

// Owned reports whether this Stack started pcscd (and will stop it).
func (s *Stack) Owned() bool { return s.cmd != nil }

// PID is the pcscd process this Stack started, or 0.
func (s *Stack) PID() int {
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Restart stops the pcscd this Stack owns and starts a new one (cards must dial in again).
func (s *Stack) Restart(ctx context.Context) error {
	if s.cmd == nil {
		return errors.New("pcscd was not started by this stack; not restarting it")
	}
	if err := s.stopPcscd(); err != nil {
		return err
	}
	return s.startPcscd(ctx)
}

// Stop stops pcscd if this Stack started it (SIGTERM, then waits for the exit; SIGKILL after
// 10 s) and releases the lock. It is safe to call more than once.
func (s *Stack) Stop() error {
	s.stopOnce.Do(func() {
		if s.cmd != nil {
			s.stopErr = s.stopPcscd()
		}
		s.removeConf()
		s.release()
	})
	return s.stopErr
}

func (s *Stack) stopPcscd() error {
	cmd := s.cmd
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-s.done
		return fmt.Errorf("pcscd (pid %d) ignored SIGTERM for 10 s; killed", cmd.Process.Pid)
	}
	var ee *exec.ExitError
	if s.werr != nil && !errors.As(s.werr, &ee) {
		return fmt.Errorf("pcscd: %w", s.werr)
	}
	return nil
}

func (s *Stack) release() {
	if s.lock != nil {
		_ = syscall.Flock(int(s.lock.Fd()), syscall.LOCK_UN)
		s.lock.Close()
		s.lock = nil
	}
}

// acquire takes an exclusive flock on path, polling until ctx is done.
func acquire(ctx context.Context, path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("pcscd lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("pcscd lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("pcscd lock %s held by another test run: %w", path, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// findPcscd returns the PID of a running pcscd, or 0.
func findPcscd() int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err != nil || strings.TrimSpace(string(comm)) != "pcscd" {
			continue
		}
		// A zombie is not a running pcscd.
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err == nil {
			if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
				continue
			}
		}
		return pid
	}
	return 0
}

// waitListening polls /proc/net/tcp{,6} until port is in LISTEN state. (Connecting to test it
// would look to vpcd like a card dialling in.) exited, when closed, ends the wait early.
func waitListening(ctx context.Context, port int, exited <-chan struct{}) error {
	for {
		if Listening(port) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return errors.New("pcscd exited")
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Listening reports whether a local TCP socket listens on port (IPv4 or IPv6).
func Listening(port int) bool {
	want := fmt.Sprintf(":%04X", port)
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			// sl local_address rem_address st ...; st 0A is LISTEN.
			if len(fields) > 3 && fields[3] == "0A" && strings.HasSuffix(fields[1], want) {
				return true
			}
		}
	}
	return false
}

// tail keeps the last 4 KB pcscd wrote (for error messages), or forwards to w.
type tail struct {
	mu  sync.Mutex
	buf []byte
	w   io.Writer
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.w != nil {
		return t.w.Write(p)
	}
	t.buf = append(t.buf, p...)
	if len(t.buf) > 4096 {
		t.buf = t.buf[len(t.buf)-4096:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}
