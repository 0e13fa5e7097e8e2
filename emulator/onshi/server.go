package onshi

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mynaconform/mynaconform/emulator/onshi/api"
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
	enrolled     map[string]string // hex SHA-256 of auth cert DER -> person ID

	sessMu      sync.Mutex
	sessions    map[string]*session // by secretHash(token)
	sessCreated int

	chMu       sync.Mutex
	challenges map[string]*challenge
	chOrder    []string // challenge IDs in issue order, for expiry

	certs certCache
}

type institution struct {
	name      string
	homeVisit bool
	termsAt   *time.Time
}

type session struct {
	admin       bool
	institution string
	userID      string
	role        string
	deviceID    string
	last        time.Time
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
		enrolled:     map[string]string{},
		sessions:     map[string]*session{},
		challenges:   map[string]*challenge{},
	}
	s.certs.m = map[string]*verifiedCert{}
	for _, r := range c.AuthRoots {
		s.roots.AddCert(r)
	}
	for _, r := range c.AuthIntermediates {
		s.inter.AddCert(r)
	}
	for i := range c.People {
		p := c.People[i]
		if err := p.Validate(); err != nil {
			st.Close()
			return nil, fmt.Errorf("onshi: insured record %d (%s): %w", i, p.ID, err)
		}
		if _, dup := s.people[p.ID]; dup {
			st.Close()
			return nil, fmt.Errorf("onshi: insured record %q configured twice", p.ID)
		}
		s.people[p.ID] = &p
	}
	for _, e := range c.Enrollments {
		if _, ok := s.people[e.PersonID]; !ok {
			st.Close()
			return nil, fmt.Errorf("onshi: enrollment names unknown person %q", e.PersonID)
		}
		s.enrolled[certHash(e.AuthCert)] = e.PersonID
	}
	if err := s.bootstrap(); err != nil {
		st.Close()
		return nil, err
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

func (s *Server) now() time.Time { return s.cfg.Clock.Now() }

// bootstrap creates or updates the configured institutions and admins, and loads the caches.
func (s *Server) bootstrap() error {
	ctx := context.Background()
	now := s.now()
	for _, in := range s.cfg.Institutions {
		h, err := hashPassword(in.AdminPassword, s.cfg.PasswordIterations)
		if err != nil {
			return err
		}
		in := in
		err = s.st.write(&writeOp{at: now, audit: auditRec{institution: in.Code, actor: "system", action: "institution.bootstrap", target: in.Code},
			apply: func(tx *sql.Tx, _ *auditRec) error {
				if _, err := tx.Exec(`INSERT INTO institutions(code, name, updated_at) VALUES(?,?,?)
					ON CONFLICT(code) DO UPDATE SET name = excluded.name`, in.Code, in.Name, now.UnixNano()); err != nil {
					return err
				}
				_, err := tx.Exec(`INSERT INTO admins(institution, user_id, pw_hash) VALUES(?,?,?)
					ON CONFLICT(institution, user_id) DO UPDATE SET pw_hash = excluded.pw_hash, failures = 0, locked = 0`,
					in.Code, in.AdminUser, h)
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
	erows, err := s.st.r.QueryContext(ctx, `SELECT cert_sha256, person_id FROM enrollments`)
	if err != nil {
		return err
	}
	defer erows.Close()
	for erows.Next() {
		var h, p string
		if err := erows.Scan(&h, &p); err != nil {
			return err
		}
		s.enrolled[h] = p
	}
	return erows.Err()
}

// --- HTTP plumbing ---

type handlerFunc func(w http.ResponseWriter, r *http.Request) (int, any, error)

func (s *Server) handle(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				s.cfg.Logger.Error("onshi: handler panic", "path", r.URL.Path, "panic", fmt.Sprint(p))
				writeErr(w, api.New(api.CodeInternal, ""))
			}
		}()
		status, body, err := fn(w, r)
		if err != nil {
			var ae *api.Error
			if !errors.As(err, &ae) {
				s.cfg.Logger.Error("onshi: internal error", "path", r.URL.Path, "err", err.Error())
				ae = api.New(api.CodeInternal, "")
			}
			writeErr(w, ae)
			return
		}
		writeJSON(w, status, body)
	})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

func writeErr(w http.ResponseWriter, e *api.Error) {
	st := e.Status
	if st == 0 {
		if en, ok := api.Lookup(e.Code); ok {
			st = en.Status
		} else {
			st = http.StatusInternalServerError
		}
	}
	writeJSON(w, st, api.ErrorBody{Error: e})
}

// decode reads exactly one JSON value into v: strict fields, bounded size, JSON media type.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return api.New(api.CodeUnsupportedMediaType, "")
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeErr(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return api.New(api.CodeBodyTooLarge, fmt.Sprintf("limit %d bytes", mbe.Limit))
		}
		return api.New(api.CodeMultipleJSONValues, "")
	}
	return nil
}

func decodeErr(err error) error {
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return api.New(api.CodeBodyTooLarge, fmt.Sprintf("limit %d bytes", mbe.Limit))
	case errors.Is(err, io.EOF):
		return api.New(api.CodeMalformedJSON, "empty body")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return api.New(api.CodeMalformedJSON, "truncated JSON")
	case errors.As(err, &se):
		return api.New(api.CodeMalformedJSON, fmt.Sprintf("syntax error at byte %d", se.Offset))
	case errors.As(err, &te):
		return api.New(api.CodeMalformedJSON, fmt.Sprintf("field %q: want %s", te.Field, te.Type))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return api.New(api.CodeUnknownField, strings.TrimPrefix(err.Error(), "json: "))
	}
	// Other decoder errors (bad base64, invalid UTF-8 escapes, ...) are still the client's input.
	return api.New(api.CodeMalformedJSON, "invalid value")
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if t, ok := strings.CutPrefix(h, "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	return ""
}

