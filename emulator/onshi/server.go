package onshi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

// Server is one emulated qualification system: an http.Handler over a durable store. Many can
// run side by side in one process, each with its own data directory and clock.
type Server struct {
	cfg   Config
	st    *store
	mux   *http.ServeMux
	roots *x509.CertPool
	inter *x509.CertPool

	people map[string]*Person

	mu           sync.RWMutex
	institutions map[string]*institution
	enrolled     map[string]enrollment // hex SHA-256 of auth cert DER -> issuance record (Config.Enrollments)
	labEnrolled  map[string]enrollment // institution + "\x00" + cert hash -> lab enrollment

	sessions sessionTable
	ch       challengeTable
	authCh   authChallenges
	limits   rateLimits
	revoked  revocations

	certs certCache
}

type institution struct {
	name      string
	homeVisit bool
	termsAt   *time.Time
}

// enrollment links an auth certificate to an insured record and, when known, to the card-face
// key of the card it was issued on.
type enrollment struct {
	personID    string
	cardKeyHash string // mynumber.KeyFingerprint of the card-face public key; "" unknown
}

// Open opens (creating or migrating) the store in dir and bootstraps the configured
// institutions.
func Open(dir string, cfg Config) (*Server, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	st, err := openStore(dir, c.Synchronous, c.MaxBatch)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: c, st: st, roots: x509.NewCertPool(), inter: x509.NewCertPool(),
		people:       map[string]*Person{},
		institutions: map[string]*institution{},
		enrolled:     map[string]enrollment{},
		labEnrolled:  map[string]enrollment{},
	}
	s.sessions.init()
	s.ch.init()
	s.authCh.init()
	s.limits.init(c.Limits)
	s.revoked.init()
	s.certs.m = map[string]*verifiedCert{}
	for _, r := range c.AuthRoots {
		s.roots.AddCert(r)
	}
	for _, r := range c.AuthIntermediates {
		s.inter.AddCert(r)
	}
	fail := func(err error) (*Server, error) { st.Close(); return nil, err }
	for i := range c.People {
		p := c.People[i]
		if err := p.Validate(); err != nil {
			return fail(fmt.Errorf("onshi: insured record %d (%s): %w", i, p.ID, err))
		}
		if _, dup := s.people[p.ID]; dup {
			return fail(fmt.Errorf("onshi: insured record %q configured twice", p.ID))
		}
		s.people[p.ID] = &p
	}
	for i, e := range c.Enrollments {
		if _, ok := s.people[e.PersonID]; !ok {
			return fail(fmt.Errorf("onshi: enrollment %d names unknown person %q", i, e.PersonID))
		}
		en := enrollment{personID: e.PersonID}
		if e.CardKey != nil {
			en.cardKeyHash = mynumber.KeyFingerprint(e.CardKey)
		}
		s.enrolled[certHash(e.AuthCert)] = en
	}
	if err := s.bootstrap(); err != nil {
		return fail(err)
	}
	for i, der := range c.CRLs {
		if _, err := s.loadCRL(der, s.now()); err != nil {
			return fail(fmt.Errorf("onshi: revocation list %d: %w", i, err))
		}
	}
	s.routes()
	return s, nil
}

// Close stops the writer after the queued writes and closes the database.
func (s *Server) Close() error { return s.st.Close() }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func certHash(der []byte) string {
	h := sha256.Sum256(der)
	return hex.EncodeToString(h[:])
}

// publicKeyHash is the fingerprint of a public key: SHA-256 of its PKIX DER.
func publicKeyHash(pub any) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	return certHash(der), nil
}

func (s *Server) now() time.Time { return s.cfg.Clock.Now() }

