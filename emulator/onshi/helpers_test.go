package onshi_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/conformance/app/client"
	"github.com/mynaconform/mynaconform/emulator/card"
	"github.com/mynaconform/mynaconform/emulator/onshi"
	"github.com/mynaconform/mynaconform/emulator/onshi/onshifixtures"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

// Test secrets. They must never show up in the database, the WAL or the audit trail.
const (
	instA    = "1310123458" // 医療機関コード with a valid check digit
	instB    = "2710500014"
	adminPW  = "AdminPass123"
	initPW   = "Initial123x"
	userPW   = "Changed456y"
	doctorID = "doc01"
	clerkID  = "gen01"
)

// start is the fake clock's start: 2026-04-01 09:00 JST (persona auth certificates are valid).
var start = time.Date(2026, 4, 1, 9, 0, 0, 0, time.FixedZone("JST", 9*3600))

// Terminal keys: one key, one device, so every activation takes the next key of a pool shared
// by the tests of the binary (RSA key generation is slow; each env uses pool keys in order).
var (
	termKeyMu sync.Mutex
	termKeys  []*rsa.PrivateKey
)

func poolKey(i int) *rsa.PrivateKey {
	termKeyMu.Lock()
	defer termKeyMu.Unlock()
	for len(termKeys) <= i {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		termKeys = append(termKeys, k)
	}
	return termKeys[i]
}

func pubDER(k *rsa.PrivateKey) []byte { return must(x509.MarshalPKIXPublicKey(&k.PublicKey)) }

// nextKey is the env's next unused terminal key.
func (e *env) nextKey() *rsa.PrivateKey {
	e.mu.Lock()
	i := e.keysUsed
	e.keysUsed++
	e.mu.Unlock()
	return poolKey(i)
}

// activateWith activates a device with a fresh terminal key, proving possession of it; the key
// is kept for the device's later logins (e.login).
func (e *env) activateWith(inst, user, pw, code string) (*api.ActivateResponse, *client.Session, error) {
	k := e.nextKey()
	res, s, err := e.c.Activate(e.ctx, api.ActivateRequest{InstitutionCode: inst, UserID: user, Password: pw, ActivationCode: code, TerminalPublicKey: pubDER(k)}, k)
	if err == nil {
		e.mu.Lock()
		e.devKeys[res.DeviceID] = k
		e.devices = append(e.devices, res)
		e.mu.Unlock()
	}
	return res, s, err
}

// devKey is the terminal key of an activated device (nil for an unknown one).
func (e *env) devKey(id string) *rsa.PrivateKey {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.devKeys[id]
}

// loginReq logs in with req, proving possession of the device's key.
func (e *env) loginReq(req api.LoginRequest) (*client.Session, error) {
	k := e.devKey(req.DeviceID)
	if k == nil {
		k = poolKey(0)
	}
	return e.c.Login(e.ctx, req, k)
}

// login is a later login of user on the activated device.
func (e *env) login(act *api.ActivateResponse, user string) (*client.Session, error) {
	return e.loginReq(api.LoginRequest{DeviceID: act.DeviceID, DeviceCredential: act.DeviceCredential, UserID: user, Password: userPW})
}

