package onshi

import (
	"context"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mynaconform/mynaconform/formats/onshi/api"

	_ "modernc.org/sqlite" // driver "sqlite", pure Go
)

// Durability. The database is SQLite (modernc.org/sqlite) in WAL mode. With WAL, synchronous
// NORMAL already survives SIGKILL of the service: a commit is written to the WAL with write(2)
// before it returns, and the kernel keeps it when the process dies; only an OS crash or power
// loss can lose it. The default is FULL, which also fsyncs the WAL at every commit, so an
// acknowledged write survives power loss too. Config.Synchronous = "NORMAL" trades that for
// speed. Writes are acknowledged only after COMMIT returns.
//
// Throughput. One goroutine owns the write connection and applies queued writes in group
// commits: each write runs in its own SAVEPOINT (a refusal rolls back only its own changes, so
// nothing is half-applied), then one COMMIT (one fsync) acknowledges the whole batch. Signature
// and certificate checks, password hashing and token generation happen before a write is queued,
// never under the write lock. Reads use a separate pool of query-only connections.

// A migration takes the schema one version up, inside one transaction.
type migration func(tx *sql.Tx) error

func sqlMigration(q string) migration {
	return func(tx *sql.Tx) error { _, err := tx.Exec(q); return err }
}

// migrations[i] takes the schema to version i+1 (recorded in schema_migrations).
var migrations = []migration{sqlMigration(
	// 1: initial schema. Times are Unix nanoseconds (UTC); dates are YYYY-MM-DD Japan time.
	`CREATE TABLE institutions(
		code TEXT PRIMARY KEY, name TEXT NOT NULL,
		home_visit INTEGER NOT NULL DEFAULT 0, terms_accepted_at INTEGER, updated_at INTEGER NOT NULL);
	CREATE TABLE admins(
		institution TEXT NOT NULL, user_id TEXT NOT NULL, pw_hash TEXT NOT NULL,
		failures INTEGER NOT NULL DEFAULT 0, locked INTEGER NOT NULL DEFAULT 0,
		PRIMARY KEY(institution, user_id));
	CREATE TABLE accounts(
		institution TEXT NOT NULL, user_id TEXT NOT NULL, role TEXT NOT NULL,
		user_name TEXT NOT NULL, user_name_kana TEXT NOT NULL, start_date TEXT NOT NULL,
		pw_hash TEXT NOT NULL, must_change INTEGER NOT NULL,
		failures INTEGER NOT NULL DEFAULT 0, locked INTEGER NOT NULL DEFAULT 0,
		terminal_login_at INTEGER, last_login_at INTEGER, created_at INTEGER NOT NULL,
		PRIMARY KEY(institution, user_id));
	CREATE TABLE activation_codes(
		id TEXT PRIMARY KEY, institution TEXT NOT NULL, code_hash TEXT NOT NULL UNIQUE,
		memo TEXT NOT NULL, issued_at INTEGER NOT NULL, usable_at INTEGER NOT NULL,
		expires_at INTEGER NOT NULL, used_at INTEGER, device_id TEXT, revoked_at INTEGER);
	CREATE INDEX activation_codes_inst ON activation_codes(institution, issued_at);
	CREATE TABLE devices(
		id TEXT PRIMARY KEY, institution TEXT NOT NULL, memo TEXT NOT NULL,
		code_id TEXT NOT NULL UNIQUE, credential_hash TEXT NOT NULL, public_key BLOB NOT NULL,
		terminal_cert BLOB NOT NULL, registered_by TEXT NOT NULL, registered_at INTEGER NOT NULL,
		revoked_at INTEGER);
	CREATE INDEX devices_inst ON devices(institution, registered_at);
	CREATE TABLE enrollments(
		cert_sha256 TEXT PRIMARY KEY, person_id TEXT NOT NULL, created_at INTEGER NOT NULL);
	CREATE TABLE consents(
		id TEXT PRIMARY KEY, institution TEXT NOT NULL, person_id TEXT NOT NULL,
		cert_sha256 TEXT NOT NULL, device_id TEXT NOT NULL, user_id TEXT NOT NULL,
		mode TEXT NOT NULL, medication INTEGER NOT NULL, clinical INTEGER NOT NULL,
		checkup INTEGER NOT NULL, given_at INTEGER NOT NULL, valid_until TEXT NOT NULL,
		revoked_at INTEGER);
	CREATE INDEX consents_inst_time ON consents(institution, given_at);
	CREATE TABLE audit(
		id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, institution TEXT NOT NULL,
		actor TEXT NOT NULL, device TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL,
		outcome TEXT NOT NULL, code TEXT NOT NULL);
	CREATE INDEX audit_inst ON audit(institution, id);`),
	migrateV2,
}

