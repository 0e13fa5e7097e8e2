package onshi

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/mynaconform/mynaconform/emulator/onshi/api"
	"github.com/mynaconform/mynaconform/formats/mynumber"
)

// verifiedCert caches a chain already verified to a trusted root: later requests with the same
// certificate only check the validity window and the signature. The window is the intersection
// of the chain's validity periods.
type verifiedCert struct {
	pub                 *rsa.PublicKey
	notBefore, notAfter time.Time
}

type certCache struct {
	mu sync.RWMutex
	m  map[string]*verifiedCert
}

const certCacheMax = 4096

// verifyAuthCert checks a JPKI 利用者証明用 certificate: it parses, chains to a trusted root,
// and is valid now. It returns the certificate's hash (the person's identifier) and key.
func (s *Server) verifyAuthCert(der []byte, now time.Time) (string, *rsa.PublicKey, error) {
	h := certHash(der)
	s.certs.mu.RLock()
	v, ok := s.certs.m[h]
	s.certs.mu.RUnlock()
	if !ok {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return h, nil, api.New(api.CodeCertMalformed, "")
		}
		pub, isRSA := cert.PublicKey.(*rsa.PublicKey)
		if !isRSA {
			return h, nil, api.New(api.CodeCertMalformed, "not an RSA key")
		}
		chains, err := cert.Verify(x509.VerifyOptions{Roots: s.roots, Intermediates: s.inter, CurrentTime: now,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		if err != nil {
			var ie x509.CertificateInvalidError
			if errors.As(err, &ie) && ie.Reason == x509.Expired {
				return h, nil, api.New(api.CodeCertExpired, "")
			}
			return h, nil, api.New(api.CodeCertUntrusted, "")
		}
		v = &verifiedCert{pub: pub, notBefore: cert.NotBefore, notAfter: cert.NotAfter}
		for _, c := range chains[0][1:] {
			if c.NotBefore.After(v.notBefore) {
				v.notBefore = c.NotBefore
			}
			if c.NotAfter.Before(v.notAfter) {
				v.notAfter = c.NotAfter
			}
		}
		s.certs.mu.Lock()
		if len(s.certs.m) >= certCacheMax {
			clear(s.certs.m)
		}
		s.certs.m[h] = v
		s.certs.mu.Unlock()
	}
	if now.Before(v.notBefore) || now.After(v.notAfter) {
		return h, nil, api.New(api.CodeCertExpired, "")
	}
	return h, v.pub, nil
}

func verifyChallengeSig(pub *rsa.PublicKey, nonce, sig []byte) bool {
	d := sha256.Sum256(nonce)
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig) == nil
}