func baseConfig(t testing.TB, clock onshi.Clock) onshi.Config {
	t.Helper()
	cfg, err := onshifixtures.Config(onshi.Config{
		Institutions: []onshi.InstitutionConfig{
			{Code: instA, Name: "試験在宅クリニック", AdminUser: "admin", AdminPassword: adminPW},
			{Code: instB, Name: "試験訪問薬局", AdminUser: "admin", AdminPassword: adminPW},
		},
		Clock:              clock,
		PasswordIterations: 1000, // fast tests; the default is 100000
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

type env struct {
	t     testing.TB
	dir   string
	clock *onshi.FakeClock
	srv   *onshi.Server
	hs    *httptest.Server
	c     *client.Client
	ctx   context.Context

	mu       sync.Mutex
	keysUsed int
	devKeys  map[string]*rsa.PrivateKey
	devices  []*api.ActivateResponse
	adminA   *client.Admin // shared admin session of institution A (createErr)
}

// firstDevice is the env's first activated device.
func (e *env) firstDevice() *api.ActivateResponse {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.devices[0]
}

// reopen serves e's data directory again (after e's server was closed), with e's clock, the
// same configuration changed by mod, and the devices and keys e knows.
func reopen(t testing.TB, e *env, mod func(*onshi.Config)) *env {
	t.Helper()
	e2 := &env{t: t, dir: e.dir, clock: e.clock, ctx: e.ctx, devKeys: e.devKeys, devices: e.devices, keysUsed: e.keysUsed}
	cfg := baseConfig(t, e.clock)
	if mod != nil {
		mod(&cfg)
	}
	srv, err := onshi.Open(e.dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e2.srv = srv
	e2.hs = httptest.NewServer(srv)
	e2.c = client.New(e2.hs.URL, e2.hs.Client())
	t.Cleanup(func() { e2.hs.Close(); srv.Close() })
	return e2
}

// labCertificate is a trusted auth certificate nobody is enrolled with (a lab card's).
type labCertificate struct {
	der []byte
	key *rsa.PrivateKey
}

// labCert issues one from the test auth CA; the key is a persona's card key (any RSA key will
// do, and generating one is slow).
func labCert(t testing.TB, serial int64) labCertificate {
	p := pki(t)
	key := persona(t, "adult").CardKey
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: fmt.Sprintf("LAB TEST CARD %d", serial)},
		NotBefore: start.Add(-time.Hour), NotAfter: start.AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature}
	return labCertificate{der: must(x509.CreateCertificate(rand.Reader, tmpl, p.AuthCA, &key.PublicKey, p.AuthCAKey)), key: key}
}

func newEnv(t testing.TB, mod func(*onshi.Config)) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), clock: onshi.NewFakeClock(start), ctx: context.Background(), devKeys: map[string]*rsa.PrivateKey{}}
	cfg := baseConfig(t, e.clock)
	if mod != nil {
		mod(&cfg)
	}
	srv, err := onshi.Open(e.dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	e.hs = httptest.NewServer(srv)
	e.c = client.New(e.hs.URL, e.hs.Client())
	t.Cleanup(func() { e.hs.Close(); srv.Close() })
	return e
}

// must returns v or stops the test with err (a panic fails the test with its stack).
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// wantCode asserts a refusal with the code and its documented HTTP status.
func wantCode(t testing.TB, err error, code api.Code) {
	t.Helper()
	var ae *api.Error
	if !errors.As(err, &ae) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if ae.Code != code {
		t.Fatalf("want %s, got %s (%s)", code, ae.Code, ae.Detail)
	}
	en, _ := api.Lookup(code)
	if ae.Status != en.Status || ae.Message == "" || ae.MessageJA == "" {
		t.Fatalf("%s: status %d (want %d), messages %q / %q", code, ae.Status, en.Status, ae.Message, ae.MessageJA)
	}
}

func (e *env) admin(inst string) *client.Admin {
	return must(e.c.AdminLogin(e.ctx, inst, "admin", adminPW))
}

// account creates an account starting today and does its first terminal login.
func (e *env) account(a *client.Admin, inst, user, role string) {
	e.t.Helper()
	must(a.CreateAccount(e.ctx, api.CreateAccountRequest{Role: role, UserID: user, UserName: "試験 利用者",
		UserNameKana: "シケン　リヨウシャ", StartDate: start.Format(time.DateOnly), Password: initPW}))
	must(e.c.TerminalLogin(e.ctx, api.TerminalLoginRequest{InstitutionCode: inst, UserID: user, Password: initPW, NewPassword: userPW}))
}

