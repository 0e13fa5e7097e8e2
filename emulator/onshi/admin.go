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

	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

// ユーザID: 2 to 8 half-width alphanumerics (seed).
var userIDRE = regexp.MustCompile(`^[0-9A-Za-z]{2,8}$`)

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

func (s *Server) adminLogin(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ri := info(r)
	var req api.AdminLoginRequest
	if err := s.decode(w, r, &req); err != nil {
		return 0, nil, err
	}
	if _, err := s.institution(req.InstitutionCode); err != nil {
		return 0, nil, err
	}
	ri.institution = req.InstitutionCode
	if !userIDRE.MatchString(req.UserID) {
		return 0, nil, api.New(api.CodeUserIDFormat, "")
	}
	row, ok, err := s.readPassword(ri, "admins", req.InstitutionCode, req.UserID, req.Password)
	if err != nil {
		return 0, nil, err
	}
	se := &session{admin: true, institution: req.InstitutionCode, userID: row.userID}
	if err := s.sessionRoom(se); err != nil {
		return 0, nil, err
	}
	var locked bool
	err = s.commit(ri, s.passwordOp("admins", req.InstitutionCode, row, ok, &locked, nil), nil)
	if locked {
		s.dropAccountSessions(true, req.InstitutionCode, row.userID)
	}
	if err != nil {
		return 0, nil, err
	}
	return s.openSession(ri, se)
}

// openSession creates the session of a login whose checks are committed; losing a race for the
// last free session is then audited as its own refusal.
func (s *Server) openSession(ri *reqInfo, se *session) (int, any, error) {
	tok, err := s.newSession(se)
	if err != nil {
		ri.audited = false
		return 0, nil, err
	}
	return http.StatusOK, tok, nil
}

// adminSession authenticates an admin request.
func (s *Server) adminSession(r *http.Request) (*authed, *reqInfo, error) {
	se, err := s.auth(r, true)
	return se, info(r), err
}

// adminRequest starts an administrator's request that has a body: the session first (an
// unauthenticated request is refused as such whatever its body), then the body decoded into T.
func adminRequest[T any](s *Server, w http.ResponseWriter, r *http.Request) (*authed, *reqInfo, T, error) {
	var req T
	se, ri, err := s.adminSession(r)
	if err == nil {
		err = s.decode(w, r, &req)
	}
	return se, ri, req, err
}

// adminPassword is the administrator's パスワード変更: the current password (wrong ones count
// towards the lock) and a new one meeting the policy. The admin's other sessions end.
func (s *Server) adminPassword(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, ri, req, err := adminRequest[api.AdminPasswordRequest](s, w, r)
	if err != nil {
		return 0, nil, err
	}
	if err := checkNewPassword(req.NewPassword, req.Password, se.userID); err != nil {
		return 0, nil, err
	}
	row, ok, err := s.readPassword(ri, "admins", se.institution, se.userID, req.Password)
	if err != nil {
		return 0, nil, err
	}
	h, err := hashPassword(req.NewPassword, s.cfg.PasswordIterations)
	if err != nil {
		return 0, nil, err
	}
	var locked bool
	err = s.commit(ri, s.passwordOp("admins", se.institution, row, ok, &locked, func(tx *sql.Tx, _ *auditRec) error {
		_, err := tx.Exec(`UPDATE admins SET pw_hash = ? WHERE institution = ? AND user_key = ?`, h, se.institution, userKey(se.userID))
		return err
	}), nil)
	if locked {
		s.dropAccountSessions(true, se.institution, se.userID)
	}
	if err != nil {
		return 0, nil, err
	}
	ak := se.accountKey()
	s.dropSessions(func(k string, x *session) bool { return x.accountKey() == ak && k != se.key })
	return http.StatusOK, struct{}{}, nil
}

func (s *Server) institutionView(code string) api.Institution {
	s.mu.RLock()
	defer s.mu.RUnlock()
	in := s.institutions[code]
	return api.Institution{Code: code, Name: in.name, HomeVisitEnabled: in.homeVisit, TermsAcceptedAt: in.termsAt}
}

func (s *Server) getSettings(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, _, err := s.adminSession(r)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.institutionView(se.institution), nil
}

