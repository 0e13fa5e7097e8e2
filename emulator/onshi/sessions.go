package onshi

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

// session is a logged-in admin or app session. Sessions live in memory: a restart ends them.
type session struct {
	admin       bool
	institution string
	userID      string // canonical (as registered)
	role        string
	deviceID    string
	created     time.Time
	last        time.Time
}

// sessionTable holds the sessions by the hash of their token, with counts per account and per
// institution for the limits.
type sessionTable struct {
	mu         sync.Mutex
	m          map[string]*session
	perAccount map[string]int
	perInst    map[string]int
	created    int
}

func (t *sessionTable) init() {
	t.m, t.perAccount, t.perInst = map[string]*session{}, map[string]int{}, map[string]int{}
}

// userKey is the case-folded form of a user ID: user IDs are unique, and found, regardless of
// case (they are half-width alphanumerics, so ASCII folding is enough).
func userKey(id string) string { return strings.ToLower(id) }

func accountKey(admin bool, inst, user string) string {
	p := "U"
	if admin {
		p = "A"
	}
	return p + inst + "\x00" + userKey(user)
}

func (se *session) accountKey() string { return accountKey(se.admin, se.institution, se.userID) }

// expiry is when the session ends: idle timeout, never after the absolute lifetime.
func (s *Server) expiry(se *session) time.Time {
	idle := se.last.Add(s.cfg.SessionIdle)
	if end := se.created.Add(s.cfg.SessionMax); end.Before(idle) {
		return end
	}
	return idle
}

func (s *Server) token(tok string, se *session) api.Token {
	return api.Token{Token: tok, ExpiresAt: s.expiry(se).UTC(), LifetimeEndsAt: se.created.Add(s.cfg.SessionMax).UTC()}
}

// removeLocked drops a session (t.mu held).
func (s *Server) removeLocked(k string, se *session) {
	delete(s.sessions.m, k)
	ak := se.accountKey()
	if s.sessions.perAccount[ak]--; s.sessions.perAccount[ak] <= 0 {
		delete(s.sessions.perAccount, ak)
	}
	if s.sessions.perInst[se.institution]--; s.sessions.perInst[se.institution] <= 0 {
		delete(s.sessions.perInst, se.institution)
	}
	s.limits.session.forget(k)
}

func (s *Server) sweepSessionsLocked(now time.Time) {
	for k, x := range s.sessions.m {
		if now.After(s.expiry(x)) {
			s.removeLocked(k, x)
		}
	}
}

// sessionRoom reports SESSION_LIMIT when newSession would refuse se now, so a login can refuse
// before it commits its checks.
func (s *Server) sessionRoom(se *session) error {
	return s.sessionLimit(se, s.now(), false)
}

// sessionLimit (t.mu held when locked) is the SESSION_LIMIT refusal for a new session se, or
// nil when there is room. Expired sessions are swept before refusing.
func (s *Server) sessionLimit(se *session, now time.Time, locked bool) error {
	t := &s.sessions
	if !locked {
		t.mu.Lock()
		defer t.mu.Unlock()
	}
	ak := se.accountKey()
	full := func() func(*session) bool {
		l := s.limits.cfg
		if l.SessionsPerAccount >= 0 && t.perAccount[ak] >= l.SessionsPerAccount {
			return func(x *session) bool { return x.accountKey() == ak }
		}
		if l.SessionsPerInstitution >= 0 && t.perInst[se.institution] >= l.SessionsPerInstitution {
			return func(x *session) bool { return x.institution == se.institution }
		}
		return nil
	}
	if full() == nil {
		return nil
	}
	s.sweepSessionsLocked(now)
	which := full()
	if which == nil {
		return nil
	}
	var first time.Time
	for _, x := range t.m {
		if which(x) {
			if e := s.expiry(x); first.IsZero() || e.Before(first) {
				first = e
			}
		}
	}
	e := api.New(api.CodeSessionLimit, "")
	e.RetryAfter = max(first.Sub(now), time.Second)
	return e
}