// bootstrap creates the configured institutions and their admins, and loads the caches. An
// existing admin keeps its password, failure counter and lock (lockouts are durable); only
// Config.ResetAdmins replaces the password with the configured one and clears the lock.
func (s *Server) bootstrap() error {
	ctx := context.Background()
	now := s.now()
	for _, in := range s.cfg.Institutions {
		h, err := hashPassword(in.AdminPassword, s.cfg.PasswordIterations)
		if err != nil {
			return err
		}
		action := "institution.bootstrap"
		if s.cfg.ResetAdmins {
			action = "institution.bootstrap.reset_admin"
		}
		err = s.st.write(&writeOp{at: now, audit: auditRec{institution: in.Code, actor: "system", action: action, target: in.Code},
			apply: func(tx *sql.Tx, _ *auditRec) error {
				if _, err := tx.Exec(`INSERT INTO institutions(code, name, updated_at) VALUES(?,?,?)
					ON CONFLICT(code) DO UPDATE SET name = excluded.name`, in.Code, in.Name, now.UnixNano()); err != nil {
					return err
				}
				q := `INSERT INTO admins(institution, user_id, user_key, pw_hash) VALUES(?,?,?,?)
					ON CONFLICT(institution, user_key) DO NOTHING`
				if s.cfg.ResetAdmins {
					q = `INSERT INTO admins(institution, user_id, user_key, pw_hash) VALUES(?,?,?,?)
					ON CONFLICT(institution, user_key) DO UPDATE SET pw_hash = excluded.pw_hash, failures = 0, locked = 0`
				}
				_, err := tx.Exec(q, in.Code, in.AdminUser, userKey(in.AdminUser), h)
				return err
			}})
		if err != nil {
			return fmt.Errorf("onshi: bootstrap %s: %w", in.Code, err)
		}
	}
	rows, err := s.st.r.QueryContext(ctx, `SELECT code, name, home_visit, terms_accepted_at FROM institutions`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var code, name string
		var hv bool
		var terms sql.NullInt64
		if err := rows.Scan(&code, &name, &hv, &terms); err != nil {
			return err
		}
		s.institutions[code] = &institution{name: name, homeVisit: hv, termsAt: nullTime(terms)}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	erows, err := s.st.r.QueryContext(ctx, `SELECT institution, cert_sha256, person_id, card_key_sha256 FROM lab_enrollments`)
	if err != nil {
		return err
	}
	defer erows.Close()
	for erows.Next() {
		var inst, h string
		var en enrollment
		if err := erows.Scan(&inst, &h, &en.personID, &en.cardKeyHash); err != nil {
			return err
		}
		s.labEnrolled[inst+"\x00"+h] = en
	}
	if err := erows.Err(); err != nil {
		return err
	}
	return s.loadStoredCRLs()
}

// enrollmentOf finds who an auth certificate identifies for a consent at inst: the issuance
// record (Config.Enrollments) first, then a lab enrollment of that institution only.
func (s *Server) enrollmentOf(inst, hash string) (enrollment, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if en, ok := s.enrolled[hash]; ok {
		return en, true
	}
	en, ok := s.labEnrolled[inst+"\x00"+hash]
	return en, ok
}

// --- HTTP plumbing ---

// reqInfo is what the service knows about one request as it is handled: it becomes the audit
// entry, the request-log line and the request ID of the answer. actor is set only once the
// request names an existing account (a typed user ID that is unknown or fails the format may be
// a password and is never recorded).
type reqInfo struct {
	id          string
	action      string
	institution string
	actor       string
	device      string
	target      string
	audited     bool
}

type ctxKey struct{}

func info(r *http.Request) *reqInfo {
	if ri, ok := r.Context().Value(ctxKey{}).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{}
}

// rec is the audit record of the request so far.
func (ri *reqInfo) rec() auditRec {
	actor := ri.actor
	if actor == "" {
		actor = "-"
	}
	return auditRec{institution: ri.institution, actor: actor, device: ri.device, action: ri.action, target: ri.target, requestID: ri.id}
}

type handlerFunc func(w http.ResponseWriter, r *http.Request) (int, any, error)

// routeKind says how a route is limited before its handler runs.
type routeKind int

const (
	authenticated routeKind = iota // the handler authenticates; limits per session and institution
	public                         // no session: limited per client address
)

func newRequestID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// clientAddr is the host part of the peer address (the key of the per-client limit).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) handle(action string, kind routeKind, fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		ri := &reqInfo{id: newRequestID(), action: action}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, ri))
		w.Header().Set("X-Request-ID", ri.id)
		status, body, err := s.run(w, r, ri, kind, fn)
		var ae *api.Error
		if err != nil {
			if !errors.As(err, &ae) {
				s.cfg.Logger.Error("onshi: internal error", "request_id", ri.id, "action", action, "err", err.Error())
				ae = api.New(api.CodeInternal, "")
			}
			// Every refusal is audited (API.md), except 429 RATE_LIMITED, which only the request log
			// counts (so a flood cannot become durable writes), and unknown routes.
			if !ri.audited && action != "" && ae.Code != api.CodeRateLimited {
				if werr := s.audit(ri, ae); werr != nil && !api.IsCode(werr, ae.Code) {
					s.cfg.Logger.Error("onshi: audit of a refusal failed", "request_id", ri.id, "err", werr.Error())
				}
			}
			cp := *ae
			cp.RequestID = ri.id
			if cp.Status == 0 {
				cp.Status = http.StatusInternalServerError
				if en, ok := api.Lookup(cp.Code); ok {
					cp.Status = en.Status
				}
			}
			if cp.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(cp.RetryAfter.Seconds()))))
			}
			status = cp.Status
			writeJSON(w, status, api.ErrorBody{Error: &cp})
		} else {
			if !ri.audited && action != "" {
				// Reads are audited too, before the answer is sent.
				if werr := s.audit(ri, nil); werr != nil {
					s.cfg.Logger.Error("onshi: audit failed", "request_id", ri.id, "err", werr.Error())
					status, ae = http.StatusInternalServerError, api.New(api.CodeInternal, "")
					cp := *ae
					cp.RequestID = ri.id
					writeJSON(w, status, api.ErrorBody{Error: &cp})
					s.logRequest(r, ri, status, ae, t0)
					return
				}
			}
			writeJSON(w, status, body)
		}
		s.logRequest(r, ri, status, ae, t0)
	})
}

