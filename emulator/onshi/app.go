package onshi

import (
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

// accountGate checks, under the write lock, what the app requires of an account beyond its
// password: 利用開始年月日 reached, and at least one login on the terminal (seed). It returns the
// account's role.
func (s *Server) accountGate(tx *sql.Tx, inst, user string, now time.Time) (string, error) {
	var role, start string
	var term sql.NullInt64
	if err := tx.QueryRow(`SELECT role, start_date, terminal_login_at FROM accounts WHERE institution = ? AND user_key = ?`, inst, userKey(user)).
		Scan(&role, &start, &term); err != nil {
		return "", err
	}
	if dateOf(now) < start {
		return "", api.Newf(api.CodeAccountNotYetStarted, "usable from %s", start)
	}
	if !term.Valid {
		return "", api.New(api.CodeTerminalLoginRequired, "")
	}
	return role, nil
}

// accountLoginStart is the common start of the account logins: the institution, the user ID's
// format and the password row.
func (s *Server) accountLoginStart(ri *reqInfo, inst, user, pw string, feature bool) (pwRow, bool, error) {
	if _, err := s.institution(inst); err != nil {
		return pwRow{}, false, err
	}
	ri.institution = inst
	if feature {
		if err := s.requireFeature(inst); err != nil {
			return pwRow{}, false, err
		}
	}
	if !userIDRE.MatchString(user) {
		return pwRow{}, false, api.New(api.CodeUserIDFormat, "")
	}
	return s.readPassword(ri, "accounts", inst, user, pw)
}

// terminalLogin is an account's login on the 資格確認端末; the first one changes the initial
// password (model).
func (s *Server) terminalLogin(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ri := info(r)
	var req api.TerminalLoginRequest
	if err := s.decode(w, r, &req); err != nil {
		return 0, nil, err
	}
	row, ok, err := s.accountLoginStart(ri, req.InstitutionCode, req.UserID, req.Password, false)
	if err != nil {
		return 0, nil, err
	}
	var newHash string
	if req.NewPassword != "" {
		if err := checkNewPassword(req.NewPassword, req.Password, row.userID); err != nil {
			return 0, nil, err
		}
		if ok {
			if newHash, err = hashPassword(req.NewPassword, s.cfg.PasswordIterations); err != nil {
				return 0, nil, err
			}
		}
	}
	now := s.now()
	inst, key := req.InstitutionCode, userKey(row.userID)
	var locked bool
	err = s.commit(ri, s.passwordOp("accounts", inst, row, ok, &locked,
		func(tx *sql.Tx, _ *auditRec) error {
			var mustChange bool
			var start string
			if err := tx.QueryRow(`SELECT must_change, start_date FROM accounts WHERE institution = ? AND user_key = ?`, inst, key).
				Scan(&mustChange, &start); err != nil {
				return err
			}
			if dateOf(now) < start {
				return api.Newf(api.CodeAccountNotYetStarted, "usable from %s", start)
			}
			if mustChange && newHash == "" {
				return api.New(api.CodePasswordChangeRequired, "")
			}
			if newHash != "" {
				if _, err := tx.Exec(`UPDATE accounts SET pw_hash = ?, must_change = 0 WHERE institution = ? AND user_key = ?`, newHash, inst, key); err != nil {
					return err
				}
			}
			_, err := tx.Exec(`UPDATE accounts SET terminal_login_at = COALESCE(terminal_login_at, ?), last_login_at = ?
				WHERE institution = ? AND user_key = ?`, now.UnixNano(), now.UnixNano(), inst, key)
			return err
		}), nil)
	if locked {
		s.dropAccountSessions(false, inst, row.userID)
	}
	if err != nil {
		return 0, nil, err
	}
	if newHash != "" {
		s.dropAccountSessions(false, inst, row.userID)
	}
	return http.StatusOK, api.TerminalLoginResponse{UserID: row.userID, PasswordChanged: newHash != "", At: now.UTC()}, nil
}

// terminalPassword is an account's パスワード変更 on the terminal: the current password (wrong ones
// count towards the lock) and a new one meeting the policy. The account's app sessions end.
func (s *Server) terminalPassword(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ri := info(r)
	var req api.PasswordChangeRequest
	if err := s.decode(w, r, &req); err != nil {
		return 0, nil, err
	}
	row, ok, err := s.accountLoginStart(ri, req.InstitutionCode, req.UserID, req.Password, false)
	if err != nil {
		return 0, nil, err
	}
	if err := checkNewPassword(req.NewPassword, req.Password, row.userID); err != nil {
		return 0, nil, err
	}
	h, err := hashPassword(req.NewPassword, s.cfg.PasswordIterations)
	if err != nil {
		return 0, nil, err
	}
	inst := req.InstitutionCode
	var locked bool
	err = s.commit(ri, s.passwordOp("accounts", inst, row, ok, &locked, func(tx *sql.Tx, _ *auditRec) error {
		_, err := tx.Exec(`UPDATE accounts SET pw_hash = ?, must_change = 0 WHERE institution = ? AND user_key = ?`, h, inst, userKey(row.userID))
		return err
	}), nil)
	if locked {
		s.dropAccountSessions(false, inst, row.userID)
	}
	if err != nil {
		return 0, nil, err
	}
	s.dropAccountSessions(false, inst, row.userID)
	return http.StatusOK, struct{}{}, nil
}

// activate is the app's first login: 医療機関コード + user + password + activation code + the
// device's terminal public key with a proof of possession. It registers the device and issues
// its terminal certificate (card-verifiable, for 80 A2).
func (s *Server) activate(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ri := info(r)
	var req api.ActivateRequest
	if err := s.decode(w, r, &req); err != nil {
		return 0, nil, err
	}
	if _, err := s.institution(req.InstitutionCode); err != nil {
		return 0, nil, err
	}
	ri.institution = req.InstitutionCode
	if err := s.requireFeature(req.InstitutionCode); err != nil {
		return 0, nil, err
	}
	if !userIDRE.MatchString(req.UserID) {
		return 0, nil, api.New(api.CodeUserIDFormat, "")
	}
	pub, err := parseTerminalKey(req.TerminalPublicKey)
	if err != nil {
		return 0, nil, err
	}
	keyHash, err := publicKeyHash(pub)
	if err != nil {
		return 0, nil, err
	}
	now := s.now()
	if err := s.verifyProof(pub, api.ProofActivate, req.AuthChallenge, req.Proof, now); err != nil {
		return 0, nil, err
	}
	row, ok, err := s.readPassword(ri, "accounts", req.InstitutionCode, req.UserID, req.Password)
	if err != nil {
		return 0, nil, err
	}
	deviceID := newID("DV")
	se := &session{institution: req.InstitutionCode, userID: row.userID, deviceID: deviceID}
	if err := s.sessionRoom(se); err != nil {
		return 0, nil, err
	}
	cred := randomToken(32)
	var cert []byte
	var terminalID string
	code := normalizeActivationCode(req.ActivationCode)
	inst := req.InstitutionCode
	var locked bool
	err = s.commit(ri, s.passwordOp("accounts", inst, row, ok, &locked,
		func(tx *sql.Tx, a *auditRec) error {
			var err error
			if se.role, err = s.accountGate(tx, inst, row.userID, now); err != nil {
				return err
			}
			var id, codeInst, memo string
			var usable, expires int64
			var used, revoked sql.NullInt64
			err = tx.QueryRow(`SELECT id, institution, memo, usable_at, expires_at, used_at, revoked_at FROM activation_codes WHERE code_hash = ?`,
				secretHash(code)).Scan(&id, &codeInst, &memo, &usable, &expires, &used, &revoked)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return api.New(api.CodeActivationCodeUnknown, "")
			case err != nil:
				return err
			}
			switch {
			case codeInst != inst:
				return api.New(api.CodeActivationCodeWrongInstitution, "")
			case revoked.Valid:
				a.target = id
				return api.New(api.CodeActivationCodeRevoked, "")
			case used.Valid:
				a.target = id
				return api.New(api.CodeActivationCodeUsed, "")
			case now.UnixNano() >= expires:
				a.target = id
				return api.New(api.CodeActivationCodeExpired, "")
			case now.UnixNano() < usable:
				a.target = id
				return api.Newf(api.CodeActivationCodeNotYetValid, "usable from %s", fromNanos(usable).Format(time.RFC3339))
			}
			a.target = id
			var other string
			err = tx.QueryRow(`SELECT id FROM devices WHERE key_sha256 = ? LIMIT 1`, keyHash).Scan(&other)
			if err == nil {
				return api.New(api.CodeTerminalKeyInUse, "")
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			a.device = deviceID
			// The terminal certificate names the device by a key id numbered in registration
			// order (issued here, under the write lock, so numbers are unique).
			var n int64
			if err := tx.QueryRow(`SELECT COALESCE(MAX(rowid), 0) + 1 FROM devices`).Scan(&n); err != nil {
				return err
			}
			terminalID = fmt.Sprintf("7%06d/%03d", n%1000000, n/1000000%1000+1)
			if cert, err = s.terminalCertificate(terminalID, pub, now); err != nil {
				return err
			}
			if _, err := tx.Exec(`UPDATE activation_codes SET used_at = ?, device_id = ? WHERE id = ?`, now.UnixNano(), deviceID, id); err != nil {
				return err
			}
			if _, err := tx.Exec(`INSERT INTO devices(id, institution, memo, code_id, credential_hash, public_key, key_sha256, terminal_id, terminal_cert, registered_by, registered_at)
				VALUES(?,?,?,?,?,?,?,?,?,?,?)`, deviceID, inst, memo, id, secretHash(cred), req.TerminalPublicKey, keyHash, terminalID, cert, row.userID, now.UnixNano()); err != nil {
				return err
			}
			_, err = tx.Exec(`UPDATE accounts SET last_login_at = ? WHERE institution = ? AND user_key = ?`, now.UnixNano(), inst, userKey(row.userID))
			return err
		}), nil)
	if locked {
		s.dropAccountSessions(false, inst, row.userID)
	}
	if err != nil {
		return 0, nil, err
	}
	ri.device = deviceID
	tok, err := s.newSession(se)
	if err != nil {
		// The device is registered (audited); log in to get a session.
		ri.audited = false
		return 0, nil, err
	}
	return http.StatusCreated, api.ActivateResponse{DeviceID: deviceID, DeviceCredential: cred, TerminalCertificate: cert,
		TerminalID: terminalID, Session: tok, Role: se.role}, nil
}

// terminalCertificate issues a device's terminal certificate for 80 A2: the card.md v2
// card-verifiable certificate (mynumber.IssueCV) by the terminal CA, the device's terminal key,
// and this project's model of the validity after the key (mynumber.TerminalValidity: the day
// of issue to Config.TerminalCertValidity later, role visual mode).
func (s *Server) terminalCertificate(terminalID string, pub *rsa.PublicKey, now time.Time) ([]byte, error) {
	// The validity's dates are UTC days (mynumber.TerminalValidity), not Japan's: from 00:00 to
	// 09:00 JST the JST date would make the certificate not yet valid when issued.
	from := now.UTC().Truncate(24 * time.Hour)
	v := mynumber.TerminalValidity{NotBefore: from, NotAfter: from.Add(s.cfg.TerminalCertValidity).AddDate(0, 0, -1), Role: mynumber.RoleVisual}
	sub, err := mynumber.NewKeyID(terminalID)
	if err != nil {
		return nil, err
	}
	return mynumber.IssueCV(mynumber.RSASigner(s.cfg.TerminalCA), &mynumber.CVCertificate{
		IssuerID: s.cfg.TerminalCAID, SubjectID: sub, PublicKey: pub, Extra: v.Encode()})
}

func parseTerminalKey(der []byte) (*rsa.PublicKey, error) {
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, api.New(api.CodeTerminalKeyInvalid, "not a PKIX public key")
	}
	pub, ok := k.(*rsa.PublicKey)
	if !ok || pub.N.BitLen() < 2048 || pub.N.BitLen() > 4096 {
		return nil, api.New(api.CodeTerminalKeyInvalid, "")
	}
	return pub, nil
}

