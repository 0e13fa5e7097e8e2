package onshi_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/conformance/app/client"
	"github.com/mynaconform/mynaconform/emulator/onshi"
	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

// twoClinics: institution A with a device and session, institution B with a device and n
// sessions of its doctor.
func twoClinics(t *testing.T, e *env, n int) (*client.Session, []*client.Session) {
	t.Helper()
	_, _, sa := e.device(doctorID)
	b := e.admin(instB)
	must(b.UpdateSettings(e.ctx, api.SettingsRequest{HomeVisitEnabled: true, AcceptTerms: true}))
	e.account(b, instB, "doc02", api.RoleMedical)
	act, sb, err := e.activateWith(instB, "doc02", userPW, e.code(b, "B端末"))
	if err != nil {
		t.Fatal(err)
	}
	out := []*client.Session{sb}
	for len(out) < n {
		out = append(out, must(e.login(act, "doc02")))
	}
	return sa, out
}

func wantRetry(t *testing.T, err error, code api.Code, retry time.Duration) {
	t.Helper()
	wantCode(t, err, code)
	var ae *api.Error
	errors.As(err, &ae)
	if ae.Status != http.StatusTooManyRequests || ae.RetryAfter != retry {
		t.Fatalf("%s: status %d, Retry-After %v, want 429 and %v", code, ae.Status, ae.RetryAfter, retry)
	}
}

// One session of institution B asks for challenges until refused: its own limit stops it
// (429, Retry-After until its oldest challenge expires), another session of B still gets
// challenges, and institution A is never affected. B's sessions together fill B's institution
// limit; A still gets challenges; when the challenges expire B works again.
func TestOneSessionCannotExhaustAnotherInstitutionsChallenges(t *testing.T) {
	e := newEnv(t, func(c *onshi.Config) { c.Limits.ChallengesPerSession = 16; c.Limits.ChallengesPerInstitution = 40 })
	sa, sb := twoClinics(t, e, 4)
	first := e.clock.Now()
	for i := range 16 {
		must(sb[0].Challenge(e.ctx))
		if i == 0 {
			e.clock.Advance(time.Minute)
		}
	}
	_, err := sb[0].Challenge(e.ctx)
	wantRetry(t, err, api.CodeChallengeLimit, first.Add(5*time.Minute).Sub(e.clock.Now()))
	if !strings.Contains(err.(*api.Error).Detail, "session") {
		t.Errorf("detail %q", err.(*api.Error).Detail)
	}
	must(sa.Challenge(e.ctx))
	for range 16 {
		must(sb[1].Challenge(e.ctx))
	}
	for range 8 {
		must(sb[2].Challenge(e.ctx))
	}
	_, err = sb[3].Challenge(e.ctx) // 40 outstanding at B
	wantCode(t, err, api.CodeChallengeLimit)
	if !strings.Contains(err.(*api.Error).Detail, "institution") {
		t.Errorf("detail %q", err.(*api.Error).Detail)
	}
	for range 15 {
		must(sa.Challenge(e.ctx)) // A: its own 16 per session (one taken above), 40 per institution
	}
	e.clock.Advance(5*time.Minute + time.Second)
	must(sb[0].Challenge(e.ctx))
	must(sb[3].Challenge(e.ctx))
}

// A session that floods the service is slowed down with 429 RATE_LIMITED and Retry-After; so is
// an institution whose sessions together exceed its rate; another institution is not affected.
func TestRateLimitsPerSessionAndInstitution(t *testing.T) {
	e := newEnv(t, nil)
	sa, sb := twoClinics(t, e, 2)
	e.srv.Close()
	e.hs.Close()
	e = reopen(t, e, func(c *onshi.Config) {
		c.Limits.SessionRate, c.Limits.SessionBurst = 1, 5
		c.Limits.InstitutionRate, c.Limits.InstitutionBurst = 2, 8
	})
	// Sessions live in memory: log in again after the restart.
	devs := e.devices
	sa = must(e.login(devs[0], doctorID))
	sb = []*client.Session{must(e.login(devs[1], "doc02")), must(e.login(devs[1], "doc02"))}
	for range 5 {
		must(sb[0].Challenge(e.ctx))
	}
	_, err := sb[0].Challenge(e.ctx)
	wantRetry(t, err, api.CodeRateLimited, time.Second)
	for range 3 {
		must(sb[1].Challenge(e.ctx)) // B's institution bucket: 8 - 5
	}
	_, err = sb[1].Challenge(e.ctx)
	wantRetry(t, err, api.CodeRateLimited, time.Second)
	if !strings.Contains(err.(*api.Error).Detail, "institution") {
		t.Errorf("detail %q", err.(*api.Error).Detail)
	}
	for range 5 {
		must(sa.Challenge(e.ctx))
	}
	e.clock.Advance(time.Second)
	must(sb[0].Challenge(e.ctx))
}

// An account and an institution have a bounded number of open sessions: past it a login is
// refused with SESSION_LIMIT and the time until one ends; logging out frees a place.
func TestSessionLimits(t *testing.T) {
	e := newEnv(t, func(c *onshi.Config) { c.Limits.SessionsPerAccount = 2; c.Limits.SessionsPerInstitution = 4 })
	_, act, s1 := e.device(doctorID) // the admin's session and doc01's first: 2 at A
	e.clock.Advance(time.Minute)
	s2 := must(e.login(act, doctorID)) // 3
	_, err := e.login(act, doctorID)
	wantRetry(t, err, api.CodeSessionLimit, 29*time.Minute) // doc01 has 2; the first ends in 29 min
	must(e.login(act, clerkID))                             // 4
	_, err = e.login(act, clerkID)
	wantCode(t, err, api.CodeSessionLimit) // the institution's 4
	if err := s1.Logout(e.ctx); err != nil {
		t.Fatal(err)
	}
	must(e.login(act, clerkID)) // 4 again
	_, err = e.login(act, doctorID)
	wantCode(t, err, api.CodeSessionLimit)
	if err := s2.Logout(e.ctx); err != nil {
		t.Fatal(err)
	}
	must(e.login(act, doctorID))
	// Institution B is not limited by A's sessions.
	b := e.admin(instB)
	must(b.Settings(e.ctx))
}

// Endpoints without a session (logins, activation, auth challenges) are limited per client
// address: a client guessing passwords is slowed down, another client is not.
func TestClientRateLimit(t *testing.T) {
	e := newEnv(t, func(c *onshi.Config) { c.Limits.ClientRate, c.Limits.ClientBurst = 1, 3 })
	post := func(addr string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/v1/admin/login", strings.NewReader(`{"institution_code":"`+instA+`","user_id":"admin","password":"Wrong-pass-1"}`))
		r.RemoteAddr = addr
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, r)
		return w
	}
	for range 3 {
		if w := post("192.0.2.10:4000"); w.Code != http.StatusUnauthorized {
			t.Fatalf("status %d", w.Code)
		}
	}
	w := post("192.0.2.10:4001")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "1" || !strings.Contains(w.Body.String(), string(api.CodeRateLimited)) {
		t.Fatalf("4th attempt: %d %q %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	if w := post("192.0.2.11:4000"); w.Code != http.StatusUnauthorized {
		t.Fatalf("other client: %d", w.Code)
	}
	e.clock.Advance(time.Second)
	if w := post("192.0.2.10:4000"); w.Code != http.StatusUnauthorized {
		t.Fatalf("after a second: %d", w.Code)
	}
}