// run applies the route's limit and calls the handler, turning a panic into INTERNAL.
func (s *Server) run(w http.ResponseWriter, r *http.Request, ri *reqInfo, kind routeKind, fn handlerFunc) (status int, body any, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.cfg.Logger.Error("onshi: handler panic", "request_id", ri.id, "action", ri.action, "panic", fmt.Sprint(p))
			status, body, err = 0, nil, api.New(api.CodeInternal, "")
		}
	}()
	if kind == public {
		if ok, retry := s.limits.client.allow(clientAddr(r), s.now()); !ok {
			e := api.New(api.CodeRateLimited, "too many requests from this client address")
			e.RetryAfter = retry
			return 0, nil, e
		}
	}
	return fn(w, r)
}

// logRequest writes the structured request log: request ID, method, route, status, duration,
// institution, actor and refusal code. Never bodies, tokens or other secrets.
func (s *Server) logRequest(r *http.Request, ri *reqInfo, status int, ae *api.Error, t0 time.Time) {
	ctx := r.Context()
	if !s.cfg.Logger.Enabled(ctx, slog.LevelInfo) {
		return
	}
	route := r.Pattern
	if ri.action == "" {
		route = "unmatched"
	}
	actor := ri.actor
	if actor == "" {
		actor = "-"
	}
	attrs := []slog.Attr{
		slog.String("request_id", ri.id), slog.String("method", r.Method), slog.String("route", route),
		slog.Int("status", status), slog.Float64("duration_ms", float64(time.Since(t0).Microseconds())/1000),
		slog.String("institution", ri.institution), slog.String("actor", actor),
	}
	if ri.device != "" {
		attrs = append(attrs, slog.String("device", ri.device))
	}
	if ae != nil {
		attrs = append(attrs, slog.String("code", string(ae.Code)))
	}
	s.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

// audit records the request (a read, or a refusal found before any write) durably before the
// answer is sent.
func (s *Server) audit(ri *reqInfo, refusal error) error {
	ri.audited = true
	return s.st.write(&writeOp{at: s.now(), audit: ri.rec(), apply: func(*sql.Tx, *auditRec) error { return refusal }})
}

// commit runs a write for the request in the next group commit; the write and its audit entry
// are durable when it returns (also for a refusal the write found).
func (s *Server) commit(ri *reqInfo, apply func(tx *sql.Tx, a *auditRec) error, after func()) error {
	ri.audited = true
	a := ri.rec()
	err := s.st.write(&writeOp{at: s.now(), audit: a, apply: func(tx *sql.Tx, a *auditRec) error {
		if apply == nil {
			return nil
		}
		return apply(tx, a)
	}, after: after})
	return err
}

func (s *Server) institution(code string) (*institution, error) {
	if err := checkInstitutionCode(code); err != nil {
		return nil, err
	}
	s.mu.RLock()
	in, ok := s.institutions[code]
	s.mu.RUnlock()
	if !ok {
		return nil, api.New(api.CodeInstitutionUnknown, "")
	}
	return in, nil
}

func (s *Server) requireFeature(code string) error {
	s.mu.RLock()
	in, ok := s.institutions[code]
	on := ok && in.homeVisit
	s.mu.RUnlock()
	if !on {
		return api.New(api.CodeFeatureDisabled, "")
	}
	return nil
}

func (s *Server) routes() {
	m := http.NewServeMux()
	h := func(pattern, action string, kind routeKind, fn handlerFunc) {
		m.Handle(pattern, s.handle(action, kind, fn))
	}
	// Terminal: administrator (管理アカウント).
	h("POST /v1/admin/login", "admin.login", public, s.adminLogin)
	h("POST /v1/admin/logout", "admin.logout", authenticated, s.logout(true))
	h("POST /v1/admin/password", "admin.password", authenticated, s.adminPassword)
	h("GET /v1/admin/settings", "settings.read", authenticated, s.getSettings)
	h("PUT /v1/admin/settings", "settings.update", authenticated, s.putSettings)
	h("POST /v1/admin/activation-codes", "activation_code.issue", authenticated, s.issueCode)
	h("GET /v1/admin/activation-codes", "activation_code.list", authenticated, s.listCodes)
	h("POST /v1/admin/activation-codes/{id}/revoke", "activation_code.revoke", authenticated, s.revokeCode)
	h("POST /v1/admin/accounts", "account.create", authenticated, s.createAccount)
	h("GET /v1/admin/accounts", "account.list", authenticated, s.listAccounts)
	h("PUT /v1/admin/accounts/{user}", "account.update", authenticated, s.updateAccount)
	h("DELETE /v1/admin/accounts/{user}", "account.delete", authenticated, s.deleteAccount)
	h("POST /v1/admin/accounts/{user}/unlock", "account.unlock", authenticated, s.unlockAccount)
	h("POST /v1/admin/accounts/{user}/suspend", "account.suspend", authenticated, s.suspendAccount(true))
	h("POST /v1/admin/accounts/{user}/resume", "account.resume", authenticated, s.suspendAccount(false))
	h("GET /v1/admin/devices", "device.list", authenticated, s.listDevices)
	h("POST /v1/admin/devices/{id}/revoke", "device.revoke", authenticated, s.revokeDevice)
	h("POST /v1/admin/enrollments", "enrollment.create", authenticated, s.enroll)
	h("PUT /v1/admin/crl", "crl.load", authenticated, s.putCRL)
	h("GET /v1/admin/crl", "crl.list", authenticated, s.listCRLs)
	h("GET /v1/admin/audit", "audit.read", authenticated, s.listAudit)
	// Terminal: accounts.
	h("POST /v1/terminal/login", "terminal.login", public, s.terminalLogin)
	h("POST /v1/terminal/password", "terminal.password", public, s.terminalPassword)
	// App.
	h("POST /v1/app/auth-challenges", "app.auth_challenge", public, s.newAuthChallenge)
	h("POST /v1/app/activate", "app.activate", public, s.activate)
	h("POST /v1/app/login", "app.login", public, s.appLogin)
	h("POST /v1/app/logout", "app.logout", authenticated, s.logout(false))
	h("POST /v1/app/challenges", "challenge.issue", authenticated, s.newChallenge)
	h("POST /v1/app/consents", "consent.register", authenticated, s.registerConsent)
	h("POST /v1/app/consents/{id}/revoke", "consent.revoke", authenticated, s.revokeConsent)
	h("POST /v1/app/qualifications/search", "qualification.search", authenticated, s.search)
	h("GET /v1/app/consents/{id}/medication", "medical.medication", authenticated, s.medical("medication"))
	h("GET /v1/app/consents/{id}/clinical", "medical.clinical", authenticated, s.medical("clinical"))
	h("GET /v1/app/consents/{id}/checkups", "medical.checkup", authenticated, s.medical("checkup"))
	if s.cfg.TestClock {
		h("POST /v1/test/clock", "test.clock", public, s.testClock)
	}
	m.Handle("/", s.handle("", public, func(http.ResponseWriter, *http.Request) (int, any, error) {
		return 0, nil, api.New(api.CodeNotFound, "")
	}))
	s.mux = m
}

func (s *Server) testClock(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req api.ClockRequest
	if err := s.decode(w, r, &req); err != nil {
		return 0, nil, err
	}
	d, err := time.ParseDuration(req.Advance)
	if err != nil || d <= 0 {
		return 0, nil, api.New(api.CodeClockAdvanceInvalid, "")
	}
	now := s.cfg.Clock.(*FakeClock).Advance(d)
	return http.StatusOK, api.ClockResponse{Now: now}, nil
}
