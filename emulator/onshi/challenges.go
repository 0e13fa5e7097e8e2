package onshi

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"sync"
	"time"

	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

// --- consent challenges (POST /v1/app/challenges) ---

// challenge is a single-use nonce bound to the session and device that asked for it.
type challenge struct {
	nonce       []byte
	sessKey     string
	deviceID    string
	institution string
	expires     time.Time
	used        bool
	outstanding bool // counted against the session's and institution's limits
}

// challengeTable keeps the challenges in issue order (= expiry order: one TTL for all). An
// outstanding challenge counts against its session and institution until it is used or
// expires; used and expired ones stay one more TTL as tombstones, so a replay says "replayed".
type challengeTable struct {
	mu      sync.Mutex
	m       map[string]*challenge
	order   []string
	expired int // order[:expired] are no longer outstanding by time
	perSess map[string]int
	perInst map[string]int
}

func (t *challengeTable) init() {
	t.m, t.perSess, t.perInst = map[string]*challenge{}, map[string]int{}, map[string]int{}
}

func (t *challengeTable) release(c *challenge) {
	if !c.outstanding {
		return
	}
	c.outstanding = false
	if t.perSess[c.sessKey]--; t.perSess[c.sessKey] <= 0 {
		delete(t.perSess, c.sessKey)
	}
	if t.perInst[c.institution]--; t.perInst[c.institution] <= 0 {
		delete(t.perInst, c.institution)
	}
}

// sweepLocked releases expired challenges and drops tombstones one TTL after expiry: amortised
// O(1) per challenge.
func (t *challengeTable) sweepLocked(now time.Time, ttl time.Duration) {
	for ; t.expired < len(t.order); t.expired++ {
		c := t.m[t.order[t.expired]]
		if c != nil && !now.After(c.expires) {
			break
		}
		if c != nil {
			t.release(c)
		}
	}
	n := 0
	for n < t.expired {
		c := t.m[t.order[n]]
		if c != nil && now.Sub(c.expires) <= ttl {
			break
		}
		delete(t.m, t.order[n])
		n++
	}
	if n > 0 {
		t.order = t.order[n:]
		t.expired -= n
	}
}

// put stores a challenge unless its session or institution already has as many outstanding as
// the limits allow; then it answers CHALLENGE_LIMIT with the time until the oldest of them
// expires.
func (s *Server) putChallenge(id string, c *challenge, now time.Time) error {
	t := &s.ch
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweepLocked(now, s.cfg.ChallengeTTL)
	l := s.limits.cfg
	var which func(*challenge) bool
	var detail string
	switch {
	case l.ChallengesPerSession >= 0 && t.perSess[c.sessKey] >= l.ChallengesPerSession:
		which, detail = func(x *challenge) bool { return x.sessKey == c.sessKey }, "this session"
	case l.ChallengesPerInstitution >= 0 && t.perInst[c.institution] >= l.ChallengesPerInstitution:
		which, detail = func(x *challenge) bool { return x.institution == c.institution }, "this institution"
	}
	if which != nil {
		wait := s.cfg.ChallengeTTL
		for _, oid := range t.order[t.expired:] {
			if x := t.m[oid]; x != nil && x.outstanding && which(x) {
				wait = x.expires.Sub(now)
				break
			}
		}
		e := api.New(api.CodeChallengeLimit, detail)
		e.RetryAfter = max(wait, time.Second)
		return e
	}
	c.outstanding = true
	t.m[id] = c
	t.order = append(t.order, id)
	t.perSess[c.sessKey]++
	t.perInst[c.institution]++
	return nil
}

// consumeChallenge uses up a challenge: single use, short-lived, bound to session and device.
func (s *Server) consumeChallenge(id, sessKey, deviceID string, now time.Time) ([]byte, error) {
	t := &s.ch
	t.mu.Lock()
	defer t.mu.Unlock()
	c, ok := t.m[id]
	switch {
	case !ok:
		return nil, api.New(api.CodeChallengeUnknown, "")
	case c.sessKey != sessKey || c.deviceID != deviceID:
		return nil, api.New(api.CodeChallengeNotBound, "")
	case c.used:
		return nil, api.New(api.CodeChallengeReplayed, "")
	}
	c.used = true
	t.release(c)
	if now.After(c.expires) {
		return nil, api.New(api.CodeChallengeExpired, "")
	}
	return c.nonce, nil
}