// newSession stores a session and returns its token.
func (s *Server) newSession(se *session) api.Token {
	tok := randomToken(32)
	se.last = s.now()
	s.sessMu.Lock()
	// Idle sessions are dropped when used; sweep the abandoned ones now and then (amortised O(1)).
	if s.sessCreated++; s.sessCreated%1024 == 0 {
		for k, x := range s.sessions {
			if se.last.Sub(x.last) > s.cfg.SessionIdle {
				delete(s.sessions, k)
			}
		}
	}
	s.sessions[secretHash(tok)] = se
	s.sessMu.Unlock()
	return api.Token{Token: tok, ExpiresAt: se.last.Add(s.cfg.SessionIdle).UTC()}
}

// auth finds the session of the request and refreshes its idle timer.
func (s *Server) auth(r *http.Request, admin bool) (*session, error) {
	tok := bearer(r)
	if tok == "" {
		return nil, api.New(api.CodeUnauthenticated, "no bearer token")
	}
	k := secretHash(tok)
	now := s.now()
	s.sessMu.Lock()
	se, ok := s.sessions[k]
	if ok && now.Sub(se.last) > s.cfg.SessionIdle {
		delete(s.sessions, k)
		s.sessMu.Unlock()
		return nil, api.New(api.CodeSessionExpired, "")
	}
	if !ok || se.admin != admin {
		s.sessMu.Unlock()
		return nil, api.New(api.CodeUnauthenticated, "unknown token")
	}
	se.last = now
	cp := *se
	s.sessMu.Unlock()
	if !admin {
		// 訪問診療等機能 = 利用しない stops the app at once (seed).
		if err := s.requireFeature(cp.institution); err != nil {
			return nil, err
		}
	}
	return &cp, nil
}

func (s *Server) dropSessions(match func(*session) bool) {
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	for k, se := range s.sessions {
		if match(se) {
			delete(s.sessions, k)
		}
	}
}

func (s *Server) institution(code string) (*institution, error) {
	if !institutionCodeRE.MatchString(code) {
		return nil, api.New(api.CodeInstitutionCodeFormat, "")
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

// audit records a read-only action (lookups) durably before the answer is sent.
func (s *Server) audit(a auditRec, err error) error {
	return s.st.write(&writeOp{at: s.now(), audit: a, apply: func(*sql.Tx, *auditRec) error { return err }})
}

func (s *Server) routes() {
	m := http.NewServeMux()
	// Terminal: administrator (管理アカウント).
	m.Handle("POST /v1/admin/login", s.handle(s.adminLogin))
	m.Handle("POST /v1/admin/logout", s.handle(s.logout(true)))
	m.Handle("GET /v1/admin/settings", s.handle(s.getSettings))
	m.Handle("PUT /v1/admin/settings", s.handle(s.putSettings))
	m.Handle("POST /v1/admin/activation-codes", s.handle(s.issueCode))
	m.Handle("GET /v1/admin/activation-codes", s.handle(s.listCodes))
	m.Handle("POST /v1/admin/activation-codes/{id}/revoke", s.handle(s.revokeCode))
	m.Handle("POST /v1/admin/accounts", s.handle(s.createAccount))
	m.Handle("GET /v1/admin/accounts", s.handle(s.listAccounts))
	m.Handle("POST /v1/admin/accounts/{user}/unlock", s.handle(s.unlockAccount))
	m.Handle("GET /v1/admin/devices", s.handle(s.listDevices))
	m.Handle("POST /v1/admin/devices/{id}/revoke", s.handle(s.revokeDevice))
	m.Handle("POST /v1/admin/enrollments", s.handle(s.enroll))
	m.Handle("GET /v1/admin/audit", s.handle(s.listAudit))
	// Terminal: accounts.
	m.Handle("POST /v1/terminal/login", s.handle(s.terminalLogin))
	// App.
	m.Handle("POST /v1/app/activate", s.handle(s.activate))
	m.Handle("POST /v1/app/login", s.handle(s.appLogin))
	m.Handle("POST /v1/app/logout", s.handle(s.logout(false)))
	m.Handle("POST /v1/app/challenges", s.handle(s.newChallenge))
	m.Handle("POST /v1/app/consents", s.handle(s.registerConsent))
	m.Handle("POST /v1/app/consents/{id}/revoke", s.handle(s.revokeConsent))
	m.Handle("POST /v1/app/qualifications/search", s.handle(s.search))
	m.Handle("GET /v1/app/consents/{id}/medication", s.handle(s.medical("medication")))
	m.Handle("GET /v1/app/consents/{id}/clinical", s.handle(s.medical("clinical")))
	m.Handle("GET /v1/app/consents/{id}/checkups", s.handle(s.medical("checkup")))
	if s.cfg.TestClock {
		m.Handle("POST /v1/test/clock", s.handle(s.testClock))
	}
	m.Handle("/", s.handle(func(http.ResponseWriter, *http.Request) (int, any, error) {
		return 0, nil, api.New(api.CodeNotFound, "")
	}))
	s.mux = m
}

func (s *Server) logout(admin bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		se, err := s.auth(r, admin)
		if err != nil {
			return 0, nil, err
		}
		k := secretHash(bearer(r))
		s.sessMu.Lock()
		delete(s.sessions, k)
		s.sessMu.Unlock()
		actor := "user:" + se.userID
		if admin {
			actor = "admin:" + se.userID
		}
		if err := s.audit(auditRec{institution: se.institution, actor: actor, device: se.deviceID, action: "logout"}, nil); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, struct{}{}, nil
	}
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