// migrateV2 (issue 11): user IDs unique regardless of case, account suspension and deletion,
// device key fingerprints (one key, one device), lab enrollments scoped to an institution,
// revocation lists, request IDs in the audit trail, and the consent's 処方箋 issue method and
// 限度額適用 / 特定疾病 consent items. Lab enrollments of version 1 were global and are not kept
// (re-enroll with serve --lab-enrollment); a database whose user IDs differ only in case is
// refused with the accounts named, so that nothing is merged silently.
func migrateV2(tx *sql.Tx) error {
	for _, q := range []string{
		`ALTER TABLE accounts ADD COLUMN user_key TEXT NOT NULL DEFAULT ''`,
		`UPDATE accounts SET user_key = lower(user_id)`,
		`ALTER TABLE accounts ADD COLUMN suspended INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE accounts ADD COLUMN deleted_at INTEGER`,
		`ALTER TABLE admins ADD COLUMN user_key TEXT NOT NULL DEFAULT ''`,
		`UPDATE admins SET user_key = lower(user_id)`,
	} {
		if _, err := tx.Exec(q); err != nil {
			return err
		}
	}
	for _, table := range []string{"accounts", "admins"} {
		var inst, ids string
		err := tx.QueryRow(`SELECT institution, group_concat(user_id, ', ') FROM `+table+`
			GROUP BY institution, user_key HAVING COUNT(*) > 1 LIMIT 1`).Scan(&inst, &ids)
		if err == nil {
			return fmt.Errorf("%s %s of institution %s differ only in case; user IDs are now unique regardless of case: remove all but one with the previous version first", table, ids, inst)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	if _, err := tx.Exec(`ALTER TABLE devices ADD COLUMN key_sha256 TEXT NOT NULL DEFAULT '';
		ALTER TABLE devices ADD COLUMN terminal_id TEXT NOT NULL DEFAULT ''`); err != nil {
		return err
	}
	rows, err := tx.Query(`SELECT id, public_key FROM devices`)
	if err != nil {
		return err
	}
	keys := map[string]string{}
	for rows.Next() {
		var id string
		var der []byte
		if err := rows.Scan(&id, &der); err != nil {
			rows.Close()
			return err
		}
		h := certHash(der)
		if pub, err := x509.ParsePKIXPublicKey(der); err == nil {
			if ch, err := publicKeyHash(pub); err == nil {
				h = ch
			}
		}
		keys[id] = h
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for id, h := range keys {
		if _, err := tx.Exec(`UPDATE devices SET key_sha256 = ? WHERE id = ?`, h, id); err != nil {
			return err
		}
	}
	_, err = tx.Exec(`CREATE INDEX devices_key ON devices(key_sha256);
	CREATE UNIQUE INDEX accounts_user_key ON accounts(institution, user_key);
	CREATE UNIQUE INDEX admins_user_key ON admins(institution, user_key);
	DROP TABLE enrollments;
	CREATE TABLE lab_enrollments(
		institution TEXT NOT NULL, cert_sha256 TEXT NOT NULL, person_id TEXT NOT NULL,
		card_key_sha256 TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL,
		PRIMARY KEY(institution, cert_sha256));
	CREATE TABLE crls(
		issuer_key TEXT PRIMARY KEY, issuer TEXT NOT NULL, number TEXT NOT NULL,
		this_update INTEGER NOT NULL, next_update INTEGER, der BLOB NOT NULL, loaded_at INTEGER NOT NULL);
	ALTER TABLE audit ADD COLUMN request_id TEXT NOT NULL DEFAULT '';
	ALTER TABLE consents ADD COLUMN prescription_issue TEXT NOT NULL DEFAULT '';
	ALTER TABLE consents ADD COLUMN limit_certificate INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE consents ADD COLUMN specific_disease INTEGER NOT NULL DEFAULT 0;
	CREATE INDEX consents_inst_person ON consents(institution, person_id, given_at);`)
	return err
}

// auditRec is what one write adds to the audit trail. It never holds a secret: only IDs.
type auditRec struct {
	institution, actor, device, action, target, requestID string
}

// writeOp is one queued write: apply runs inside its own savepoint of a group commit.
type writeOp struct {
	apply func(tx *sql.Tx, a *auditRec) error // nil: audit only
	audit auditRec
	after func() // runs on the writer goroutine after a successful COMMIT (cache updates)
	at    time.Time
	done  chan error
}

// keptError is a refusal whose writes are kept (e.g. a wrong password counts a failure).
type keptError struct{ err error }

func (k keptError) Error() string { return k.err.Error() }
func (k keptError) Unwrap() error { return k.err }

func keep(err error) error { return keptError{err} }

type store struct {
	w, r     *sql.DB
	ops      chan *writeOp
	maxBatch int
	stop     chan struct{}
	wg       sync.WaitGroup
	closeMu  sync.RWMutex
	closed   bool

	insAudit, insConsent *sql.Stmt // on w
	// Prepared reads (on r).
	qConsent, qSearch, qDevice *sql.Stmt
}

func openStore(dir, synchronous string, maxBatch int) (*store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "onshi.db")
	dsn := func(extra ...string) string {
		q := url.Values{}
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous("+synchronous+")")
		q.Add("_pragma", "busy_timeout(10000)")
		for _, e := range extra {
			q.Add("_pragma", e)
		}
		q.Set("_txlock", "immediate")
		return "file:" + path + "?" + q.Encode()
	}
	w, err := sql.Open("sqlite", dsn())
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	s := &store{w: w, ops: make(chan *writeOp, 4*maxBatch), maxBatch: maxBatch, stop: make(chan struct{})}
	if err := s.migrate(); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn("query_only(1)"))
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	s.r = r
	if err := s.prepare(); err != nil {
		s.closeDBs()
		return nil, err
	}
	s.wg.Add(1)
	go s.writer()
	return s, nil
}

func (s *store) migrate() error {
	ctx := context.Background()
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations(
		version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("onshi: migrations table: %w", err)
	}
	var cur int
	if err := s.w.QueryRowContext(ctx, `SELECT COALESCE(MAX(version),0) FROM schema_migrations`).Scan(&cur); err != nil {
		return err
	}
	if cur > len(migrations) {
		return fmt.Errorf("onshi: database schema version %d is newer than this binary (%d)", cur, len(migrations))
	}
	for v := cur + 1; v <= len(migrations); v++ {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err := migrations[v-1](tx); err != nil {
			tx.Rollback()
			return fmt.Errorf("onshi: migration %d: %w", v, err)
		}
		if _, err := tx.Exec(`INSERT INTO schema_migrations(version, applied_at) VALUES(?, ?)`, v, time.Now().UnixNano()); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

func (s *store) prepare() error {
	var err error
	p := func(db *sql.DB, q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = db.Prepare(q)
		return st
	}
	s.insAudit = p(s.w, `INSERT INTO audit(at, institution, actor, device, action, target, outcome, code, request_id) VALUES(?,?,?,?,?,?,?,?,?)`)
	s.insConsent = p(s.w, `INSERT INTO consents(id, institution, person_id, cert_sha256, device_id, user_id, mode, medication, clinical, checkup,
		limit_certificate, specific_disease, prescription_issue, given_at, valid_until) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	s.qConsent = p(s.r, `SELECT `+consentCols+` FROM consents WHERE id = ?`)
	// One row per person: the newest consent in force (bare columns of MAX() come from its row),
	// then keyset pagination on (given_at, id) descending. ?1 institution, ?2/?3 the given_at
	// range, ?4 today (consents valid through that day are in force), ?5 a JSON array of person IDs
	// or NULL for all, ?6/?7 the cursor (given_at, id), ?8 the page size + 1.
	s.qSearch = p(s.r, `SELECT `+consentCols+` FROM (
		SELECT `+consentCols+`, MAX(given_at) FROM consents
		WHERE institution = ?1 AND given_at >= ?2 AND given_at < ?3 AND revoked_at IS NULL
			AND (valid_until = '' OR valid_until >= ?4)
			AND (?5 IS NULL OR person_id IN (SELECT value FROM json_each(?5)))
		GROUP BY person_id)
		WHERE given_at < ?6 OR (given_at = ?6 AND id < ?7)
		ORDER BY given_at DESC, id DESC LIMIT ?8`)
	s.qDevice = p(s.r, `SELECT institution, credential_hash, public_key, revoked_at FROM devices WHERE id = ?`)
	return err
}

var errStoreClosed = errors.New("onshi: store closed")

// write queues op and waits until its group commit is durable.
func (s *store) write(op *writeOp) error {
	op.done = make(chan error, 1)
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return errStoreClosed
	}
	s.ops <- op
	s.closeMu.RUnlock()
	return <-op.done
}

func (s *store) writer() {
	defer s.wg.Done()
	batch := make([]*writeOp, 0, s.maxBatch)
	for {
		select {
		case op := <-s.ops:
			batch = append(batch[:0], op)
		case <-s.stop:
			// Drain what was queued before Close.
			for {
				select {
				case op := <-s.ops:
					s.commit([]*writeOp{op})
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < s.maxBatch {
			select {
			case op := <-s.ops:
				batch = append(batch, op)
			default:
				break fill
			}
		}
		s.commit(batch)
	}
}

func (s *store) commit(batch []*writeOp) {
	results := make([]error, len(batch))
	fail := func(err error) {
		for _, op := range batch {
			op.done <- err
		}
	}
	tx, err := s.w.Begin()
	if err != nil {
		fail(err)
		return
	}
	audit := tx.Stmt(s.insAudit)
	for i, op := range batch {
		if _, err := tx.Exec(`SAVEPOINT op`); err != nil {
			tx.Rollback()
			fail(err)
			return
		}
		var aerr error
		if op.apply != nil {
			aerr = op.apply(tx, &op.audit)
		}
		var k keptError
		if aerr != nil && !errors.As(aerr, &k) {
			if _, err := tx.Exec(`ROLLBACK TO op`); err != nil {
				tx.Rollback()
				fail(err)
				return
			}
		}
		outcome, code := "ok", ""
		if aerr != nil {
			outcome, code = "refused", string(api.CodeInternal)
			var ae *api.Error
			if errors.As(aerr, &ae) {
				code = string(ae.Code)
			}
			if k.err != nil {
				aerr = k.err
			}
		}
		a := op.audit
		if _, err := audit.Exec(op.at.UnixNano(), a.institution, a.actor, a.device, a.action, a.target, outcome, code, a.requestID); err != nil {
			tx.Rollback()
			fail(err)
			return
		}
		if _, err := tx.Exec(`RELEASE op`); err != nil {
			tx.Rollback()
			fail(err)
			return
		}
		results[i] = aerr
	}
	if err := tx.Commit(); err != nil {
		fail(err)
		return
	}
	for i, op := range batch {
		if results[i] == nil && op.after != nil {
			op.after()
		}
		op.done <- results[i]
	}
}

func (s *store) closeDBs() {
	if s.r != nil {
		s.r.Close()
	}
	s.w.Close()
}

func (s *store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	s.closeMu.Unlock()
	close(s.stop)
	s.wg.Wait()
	s.closeDBs()
	return nil
}

func nullTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.Unix(0, v.Int64).UTC()
	return &t
}

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }
