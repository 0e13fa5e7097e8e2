package onshi

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

func TestStorePragmasAndMigrations(t *testing.T) {
	dir := t.TempDir()
	for _, want := range []struct {
		sync string
		code int
	}{{"FULL", 2}, {"NORMAL", 1}} {
		st, err := openStore(dir, want.sync, 8)
		if err != nil {
			t.Fatal(err)
		}
		var mode string
		var level, version int
		if err := st.w.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := st.w.QueryRow(`PRAGMA synchronous`).Scan(&level); err != nil {
			t.Fatal(err)
		}
		if err := st.w.QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&version); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || level != want.code || version != len(migrations) {
			t.Errorf("%s: journal %q, synchronous %d, schema %d", want.sync, mode, level, version)
		}
		// Readers cannot write.
		if _, err := st.r.Exec(`INSERT INTO lab_enrollments VALUES('i','x','y','',0)`); err == nil {
			t.Error("reader connection wrote")
		}
		st.Close()
	}
	// A database from a newer binary is refused.
	st, _ := openStore(dir, "FULL", 8)
	st.w.Exec(`INSERT INTO schema_migrations VALUES(99, 0)`)
	st.Close()
	if _, err := openStore(dir, "FULL", 8); err == nil {
		t.Fatal("newer schema accepted")
	}
}