// registerConsent is 同意登録. Everything expensive (chain, signatures, the face record) is
// checked before the write is queued.
func (s *Server) registerConsent(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, a, err := s.appSession(r)
	if err != nil {
		return 0, nil, err
	}
	var req api.ConsentRequest
	if err := s.decode(w, r, &req); err != nil {
		return 0, nil, err
	}
	a.action = "consent.register"
	now := s.now()
	if req.Mode != api.ModePIN && req.Mode != api.ModeVisual {
		return 0, nil, s.refuse(a, api.New(api.CodeModeInvalid, ""))
	}
	today := dateOf(now)
	validUntil := ""
	if s.cfg.ConsentValidity > 0 {
		validUntil = dateOf(now.Add(s.cfg.ConsentValidity))
	}
	if req.ValidUntil != "" {
		if _, err := parseDate(req.ValidUntil); err != nil || req.ValidUntil <= today {
			return 0, nil, s.refuse(a, api.New(api.CodeValidUntilInvalid, ""))
		}
		if validUntil == "" || req.ValidUntil < validUntil {
			validUntil = req.ValidUntil
		}
	}
	nonce, err := s.consumeChallenge(req.ChallengeID, secretHash(bearer(r)), se.deviceID, now)
	if err != nil {
		return 0, nil, s.refuse(a, err)
	}
	hash, pub, err := s.verifyAuthCert(req.AuthCertificate, now)
	if err != nil {
		return 0, nil, s.refuse(a, err)
	}
	s.mu.RLock()
	personID, enrolled := s.enrolled[hash]
	s.mu.RUnlock()
	a.target = personID
	var face *mynumber.FaceRecord
	switch req.Mode {
	case api.ModePIN:
		if !verifyChallengeSig(pub, nonce, req.Signature) {
			return 0, nil, s.refuse(a, api.New(api.CodeSignatureInvalid, ""))
		}
	case api.ModeVisual:
		if face, err = mynumber.ParseFaceRecord(req.FaceRecord); err != nil {
			return 0, nil, s.refuse(a, api.New(api.CodeFaceRecordMalformed, ""))
		}
		if face.Verify(s.cfg.FaceIssuer) != nil {
			return 0, nil, s.refuse(a, api.New(api.CodeFaceRecordTampered, ""))
		}
		if !verifyChallengeSig(face.CardKey, nonce, req.CardSignature) {
			return 0, nil, s.refuse(a, api.New(api.CodeCardSignatureInvalid, ""))
		}
		if !req.StaffConfirmed {
			return 0, nil, s.refuse(a, api.New(api.CodeStaffNotConfirmed, ""))
		}
	}
	if !enrolled {
		return 0, nil, s.refuse(a, api.New(api.CodePersonNotEnrolled, ""))
	}
	p := s.people[personID]
	if p == nil { // enrolled in the database to a record no longer configured
		return 0, nil, s.refuse(a, api.New(api.CodePersonUnknown, ""))
	}
	if face != nil {
		// The face record must describe the person the auth certificate identifies.
		if face.BirthDate != compactDate(p.BirthDate) || face.Sex != p.Sex {
			return 0, nil, s.refuse(a, api.New(api.CodeFaceRecordMismatch, ""))
		}
	}
	c := api.Consent{ID: newID("CN"), Mode: req.Mode, Items: req.Items, DeviceID: se.deviceID, UserID: se.userID,
		GivenAt: now.UTC(), ValidUntil: validUntil}
	a.target = c.ID + " person:" + personID
	err = s.st.write(&writeOp{at: now, audit: a, apply: func(tx *sql.Tx, _ *auditRec) error {
		_, err := tx.Stmt(s.st.insConsent).Exec(c.ID, se.institution, personID, hash, c.DeviceID, c.UserID, c.Mode,
			c.Items.Medication, c.Items.Clinical, c.Items.Checkup, now.UnixNano(), c.ValidUntil)
		return err
	}})
	if err != nil {
		return 0, nil, err
	}
	cr := consentRow{Consent: c, institution: se.institution, personID: personID}
	return http.StatusCreated, api.ConsentResponse{Consent: c, Result: s.result(&cr)}, nil
}

// compactDate turns YYYY-MM-DD into the card's YYYYMMDD.
func compactDate(d string) string {
	if len(d) != 10 {
		return d
	}
	return d[0:4] + d[5:7] + d[8:10]
}

func (s *Server) revokeConsent(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, a, err := s.appSession(r)
	if err != nil {
		return 0, nil, err
	}
	id := r.PathValue("id")
	a.action, a.target = "consent.revoke", id
	now := s.now()
	err = s.st.write(&writeOp{at: now, audit: a, apply: func(tx *sql.Tx, _ *auditRec) error {
		var inst string
		var rev sql.NullInt64
		err := tx.QueryRow(`SELECT institution, revoked_at FROM consents WHERE id = ?`, id).Scan(&inst, &rev)
		switch {
		case errors.Is(err, sql.ErrNoRows) || (err == nil && inst != se.institution):
			return api.New(api.CodeConsentUnknown, "")
		case err != nil:
			return err
		case rev.Valid:
			return api.New(api.CodeConsentRevoked, "already revoked")
		}
		_, err = tx.Exec(`UPDATE consents SET revoked_at = ? WHERE id = ?`, now.UnixNano(), id)
		return err
	}})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, struct{}{}, nil
}

// consentRow is a consent as stored.
type consentRow struct {
	api.Consent
	institution, personID string
}

func scanConsent(sc interface{ Scan(...any) error }) (*consentRow, error) {
	var c consentRow
	var given int64
	var rev sql.NullInt64
	if err := sc.Scan(&c.ID, &c.institution, &c.personID, &c.DeviceID, &c.UserID, &c.Mode,
		&c.Items.Medication, &c.Items.Clinical, &c.Items.Checkup, &given, &c.ValidUntil, &rev); err != nil {
		return nil, err
	}
	c.GivenAt, c.RevokedAt = fromNanos(given), nullTime(rev)
	return &c, nil
}

// state is nil for a consent in force, else why not.
func (c *consentRow) state(now time.Time) error {
	if c.RevokedAt != nil {
		return api.New(api.CodeConsentRevoked, "")
	}
	if c.ValidUntil != "" && dateOf(now) > c.ValidUntil {
		return api.New(api.CodeConsentExpired, "valid until "+c.ValidUntil)
	}
	return nil
}
