package onshi_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
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

	"github.com/mynaconform/mynaconform/conformance/app/client"
	"github.com/mynaconform/mynaconform/emulator/onshi"
	"github.com/mynaconform/mynaconform/formats/onshi/api"
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
	cfg.TestClock, cfg.LabEnrollment = true, true
	unlimited(&cfg)
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

// ledger records the writes the service acknowledged, to be found after the kills.
type ledger struct {
	mu       sync.Mutex
	consents map[string]string // consent ID -> prescription issue recorded
	revoked  map[string]bool   // consent IDs whose revocation was acknowledged
	// What a write in flight at the kill may or may not have done: either state is right.
	revoking  map[string]bool
	accountTo map[string]acctState
	pwTo      map[string]string
	codes     map[string]bool // activation code IDs
	accounts  map[string]acctState
	passwords map[string]string // user -> password after the last acknowledged change
	labCerts  map[int64]bool    // serials of acknowledged lab enrollments
	crl       int64             // highest acknowledged CRL number
	adminPW   string
	n         map[string]int // acknowledged writes by kind
}

type acctState struct {
	kana      string
	suspended bool
}

func (l *ledger) ack(kind string, f func()) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	f()
	l.n[kind]++
	total := 0
	for _, v := range l.n {
		total += v
	}
	return total
}