// A refused write leaves nothing behind, a kept refusal keeps its writes, and both are audited;
// writes of other requests in the same group commit are not affected.
func TestGroupCommitSavepoints(t *testing.T) {
	st, err := openStore(t.TempDir(), "FULL", 8)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ins := func(h string) func(*sql.Tx, *auditRec) error {
		return func(tx *sql.Tx, _ *auditRec) error {
			_, err := tx.Exec(`INSERT INTO lab_enrollments VALUES('i', ?, 'p', '', 0)`, h)
			return err
		}
	}
	refused := api.New(api.CodePersonUnknown, "")
	ops := []*writeOp{
		{apply: ins("ok1"), audit: auditRec{action: "a"}},
		{apply: func(tx *sql.Tx, a *auditRec) error { ins("gone")(tx, a); return refused }, audit: auditRec{action: "b"}},
		{apply: func(tx *sql.Tx, a *auditRec) error { ins("kept")(tx, a); return keep(refused) }, audit: auditRec{action: "c"}},
		{apply: ins("ok1"), audit: auditRec{action: "d"}}, // primary key clash: an internal error
	}
	errs := make(chan error, len(ops))
	for _, op := range ops {
		op.at = time.Unix(0, 0)
		go func() { errs <- st.write(op) }()
	}
	var nRefused, nInternal int
	for range ops {
		err := <-errs
		var ae *api.Error
		switch {
		case errors.As(err, &ae):
			nRefused++
		case err != nil:
			nInternal++
		}
	}
	if nRefused != 2 || nInternal != 1 {
		t.Fatalf("refused %d, internal %d", nRefused, nInternal)
	}
	rows := map[string]bool{}
	r, _ := st.r.Query(`SELECT cert_sha256 FROM lab_enrollments`)
	for r.Next() {
		var h string
		r.Scan(&h)
		rows[h] = true
	}
	r.Close()
	if !rows["ok1"] || rows["gone"] || !rows["kept"] || len(rows) != 2 {
		t.Fatalf("rows: %v", rows)
	}
	var audited int
	st.r.QueryRow(`SELECT COUNT(*) FROM audit WHERE outcome = 'refused'`).Scan(&audited)
	if audited != 3 {
		t.Fatalf("refusals audited: %d", audited)
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := hashPassword("Secret123", 1000)
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := hashPassword("Secret123", 1000)
	if h == h2 {
		t.Fatal("no salt")
	}
	for pw, want := range map[string]bool{"Secret123": true, "Secret124": false, "": false} {
		if ok, err := checkPassword(h, pw); err != nil || ok != want {
			t.Errorf("%q: %t %v", pw, ok, err)
		}
	}
	for _, bad := range []string{"", "md5$1$x$y", "pbkdf2-sha256$x$AA$AA", "pbkdf2-sha256$10$!!$AA"} {
		if _, err := checkPassword(bad, "x"); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	c := newActivationCode()
	if len(c) != 19 || normalizeActivationCode(" "+c[:4]+c[5:9]+"-"+c[10:]) != c {
		t.Fatalf("code %q", c)
	}
}

func TestChallengesAreDroppedAfterExpiry(t *testing.T) {
	t0 := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	s := &Server{cfg: Config{ChallengeTTL: time.Minute}}
	s.ch.init()
	s.limits.init(Limits{ChallengesPerSession: 1000, ChallengesPerInstitution: 1000}.withDefaults())
	put := func(id string, exp, now time.Time) error {
		return s.putChallenge(id, &challenge{sessKey: "s", institution: "i", expires: exp}, now)
	}
	for i := range 3 {
		put(fmt.Sprint(i), t0.Add(time.Minute), t0)
	}
	// Expired but within one more TTL: kept as tombstones (replays say "replayed"), no longer
	// outstanding.
	put("3", t0.Add(3*time.Minute), t0.Add(2*time.Minute))
	if len(s.ch.m) != 4 || s.ch.perSess["s"] != 1 {
		t.Fatalf("%d challenges kept, %d outstanding", len(s.ch.m), s.ch.perSess["s"])
	}
	if _, err := s.consumeChallenge("0", "s", "", t0.Add(2*time.Minute)); !api.IsCode(err, api.CodeChallengeExpired) {
		t.Fatalf("expired challenge: %v", err)
	}
	put("4", t0.Add(4*time.Minute), t0.Add(2*time.Minute+time.Second))
	if len(s.ch.m) != 2 || len(s.ch.order) != 2 || s.ch.perSess["s"] != 2 {
		t.Fatalf("%d challenges, %d in order, %d outstanding after expiry", len(s.ch.m), len(s.ch.order), s.ch.perSess["s"])
	}
	if _, err := s.consumeChallenge("0", "s", "", t0.Add(2*time.Minute)); !api.IsCode(err, api.CodeChallengeUnknown) {
		t.Fatalf("dropped challenge: %v", err)
	}
	// Using one frees its place at once.
	if _, err := s.consumeChallenge("4", "s", "", t0.Add(2*time.Minute+time.Second)); err != nil || s.ch.perSess["s"] != 1 {
		t.Fatalf("consume: %v, %d outstanding", err, s.ch.perSess["s"])
	}
	s.limits.cfg.ChallengesPerSession = 2
	now := t0.Add(2*time.Minute + time.Second)
	if put("5", t0.Add(4*time.Minute), now) != nil {
		t.Fatal("refused below the limit")
	}
	err := put("6", t0.Add(4*time.Minute), now)
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Code != api.CodeChallengeLimit || ae.RetryAfter != t0.Add(3*time.Minute).Sub(now) {
		t.Fatalf("limit of outstanding challenges: %v (retry %v)", err, ae)
	}
}

// BenchmarkStoreGroupCommit: durable writes through the store alone (one audit row each, 32
// concurrent writers, synchronous FULL): what group commit makes of one fsync per commit.
func BenchmarkStoreGroupCommit(b *testing.B) {
	st, err := openStore(b.TempDir(), "FULL", 128)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := st.write(&writeOp{at: time.Now(), audit: auditRec{institution: "1310000001", actor: "user:doc01", action: "bench"}}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// BenchmarkCeilingConsentWrite is the store's share of a consent registration alone: the consent
// row and its audit row in their savepoint of a durable group commit, from 32 concurrent writers
// (as BenchmarkConsentRegistration's clients), without HTTP, JSON or RSA. Run beside
// BenchmarkConsentRegistration, it shows how close registrations come to the durable write path,
// the single writer being the service's ceiling.
func BenchmarkCeilingConsentWrite(b *testing.B) {
	st, err := openStore(b.TempDir(), "FULL", 128)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var n atomic.Int64
	b.SetParallelism(32 / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("c%012d", n.Add(1))
			err := st.write(&writeOp{
				at:    time.Now(),
				audit: auditRec{institution: "1310000001", actor: "user:doc01", device: "dev1", action: "consent.register", target: id},
				apply: func(tx *sql.Tx, _ *auditRec) error {
					_, err := tx.Stmt(st.insConsent).Exec(id, "1310000001", "P0001", "00", "dev1", "doc01", "pin", 1, 1, 1, 0, 0, "", time.Now().UnixNano(), "")
					return err
				},
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// v1Database writes a database of schema version 1 (the previous binary) with rows in it.
func v1Database(t *testing.T, dir string, rows ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dir+"/onshi.db?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, _ := db.Begin()
	if err := migrations[0](tx); err != nil {
		t.Fatal(err)
	}
	for _, q := range append([]string{`CREATE TABLE schema_migrations(version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`,
		`INSERT INTO schema_migrations VALUES(1, 0)`}, rows...) {
		if _, err := tx.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// A database of the previous version is migrated without losing what it acknowledged: accounts
// (now found regardless of case), devices (their key fingerprints computed), consents and the
// audit; its global lab enrollments are dropped (documented). One whose user IDs differ only in
// case is refused with them named, so nothing is merged silently.
func TestMigrationFromVersion1(t *testing.T) {
	key := func() []byte {
		k, err := x509.MarshalPKIXPublicKey(&testKey(t).PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}()
	dir := t.TempDir()
	v1Database(t, dir,
		`INSERT INTO accounts(institution, user_id, role, user_name, user_name_kana, start_date, pw_hash, must_change, created_at)
			VALUES('1310123458', 'Doc01', 'medical', 'x', 'シ', '2026-04-01', 'h', 0, 0)`,
		`INSERT INTO admins(institution, user_id, pw_hash) VALUES('1310123458', 'admin', 'h')`,
		fmt.Sprintf(`INSERT INTO devices(id, institution, memo, code_id, credential_hash, public_key, terminal_cert, registered_by, registered_at)
			VALUES('DV1', '1310123458', 'm', 'AC1', 'c', X'%X', X'00', 'Doc01', 0)`, key),
		`INSERT INTO enrollments VALUES('abc', 'adult', 0)`,
		`INSERT INTO consents(id, institution, person_id, cert_sha256, device_id, user_id, mode, medication, clinical, checkup, given_at, valid_until)
			VALUES('CN1', '1310123458', 'adult', 'h', 'DV1', 'Doc01', 'pin', 1, 0, 0, 0, '')`,
		`INSERT INTO audit(at, institution, actor, device, action, target, outcome, code) VALUES(0, '1310123458', 'user:Doc01', '', 'x', '', 'ok', '')`)
	st, err := openStore(dir, "FULL", 8)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var user, keyHash, consent string
	var audit, labs int
	checks := []struct {
		q    string
		dest []any
	}{
		{`SELECT user_id FROM accounts WHERE user_key = 'doc01' AND suspended = 0 AND deleted_at IS NULL`, []any{&user}},
		{`SELECT key_sha256 FROM devices WHERE id = 'DV1'`, []any{&keyHash}},
		{`SELECT id FROM consents WHERE id = 'CN1' AND limit_certificate = 0 AND prescription_issue = ''`, []any{&consent}},
		{`SELECT COUNT(*) FROM audit WHERE request_id = ''`, []any{&audit}},
		{`SELECT COUNT(*) FROM lab_enrollments`, []any{&labs}},
	}
	for _, c := range checks {
		if err := st.r.QueryRow(c.q).Scan(c.dest...); err != nil {
			t.Fatalf("%s: %v", c.q, err)
		}
	}
	want, _ := publicKeyHash(&testKey(t).PublicKey)
	if user != "Doc01" || keyHash != want || consent != "CN1" || audit != 1 || labs != 0 {
		t.Fatalf("after migration: user %q, key %q (want %q), consent %q, audit %d, lab enrollments %d", user, keyHash, want, consent, audit, labs)
	}

	dup := t.TempDir()
	v1Database(t, dup,
		`INSERT INTO accounts(institution, user_id, role, user_name, user_name_kana, start_date, pw_hash, must_change, created_at)
			VALUES('1310123458', 'doc01', 'medical', 'x', 'シ', '2026-04-01', 'h', 0, 0)`,
		`INSERT INTO accounts(institution, user_id, role, user_name, user_name_kana, start_date, pw_hash, must_change, created_at)
			VALUES('1310123458', 'DOC01', 'general', 'x', 'シ', '2026-04-01', 'h', 0, 0)`)
	if _, err := openStore(dup, "FULL", 8); err == nil || !strings.Contains(err.Error(), "doc01") || !strings.Contains(err.Error(), "DOC01") {
		t.Fatalf("user IDs differing in case: %v", err)
	}
}

var testKeyOnce = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func testKey(t *testing.T) *rsa.PrivateKey { return testKeyOnce() }
