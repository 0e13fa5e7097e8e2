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
	issuerKey           string // hex SHA-256 of the issuing CA's public key (PKIX DER): the CRL's key
	serial              string // decimal serial number
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
		v = &verifiedCert{pub: pub, notBefore: cert.NotBefore, notAfter: cert.NotAfter, serial: cert.SerialNumber.String()}
		if len(chains[0]) > 1 {
			v.issuerKey = certHash(chains[0][1].RawSubjectPublicKeyInfo)
		}
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
	// Revocation is checked at every use: a list loaded later applies to cached certificates.
	if at, ok := s.revoked.lookup(v.issuerKey, v.serial); ok && !now.Before(at) {
		return h, nil, api.Newf(api.CodeCertRevoked, "revoked %s", at.UTC().Format(time.RFC3339))
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
	se, err := s.auth(r, false)
	if err != nil {
		return 0, nil, err
	}
	ri := info(r)
	var req api.ConsentRequest
	if err := s.decode(w, r, &req); err != nil {
		return 0, nil, err
	}
	now := s.now()
	if req.Mode != api.ModePIN && req.Mode != api.ModeVisual {
		return 0, nil, api.New(api.CodeModeInvalid, "")
	}
	today := dateOf(now)
	validUntil := ""
	if s.cfg.ConsentValidity > 0 {
		validUntil = dateOf(now.Add(s.cfg.ConsentValidity))
	}
	if req.ValidUntil != "" {
		if _, err := parseDate(req.ValidUntil); err != nil || req.ValidUntil <= today {
			return 0, nil, api.New(api.CodeValidUntilInvalid, "")
		}
		if validUntil == "" || req.ValidUntil < validUntil {
			validUntil = req.ValidUntil
		}
	}
	nonce, err := s.consumeChallenge(req.ChallengeID, se.key, se.deviceID, now)
	if err != nil {
		return 0, nil, err
	}
	hash, pub, err := s.verifyAuthCert(req.AuthCertificate, now)
	if err != nil {
		return 0, nil, err
	}
	en, enrolled := s.enrollmentOf(se.institution, hash)
	if enrolled {
		ri.target = "person:" + en.personID
	}
	var face *mynumber.FaceRecord
	switch req.Mode {
	case api.ModePIN:
		if !verifyChallengeSig(pub, nonce, req.Signature) {
			return 0, nil, api.New(api.CodeSignatureInvalid, "")
		}
	case api.ModeVisual:
		if face, err = mynumber.ParseFaceRecord(req.FaceRecord); err != nil {
			return 0, nil, api.New(api.CodeFaceRecordMalformed, "")
		}
		if face.Verify(s.cfg.FaceIssuer) != nil {
			return 0, nil, api.New(api.CodeFaceRecordTampered, "")
		}
		if !verifyChallengeSig(face.CardKey, nonce, req.CardSignature) {
			return 0, nil, api.New(api.CodeCardSignatureInvalid, "")
		}
		if !req.StaffConfirmed {
			return 0, nil, api.New(api.CodeStaffNotConfirmed, "")
		}
	}
	if !enrolled {
		return 0, nil, api.New(api.CodePersonNotEnrolled, "")
	}
	p := s.people[en.personID]
	if p == nil { // enrolled in the database to a record no longer configured
		return 0, nil, api.New(api.CodePersonUnknown, "")
	}
	if face != nil {
		// The face record must describe the person the auth certificate identifies.
		if face.BirthDate != compactDate(p.BirthDate) || face.Sex != p.Sex {
			return 0, nil, api.New(api.CodeFaceRecordMismatch, "")
		}
	}
	c := api.Consent{ID: newID("CN"), Mode: req.Mode, Items: req.Items, DeviceID: se.deviceID, UserID: se.userID,
		GivenAt: now.UTC(), ValidUntil: validUntil}
	ri.target = c.ID + " person:" + en.personID
	err = s.commit(ri, func(tx *sql.Tx, _ *auditRec) error {
		_, err := tx.Stmt(s.st.insConsent).Exec(c.ID, se.institution, en.personID, hash, c.DeviceID, c.UserID, c.Mode,
			c.Items.Medication, c.Items.Clinical, c.Items.Checkup, false, false, "", now.UnixNano(), c.ValidUntil)
		return err
	}, nil)
	if err != nil {
		return 0, nil, err
	}
	cr := consentRow{Consent: c, institution: se.institution, personID: en.personID}
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
	se, err := s.auth(r, false)
	if err != nil {
		return 0, nil, err
	}
	id := r.PathValue("id")
	info(r).target = id
	now := s.now()
	err = s.commit(info(r), func(tx *sql.Tx, _ *auditRec) error {
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
	}, nil)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, struct{}{}, nil
}

// consentRow is a consent as stored.
type consentRow struct {
	api.Consent
	institution, personID string
	limitCert, disease    bool   // 限度額適用認定証 and 特定疾病療養受療証 consent items
	prescription          string // 処方箋の発行形態 as recorded
}

// consentCols are the columns scanConsent reads.
const consentCols = `id, institution, person_id, device_id, user_id, mode, medication, clinical, checkup, limit_certificate, specific_disease, prescription_issue, given_at, valid_until, revoked_at`

func scanConsent(sc interface{ Scan(...any) error }) (*consentRow, error) {
	var c consentRow
	var given int64
	var rev sql.NullInt64
	var limitCert, disease bool
	var prescription string
	if err := sc.Scan(&c.ID, &c.institution, &c.personID, &c.DeviceID, &c.UserID, &c.Mode,
		&c.Items.Medication, &c.Items.Clinical, &c.Items.Checkup, &limitCert, &disease, &prescription, &given, &c.ValidUntil, &rev); err != nil {
		return nil, err
	}
	c.GivenAt, c.RevokedAt = fromNanos(given), nullTime(rev)
	c.limitCert, c.disease, c.prescription = limitCert, disease, prescription
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
