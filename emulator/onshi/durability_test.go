package onshi_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/emulator/onshi"
	"github.com/mynaconform/mynaconform/emulator/onshi/api"
	"github.com/mynaconform/mynaconform/emulator/onshi/client"
)

const serveEnv = "ONSHI_TEST_SERVE_DIR"

// TestMain doubles as the service process of the crash test: with ONSHI_TEST_SERVE_DIR set, the
// test binary serves that data directory (fake clock, test clock endpoint) until killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv(serveEnv); dir != "" {
		os.Exit(serveForCrashTest(dir))
	}
	os.Exit(m.Run())
}

func serveForCrashTest(dir string) int {
	clock := onshi.NewFakeClock(start)
	cfg := baseConfig(fatalTB{}, clock)
	cfg.TestClock = true
	srv, err := onshi.Open(dir, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("LISTEN http://%s\n", ln.Addr())
	return func() int { http.Serve(ln, srv); return 1 }()
}

// fatalTB lets baseConfig run outside a test (the serving child).
type fatalTB struct{ testing.TB }

func (fatalTB) Helper()           {}
func (fatalTB) Fatal(args ...any) { fmt.Fprintln(os.Stderr, args...); os.Exit(1) }

type child struct {
	cmd *exec.Cmd
	url string
}

func startChild(t *testing.T, dir string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serveEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child did not start: %v", err)
	}
	return &child{cmd: cmd, url: strings.TrimSpace(strings.TrimPrefix(line, "LISTEN "))}
}

func (c *child) kill(t *testing.T) {
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Error(err)
	}
	c.cmd.Wait()
}

// Every acknowledged write survives SIGKILL of the service: codes issued, accounts created,
// devices registered, consents recorded, settings changed. Consents are being written
// concurrently when the process is killed.
func TestCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("starts service processes")
	}
	dir := t.TempDir()
	ch := startChild(t, dir)
	ctx := context.Background()
	c := client.New(ch.url, nil)

	a := must(c.AdminLogin(ctx, instA, "admin", adminPW))
	must(a.UpdateSettings(ctx, api.SettingsRequest{HomeVisitEnabled: true, AcceptTerms: true}))
	must(a.CreateAccount(ctx, api.CreateAccountRequest{Role: api.RoleMedical, UserID: doctorID, UserName: "試験",
		UserNameKana: "シケン", StartDate: start.Format(time.DateOnly), Password: initPW}))
	must(c.TerminalLogin(ctx, api.TerminalLoginRequest{InstitutionCode: instA, UserID: doctorID, Password: initPW, NewPassword: userPW}))
	var codes []*api.ActivationCode
	for i := 0; i < 6; i++ {
		codes = append(codes, must(a.IssueActivationCode(ctx, fmt.Sprintf("端末%d", i))))
	}
	must(c.AdvanceClock(ctx, 10*time.Minute))
	type dev struct {
		id, cred string
		key      *rsa.PrivateKey
	}
	var devs []dev
	var sessions []*client.Session
	for i, code := range codes[:4] {
		k := poolKey(i)
		res, s, err := c.Activate(ctx, api.ActivateRequest{InstitutionCode: instA, UserID: doctorID, Password: userPW,
			ActivationCode: code.Code, TerminalPublicKey: pubDER(k)}, k)
		if err != nil {
			t.Fatal(err)
		}
		devs = append(devs, dev{res.DeviceID, res.DeviceCredential, k})
		sessions = append(sessions, s)
	}

	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	adult := persona(t, "adult")
	for _, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				chl, err := s.Challenge(ctx)
				if err != nil {
					return
				}
				res, err := s.RegisterConsent(ctx, api.ConsentRequest{ChallengeID: chl.ID, Mode: api.ModePIN, AuthCertificate: adult.AuthCert,
					Signature: signChallenge(t, adult.AuthKey, chl.Challenge), Items: api.ConsentItems{Medication: true}})
				if err != nil {
					return // the service is gone
				}
				mu.Lock()
				acked = append(acked, res.Consent.ID)
				n := len(acked)
				mu.Unlock()
				if n == 40 {
					ch.kill(t) // in the middle of other writers' requests
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	if len(acked) < 40 {
		t.Fatalf("only %d consents acknowledged before the kill", len(acked))
	}

	ch2 := startChild(t, dir)
	defer ch2.kill(t)
	c2 := client.New(ch2.url, nil)
	a2 := must(c2.AdminLogin(ctx, instA, "admin", adminPW))
	if set := must(a2.Settings(ctx)); !set.HomeVisitEnabled {
		t.Error("settings lost")
	}
	listed := map[string]string{}
	for _, lc := range must(a2.ActivationCodes(ctx)) {
		listed[lc.ID] = lc.State
	}
	for i, code := range codes {
		want := api.CodeStateUsed
		if i >= 4 {
			want = api.CodeStatePending // the clock restarted with the process
		}
		if listed[code.ID] != want {
			t.Errorf("code %s: state %q, want %q", code.ID, listed[code.ID], want)
		}
	}
	if accts := must(a2.Accounts(ctx)); len(accts) != 1 || !accts[0].TerminalLoggedIn {
		t.Errorf("accounts: %+v", accts)
	}
	if got := must(a2.Devices(ctx)); len(got) != len(devs) {
		t.Errorf("devices: %d, want %d", len(got), len(devs))
	}
	var s *client.Session
	for _, d := range devs {
		var err error
		if s, err = c2.Login(ctx, api.LoginRequest{DeviceID: d.id, DeviceCredential: d.cred, UserID: doctorID, Password: userPW}, d.key); err != nil {
			t.Fatalf("device %s after restart: %v", d.id, err)
		}
	}
	for _, id := range acked {
		if _, err := s.Search(ctx, api.SearchRequest{ConsentID: id}); err != nil {
			t.Errorf("acknowledged consent %s lost: %v", id, err)
		}
	}
	t.Logf("%d acknowledged consents, all found after SIGKILL and restart", len(acked))
}