// newSession stores a session and returns its token, unless the account or the institution has
// as many open sessions as the limits allow (SESSION_LIMIT, with the time until one ends).
func (s *Server) newSession(se *session) (api.Token, error) {
	tok := randomToken(32)
	now := s.now()
	se.created, se.last = now, now
	ak := se.accountKey()
	t := &s.sessions
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.created++; t.created%1024 == 0 {
		s.sweepSessionsLocked(now)
	}
	if err := s.sessionLimit(se, now, true); err != nil {
		return api.Token{}, err
	}
	t.m[secretHash(tok)] = se
	t.perAccount[ak]++
	t.perInst[se.institution]++
	return s.token(tok, se), nil
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if t, ok := strings.CutPrefix(h, "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	return ""
}

// authed is an authenticated request's session (a copy) and its key.
type authed struct {
	session
	key string
}

// auth finds the session of the request, applies the per-session and per-institution rate
// limits and refreshes the idle timer. The request's audit record learns the institution, actor
// and device as soon as the session is known, so refusals after that are audited under them.
func (s *Server) auth(r *http.Request, admin bool) (*authed, error) {
	ri := info(r)
	tok := bearer(r)
	if tok == "" {
		return nil, api.New(api.CodeUnauthenticated, "no bearer token")
	}
	k := secretHash(tok)
	now := s.now()
	t := &s.sessions
	t.mu.Lock()
	se, ok := t.m[k]
	if !ok || se.admin != admin {
		t.mu.Unlock()
		return nil, api.New(api.CodeUnauthenticated, "unknown token")
	}
	ri.institution, ri.device = se.institution, se.deviceID
	ri.actor = "user:" + se.userID
	if admin {
		ri.actor = "admin:" + se.userID
	}
	if now.After(s.expiry(se)) {
		detail := "idle timeout"
		if !now.Before(se.created.Add(s.cfg.SessionMax)) {
			detail = "the session's lifetime ended"
		}
		s.removeLocked(k, se)
		t.mu.Unlock()
		return nil, api.New(api.CodeSessionExpired, detail)
	}
	cp := authed{session: *se, key: k}
	t.mu.Unlock()
	if ok, retry := s.limits.session.allow(k, now); !ok {
		e := api.New(api.CodeRateLimited, "too many requests from this session")
		e.RetryAfter = retry
		return nil, e
	}
	if ok, retry := s.limits.inst.allow(cp.institution, now); !ok {
		e := api.New(api.CodeRateLimited, "too many requests from this institution")
		e.RetryAfter = retry
		return nil, e
	}
	if !admin {
		// 訪問診療等機能 = 利用しない stops the app at once (seed).
		if err := s.requireFeature(cp.institution); err != nil {
			return nil, err
		}
	}
	t.mu.Lock()
	if se, ok := t.m[k]; ok {
		se.last = now
	}
	t.mu.Unlock()
	return &cp, nil
}

func (s *Server) dropSessions(match func(key string, se *session) bool) {
	t := &s.sessions
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, se := range t.m {
		if match(k, se) {
			s.removeLocked(k, se)
		}
	}
}

// dropAccountSessions ends every session of an account (lock, suspension, deletion, password
// or role change).
func (s *Server) dropAccountSessions(admin bool, inst, user string) {
	ak := accountKey(admin, inst, user)
	s.dropSessions(func(_ string, x *session) bool { return x.accountKey() == ak })
}

func (s *Server) logout(admin bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		se, err := s.auth(r, admin)
		if err != nil {
			return 0, nil, err
		}
		t := &s.sessions
		t.mu.Lock()
		if x, ok := t.m[se.key]; ok {
			s.removeLocked(se.key, x)
		}
		t.mu.Unlock()
		return http.StatusOK, struct{}{}, nil
	}
}
