package onshi

import (
	"math"
	"sync"
	"time"
)

// Limits bound what one client, session or institution can take from the service, so that no
// client can lock out another institution (API.md, Limits). Zero fields take the defaults named
// (model values); a negative rate or count means no limit.
type Limits struct {
	// Requests per second and burst of one app or admin session; default 20/s, burst 200.
	SessionRate, SessionBurst float64
	// Requests per second and burst of all sessions of one institution; default 200/s, burst 2000.
	InstitutionRate, InstitutionBurst float64
	// Requests per second and burst of one client address on the endpoints without a session
	// (logins, activation, auth challenges); default 20/s, burst 200.
	ClientRate, ClientBurst float64
	// Open sessions of one account (app, or the admin); default 16.
	SessionsPerAccount int
	// Open sessions of one institution (app and admin); default 1024.
	SessionsPerInstitution int
	// Outstanding (unused, unexpired) consent challenges of one session; default 16.
	ChallengesPerSession int
	// Outstanding consent challenges of one institution; default 4096.
	ChallengesPerInstitution int
}

func (l Limits) withDefaults() Limits {
	f := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	n := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	f(&l.SessionRate, 20)
	f(&l.SessionBurst, 200)
	f(&l.InstitutionRate, 200)
	f(&l.InstitutionBurst, 2000)
	f(&l.ClientRate, 20)
	f(&l.ClientBurst, 200)
	n(&l.SessionsPerAccount, 16)
	n(&l.SessionsPerInstitution, 1024)
	n(&l.ChallengesPerSession, 16)
	n(&l.ChallengesPerInstitution, 4096)
	return l
}

// bucketLimiter is a set of token buckets by key: rate tokens per second up to burst. Time is
// the service's clock, so tests move it instead of sleeping. Full buckets are forgotten now and
// then, so memory follows the active keys only.
type bucketLimiter struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	m      map[string]*bucket
	calls  int
	sweepN int
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newBucketLimiter(rate, burst float64) *bucketLimiter {
	return &bucketLimiter{rate: rate, burst: burst, m: map[string]*bucket{}, sweepN: 4096}
}

// allow takes a token for key. When none is left it returns false and how long until one is.
func (l *bucketLimiter) allow(key string, now time.Time) (bool, time.Duration) {
	if l == nil || l.rate < 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.calls++; l.calls%l.sweepN == 0 {
		full := time.Duration(l.burst / l.rate * float64(time.Second))
		for k, b := range l.m {
			if now.Sub(b.last) >= full {
				delete(l.m, k)
			}
		}
	}
	b, ok := l.m[key]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.m[key] = b
	}
	if el := now.Sub(b.last); el > 0 {
		b.tokens = math.Min(l.burst, b.tokens+el.Seconds()*l.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	if wait < time.Second {
		wait = time.Second // Retry-After is in whole seconds
	}
	return false, wait
}

// forget drops a key (a session that ended).
func (l *bucketLimiter) forget(key string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	delete(l.m, key)
	l.mu.Unlock()
}

type rateLimits struct {
	cfg                   Limits
	session, inst, client *bucketLimiter
}

func (r *rateLimits) init(l Limits) {
	r.cfg = l
	r.session = newBucketLimiter(l.SessionRate, l.SessionBurst)
	r.inst = newBucketLimiter(l.InstitutionRate, l.InstitutionBurst)
	r.client = newBucketLimiter(l.ClientRate, l.ClientBurst)
}
