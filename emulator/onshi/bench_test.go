package onshi_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"database/sql"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/conformance/app/client"
	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

// benchEnv: a device, a pool of sessions (one per client goroutine) on loopback HTTP with
// keep-alive connections for every goroutine.
func benchEnv(b *testing.B, sessions int) (*env, []*client.Session) {
	e := newEnv(b, unlimited) // 32 sessions of one account on a clock that does not move
	tr := &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 0}
	b.Cleanup(tr.CloseIdleConnections)
	e.c = client.New(e.hs.URL, &http.Client{Transport: tr})
	_, act, _ := e.device(doctorID)
	var out []*client.Session
	for range sessions {
		out = append(out, must(e.login(act, doctorID)))
	}
	return e, out
}

// latencies gathers per-op durations from parallel goroutines and reports rate and percentiles.
type latencies struct {
	mu  sync.Mutex
	all []time.Duration
}

func (l *latencies) add(d []time.Duration) { l.mu.Lock(); l.all = append(l.all, d...); l.mu.Unlock() }

func (l *latencies) report(b *testing.B, unit string, elapsed time.Duration) {
	slices.Sort(l.all)
	if len(l.all) == 0 {
		return
	}
	pct := func(p float64) float64 { return float64(l.all[int(p*float64(len(l.all)-1))].Microseconds()) / 1000 }
	b.ReportMetric(float64(len(l.all))/elapsed.Seconds(), unit+"/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

const benchClients = 32 // concurrent app sessions (RunParallel goroutines)

// parallelOps runs ops from benchClients goroutines until b.N are done (each goroutine gets its
// op from perGoroutine), timing each, and reports ops/s with the p50 and p99 latencies.
func parallelOps(b *testing.B, unit string, perGoroutine func() func() error) {
	var lat latencies
	b.SetParallelism(benchClients / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	t0 := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		op := perGoroutine()
		var mine []time.Duration
		for pb.Next() {
			t := time.Now()
			if err := op(); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(t))
		}
		lat.add(mine)
	})
	lat.report(b, unit, time.Since(t0))
}

// BenchmarkConsentRegistration: POST /v1/app/consents in PIN mode over loopback HTTP: chain
// check (cached after the first), RSA-2048 signature verify, consent row + audit row in a
// durable group commit. The challenges and the card's signatures are prepared before the timer
// (the card signs on the card, not in the service).
func BenchmarkConsentRegistration(b *testing.B) {
	e, sess := benchEnv(b, benchClients)
	adult := persona(b, "adult")
	type prepared struct {
		s   *client.Session
		req api.ConsentRequest
	}
	work := make([]prepared, b.N)
	for i := range work {
		s := sess[i%len(sess)]
		ch := must(s.Challenge(e.ctx))
		work[i] = prepared{s, api.ConsentRequest{ChallengeID: ch.ID, Mode: api.ModePIN, AuthCertificate: adult.AuthCert,
			Signature: signChallenge(b, adult.AuthKey, ch.Challenge), Items: allItems}}
	}
	var next atomic.Int64
	parallelOps(b, "consents", func() func() error {
		return func() error {
			w := work[next.Add(1)-1]
			_, err := w.s.RegisterConsent(e.ctx, w.req)
			return err
		}
	})
}

// BenchmarkChallenge: POST /v1/app/challenges (random nonce, in-memory, durable audit row), the
// other half of a registration as the app does it.
func BenchmarkChallenge(b *testing.B) {
	e, sess := benchEnv(b, benchClients)
	var next atomic.Int64
	parallelOps(b, "challenges", func() func() error {
		s := sess[int(next.Add(1)-1)%len(sess)]
		return func() error {
			_, err := s.Challenge(e.ctx)
			return err
		}
	})
}

// BenchmarkLookup: 資格確認結果検索 by consent ID over loopback HTTP (read + durable audit row).
func BenchmarkLookup(b *testing.B) {
	e, sess := benchEnv(b, benchClients)
	adult := persona(b, "adult")
	var ids []string
	for _, s := range sess {
		ids = append(ids, must(pinConsent(e, s, adult.AuthCert, adult.AuthKey, allItems)).Consent.ID)
	}
	var next atomic.Int64
	parallelOps(b, "lookups", func() func() error {
		i := int(next.Add(1)-1) % len(sess)
		s, id := sess[i], ids[i]
		return func() error {
			_, err := s.Search(e.ctx, api.SearchRequest{ConsentID: id})
			return err
		}
	})
}

// BenchmarkCeilingRSA2048Verify: one PKCS#1 v1.5 SHA-256 verify, the signature check of a
// consent (one core).
func BenchmarkCeilingRSA2048Verify(b *testing.B) {
	adult := persona(b, "adult")
	msg := []byte("challenge-challenge-challenge-32")
	h := sha256.Sum256(msg)
	sig := signChallenge(b, adult.AuthKey, msg)
	pub := &adult.AuthKey.PublicKey
	b.ResetTimer()
	for b.Loop() {
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCeilingSQLiteCommit: one durable commit alone (WAL, synchronous FULL, the service's
// pragmas), one row per transaction, serially on one connection.
func BenchmarkCeilingSQLiteCommit(b *testing.B) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		b.Run(sync, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "c.db")
			db := must(sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous("+sync+")&_txlock=immediate"))
			defer db.Close()
			db.SetMaxOpenConns(1)
			must(db.Exec(`CREATE TABLE t(id INTEGER PRIMARY KEY, at INTEGER, actor TEXT, action TEXT)`))
			ins := must(db.Prepare(`INSERT INTO t(at, actor, action) VALUES(?,?,?)`))
			b.ResetTimer()
			for b.Loop() {
				tx := must(db.Begin())
				must(tx.Stmt(ins).Exec(time.Now().UnixNano(), "user:doc01", "consent.register"))
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
		})
	}
}

// BenchmarkCeilingHTTPRoundTrip: the same clients and loopback HTTP stack on an endpoint that
// does no work (an unknown path: JSON 404, no database, no crypto).
func BenchmarkCeilingHTTPRoundTrip(b *testing.B) {
	e, _ := benchEnv(b, 1)
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	b.SetParallelism(benchClients / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := hc.Get(e.hs.URL + "/v1/none")
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
}