// The database, its WAL and the audit trail never hold a password, activation code, device
// credential, session token or My Number, while the audit still says who did what.
func TestAuditHoldsNoSecrets(t *testing.T) {
	e := newEnv(t, nil)
	a := e.ready()
	issued := must(a.IssueActivationCode(e.ctx, "Aのスマホ1"))
	e.clock.Advance(10 * time.Minute)
	wantCode(t, activateErr(e, instA, doctorID, "Wrong0000x", issued.Code), api.CodeWrongPassword)
	act, s := e.activate(doctorID, issued.Code)
	adult := persona(t, "adult")
	res := must(pinConsent(e, s, adult.AuthCert, adult.AuthKey, allItems))
	must(s.Medication(e.ctx, res.Consent.ID))
	fa := persona(t, "face-auth")
	must(visualConsent(e, s, fa, nil, true))
	_, err := e.c.AdminLogin(e.ctx, instA, "admin", "AlmostAdmin9")
	wantCode(t, err, api.CodeWrongPassword)

	entries := must(e.admin(instA).Audit(e.ctx, 0, 1000))
	auditJSON := must(json.Marshal(entries))
	var refusedPW, consent, deviceSeen bool
	for _, en := range entries {
		refusedPW = refusedPW || (en.Action == "app.activate" && en.Outcome == "refused" && en.Code == api.CodeWrongPassword)
		consent = consent || (en.Action == "consent.register" && en.Outcome == "ok" && strings.Contains(en.Target, res.Consent.ID))
		deviceSeen = deviceSeen || en.Device == act.DeviceID
	}
	if !refusedPW || !consent || !deviceSeen {
		t.Fatalf("audit lacks entries (refused password %t, consent %t, device %t):\n%s", refusedPW, consent, deviceSeen, auditJSON)
	}

	secrets := []string{adminPW, initPW, userPW, "Wrong0000x", "AlmostAdmin9", issued.Code,
		strings.ReplaceAll(issued.Code, "-", ""), act.DeviceCredential, act.Session.Token, s.Token()}
	for _, id := range []string{"adult", "face-auth"} {
		p := persona(t, id)
		secrets = append(secrets, p.MyNumber, p.VerificationB())
	}
	files, _ := filepath.Glob(filepath.Join(e.dir, "onshi.db*"))
	if len(files) < 2 {
		t.Fatalf("database files: %v", files)
	}
	blobs := map[string][]byte{"audit API output": auditJSON}
	for _, f := range files {
		blobs[f] = must(os.ReadFile(f))
	}
	for name, b := range blobs {
		for _, sec := range secrets {
			if bytes.Contains(b, []byte(sec)) {
				t.Errorf("%s holds a secret of length %d", name, len(sec))
			}
		}
	}
}

func TestReopenKeepsSchemaAndData(t *testing.T) {
	dir := t.TempDir()
	clock := onshi.NewFakeClock(start)
	srv := must(onshi.Open(dir, baseConfig(t, clock)))
	srv.Close()
	srv = must(onshi.Open(dir, baseConfig(t, clock)))
	srv.Close()
	bad := baseConfig(t, clock)
	bad.Synchronous = "OFF"
	if _, err := onshi.Open(dir, bad); err == nil {
		t.Fatal("synchronous OFF accepted")
	}
}

func TestTestClockEndpoint(t *testing.T) {
	e := newEnv(t, func(c *onshi.Config) { c.TestClock = true })
	now := must(e.c.AdvanceClock(e.ctx, 10*time.Minute))
	if !now.Equal(start.Add(10 * time.Minute)) {
		t.Fatalf("clock %v", now)
	}
	st, eb := rawRequest(t, e, "POST", "/v1/test/clock", "", "application/json", `{"advance":"-5m"}`)
	if st != 400 || eb.Error.Code != api.CodeClockAdvanceInvalid {
		t.Fatalf("negative advance: %d %+v", st, eb.Error)
	}
	if _, err := onshi.Open(t.TempDir(), func() onshi.Config {
		c := baseConfig(t, onshi.SystemClock{})
		c.TestClock = true
		return c
	}()); err == nil {
		t.Fatal("test clock accepted with the system clock")
	}
}