// ready sets institution A up: feature on, a medical and a general account.
func (e *env) ready() *client.Admin {
	e.t.Helper()
	a := e.admin(instA)
	if err := a.EnableHomeVisit(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	e.account(a, instA, doctorID, api.RoleMedical)
	e.account(a, instA, clerkID, api.RoleGeneral)
	return a
}

// code issues an activation code and waits out the delay on the fake clock.
func (e *env) code(a *client.Admin, memo string) string {
	e.t.Helper()
	ac := must(a.IssueActivationCode(e.ctx, memo))
	e.clock.Advance(10 * time.Minute)
	return ac.Code
}

func (e *env) activate(user, code string) (*api.ActivateResponse, *client.Session) {
	e.t.Helper()
	res, s, err := e.activateWith(instA, user, userPW, code)
	if err != nil {
		e.t.Fatal(err)
	}
	return res, s
}

// device: institution A ready, one activated device, a session of user.
func (e *env) device(user string) (*client.Admin, *api.ActivateResponse, *client.Session) {
	a := e.ready()
	res, s := e.activate(user, e.code(a, "Aのスマホ1"))
	return a, res, s
}

func persona(t testing.TB, id string) *fixtures.Persona {
	return must(fixtures.PersonaByID(id))
}

func pki(t testing.TB) *fixtures.TestPKI { return must(fixtures.PKI()) }

func signChallenge(t testing.TB, k *rsa.PrivateKey, nonce []byte) []byte {
	h := sha256.Sum256(nonce)
	return must(rsa.SignPKCS1v15(nil, k, crypto.SHA256, h[:]))
}

// pinConsent runs PIN mode with a key standing in for the card's auth key.
func pinConsent(e *env, s *client.Session, cert []byte, key *rsa.PrivateKey, items api.ConsentItems) (*api.ConsentResponse, error) {
	ch := must(s.Challenge(e.ctx))
	return s.RegisterConsent(e.ctx, api.ConsentRequest{ChallengeID: ch.ID, Mode: api.ModePIN, AuthCertificate: cert,
		Signature: signChallenge(e.t, key, ch.Challenge), Items: items})
}

var allItems = api.ConsentItems{Medication: true, Clinical: true, Checkup: true}

// --- the virtual card, for what it returns ---

func transmit(t testing.TB, c *card.Card, cmd []byte) []byte {
	t.Helper()
	r := c.Transmit(cmd)
	if len(r) < 2 || r[len(r)-2] != 0x90 || r[len(r)-1] != 0x00 {
		t.Fatalf("card: % X -> SW % X", cmd, r[max(0, len(r)-2):])
	}
	return r[:len(r)-2]
}

func apdu(cla, ins, p1, p2 byte, data []byte, le bool) []byte {
	b := []byte{cla, ins, p1, p2}
	if len(data) > 0 {
		b = append(b, byte(len(data)))
		b = append(b, data...)
	}
	if le {
		b = append(b, 0)
	}
	return b
}

// cardFace is what the reference app's visual mode reads from a card (card.md): the face record
// (EF 0002, after VERIFY 照合番号B), its certificate (EF 0004, free) and the card-presence
// signature over the challenge (80 2A 00 00 by the card-face key 001A).
type cardFace struct {
	record, cert, sig []byte
}

// visualCard drives a virtual card of the persona as the reference app's visual mode does:
// SELECT 券面事項確認AP, VERIFY 照合番号B, READ EF 0002 (one extended READ), READ EF 0004, and the
// card-presence signature over the challenge. (The 80 A2 terminal certificate is the card's
// concern and is not sent here.) With withInput it also reads 券面事項入力補助AP EF 0002, 0003 and
// 0004 with 照合番号B.
func visualCard(t testing.TB, p *fixtures.Persona, nonce []byte) cardFace {
	f, _ := visualCardInput(t, p, nonce, false)
	return f
}

func visualCardInput(t testing.TB, p *fixtures.Persona, nonce []byte, withInput bool) (cardFace, *api.InputSupport) {
	t.Helper()
	prof := must(p.CardProfile())
	c := must(card.New(prof))
	c.PowerOn()
	transmit(t, c, apdu(0x00, 0xA4, 0x04, 0x0C, mynumber.AIDCardFace.Bytes(), false))
	transmit(t, c, apdu(0x00, 0x20, 0x00, 0x80|byte(mynumber.FaceNumberB), []byte(p.VerificationB()), false))
	var f cardFace
	f.record = transmit(t, c, []byte{0x00, 0xB0, 0x80 | byte(mynumber.FaceRecordEF), 0x00, 0x00, 0x00, 0x00})
	f.cert = transmit(t, c, []byte{0x00, 0xB0, 0x80 | byte(mynumber.FaceCV), 0x00, 0x00, 0x00, 0x00})
	h := sha256.Sum256(nonce)
	f.sig = transmit(t, c, apdu(0x80, 0x2A, 0x00, 0x00, mynumber.DigestInfoSHA256(h[:]), true))
	if !withInput {
		return f, nil
	}
	read := func(fid mynumber.FID) []byte {
		return transmit(t, c, []byte{0x00, 0xB0, 0x80 | byte(fid), 0x00, 0x00, 0x00, 0x00})
	}
	transmit(t, c, apdu(0x00, 0xA4, 0x04, 0x0C, mynumber.AIDInputSupport.Bytes(), false))
	transmit(t, c, apdu(0x00, 0x20, 0x00, 0x80|byte(mynumber.InputNumberB), []byte(p.VerificationB()), false))
	return f, &api.InputSupport{BasicFour: read(mynumber.InputBasicFour), Integrity: read(mynumber.InputIntegrity), Certificate: read(mynumber.InputCV)}
}

func visualConsent(e *env, s *client.Session, p *fixtures.Persona, tamper func(*cardFace), staff bool) (*api.ConsentResponse, error) {
	ch := must(s.Challenge(e.ctx))
	f := visualCard(e.t, p, ch.Challenge)
	if tamper != nil {
		tamper(&f)
	}
	return s.RegisterConsent(e.ctx, api.ConsentRequest{ChallengeID: ch.ID, Mode: api.ModeVisual, AuthCertificate: p.AuthCert,
		FaceRecord: f.record, FaceCertificate: f.cert, CardSignature: f.sig, StaffConfirmed: staff, Items: api.ConsentItems{Medication: true}})
}