// putSettings updates 環境設定情報: 訪問診療等機能 利用する needs the terms of use accepted.
func (s *Server) putSettings(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, ri, req, err := adminRequest[api.SettingsRequest](s, w, r)
	if err != nil {
		return 0, nil, err
	}
	now := s.now()
	ri.target = fmt.Sprintf("home_visit=%t", req.HomeVisitEnabled)
	s.mu.RLock()
	cur := *s.institutions[se.institution]
	s.mu.RUnlock()
	terms := cur.termsAt
	if req.AcceptTerms && terms == nil {
		terms = &now
	}
	if req.HomeVisitEnabled && terms == nil {
		return 0, nil, api.New(api.CodeTermsNotAccepted, "")
	}
	var termsNanos any
	if terms != nil {
		termsNanos = terms.UnixNano()
	}
	err = s.commit(ri, func(tx *sql.Tx, _ *auditRec) error {
		_, err := tx.Exec(`UPDATE institutions SET home_visit = ?, terms_accepted_at = ?, updated_at = ? WHERE code = ?`,
			req.HomeVisitEnabled, termsNanos, now.UnixNano(), se.institution)
		return err
	}, func() {
		s.mu.Lock()
		in := s.institutions[se.institution]
		in.homeVisit, in.termsAt = req.HomeVisitEnabled, terms
		s.mu.Unlock()
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.institutionView(se.institution), nil
}

// issueCode issues one アクティベーションコード with its 端末識別メモ情報 (one click, one code).
func (s *Server) issueCode(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, ri, req, err := adminRequest[api.IssueCodeRequest](s, w, r)
	if err != nil {
		return 0, nil, err
	}
	if !checkText(req.Memo, 50) {
		return 0, nil, api.New(api.CodeMemoInvalid, "")
	}
	now := s.now()
	code := newActivationCode()
	ac := api.ActivationCode{ID: newID("AC"), Code: code, Memo: req.Memo, IssuedAt: now.UTC(),
		UsableFrom: now.Add(s.cfg.ActivationDelay).UTC(), ExpiresAt: now.Add(s.cfg.ActivationTTL).UTC(), State: api.CodeStatePending}
	ri.target = ac.ID
	err = s.commit(ri, func(tx *sql.Tx, _ *auditRec) error {
		_, err := tx.Exec(`INSERT INTO activation_codes(id, institution, code_hash, memo, issued_at, usable_at, expires_at) VALUES(?,?,?,?,?,?,?)`,
			ac.ID, se.institution, secretHash(code), ac.Memo, now.UnixNano(), ac.UsableFrom.UnixNano(), ac.ExpiresAt.UnixNano())
		return err
	}, nil)
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
	se, _, err := s.adminSession(r)
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
	return http.StatusOK, out, rows.Err()
}

func (s *Server) revokeCode(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, ri, err := s.adminSession(r)
	if err != nil {
		return 0, nil, err
	}
	id := r.PathValue("id")
	ri.target = id
	now := s.now()
	err = s.commit(ri, func(tx *sql.Tx, _ *auditRec) error {
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
	}, nil)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, struct{}{}, nil
}

// checkAccountFields validates the fields of アカウント管理(登録/更新).
func checkAccountFields(role, name, kana, start string) error {
	switch {
	case role != api.RoleGeneral && role != api.RoleMedical:
		return api.New(api.CodeRoleInvalid, "")
	case !checkText(name, 50):
		return api.New(api.CodeUserNameInvalid, "")
	case !IsFullWidthKatakana(kana) || utf8.RuneCountInString(kana) > 50:
		return api.New(api.CodeUserNameKanaFormat, "")
	}
	if _, err := parseDate(start); err != nil {
		return api.New(api.CodeStartDateInvalid, "")
	}
	return nil
}

// createAccount is アカウント管理(登録). User IDs are unique per institution regardless of case,
// also against deleted accounts (their IDs stay in the audit trail).
func (s *Server) createAccount(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, ri, req, err := adminRequest[api.CreateAccountRequest](s, w, r)
	if err != nil {
		return 0, nil, err
	}
	if !userIDRE.MatchString(req.UserID) {
		return 0, nil, api.New(api.CodeUserIDFormat, "")
	}
	ri.target = req.UserID
	if err := checkAccountFields(req.Role, req.UserName, req.UserNameKana, req.StartDate); err != nil {
		return 0, nil, err
	}
	if err := checkPasswordPolicy(req.Password, req.UserID); err != nil {
		return 0, nil, err
	}
	h, err := hashPassword(req.Password, s.cfg.PasswordIterations)
	if err != nil {
		return 0, nil, err
	}
	now := s.now()
	err = s.commit(ri, func(tx *sql.Tx, _ *auditRec) error {
		var existing string
		var deleted sql.NullInt64
		err := tx.QueryRow(`SELECT user_id, deleted_at FROM accounts WHERE institution = ? AND user_key = ?`, se.institution, userKey(req.UserID)).
			Scan(&existing, &deleted)
		switch {
		case err == nil && deleted.Valid:
			return api.Newf(api.CodeUserIDTaken, "%s was the ID of a deleted account", existing)
		case err == nil:
			return api.Newf(api.CodeUserIDTaken, "taken by %s", existing)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.Exec(`INSERT INTO accounts(institution, user_id, user_key, role, user_name, user_name_kana, start_date, pw_hash, must_change, created_at)
			VALUES(?,?,?,?,?,?,?,?,1,?)`, se.institution, req.UserID, userKey(req.UserID), req.Role, req.UserName, req.UserNameKana, req.StartDate, h, now.UnixNano())
		return err
	}, nil)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, api.Account{UserID: req.UserID, Role: req.Role, UserName: req.UserName,
		UserNameKana: req.UserNameKana, StartDate: req.StartDate, CreatedAt: now.UTC()}, nil
}

const accountCols = `user_id, role, user_name, user_name_kana, start_date, terminal_login_at, locked, suspended, created_at, last_login_at`

func scanAccount(sc interface{ Scan(...any) error }) (api.Account, error) {
	var ac api.Account
	var term, last sql.NullInt64
	var created int64
	err := sc.Scan(&ac.UserID, &ac.Role, &ac.UserName, &ac.UserNameKana, &ac.StartDate, &term, &ac.Locked, &ac.Suspended, &created, &last)
	ac.TerminalLoggedIn, ac.CreatedAt, ac.LastLoginAt = term.Valid, fromNanos(created), nullTime(last)
	return ac, err
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, _, err := s.adminSession(r)
	if err != nil {
		return 0, nil, err
	}
	rows, err := s.st.r.Query(`SELECT `+accountCols+` FROM accounts WHERE institution = ? AND deleted_at IS NULL ORDER BY user_key`, se.institution)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	out := api.AccountList{Accounts: []api.Account{}}
	for rows.Next() {
		ac, err := scanAccount(rows)
		if err != nil {
			return 0, nil, err
		}
		out.Accounts = append(out.Accounts, ac)
	}
	return http.StatusOK, out, rows.Err()
}

// accountWrite runs fn on the institution's (not deleted) account named by the path, found
// regardless of case; the audit target is its canonical ID.
func (s *Server) accountWrite(ri *reqInfo, inst, user string, fn func(tx *sql.Tx, canonical string) error, after func(canonical string)) error {
	var canonical string
	return s.commit(ri, func(tx *sql.Tx, a *auditRec) error {
		err := tx.QueryRow(`SELECT user_id FROM accounts WHERE institution = ? AND user_key = ? AND deleted_at IS NULL`, inst, userKey(user)).Scan(&canonical)
		if errors.Is(err, sql.ErrNoRows) {
			return api.New(api.CodeAccountUnknown, "")
		}
		if err != nil {
			return err
		}
		a.target = canonical
		return fn(tx, canonical)
	}, func() {
		if after != nil {
			after(canonical)
		}
	})
}

// updateAccount is アカウント管理(更新): role, names and start date. A change of role or start
// date ends the account's sessions (they carry the role).
func (s *Server) updateAccount(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, ri, req, err := adminRequest[api.UpdateAccountRequest](s, w, r)
	if err != nil {
		return 0, nil, err
	}
	if err := checkAccountFields(req.Role, req.UserName, req.UserNameKana, req.StartDate); err != nil {
		return 0, nil, err
	}
	var out api.Account
	var endSessions bool
	err = s.accountWrite(ri, se.institution, r.PathValue("user"), func(tx *sql.Tx, user string) error {
		var role, start string
		if err := tx.QueryRow(`SELECT role, start_date FROM accounts WHERE institution = ? AND user_key = ?`, se.institution, userKey(user)).Scan(&role, &start); err != nil {
			return err
		}
		endSessions = role != req.Role || start != req.StartDate
		if _, err := tx.Exec(`UPDATE accounts SET role = ?, user_name = ?, user_name_kana = ?, start_date = ? WHERE institution = ? AND user_key = ?`,
			req.Role, req.UserName, req.UserNameKana, req.StartDate, se.institution, userKey(user)); err != nil {
			return err
		}
		var err error
		out, err = scanAccount(tx.QueryRow(`SELECT `+accountCols+` FROM accounts WHERE institution = ? AND user_key = ?`, se.institution, userKey(user)))
		return err
	}, func(user string) {
		if endSessions {
			s.dropAccountSessions(false, se.institution, user)
		}
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

// deleteAccount deletes an account: it cannot log in any more, its sessions end, and its user ID
// is not given again (the audit trail keeps naming it).
func (s *Server) deleteAccount(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, ri, err := s.adminSession(r)
	if err != nil {
		return 0, nil, err
	}
	now := s.now()
	err = s.accountWrite(ri, se.institution, r.PathValue("user"), func(tx *sql.Tx, user string) error {
		_, err := tx.Exec(`UPDATE accounts SET deleted_at = ? WHERE institution = ? AND user_key = ?`, now.UnixNano(), se.institution, userKey(user))
		return err
	}, func(user string) { s.dropAccountSessions(false, se.institution, user) })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, struct{}{}, nil
}

// suspendAccount suspends (its sessions end at once) or resumes an account.
func (s *Server) suspendAccount(on bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		se, ri, err := s.adminSession(r)
		if err != nil {
			return 0, nil, err
		}
		err = s.accountWrite(ri, se.institution, r.PathValue("user"), func(tx *sql.Tx, user string) error {
			_, err := tx.Exec(`UPDATE accounts SET suspended = ? WHERE institution = ? AND user_key = ?`, on, se.institution, userKey(user))
			return err
		}, func(user string) {
			if on {
				s.dropAccountSessions(false, se.institution, user)
			}
		})
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, struct{}{}, nil
	}
}

func (s *Server) unlockAccount(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, ri, req, err := adminRequest[api.UnlockRequest](s, w, r)
	if err != nil {
		return 0, nil, err
	}
	user := r.PathValue("user")
	var h string
	if req.NewPassword != "" {
		if err := checkPasswordPolicy(req.NewPassword, user); err != nil {
			return 0, nil, err
		}
		if h, err = hashPassword(req.NewPassword, s.cfg.PasswordIterations); err != nil {
			return 0, nil, err
		}
	}
	err = s.accountWrite(ri, se.institution, user, func(tx *sql.Tx, user string) error {
		var err error
		if h != "" {
			_, err = tx.Exec(`UPDATE accounts SET failures = 0, locked = 0, pw_hash = ?, must_change = 1 WHERE institution = ? AND user_key = ?`, h, se.institution, userKey(user))
		} else {
			_, err = tx.Exec(`UPDATE accounts SET failures = 0, locked = 0 WHERE institution = ? AND user_key = ?`, se.institution, userKey(user))
		}
		return err
	}, func(user string) {
		if h != "" {
			s.dropAccountSessions(false, se.institution, user)
		}
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, struct{}{}, nil
}

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, _, err := s.adminSession(r)
	if err != nil {
		return 0, nil, err
	}
	rows, err := s.st.r.Query(`SELECT id, terminal_id, memo, code_id, registered_by, registered_at, revoked_at FROM devices
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
		if err := rows.Scan(&d.ID, &d.TerminalID, &d.Memo, &d.ActivationCodeID, &d.RegisteredBy, &reg, &rev); err != nil {
			return 0, nil, err
		}
		d.RegisteredAt, d.RevokedAt = fromNanos(reg), nullTime(rev)
		out.Devices = append(out.Devices, d)
	}
	return http.StatusOK, out, rows.Err()
}

func (s *Server) revokeDevice(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, ri, err := s.adminSession(r)
	if err != nil {
		return 0, nil, err
	}
	id := r.PathValue("id")
	ri.target = id
	now := s.now()
	err = s.commit(ri, func(tx *sql.Tx, a *auditRec) error {
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
		a.device = id
		_, err = tx.Exec(`UPDATE devices SET revoked_at = ? WHERE id = ?`, now.UnixNano(), id)
		return err
	}, func() {
		s.dropSessions(func(_ string, x *session) bool { return x.deviceID == id && x.institution == se.institution })
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, struct{}{}, nil
}

// enroll is the lab hook (serve --lab-enrollment only): link an auth certificate (e.g. a real
// test card's) to a synthetic record, for this institution's consents only. A certificate that
// already identifies someone (Config.Enrollments) cannot be remapped.
func (s *Server) enroll(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, ri, err := s.adminSession(r)
	if err != nil {
		return 0, nil, err
	}
	if !s.cfg.LabEnrollment {
		return 0, nil, api.New(api.CodeLabEnrollmentDisabled, "")
	}
	var req api.EnrollRequest
	if err := s.decode(w, r, &req); err != nil {
		return 0, nil, err
	}
	ri.target = "person:" + req.PersonID
	if _, err := x509.ParseCertificate(req.AuthCertificate); err != nil {
		return 0, nil, api.New(api.CodeCertMalformed, "")
	}
	p, ok := s.people[req.PersonID]
	if !ok {
		ri.target = ""
		return 0, nil, api.New(api.CodePersonUnknown, "")
	}
	h := certHash(req.AuthCertificate)
	ri.target = "person:" + req.PersonID + " cert:" + h[:16]
	s.mu.RLock()
	issuedAs, issued := s.enrolled[h]
	s.mu.RUnlock()
	en := enrollment{personID: req.PersonID}
	if req.FaceRecord != nil || req.FaceCertificate != nil {
		// The lab card's face, verified, so that the card can give visual consent.
		face, err := s.verifyCardFace(req.FaceRecord, req.FaceCertificate)
		if err != nil {
			return 0, nil, err
		}
		if face.BirthDate != compactDate(p.BirthDate) || face.Sex != p.Sex {
			return 0, nil, api.New(api.CodeFaceRecordMismatch, "")
		}
		en.cardKeyHash = mynumber.KeyFingerprint(face.CardKey)
	}
	if issued {
		// A certificate that identifies someone is never remapped; asking for the mapping it
		// already has (same person, and the same card key if a face is given) changes nothing.
		if issuedAs.personID != req.PersonID || en.cardKeyHash != "" && en.cardKeyHash != issuedAs.cardKeyHash {
			return 0, nil, api.New(api.CodeEnrollmentConflict, "")
		}
		return http.StatusOK, api.Enrollment{CertificateSHA256: h, PersonID: issuedAs.personID, Institution: se.institution, CardKeySHA256: issuedAs.cardKeyHash}, nil
	}
	now := s.now()
	err = s.commit(ri, func(tx *sql.Tx, _ *auditRec) error {
		_, err := tx.Exec(`INSERT INTO lab_enrollments(institution, cert_sha256, person_id, card_key_sha256, created_at) VALUES(?,?,?,?,?)
			ON CONFLICT(institution, cert_sha256) DO UPDATE SET person_id = excluded.person_id, card_key_sha256 = excluded.card_key_sha256`,
			se.institution, h, en.personID, en.cardKeyHash, now.UnixNano())
		return err
	}, func() {
		s.mu.Lock()
		s.labEnrolled[se.institution+"\x00"+h] = en
		s.mu.Unlock()
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, api.Enrollment{CertificateSHA256: h, PersonID: req.PersonID, Institution: se.institution, CardKeySHA256: en.cardKeyHash}, nil
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, _, err := s.adminSession(r)
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
	rows, err := s.st.r.Query(`SELECT id, at, institution, actor, device, action, target, outcome, code, request_id FROM audit
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
		if err := rows.Scan(&e.ID, &at, &e.Institution, &e.Actor, &e.Device, &e.Action, &e.Target, &e.Outcome, &code, &e.RequestID); err != nil {
			return 0, nil, err
		}
		e.At, e.Code = fromNanos(at), api.Code(code)
		out.Entries = append(out.Entries, e)
	}
	return http.StatusOK, out, rows.Err()
}