// appLogin is a later login from a registered device: its credential and a proof that it holds
// the terminal key registered at activation, then the account.
func (s *Server) appLogin(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ri := info(r)
	var req api.LoginRequest
	if err := s.decode(w, r, &req); err != nil {
		return 0, nil, err
	}
	var inst, credHash string
	var keyDER []byte
	var revoked sql.NullInt64
	err := s.st.qDevice.QueryRow(req.DeviceID).Scan(&inst, &credHash, &keyDER, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, api.New(api.CodeDeviceUnknown, "")
	}
	if err != nil {
		return 0, nil, err
	}
	ri.institution, ri.device = inst, req.DeviceID
	if subtle.ConstantTimeCompare([]byte(secretHash(req.DeviceCredential)), []byte(credHash)) != 1 {
		return 0, nil, api.New(api.CodeDeviceCredentialInvalid, "")
	}
	pub, err := parseTerminalKey(keyDER)
	if err != nil {
		return 0, nil, err
	}
	now := s.now()
	if err := s.verifyProof(pub, api.ProofLogin, req.AuthChallenge, req.Proof, now); err != nil {
		return 0, nil, err
	}
	if revoked.Valid {
		return 0, nil, api.New(api.CodeDeviceRevoked, "")
	}
	row, ok, err := s.accountLoginStart(ri, inst, req.UserID, req.Password, true)
	if err != nil {
		return 0, nil, err
	}
	se := &session{institution: inst, userID: row.userID, deviceID: req.DeviceID}
	if err := s.sessionRoom(se); err != nil {
		return 0, nil, err
	}
	var locked bool
	err = s.commit(ri, s.passwordOp("accounts", inst, row, ok, &locked,
		func(tx *sql.Tx, _ *auditRec) error {
			var err error
			if se.role, err = s.accountGate(tx, inst, row.userID, now); err != nil {
				return err
			}
			var rev sql.NullInt64
			if err := tx.QueryRow(`SELECT revoked_at FROM devices WHERE id = ?`, req.DeviceID).Scan(&rev); err != nil {
				return err
			}
			if rev.Valid {
				return api.New(api.CodeDeviceRevoked, "")
			}
			_, err = tx.Exec(`UPDATE accounts SET last_login_at = ? WHERE institution = ? AND user_key = ?`, now.UnixNano(), inst, userKey(row.userID))
			return err
		}), nil)
	if locked {
		s.dropAccountSessions(false, inst, row.userID)
	}
	if err != nil {
		return 0, nil, err
	}
	code, body, err := s.openSession(ri, se)
	if err != nil {
		return code, body, err
	}
	return http.StatusOK, api.LoginResponse{Session: body.(api.Token), Role: se.role}, nil
}
