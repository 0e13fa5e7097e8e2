package conformance

import (
	"context"
	"crypto/rsa"
	"fmt"
	"net/http/httptest"
	"os"
	"sync"
	"time"

	"github.com/mynaconform/mynaconform/conformance/app"
	"github.com/mynaconform/mynaconform/conformance/app/client"
	"github.com/mynaconform/mynaconform/emulator/onshi"
	"github.com/mynaconform/mynaconform/emulator/onshi/onshifixtures"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

// Synthetic institution of the suite (医療機関コード is 10 digits).
const (
	institutionCode = "1312345679" // a 医療機関コード with a valid check digit
	adminUser       = "admin"
	adminPassword   = "Suite-Admin-2026"
)

// world is one process's emulated qualification system, on real HTTP over loopback, with its
// clock injected so the 10-minute activation delay is waited out without sleeping.
type world struct {
	cfg     onshi.Config
	clock   *onshi.FakeClock
	srv     *onshi.Server
	http    *httptest.Server
	svc     *client.Client
	admin   *client.Admin
	pki     *fixtures.TestPKI
	apps    int              // apps created (the next terminal key of the pool)
	faceCAs []*rsa.PublicKey // the card-face CAs the service trusts; the reference app trusts the same
	dir     string
	mu      sync.Mutex
	passes  map[string]string // user ID -> current password
}

func newWorld(ctx context.Context) (*world, error) {
	pki, err := fixtures.PKI()
	if err != nil {
		return nil, err
	}
	// A tmpfs keeps the service's fsyncs cheap in the suite; durability is tested in onshi.
	base := os.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		base = "/dev/shm"
	}
	dir, err := os.MkdirTemp(base, "mynaconform-onshi-")
	if err != nil {
		return nil, err
	}
	clock := onshi.NewFakeClock(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	labRoots, labFace, err := labTrust()
	if err != nil {
		return nil, err
	}
	cfg, err := onshifixtures.Config(onshi.Config{
		AuthRoots:          labRoots,
		CardFaceCAs:        faceCAs(labFace),
		Institutions:       []onshi.InstitutionConfig{{Code: institutionCode, Name: "みらい訪問クリニック (synthetic)", AdminUser: adminUser, AdminPassword: adminPassword}},
		Clock:              clock,
		LabEnrollment:      labRun.Load(), // a lab card's certificate is enrolled through the lab hook
		PasswordIterations: 1000,          // the suite's accounts are synthetic; the default is for real use
	})
	if err != nil {
		return nil, err
	}
	srv, err := onshi.Open(dir, cfg)
	if err != nil {
		return nil, err
	}
	// The app checks EF 0004 against the card-face CAs the service trusts, then the face record
	// with the key it certifies.
	w := &world{cfg: cfg, clock: clock, srv: srv, pki: pki, dir: dir, passes: map[string]string{}, faceCAs: cfg.CardFaceCAs}
	if w.cfg.ActivationDelay == 0 {
		w.cfg.ActivationDelay = 10 * time.Minute
	}
	w.http = httptest.NewServer(srv)
	w.svc = client.New(w.http.URL, nil)
	if w.admin, err = w.svc.AdminLogin(ctx, institutionCode, adminUser, adminPassword); err != nil {
		w.Close()
		return nil, fmt.Errorf("admin login: %w", err)
	}
	return w, nil
}

// terminalKey is the i-th handset terminal key: the service registers one device per key, so
// the apps of one world take keys 0, 1, 2, ...; worlds (separate services) take the same ones.
// fixtures.TerminalKey builds them from test primes in about a millisecond (generating RSA-2048
// keys took most of a run's time).
func terminalKey(i int) *rsa.PrivateKey {
	k, err := fixtures.TerminalKey(i)
	if err != nil {
		panic(err) // the embedded primes are drift-tested
	}
	return k
}

// faceCAs is the lab's card-face CA key, if given (else the fixtures' is wired in).
func faceCAs(lab *rsa.PublicKey) []*rsa.PublicKey {
	if lab == nil {
		return nil
	}
	return []*rsa.PublicKey{lab}
}

func (w *world) Close() {
	if w.http != nil {
		w.http.Close()
	}
	if w.srv != nil {
		w.srv.Close()
	}
	os.RemoveAll(w.dir)
}

func (w *world) password(user string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.passes[user]
}

// setUpDevice is the terminal set-up of ACT-001 for one device: 訪問診療等機能 on, a 医療情報閲覧
// and a 一般利用者 account each logged in to the terminal once (changing the initial password),
// and one activation code with the device's memo. It returns the code.
func (w *world) setUpDevice(ctx context.Context, deviceID, userMed, userGen string) (string, error) {
	// The administrator logs in for each terminal set-up: one session for the whole world would
	// outlive the service's 8-hour session lifetime after 48 devices of ten minutes each.
	admin, err := w.svc.AdminLogin(ctx, institutionCode, adminUser, adminPassword)
	if err != nil {
		return "", fmt.Errorf("admin login: %w", err)
	}
	defer func() { _ = admin.Logout(ctx) }()
	if err := admin.EnableHomeVisit(ctx); err != nil {
		return "", fmt.Errorf("enable 訪問診療等機能: %w", err)
	}
	today := w.clock.Now().In(time.FixedZone("JST", 9*3600)).Format(time.DateOnly)
	for _, acc := range []struct{ user, role, name string }{
		{userMed, api.RoleMedical, "訪問　看護師"},
		{userGen, api.RoleGeneral, "訪問　事務"},
	} {
		initial, final := "Init-"+acc.user+"-26", "Suite-"+acc.user+"-26"
		if _, err := admin.CreateAccount(ctx, api.CreateAccountRequest{
			Role: acc.role, UserID: acc.user, UserName: acc.name, UserNameKana: "ホウモン　スタッフ",
			StartDate: today, Password: initial,
		}); err != nil {
			return "", fmt.Errorf("create account %s: %w", acc.role, err)
		}
		if _, err := w.svc.TerminalLogin(ctx, api.TerminalLoginRequest{
			InstitutionCode: institutionCode, UserID: acc.user, Password: initial, NewPassword: final,
		}); err != nil {
			return "", fmt.Errorf("first terminal login of %s: %w", acc.role, err)
		}
		w.mu.Lock()
		w.passes[acc.user] = final
		w.mu.Unlock()
	}
	code, err := admin.IssueActivationCode(ctx, "端末 "+deviceID)
	if err != nil {
		return "", fmt.Errorf("issue activation code: %w", err)
	}
	if want := code.IssuedAt.Add(w.cfg.ActivationDelay); !code.UsableFrom.Equal(want) {
		return "", fmt.Errorf("code usable from %v, want %v (issue + %v)", code.UsableFrom, want, w.cfg.ActivationDelay)
	}
	return code.Code, nil
}

func (w *world) newApp() *app.App {
	// One key, one device: each app of this world's service gets its own key of the pool.
	w.mu.Lock()
	i := w.apps
	w.apps++
	w.mu.Unlock()
	return &app.App{Service: w.svc, Institution: institutionCode, Key: terminalKey(i), FaceCAs: w.faceCAs}
}

// checkTerminalCert verifies the activated device's terminal certificate against the terminal
// CA (the key the card holds in EF 0016) and that it names the device.
func (w *world) checkTerminalCert(a *app.App) error {
	cv, err := mynumber.ParseCV(a.Device.TerminalCert)
	if err != nil {
		return err
	}
	if err := cv.Verify(&w.pki.TerminalCAKey.PublicKey); err != nil {
		return err
	}
	if v, err := mynumber.ParseTerminalValidity(cv.Extra); err != nil || !v.ValidAt(w.clock.Now()) {
		return fmt.Errorf("terminal certificate not valid now: %+v %v", v, err)
	}
	if cv.SubjectID.String() != a.Device.TerminalID || !mynumber.SameKey(cv.PublicKey, &a.Device.Key.PublicKey) {
		return fmt.Errorf("terminal certificate names %s for another key, want the device's terminal ID %q and key", cv.SubjectID, a.Device.TerminalID)
	}
	return nil
}
