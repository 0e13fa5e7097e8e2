package onshi

import (
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mynaconform/mynaconform/emulator/onshi/api"
)

// ユーザID: 2 to 8 half-width alphanumerics (seed).
var userIDRE = regexp.MustCompile(`^[0-9A-Za-z]{2,8}$`)

// checkPasswordPolicy is the model policy: 8-64 characters with a letter and a digit.
func checkPasswordPolicy(pw string) error {
	n := utf8.RuneCountInString(pw)
	var letter, digit bool
	for _, r := range pw {
		letter = letter || unicode.IsLetter(r)
		digit = digit || unicode.IsDigit(r)
	}
	if n < 8 || n > 64 || !letter || !digit {
		return api.New(api.CodePasswordPolicy, "")
	}
	return nil
}

func checkText(s string, max int) bool {
	n := utf8.RuneCountInString(s)
	if n == 0 || n > max || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// pwRow is the password state of an admin or account.
type pwRow struct {
	hash     string
	failures int
	locked   bool
}

// passwordOp returns a write that re-checks the row under the write lock, records a failure
// (locking at the threshold) or resets the counter, then runs next. ok is the result of the
// PBKDF2 check done before queueing, against row.hash.
func (s *Server) passwordOp(table, inst, user string, row pwRow, ok bool, next func(tx *sql.Tx, a *auditRec) error) func(tx *sql.Tx, a *auditRec) error {
	return func(tx *sql.Tx, a *auditRec) error {
		var cur pwRow
		err := tx.QueryRow(`SELECT pw_hash, failures, locked FROM `+table+` WHERE institution = ? AND user_id = ?`, inst, user).
			Scan(&cur.hash, &cur.failures, &cur.locked)
		if errors.Is(err, sql.ErrNoRows) {
			return api.New(api.CodeAccountUnknown, "")
		}
		if err != nil {
			return err
		}
		if cur.locked {
			return api.New(api.CodeAccountLocked, "")
		}
		if !ok || cur.hash != row.hash {
			cur.failures++
			lock := cur.failures >= s.cfg.LockoutThreshold
			if _, err := tx.Exec(`UPDATE `+table+` SET failures = ?, locked = ? WHERE institution = ? AND user_id = ?`,
				cur.failures, lock, inst, user); err != nil {
				return err
			}
			detail := fmt.Sprintf("%d tries left before the account locks", s.cfg.LockoutThreshold-cur.failures)
			if lock {
				detail = "the account is now locked"
			}
			return keep(api.New(api.CodeWrongPassword, detail))
		}
		if cur.failures != 0 {
			if _, err := tx.Exec(`UPDATE `+table+` SET failures = 0 WHERE institution = ? AND user_id = ?`, inst, user); err != nil {
				return err
			}
		}
		if next == nil {
			return nil
		}
		return next(tx, a)
	}
}

// readPassword loads the password row and, unless locked, checks pw (outside the write lock).
func (s *Server) readPassword(table, inst, user, pw string) (pwRow, bool, error) {
	var row pwRow
	err := s.st.r.QueryRow(`SELECT pw_hash, failures, locked FROM `+table+` WHERE institution = ? AND user_id = ?`, inst, user).
		Scan(&row.hash, &row.failures, &row.locked)
	if errors.Is(err, sql.ErrNoRows) {
		return row, false, api.New(api.CodeAccountUnknown, "")
	}
	if err != nil {
		return row, false, err
	}
	if row.locked {
		return row, false, api.New(api.CodeAccountLocked, "")
	}
	ok, err := checkPassword(row.hash, pw)
	return row, ok, err
}

func (s *Server) adminLogin(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req api.AdminLoginRequest
	if err := s.decode(w, r, &req); err != nil {
		return 0, nil, err
	}
	a := auditRec{institution: req.InstitutionCode, actor: "admin:" + req.UserID, action: "admin.login"}
	if _, err := s.institution(req.InstitutionCode); err != nil {
		return 0, nil, err
	}
	if !userIDRE.MatchString(req.UserID) {
		return 0, nil, api.New(api.CodeUserIDFormat, "")
	}
	row, ok, err := s.readPassword("admins", req.InstitutionCode, req.UserID, req.Password)
	if err != nil {
		return 0, nil, s.refuse(a, err)
	}
	if err := s.st.write(&writeOp{at: s.now(), audit: a, apply: s.passwordOp("admins", req.InstitutionCode, req.UserID, row, ok, nil)}); err != nil {
		return 0, nil, err
	}
	tok := s.newSession(&session{admin: true, institution: req.InstitutionCode, userID: req.UserID})
	return http.StatusOK, tok, nil
}

// refuse audits a refusal found before any write was queued and returns it.
func (s *Server) refuse(a auditRec, err error) error {
	var ae *api.Error
	if !errors.As(err, &ae) {
		return err
	}
	if werr := s.audit(a, err); werr != nil && !errors.As(werr, &ae) {
		return werr
	}
	return err
}

func (s *Server) adminSession(r *http.Request) (*session, auditRec, error) {
	se, err := s.auth(r, true)
	if err != nil {
		return nil, auditRec{}, err
	}
	return se, auditRec{institution: se.institution, actor: "admin:" + se.userID}, nil
}

func (s *Server) institutionView(code string) api.Institution {
	s.mu.RLock()
	defer s.mu.RUnlock()
	in := s.institutions[code]
	return api.Institution{Code: code, Name: in.name, HomeVisitEnabled: in.homeVisit, TermsAcceptedAt: in.termsAt}
}

func (s *Server) getSettings(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, a, err := s.adminSession(r)
	if err != nil {
		return 0, nil, err
	}
	a.action = "settings.read"
	if err := s.audit(a, nil); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.institutionView(se.institution), nil
}

// putSettings updates 環境設定情報: 訪問診療等機能 利用する needs the terms of use accepted.
func (s *Server) putSettings(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, a, err := s.adminSession(r)
	if err != nil {
		return 0, nil, err
	}
	var req api.SettingsRequest
	if err := s.decode(w, r, &req); err != nil {
		return 0, nil, err
	}
	now := s.now()
	a.action, a.target = "settings.update", fmt.Sprintf("home_visit=%t", req.HomeVisitEnabled)
	s.mu.RLock()
	cur := *s.institutions[se.institution]
	s.mu.RUnlock()
	terms := cur.termsAt
	if req.AcceptTerms && terms == nil {
		terms = &now
	}
	if req.HomeVisitEnabled && terms == nil {
		return 0, nil, s.refuse(a, api.New(api.CodeTermsNotAccepted, ""))
	}
	var termsNanos any
	if terms != nil {
		termsNanos = terms.UnixNano()
	}
	err = s.st.write(&writeOp{at: now, audit: a,
		apply: func(tx *sql.Tx, _ *auditRec) error {
			_, err := tx.Exec(`UPDATE institutions SET home_visit = ?, terms_accepted_at = ?, updated_at = ? WHERE code = ?`,
				req.HomeVisitEnabled, termsNanos, now.UnixNano(), se.institution)
			return err
		},
		after: func() {
			s.mu.Lock()
			in := s.institutions[se.institution]
			in.homeVisit, in.termsAt = req.HomeVisitEnabled, terms
			s.mu.Unlock()
		}})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.institutionView(se.institution), nil
}

// issueCode issues one アクティベーションコード with its 端末識別メモ情報 (one click, one code).
func (s *Server) issueCode(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, a, err := s.adminSession(r)
	if err != nil {
		return 0, nil, err
	}
	var req api.IssueCodeRequest
	if err := s.decode(w, r, &req); err != nil {
		return 0, nil, err
	}
	a.action = "activation_code.issue"
	if !checkText(req.Memo, 50) {
		return 0, nil, s.refuse(a, api.New(api.CodeMemoInvalid, ""))
	}
	now := s.now()
	code := newActivationCode()
	ac := api.ActivationCode{ID: newID("AC"), Code: code, Memo: req.Memo, IssuedAt: now.UTC(),
		UsableFrom: now.Add(s.cfg.ActivationDelay).UTC(), ExpiresAt: now.Add(s.cfg.ActivationTTL).UTC(), State: api.CodeStatePending}
	a.target = ac.ID
	err = s.st.write(&writeOp{at: now, audit: a, apply: func(tx *sql.Tx, _ *auditRec) error {
		_, err := tx.Exec(`INSERT INTO activation_codes(id, institution, code_hash, memo, issued_at, usable_at, expires_at) VALUES(?,?,?,?,?,?,?)`,
			ac.ID, se.institution, secretHash(code), ac.Memo, now.UnixNano(), ac.UsableFrom.UnixNano(), ac.ExpiresAt.UnixNano())
		return err
	}})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, ac, nil
}

func codeState(now time.Time, usable, expires time.Time, used, revoked *time.Time) string {
	switch {
	case revoked != nil:
		return api.CodeStateRevoked
	case used != nil:
		return api.CodeStateUsed
	case !now.Before(expires):
		return api.CodeStateExpired
	case now.Before(usable):
		return api.CodeStatePending
	}
	return api.CodeStateUsable
}

func (s *Server) listCodes(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, a, err := s.adminSession(r)
	if err != nil {
		return 0, nil, err
	}
	rows, err := s.st.r.Query(`SELECT id, memo, issued_at, usable_at, expires_at, used_at, device_id, revoked_at
		FROM activation_codes WHERE institution = ? ORDER BY issued_at, id`, se.institution)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	now := s.now()
	out := api.ActivationCodeList{Codes: []api.ActivationCode{}}
	for rows.Next() {
		var c api.ActivationCode
		var issued, usable, expires int64
		var used, revoked sql.NullInt64
		var dev sql.NullString
		if err := rows.Scan(&c.ID, &c.Memo, &issued, &usable, &expires, &used, &dev, &revoked); err != nil {
			return 0, nil, err
		}
		c.IssuedAt, c.UsableFrom, c.ExpiresAt = fromNanos(issued), fromNanos(usable), fromNanos(expires)
		c.UsedAt, c.RevokedAt, c.DeviceID = nullTime(used), nullTime(revoked), dev.String
		c.State = codeState(now, c.UsableFrom, c.ExpiresAt, c.UsedAt, c.RevokedAt)
		out.Codes = append(out.Codes, c)
	}
	if err := rows.Err(); err != nil {
		return 0, nil, err
	}
	a.action = "activation_code.list"
	if err := s.audit(a, nil); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

func (s *Server) revokeCode(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, a, err := s.adminSession(r)
	if err != nil {
		return 0, nil, err
	}
	id := r.PathValue("id")
	a.action, a.target = "activation_code.revoke", id
	now := s.now()
	err = s.st.write(&writeOp{at: now, audit: a, apply: func(tx *sql.Tx, _ *auditRec) error {
		var used, revoked sql.NullInt64
		err := tx.QueryRow(`SELECT used_at, revoked_at FROM activation_codes WHERE id = ? AND institution = ?`, id, se.institution).Scan(&used, &revoked)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return api.New(api.CodeActivationCodeUnknown, "")
		case err != nil:
			return err
		case revoked.Valid:
			return api.New(api.CodeActivationCodeRevoked, "already revoked")
		case used.Valid:
			return api.New(api.CodeActivationCodeUsed, "revoke the device instead")
		}
		_, err = tx.Exec(`UPDATE activation_codes SET revoked_at = ? WHERE id = ?`, now.UnixNano(), id)
		return err
	}})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, struct{}{}, nil
}

// createAccount is アカウント管理(登録).
func (s *Server) createAccount(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, a, err := s.adminSession(r)
	if err != nil {
		return 0, nil, err
	}
	var req api.CreateAccountRequest
	if err := s.decode(w, r, &req); err != nil {
		return 0, nil, err
	}
	a.action, a.target = "account.create", req.UserID
	var verr error
	switch {
	case req.Role != api.RoleGeneral && req.Role != api.RoleMedical:
		verr = api.New(api.CodeRoleInvalid, "")
	case !userIDRE.MatchString(req.UserID):
		a.target = ""
		verr = api.New(api.CodeUserIDFormat, "")
	case !checkText(req.UserName, 50):
		verr = api.New(api.CodeUserNameInvalid, "")
	case !IsFullWidthKatakana(req.UserNameKana) || utf8.RuneCountInString(req.UserNameKana) > 50:
		verr = api.New(api.CodeUserNameKanaFormat, "")
	default:
		if _, err := parseDate(req.StartDate); err != nil {
			verr = api.New(api.CodeStartDateInvalid, "")
		} else {
			verr = checkPasswordPolicy(req.Password)
		}
	}
	if verr != nil {
		return 0, nil, s.refuse(a, verr)
	}
	h, err := hashPassword(req.Password, s.cfg.PasswordIterations)
	if err != nil {
		return 0, nil, err
	}
	now := s.now()
	err = s.st.write(&writeOp{at: now, audit: a, apply: func(tx *sql.Tx, _ *auditRec) error {
		var n int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM accounts WHERE institution = ? AND user_id = ?`, se.institution, req.UserID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return api.New(api.CodeUserIDTaken, "")
		}
		_, err := tx.Exec(`INSERT INTO accounts(institution, user_id, role, user_name, user_name_kana, start_date, pw_hash, must_change, created_at)
			VALUES(?,?,?,?,?,?,?,1,?)`, se.institution, req.UserID, req.Role, req.UserName, req.UserNameKana, req.StartDate, h, now.UnixNano())
		return err
	}})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, api.Account{UserID: req.UserID, Role: req.Role, UserName: req.UserName,
		UserNameKana: req.UserNameKana, StartDate: req.StartDate, CreatedAt: now.UTC()}, nil
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, a, err := s.adminSession(r)
	if err != nil {
		return 0, nil, err
	}
	rows, err := s.st.r.Query(`SELECT user_id, role, user_name, user_name_kana, start_date, terminal_login_at, locked, created_at, last_login_at
		FROM accounts WHERE institution = ? ORDER BY user_id`, se.institution)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	out := api.AccountList{Accounts: []api.Account{}}
	for rows.Next() {
		var ac api.Account
		var term, last sql.NullInt64
		var created int64
		if err := rows.Scan(&ac.UserID, &ac.Role, &ac.UserName, &ac.UserNameKana, &ac.StartDate, &term, &ac.Locked, &created, &last); err != nil {
			return 0, nil, err
		}
		ac.TerminalLoggedIn, ac.CreatedAt, ac.LastLoginAt = term.Valid, fromNanos(created), nullTime(last)
		out.Accounts = append(out.Accounts, ac)
	}
	if err := rows.Err(); err != nil {
		return 0, nil, err
	}
	a.action = "account.list"
	if err := s.audit(a, nil); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

func (s *Server) unlockAccount(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, a, err := s.adminSession(r)
	if err != nil {
		return 0, nil, err
	}
	var req api.UnlockRequest
	if err := s.decode(w, r, &req); err != nil {
		return 0, nil, err
	}
	user := r.PathValue("user")
	a.action, a.target = "account.unlock", user
	var h string
	if req.NewPassword != "" {
		if err := checkPasswordPolicy(req.NewPassword); err != nil {
			return 0, nil, s.refuse(a, err)
		}
		if h, err = hashPassword(req.NewPassword, s.cfg.PasswordIterations); err != nil {
			return 0, nil, err
		}
	}
	err = s.st.write(&writeOp{at: s.now(), audit: a, apply: func(tx *sql.Tx, _ *auditRec) error {
		var res sql.Result
		var err error
		if h != "" {
			res, err = tx.Exec(`UPDATE accounts SET failures = 0, locked = 0, pw_hash = ?, must_change = 1 WHERE institution = ? AND user_id = ?`, h, se.institution, user)
		} else {
			res, err = tx.Exec(`UPDATE accounts SET failures = 0, locked = 0 WHERE institution = ? AND user_id = ?`, se.institution, user)
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return api.New(api.CodeAccountUnknown, "")
		}
		return nil
	}})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, struct{}{}, nil
}

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, a, err := s.adminSession(r)
	if err != nil {
		return 0, nil, err
	}
	rows, err := s.st.r.Query(`SELECT id, memo, code_id, registered_by, registered_at, revoked_at FROM devices
		WHERE institution = ? ORDER BY registered_at, id`, se.institution)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	out := api.DeviceList{Devices: []api.Device{}}
	for rows.Next() {
		var d api.Device
		var reg int64
		var rev sql.NullInt64
		if err := rows.Scan(&d.ID, &d.Memo, &d.ActivationCodeID, &d.RegisteredBy, &reg, &rev); err != nil {
			return 0, nil, err
		}
		d.RegisteredAt, d.RevokedAt = fromNanos(reg), nullTime(rev)
		out.Devices = append(out.Devices, d)
	}
	if err := rows.Err(); err != nil {
		return 0, nil, err
	}
	a.action = "device.list"
	if err := s.audit(a, nil); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

func (s *Server) revokeDevice(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, a, err := s.adminSession(r)
	if err != nil {
		return 0, nil, err
	}
	id := r.PathValue("id")
	a.action, a.target, a.device = "device.revoke", id, id
	now := s.now()
	err = s.st.write(&writeOp{at: now, audit: a,
		apply: func(tx *sql.Tx, _ *auditRec) error {
			var rev sql.NullInt64
			err := tx.QueryRow(`SELECT revoked_at FROM devices WHERE id = ? AND institution = ?`, id, se.institution).Scan(&rev)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return api.New(api.CodeDeviceUnknown, "")
			case err != nil:
				return err
			case rev.Valid:
				return api.New(api.CodeDeviceRevoked, "already revoked")
			}
			_, err = tx.Exec(`UPDATE devices SET revoked_at = ? WHERE id = ?`, now.UnixNano(), id)
			return err
		},
		after: func() { s.dropSessions(func(x *session) bool { return x.deviceID == id }) }})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, struct{}{}, nil
}

// enroll is the lab hook: link an auth certificate (e.g. a real test card's) to a record.
func (s *Server) enroll(w http.ResponseWriter, r *http.Request) (int, any, error) {
	_, a, err := s.adminSession(r)
	if err != nil {
		return 0, nil, err
	}
	var req api.EnrollRequest
	if err := s.decode(w, r, &req); err != nil {
		return 0, nil, err
	}
	a.action, a.target = "enrollment.create", req.PersonID
	if _, err := x509.ParseCertificate(req.AuthCertificate); err != nil {
		return 0, nil, s.refuse(a, api.New(api.CodeCertMalformed, ""))
	}
	if _, ok := s.people[req.PersonID]; !ok {
		return 0, nil, s.refuse(a, api.New(api.CodePersonUnknown, ""))
	}
	h := certHash(req.AuthCertificate)
	now := s.now()
	err = s.st.write(&writeOp{at: now, audit: a,
		apply: func(tx *sql.Tx, _ *auditRec) error {
			_, err := tx.Exec(`INSERT INTO enrollments(cert_sha256, person_id, created_at) VALUES(?,?,?)
				ON CONFLICT(cert_sha256) DO UPDATE SET person_id = excluded.person_id`, h, req.PersonID, now.UnixNano())
			return err
		},
		after: func() {
			s.mu.Lock()
			s.enrolled[h] = req.PersonID
			s.mu.Unlock()
		}})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, api.Enrollment{CertificateSHA256: h, PersonID: req.PersonID}, nil
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, a, err := s.adminSession(r)
	if err != nil {
		return 0, nil, err
	}
	limit, after := 100, int64(0)
	if v := r.URL.Query().Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			return 0, nil, api.New(api.CodeInvalidField, "limit must be 1..1000")
		}
	}
	if v := r.URL.Query().Get("after_id"); v != "" {
		if after, err = strconv.ParseInt(v, 10, 64); err != nil || after < 0 {
			return 0, nil, api.New(api.CodeInvalidField, "after_id must be a non-negative integer")
		}
	}
	rows, err := s.st.r.Query(`SELECT id, at, institution, actor, device, action, target, outcome, code FROM audit
		WHERE institution = ? AND id > ? ORDER BY id LIMIT ?`, se.institution, after, limit)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	out := api.AuditList{Entries: []api.AuditEntry{}}
	for rows.Next() {
		var e api.AuditEntry
		var at int64
		var code string
		if err := rows.Scan(&e.ID, &at, &e.Institution, &e.Actor, &e.Device, &e.Action, &e.Target, &e.Outcome, &code); err != nil {
			return 0, nil, err
		}
		e.At, e.Code = fromNanos(at), api.Code(code)
		out.Entries = append(out.Entries, e)
	}
	if err := rows.Err(); err != nil {
		return 0, nil, err
	}
	a.action = "audit.read"
	if err := s.audit(a, nil); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}