// Every acknowledged write survives SIGKILL of the service: 20 or more kills, each while
// several clients write concurrently — consents with the new items and the 処方箋 method,
// consent revocations, activation codes, accounts created, updated (更新) and suspended,
// passwords changed on the terminal, the admin's password, lab enrollments, revocation lists.
// After the last restart every acknowledged write is found.
func TestCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("starts service processes")
	}
	const kills = 20
	dir := t.TempDir()
	ctx := context.Background()
	led := &ledger{consents: map[string]string{}, revoked: map[string]bool{}, codes: map[string]bool{}, accounts: map[string]acctState{},
		revoking: map[string]bool{}, accountTo: map[string]acctState{}, pwTo: map[string]string{},
		passwords: map[string]string{}, labCerts: map[int64]bool{}, adminPW: adminPW, n: map[string]int{}}
	adult := persona(t, "adult")
	p := pki(t)
	lab := labCert(t, 1) // its key is shared by every lab certificate of the test

	// Set-up (not counted): the feature, the doctor's account, 4 devices.
	ch := startChild(t, dir)
	c := client.New(ch.url, nil)
	a := must(c.AdminLogin(ctx, instA, "admin", adminPW))
	must(a.UpdateSettings(ctx, api.SettingsRequest{HomeVisitEnabled: true, AcceptTerms: true}))
	must(a.CreateAccount(ctx, api.CreateAccountRequest{Role: api.RoleMedical, UserID: doctorID, UserName: "試験",
		UserNameKana: "シケン", StartDate: start.Format(time.DateOnly), Password: initPW}))
	must(c.TerminalLogin(ctx, api.TerminalLoginRequest{InstitutionCode: instA, UserID: doctorID, Password: initPW, NewPassword: userPW}))
	type dev struct {
		id, cred string
		key      *rsa.PrivateKey
	}
	var devs []dev
	for i := range 4 {
		code := must(a.IssueActivationCode(ctx, fmt.Sprintf("端末%d", i)))
		must(c.AdvanceClock(ctx, 10*time.Minute))
		k := poolKey(i)
		res, _, err := c.Activate(ctx, api.ActivateRequest{InstitutionCode: instA, UserID: doctorID, Password: userPW,
			ActivationCode: code.Code, TerminalPublicKey: pubDER(k)}, k)
		if err != nil {
			t.Fatal(err)
		}
		devs = append(devs, dev{res.DeviceID, res.DeviceCredential, k})
	}

	serial := int64(100)
	var serialMu sync.Mutex
	nextSerial := func() int64 { serialMu.Lock(); defer serialMu.Unlock(); serial++; return serial }
	crlNum := int64(0)
	for round := range kills {
		if round > 0 {
			ch = startChild(t, dir)
			c = client.New(ch.url, nil)
		}
		var err error
		if a, err = c.AdminLogin(ctx, instA, "admin", led.adminPW); err != nil {
			t.Fatalf("round %d: the admin password acknowledged before the kill is lost: %v", round, err)
		}
		next := fmt.Sprintf("Kanri-%02d-pw", round)
		if err := a.ChangePassword(ctx, led.adminPW, next); err != nil {
			t.Fatal(err)
		}
		led.ack("admin password", func() { led.adminPW = next })
		// The kill comes after this many acknowledged writes of the round, mid-flight for the rest.
		target := led.ack("admin password", func() {}) + 25 + 7*(round%5)
		led.mu.Lock()
		led.n["admin password"]--
		led.mu.Unlock()
		var sessions []*client.Session
		for _, d := range devs {
			sessions = append(sessions, must(c.Login(ctx, api.LoginRequest{DeviceID: d.id, DeviceCredential: d.cred, UserID: doctorID, Password: userPW}, d.key)))
		}
		killed := make(chan struct{})
		var once sync.Once
		kill := func(total int) {
			if total >= target {
				once.Do(func() { ch.kill(t); close(killed) })
			}
		}
		alive := func(err error) bool { // false once the service is gone; a refusal while alive fails the test
			var ae *api.Error
			if errors.As(err, &ae) {
				t.Errorf("round %d: refused: %v", round, err)
			}
			return false
		}
		var wg sync.WaitGroup
		writer := func(f func() bool) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-killed:
						return
					default:
					}
					if !f() {
						return
					}
				}
			}()
		}
		consent := func(s *client.Session, items api.ConsentItems, pi string) (string, error) {
			chl, err := s.Challenge(ctx)
			if err != nil {
				return "", err
			}
			res, err := s.RegisterConsent(ctx, api.ConsentRequest{ChallengeID: chl.ID, Mode: api.ModePIN, AuthCertificate: adult.AuthCert,
				Signature: signChallenge(t, adult.AuthKey, chl.Challenge), Items: items, PrescriptionIssue: pi})
			if err != nil {
				return "", err
			}
			return res.Consent.ID, nil
		}
		for i, s := range sessions[:2] {
			pi := []string{api.PrescriptionElectronic, api.PrescriptionPaper}[i]
			writer(func() bool {
				id, err := consent(s, api.ConsentItems{Medication: true, LimitCertificate: true}, pi)
				if err != nil {
					return alive(err)
				}
				kill(led.ack("consent", func() { led.consents[id] = pi }))
				return true
			})
		}
		writer(func() bool { // register, then revoke
			id, err := consent(sessions[2], allItems, "")
			if err != nil {
				return alive(err)
			}
			led.ack("consent", func() { led.consents[id] = ""; led.revoking[id] = true })
			if err := sessions[2].RevokeConsent(ctx, id); err != nil {
				return alive(err)
			}
			kill(led.ack("consent revocation", func() { led.revoked[id] = true }))
			return true
		})
		writer(func() bool { // admin: code, account 登録, 更新, suspension
			ac, err := a.IssueActivationCode(ctx, "crash")
			if err != nil {
				return alive(err)
			}
			led.ack("activation code", func() { led.codes[ac.ID] = true })
			user := fmt.Sprintf("u%d", nextSerial())
			if _, err := a.CreateAccount(ctx, api.CreateAccountRequest{Role: api.RoleGeneral, UserID: user, UserName: "試験",
				UserNameKana: "シケン", StartDate: "2026-04-01", Password: initPW}); err != nil {
				return alive(err)
			}
			led.ack("account create", func() {
				led.accounts[user] = acctState{kana: "シケン"}
				led.accountTo[user] = acctState{kana: "シケン　コウシン"}
			})
			if _, err := a.UpdateAccount(ctx, user, api.UpdateAccountRequest{Role: api.RoleMedical, UserName: "試験",
				UserNameKana: "シケン　コウシン", StartDate: "2026-04-01"}); err != nil {
				return alive(err)
			}
			led.ack("account update", func() {
				led.accounts[user] = acctState{kana: "シケン　コウシン"}
				led.accountTo[user] = acctState{kana: "シケン　コウシン", suspended: true}
			})
			if err := a.SuspendAccount(ctx, user, true); err != nil {
				return alive(err)
			}
			kill(led.ack("account suspension", func() { led.accounts[user] = acctState{kana: "シケン　コウシン", suspended: true} }))
			return true
		})
		writer(func() bool { // an account's first terminal login, then パスワード変更
			user := fmt.Sprintf("p%d", nextSerial())
			if _, err := a.CreateAccount(ctx, api.CreateAccountRequest{Role: api.RoleGeneral, UserID: user, UserName: "試験",
				UserNameKana: "シケン", StartDate: "2026-04-01", Password: initPW}); err != nil {
				return alive(err)
			}
			led.ack("account create", func() {
				led.accounts[user] = acctState{kana: "シケン"}
				led.passwords[user], led.pwTo[user] = initPW, userPW
			})
			if _, err := c.TerminalLogin(ctx, api.TerminalLoginRequest{InstitutionCode: instA, UserID: user, Password: initPW, NewPassword: userPW}); err != nil {
				return alive(err)
			}
			led.ack("password change", func() { led.passwords[user], led.pwTo[user] = userPW, "Again-"+user+"x" })
			if err := c.ChangePassword(ctx, api.PasswordChangeRequest{InstitutionCode: instA, UserID: user, Password: userPW, NewPassword: "Again-" + user + "x"}); err != nil {
				return alive(err)
			}
			kill(led.ack("password change", func() { led.passwords[user] = "Again-" + user + "x" }))
			return true
		})
		writer(func() bool { // lab enrollments and revocation lists
			sn := nextSerial()
			cert := labCert(t, sn)
			if _, err := a.Enroll(ctx, cert.der, "multi"); err != nil {
				return alive(err)
			}
			led.ack("lab enrollment", func() { led.labCerts[sn] = true })
			serialMu.Lock()
			crlNum++
			n := crlNum
			serialMu.Unlock()
			if _, err := a.LoadCRL(ctx, crl(t, p.AuthCA, p.AuthCAKey, n, start, big.NewInt(999999))); err != nil {
				if api.IsCode(err, api.CodeCRLStale) {
					return true
				}
				return alive(err)
			}
			kill(led.ack("revocation list", func() { led.crl = max(led.crl, n) }))
			return true
		})
		wg.Wait()
		select {
		case <-killed:
		default:
			t.Fatalf("round %d: the writers stopped before the kill", round)
		}
	}

	// After the last kill: everything acknowledged is there.
	ch = startChild(t, dir)
	defer ch.kill(t)
	c = client.New(ch.url, nil)
	a, err := c.AdminLogin(ctx, instA, "admin", led.adminPW)
	if err != nil {
		t.Fatalf("admin password lost: %v", err)
	}
	lost := map[string]int{}
	var s *client.Session
	for _, d := range devs {
		if s, err = c.Login(ctx, api.LoginRequest{DeviceID: d.id, DeviceCredential: d.cred, UserID: doctorID, Password: userPW}, d.key); err != nil {
			t.Fatalf("device %s after restart: %v", d.id, err)
		}
	}
	for id, pi := range led.consents {
		rs, err := s.Search(ctx, api.SearchRequest{ConsentID: id})
		switch {
		case led.revoked[id]:
			if !api.IsCode(err, api.CodeConsentRevoked) {
				lost["consent revocation"]++
			}
		case led.revoking[id] && api.IsCode(err, api.CodeConsentRevoked): // revoked in flight
		case err != nil:
			lost["consent"]++
		case pi != "" && (rs[0].PrescriptionIssue == nil || rs[0].Qualifications[0].LimitCertificate == nil):
			lost["consent"]++
		}
	}
	listed := map[string]bool{}
	for _, lc := range must(a.ActivationCodes(ctx)) {
		listed[lc.ID] = true
	}
	for id := range led.codes {
		if !listed[id] {
			lost["activation code"]++
		}
	}
	accts := map[string]api.Account{}
	for _, ac := range must(a.Accounts(ctx)) {
		accts[ac.UserID] = ac
	}
	for user, want := range led.accounts {
		got, ok := accts[user]
		st := acctState{kana: got.UserNameKana, suspended: got.Suspended}
		if !ok || (st != want && st != led.accountTo[user]) {
			lost["account"]++
		}
	}
	for user, pw := range led.passwords {
		if pw == initPW {
			continue // the first terminal login was not acknowledged (it must change the password)
		}
		_, err := c.TerminalLogin(ctx, api.TerminalLoginRequest{InstitutionCode: instA, UserID: user, Password: pw})
		if err != nil && api.IsCode(err, api.CodeWrongPassword) && led.pwTo[user] != "" {
			_, err = c.TerminalLogin(ctx, api.TerminalLoginRequest{InstitutionCode: instA, UserID: user, Password: led.pwTo[user]})
		}
		if err != nil {
			lost["password change"]++
		}
	}
	for sn := range led.labCerts {
		cert := labCert(t, sn)
		chl := must(s.Challenge(ctx))
		if _, err := s.RegisterConsent(ctx, api.ConsentRequest{ChallengeID: chl.ID, Mode: api.ModePIN, AuthCertificate: cert.der,
			Signature: signChallenge(t, lab.key, chl.Challenge)}); err != nil {
			lost["lab enrollment"]++
		}
	}
	if got := must(a.CRLs(ctx)); led.crl > 0 && (len(got) != 1 || got[0].Number < fmt.Sprint(0) || mustAtoi(got[0].Number) < led.crl) {
		lost["revocation list"]++
	}
	total := 0
	for _, v := range led.n {
		total += v
	}
	if len(lost) > 0 {
		t.Fatalf("after %d kills, acknowledged writes lost: %v (of %v)", kills, lost, led.n)
	}
	t.Logf("%d SIGKILLs; %d acknowledged writes, all found after the restarts: %v", kills, total, led.n)
}

func mustAtoi(s string) int64 {
	var n int64
	fmt.Sscan(s, &n)
	return n
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