func (s *Server) newChallenge(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, err := s.auth(r, false)
	if err != nil {
		return 0, nil, err
	}
	ri := info(r)
	now := s.now()
	c := &challenge{nonce: make([]byte, 32), sessKey: se.key, deviceID: se.deviceID, institution: se.institution,
		expires: now.Add(s.cfg.ChallengeTTL)}
	rand.Read(c.nonce)
	id := newID("CH")
	ri.target = id
	if err := s.putChallenge(id, c, now); err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, api.Challenge{ID: id, Challenge: c.nonce, ExpiresAt: c.expires.UTC()}, nil
}

// --- auth challenges: proof of possession of the terminal key (activation, login) ---

// An auth challenge is issued without a session, so it keeps no state until used: it is
//
//	version 0x01 | 16 random bytes | expiry (Unix ns, big-endian) | HMAC-SHA256(key, the rest)
//
// under a key drawn at start. Only a challenge whose proof verified is remembered (until it
// expires), so flooding the endpoint costs the service nothing, and a replayed proof is refused.
const authChallengeLen = 1 + 16 + 8 + 32

type authChallenges struct {
	key  []byte
	mu   sync.Mutex
	used map[string]time.Time // hex random part -> expiry
	n    int
}

func (a *authChallenges) init() {
	a.key = make([]byte, 32)
	rand.Read(a.key)
	a.used = map[string]time.Time{}
}

func (a *authChallenges) mac(b []byte) []byte {
	m := hmac.New(sha256.New, a.key)
	m.Write(b)
	return m.Sum(nil)
}

func (a *authChallenges) issue(expires time.Time) []byte {
	b := make([]byte, 0, authChallengeLen)
	b = append(b, 0x01)
	nonce := make([]byte, 16)
	rand.Read(nonce)
	b = append(b, nonce...)
	b = binary.BigEndian.AppendUint64(b, uint64(expires.UnixNano()))
	return append(b, a.mac(b)...)
}

// check verifies that b is an auth challenge this service issued, not expired and not used, and
// returns its identity and expiry for markUsed.
func (a *authChallenges) check(b []byte, now time.Time) (string, time.Time, error) {
	if len(b) == 0 {
		return "", time.Time{}, api.New(api.CodeDeviceProofInvalid, "no auth_challenge: get one from POST /v1/app/auth-challenges")
	}
	if len(b) != authChallengeLen || b[0] != 0x01 || subtle.ConstantTimeCompare(a.mac(b[:authChallengeLen-32]), b[authChallengeLen-32:]) != 1 {
		return "", time.Time{}, api.New(api.CodeChallengeUnknown, "not an auth challenge of this service")
	}
	exp := time.Unix(0, int64(binary.BigEndian.Uint64(b[17:25])))
	id := hex.EncodeToString(b[1:17])
	a.mu.Lock()
	_, used := a.used[id]
	a.mu.Unlock()
	if used {
		return "", time.Time{}, api.New(api.CodeChallengeReplayed, "")
	}
	if now.After(exp) {
		return "", time.Time{}, api.New(api.CodeChallengeExpired, "")
	}
	return id, exp, nil
}

// markUsed remembers a challenge whose proof verified; false if it was used meanwhile.
func (a *authChallenges) markUsed(id string, exp, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n++; a.n%1024 == 0 {
		for k, e := range a.used {
			if now.After(e) {
				delete(a.used, k)
			}
		}
	}
	if _, ok := a.used[id]; ok {
		return false
	}
	a.used[id] = exp
	return true
}

// verifyProof checks a device's proof of possession: challenge issued here, fresh and unused,
// signed for purpose with pub.
func (s *Server) verifyProof(pub *rsa.PublicKey, purpose string, ch, proof []byte, now time.Time) error {
	id, exp, err := s.authCh.check(ch, now)
	if err != nil {
		return err
	}
	h := sha256.Sum256(api.ProofMessage(purpose, ch))
	if len(proof) == 0 || rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], proof) != nil {
		return api.New(api.CodeDeviceProofInvalid, "")
	}
	if !s.authCh.markUsed(id, exp, now) {
		return api.New(api.CodeChallengeReplayed, "")
	}
	return nil
}

func (s *Server) newAuthChallenge(w http.ResponseWriter, r *http.Request) (int, any, error) {
	// Not audited: issuing one changes nothing and keeps no state (API.md); the request log has it,
	// and the activation or login that uses it is audited.
	info(r).audited = true
	exp := s.now().Add(s.cfg.ChallengeTTL)
	return http.StatusCreated, api.AuthChallenge{Challenge: s.authCh.issue(exp), ExpiresAt: exp.UTC()}, nil
}
