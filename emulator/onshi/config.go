package onshi

import (
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

// Config is everything a Server needs. Zero durations and counts take the defaults named on
// each field (model values of docs/onshi.md unless the seed says otherwise).
type Config struct {
	// Institutions bootstrapped at start (医療機関等 with their 管理アカウント). Existing ones keep
	// their settings, and an existing admin keeps its password and lock (lockouts are durable).
	Institutions []InstitutionConfig
	// ResetAdmins sets every configured admin's password to the configured one and clears its
	// lock (serve --reset-admin: the recovery of a locked-out administrator). Audited.
	ResetAdmins bool

	Clock Clock // default SystemClock

	ActivationDelay    time.Duration // code usable after issue; default 10m (seed: 10分程度)
	ActivationTTL      time.Duration // code expiry after issue; default 7 days (model)
	SessionIdle        time.Duration // app and admin sessions; default 30m idle (model)
	SessionMax         time.Duration // absolute session lifetime, however active; default 8h (model)
	ChallengeTTL       time.Duration // default 5m (model)
	LockoutThreshold   int           // consecutive wrong passwords that lock; default 5 (model)
	PasswordIterations int           // PBKDF2 iterations; default 100000
	// ConsentValidity bounds a consent from the day it is given; 0 = until revoked
	// (居宅同意取得型). A request's valid_until may shorten it.
	ConsentValidity time.Duration

	// Trust anchors.
	AuthRoots         []*x509.Certificate // JPKI 利用者証明用 roots (the test auth CA; J-LIS CAs in a lab)
	AuthIntermediates []*x509.Certificate
	// CardFaceCAs are the keys that sign 券面事項確認AP EF 0004 certificates (production
	// 5000023/001, the test hierarchy's 6000023/001); the key an EF 0004 certifies signs the
	// card-face record. Visual mode needs at least one.
	CardFaceCAs []*rsa.PublicKey
	// InputSupportCAs sign 券面事項入力補助AP EF 0004 (5000033/001, test 6000033/001); without
	// them a visual consent's input-support records are refused.
	InputSupportCAs      []*rsa.PublicKey
	TerminalCA           *rsa.PrivateKey // signs devices' terminal certificates (checked by the card's EF 0016)
	TerminalCAID         mynumber.KeyID  // key id of TerminalCA (JPKI EF 0016): the issuer id of terminal certificates
	TerminalCertValidity time.Duration   // default 365 days

	// Revocation lists (X.509 CRLs, DER or PEM) of the auth CAs, loaded at start (serve --crl);
	// more can be loaded through PUT /v1/admin/crl. Each must be signed by a trusted auth CA.
	CRLs [][]byte

	// Insured records and the auth certificates that identify them (the issuance records:
	// they apply to every institution).
	People      []Person
	Enrollments []Enrollment
	// LabEnrollment turns on POST /v1/admin/enrollments (serve --lab-enrollment): an
	// institution's admin may link an auth certificate nobody is enrolled with (a real test
	// card's) to a synthetic record, for that institution's consents only. Off by default.
	LabEnrollment bool

	// Synchronous is the SQLite synchronous level: "FULL" (default) or "NORMAL". See store.go.
	Synchronous  string
	MaxBodyBytes int64 // request body limit; default 64 KiB
	MaxBatch     int   // writes per group commit; default 128
	// Limits per client address, session and institution (rates, sessions, challenges).
	Limits Limits
	// TestClock exposes POST /v1/test/clock; Clock must then be a *FakeClock.
	TestClock bool
	Logger    *slog.Logger // default: discard. Never receives secrets.
}

// InstitutionConfig bootstraps one institution.
type InstitutionConfig struct {
	Code          string // 医療機関コード, 10 digits
	Name          string
	AdminUser     string // 管理アカウント user ID
	AdminPassword string // never logged
}

// Enrollment links a JPKI auth certificate (DER) to an insured record: what the issuer (J-LIS)
// knows when it writes the certificate to a card. CardKey is the public key of that same card's
// card-face AP (券面事項確認AP key 001A, the DF24 of its face record); visual mode accepts a card
// only if its face key is the one enrolled with the certificate presented (API.md, visual mode).
// It is kept as mynumber.KeyFingerprint.
type Enrollment struct {
	AuthCert []byte
	PersonID string
	CardKey  *rsa.PublicKey // nil: unknown, visual mode is refused for this certificate
}

func (c *Config) withDefaults() (Config, error) {
	d := *c
	if d.Clock == nil {
		d.Clock = SystemClock{}
	}
	def := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	def(&d.ActivationDelay, 10*time.Minute)
	def(&d.ActivationTTL, 7*24*time.Hour)
	def(&d.SessionIdle, 30*time.Minute)
	def(&d.ChallengeTTL, 5*time.Minute)
	def(&d.SessionMax, 8*time.Hour)
	def(&d.TerminalCertValidity, 365*24*time.Hour)
	if d.LockoutThreshold <= 0 {
		d.LockoutThreshold = 5
	}
	if d.PasswordIterations <= 0 {
		d.PasswordIterations = 100000
	}
	if d.TerminalCAID == (mynumber.KeyID{}) {
		return d, errors.New("onshi: Config.TerminalCAID is required (the issuer id the card checks in 80 A2)")
	}
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = 64 << 10
	}
	d.Limits = d.Limits.withDefaults()
	if d.MaxBatch <= 0 {
		d.MaxBatch = 128
	}
	switch d.Synchronous {
	case "":
		d.Synchronous = "FULL"
	case "FULL", "NORMAL":
	default:
		return d, fmt.Errorf("onshi: synchronous must be FULL or NORMAL, not %q", d.Synchronous)
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.TerminalCA == nil {
		return d, errors.New("onshi: Config.TerminalCA is required (it signs terminal certificates)")
	}
	if len(d.CardFaceCAs) == 0 {
		return d, errors.New("onshi: Config.CardFaceCAs is required (visual mode)")
	}
	if len(d.AuthRoots) == 0 {
		return d, errors.New("onshi: Config.AuthRoots is required (PIN and visual mode)")
	}
	if d.TestClock {
		if _, ok := d.Clock.(*FakeClock); !ok {
			return d, errors.New("onshi: TestClock needs Clock to be a *FakeClock")
		}
	}
	for _, in := range d.Institutions {
		if !ValidInstitutionCode(in.Code) {
			return d, fmt.Errorf("onshi: institution code %q is not a 10-digit 医療機関コード with a valid prefecture and check digit", in.Code)
		}
		if !userIDRE.MatchString(in.AdminUser) || in.AdminPassword == "" || in.Name == "" {
			return d, fmt.Errorf("onshi: institution %s: name, admin user (2-8 alphanumerics) and admin password are required", in.Code)
		}
		if err := checkPasswordPolicy(in.AdminPassword, in.AdminUser); err != nil {
			var ae *api.Error
			errors.As(err, &ae)
			return d, fmt.Errorf("onshi: institution %s: the admin password does not meet the policy (%s): %s", in.Code, ae.Detail, ae.Message)
		}
	}
	return d, nil
}
