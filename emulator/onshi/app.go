package onshi

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"database/sql"
	"errors"
	"net/http"
	"time"

	"github.com/mynaconform/mynaconform/emulator/onshi/api"
	"github.com/mynaconform/mynaconform/formats/mynumber"
)

// accountGate checks, under the write lock, what the app requires of an account beyond its
// password: 利用開始年月日 reached, and at least one login on the terminal (seed). It returns the
// account's role.
func (s *Server) accountGate(tx *sql.Tx, inst, user string, now time.Time) (string, error) {
	var role, start string
	var term sql.NullInt64
	if err := tx.QueryRow(`SELECT role, start_date, terminal_login_at FROM accounts WHERE institution = ? AND user_id = ?`, inst, user).
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

// terminalLogin is an account's login on the 資格確認端末; the first one changes the initial
// password (model).
func (s *Server) terminalLogin(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req api.TerminalLoginRequest
	if err := s.decode(w, r, &req); err != nil {
		return 0, nil, err
	}
	if _, err := s.institution(req.InstitutionCode); err != nil {
		return 0, nil, err
	}
	if !userIDRE.MatchString(req.UserID) {
		return 0, nil, api.New(api.CodeUserIDFormat, "")
	}
	a := auditRec{institution: req.InstitutionCode, actor: "user:" + req.UserID, action: "terminal.login"}
	var newHash string
	if req.NewPassword != "" {
		if req.NewPassword == req.Password {
			return 0, nil, s.refuse(a, api.New(api.CodePasswordPolicy, "the new password must differ from the current one"))
		}
		if err := checkPasswordPolicy(req.NewPassword); err != nil {
			return 0, nil, s.refuse(a, err)
		}
	}
	row, ok, err := s.readPassword("accounts", req.InstitutionCode, req.UserID, req.Password)
	if err != nil {
		return 0, nil, s.refuse(a, err)
	}
	if ok && req.NewPassword != "" {
		if newHash, err = hashPassword(req.NewPassword, s.cfg.PasswordIterations); err != nil {
			return 0, nil, err
		}
	}
	now := s.now()
	err = s.st.write(&writeOp{at: now, audit: a, apply: s.passwordOp("accounts", req.InstitutionCode, req.UserID, row, ok,
		func(tx *sql.Tx, _ *auditRec) error {
			var mustChange bool
			var start string
			if err := tx.QueryRow(`SELECT must_change, start_date FROM accounts WHERE institution = ? AND user_id = ?`,
				req.InstitutionCode, req.UserID).Scan(&mustChange, &start); err != nil {
				return err
			}
			if dateOf(now) < start {
				return api.Newf(api.CodeAccountNotYetStarted, "usable from %s", start)
			}
			if mustChange && newHash == "" {
				return api.New(api.CodePasswordChangeRequired, "")
			}
			if newHash != "" {
				if _, err := tx.Exec(`UPDATE accounts SET pw_hash = ?, must_change = 0 WHERE institution = ? AND user_id = ?`,
					newHash, req.InstitutionCode, req.UserID); err != nil {
					return err
				}
			}
			_, err := tx.Exec(`UPDATE accounts SET terminal_login_at = COALESCE(terminal_login_at, ?), last_login_at = ?
				WHERE institution = ? AND user_id = ?`, now.UnixNano(), now.UnixNano(), req.InstitutionCode, req.UserID)
			return err
		})})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, api.TerminalLoginResponse{UserID: req.UserID, PasswordChanged: newHash != "", At: now.UTC()}, nil
}

// activate is the app's first login: 医療機関コード + user + password + activation code +
// the device's terminal public key. It registers the device and issues its terminal
// certificate (card-verifiable, for 80 A2).
func (s *Server) activate(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req api.ActivateRequest
	if err := s.decode(w, r, &req); err != nil {
		return 0, nil, err
	}
	if _, err := s.institution(req.InstitutionCode); err != nil {
		return 0, nil, err
	}
	a := auditRec{institution: req.InstitutionCode, action: "app.activate"}
	if err := s.requireFeature(req.InstitutionCode); err != nil {
		return 0, nil, s.refuse(a, err)
	}
	if !userIDRE.MatchString(req.UserID) {
		return 0, nil, s.refuse(a, api.New(api.CodeUserIDFormat, ""))
	}
	a.actor = "user:" + req.UserID
	pub, err := parseTerminalKey(req.TerminalPublicKey)
	if err != nil {
		return 0, nil, s.refuse(a, err)
	}
	row, ok, err := s.readPassword("accounts", req.InstitutionCode, req.UserID, req.Password)
	if err != nil {
		return 0, nil, s.refuse(a, err)
	}
	now := s.now()
	deviceID := newID("DV")
	cred := randomToken(32)
	var cert []byte
	if ok {
		day := now.In(jst)
		day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
		validity := mynumber.TerminalValidity{NotBefore: day, NotAfter: day.Add(s.cfg.TerminalCertValidity), Role: mynumber.RoleVisual}
		cert, err = mynumber.IssueCV(mynumber.RSASigner(s.cfg.TerminalCA), &mynumber.CVCertificate{IssuerID: s.cfg.TerminalCAID,
			SubjectID: mynumber.TerminalSubject(deviceID), PublicKey: pub, Extra: validity.Encode()})
		if err != nil {
			return 0, nil, err
		}
	}
	code := normalizeActivationCode(req.ActivationCode)
	var role string
	err = s.st.write(&writeOp{at: now, audit: a, apply: s.passwordOp("accounts", req.InstitutionCode, req.UserID, row, ok,
		func(tx *sql.Tx, a *auditRec) error {
			var err error
			if role, err = s.accountGate(tx, req.InstitutionCode, req.UserID, now); err != nil {
				return err
			}
			var id, inst, memo string
			var usable, expires int64
			var used, revoked sql.NullInt64
			err = tx.QueryRow(`SELECT id, institution, memo, usable_at, expires_at, used_at, revoked_at FROM activation_codes WHERE code_hash = ?`,
				secretHash(code)).Scan(&id, &inst, &memo, &usable, &expires, &used, &revoked)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return api.New(api.CodeActivationCodeUnknown, "")
			case err != nil:
				return err
			}
			a.target = id
			switch {
			case inst != req.InstitutionCode:
				return api.New(api.CodeActivationCodeWrongInstitution, "")
			case revoked.Valid:
				return api.New(api.CodeActivationCodeRevoked, "")
			case used.Valid:
				return api.New(api.CodeActivationCodeUsed, "")
			case now.UnixNano() >= expires:
				return api.New(api.CodeActivationCodeExpired, "")
			case now.UnixNano() < usable:
				return api.Newf(api.CodeActivationCodeNotYetValid, "usable from %s", fromNanos(usable).Format(time.RFC3339))
			}
			a.device = deviceID
			if _, err := tx.Exec(`UPDATE activation_codes SET used_at = ?, device_id = ? WHERE id = ?`, now.UnixNano(), deviceID, id); err != nil {
				return err
			}
			if _, err := tx.Exec(`INSERT INTO devices(id, institution, memo, code_id, credential_hash, public_key, terminal_cert, registered_by, registered_at)
				VALUES(?,?,?,?,?,?,?,?,?)`, deviceID, inst, memo, id, secretHash(cred), req.TerminalPublicKey, cert, req.UserID, now.UnixNano()); err != nil {
				return err
			}
			_, err = tx.Exec(`UPDATE accounts SET last_login_at = ? WHERE institution = ? AND user_id = ?`, now.UnixNano(), inst, req.UserID)
			return err
		})})
	if err != nil {
		return 0, nil, err
	}
	tok := s.newSession(&session{institution: req.InstitutionCode, userID: req.UserID, role: role, deviceID: deviceID})
	return http.StatusCreated, api.ActivateResponse{DeviceID: deviceID, DeviceCredential: cred, TerminalCertificate: cert, Session: tok, Role: role}, nil
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

// appLogin is a later login from a registered device.
func (s *Server) appLogin(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var req api.LoginRequest
	if err := s.decode(w, r, &req); err != nil {
		return 0, nil, err
	}
	var inst, credHash string
	var revoked sql.NullInt64
	err := s.st.qDevice.QueryRow(req.DeviceID).Scan(&inst, &credHash, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, api.New(api.CodeDeviceUnknown, "")
	}
	if err != nil {
		return 0, nil, err
	}
	a := auditRec{institution: inst, device: req.DeviceID, action: "app.login"}
	if subtle.ConstantTimeCompare([]byte(secretHash(req.DeviceCredential)), []byte(credHash)) != 1 {
		return 0, nil, s.refuse(a, api.New(api.CodeDeviceCredentialInvalid, ""))
	}
	if revoked.Valid {
		return 0, nil, s.refuse(a, api.New(api.CodeDeviceRevoked, ""))
	}
	if err := s.requireFeature(inst); err != nil {
		return 0, nil, s.refuse(a, err)
	}
	if !userIDRE.MatchString(req.UserID) {
		return 0, nil, s.refuse(a, api.New(api.CodeUserIDFormat, ""))
	}
	a.actor = "user:" + req.UserID
	row, ok, err := s.readPassword("accounts", inst, req.UserID, req.Password)
	if err != nil {
		return 0, nil, s.refuse(a, err)
	}
	now := s.now()
	var role string
	err = s.st.write(&writeOp{at: now, audit: a, apply: s.passwordOp("accounts", inst, req.UserID, row, ok,
		func(tx *sql.Tx, _ *auditRec) error {
			var err error
			if role, err = s.accountGate(tx, inst, req.UserID, now); err != nil {
				return err
			}
			var rev sql.NullInt64
			if err := tx.QueryRow(`SELECT revoked_at FROM devices WHERE id = ?`, req.DeviceID).Scan(&rev); err != nil {
				return err
			}
			if rev.Valid {
				return api.New(api.CodeDeviceRevoked, "")
			}
			_, err = tx.Exec(`UPDATE accounts SET last_login_at = ? WHERE institution = ? AND user_id = ?`, now.UnixNano(), inst, req.UserID)
			return err
		})})
	if err != nil {
		return 0, nil, err
	}
	tok := s.newSession(&session{institution: inst, userID: req.UserID, role: role, deviceID: req.DeviceID})
	return http.StatusOK, api.LoginResponse{Session: tok, Role: role}, nil
}

// challenge is a single-use nonce bound to the session and device that asked for it.
type challenge struct {
	nonce    []byte
	sessKey  string
	deviceID string
	expires  time.Time
	used     bool
}

func (s *Server) appSession(r *http.Request) (*session, auditRec, error) {
	se, err := s.auth(r, false)
	if err != nil {
		return nil, auditRec{}, err
	}
	return se, auditRec{institution: se.institution, actor: "user:" + se.userID, device: se.deviceID}, nil
}

func (s *Server) newChallenge(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, a, err := s.appSession(r)
	if err != nil {
		return 0, nil, err
	}
	now := s.now()
	c := &challenge{nonce: make([]byte, 32), sessKey: secretHash(bearer(r)), deviceID: se.deviceID, expires: now.Add(s.cfg.ChallengeTTL)}
	rand.Read(c.nonce)
	id := newID("CH")
	a.action, a.target = "challenge.issue", id
	if !s.putChallenge(id, c, now) {
		return 0, nil, s.refuse(a, api.New(api.CodeChallengeLimit, ""))
	}
	if err := s.audit(a, nil); err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, api.Challenge{ID: id, Challenge: c.nonce, ExpiresAt: c.expires.UTC()}, nil
}

// putChallenge stores a challenge. Challenges (and tombstones of used ones, so replays say
// "replayed") are dropped one TTL after they expire, oldest first: amortised O(1). It refuses
// when Config.MaxChallenges are kept (bounded memory).
func (s *Server) putChallenge(id string, c *challenge, now time.Time) bool {
	s.chMu.Lock()
	defer s.chMu.Unlock()
	for len(s.chOrder) > 0 {
		old, ok := s.challenges[s.chOrder[0]]
		if ok && now.Sub(old.expires) <= s.cfg.ChallengeTTL {
			break
		}
		delete(s.challenges, s.chOrder[0])
		s.chOrder = s.chOrder[1:]
	}
	if len(s.challenges) >= s.cfg.MaxChallenges {
		return false
	}
	s.challenges[id] = c
	s.chOrder = append(s.chOrder, id)
	return true
}

// consumeChallenge uses up a challenge: single use, short-lived, bound to session and device.
func (s *Server) consumeChallenge(id, sessKey, deviceID string, now time.Time) ([]byte, error) {
	s.chMu.Lock()
	defer s.chMu.Unlock()
	c, ok := s.challenges[id]
	switch {
	case !ok:
		return nil, api.New(api.CodeChallengeUnknown, "")
	case c.sessKey != sessKey || c.deviceID != deviceID:
		return nil, api.New(api.CodeChallengeNotBound, "")
	case c.used:
		return nil, api.New(api.CodeChallengeReplayed, "")
	}
	c.used = true
	if now.After(c.expires) {
		return nil, api.New(api.CodeChallengeExpired, "")
	}
	return c.nonce, nil
}
