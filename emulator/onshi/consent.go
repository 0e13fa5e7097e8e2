package onshi

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/formats/onshi/api"
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
	if _, ok := prescriptionCodes[req.PrescriptionIssue]; req.PrescriptionIssue != "" && !ok {
		return 0, nil, api.New(api.CodePrescriptionIssueInvalid, "")
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
		if face, err = s.verifyCardFace(req.FaceRecord, req.FaceCertificate); err != nil {
			return 0, nil, err
		}
		// The card-presence signature: the card-face key of the record, over this challenge.
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
	if face != nil {
		// One card: the card that signed the challenge is the card the auth certificate was
		// issued on (its card-face key is the one enrolled with the certificate).
		if en.cardKeyHash == "" {
			return 0, nil, api.New(api.CodeCardKeyNotEnrolled, "")
		}
		if mynumber.KeyFingerprint(face.CardKey) != en.cardKeyHash {
			return 0, nil, api.New(api.CodeCardMismatch, "")
		}
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
		if req.InputSupport != nil {
			if err := s.checkInputSupport(req.InputSupport, p); err != nil {
				return 0, nil, err
			}
		}
	}
	c := api.Consent{ID: newID("CN"), Mode: req.Mode, Items: req.Items, DeviceID: se.deviceID, UserID: se.userID,
		GivenAt: now.UTC(), ValidUntil: validUntil, PrescriptionIssue: req.PrescriptionIssue}
	ri.target = c.ID + " person:" + en.personID
	err = s.commit(ri, func(tx *sql.Tx, _ *auditRec) error {
		_, err := tx.Stmt(s.st.insConsent).Exec(c.ID, se.institution, en.personID, hash, c.DeviceID, c.UserID, c.Mode,
			c.Items.Medication, c.Items.Clinical, c.Items.Checkup, c.Items.LimitCertificate, c.Items.SpecificDisease, c.PrescriptionIssue,
			now.UnixNano(), c.ValidUntil)
		return err
	}, nil)
	if err != nil {
		return 0, nil, err
	}
	cr := consentRow{Consent: c, institution: se.institution, personID: en.personID,
		limitCert: c.Items.LimitCertificate, disease: c.Items.SpecificDisease, prescription: c.PrescriptionIssue}
	return http.StatusCreated, api.ConsentResponse{Consent: c, Result: s.result(&cr)}, nil
}

// verifyCardFace checks a card face as card.md v2 has it: EF 0004 is a card-verifiable
// certificate signed by a trusted card-face CA, and the key it certifies signed the face record
// (DF28). It returns the record, whose DF24 is the card's card-face key.
func (s *Server) verifyCardFace(record, certificate []byte) (*mynumber.FaceRecord, error) {
	face, err := mynumber.ParseFaceRecord(record)
	if err != nil {
		return nil, api.New(api.CodeFaceRecordMalformed, "")
	}
	signer, err := verifyCardCV(certificate, s.cfg.CardFaceCAs)
	if err != nil {
		return nil, api.New(api.CodeFaceCertificateUntrusted, err.Error())
	}
	if face.Verify(signer) != nil {
		return nil, api.New(api.CodeFaceRecordTampered, "")
	}
	return face, nil
}

// verifyCardCV parses an EF 0004 certificate and verifies it with one of the CA keys; it
// returns the key it certifies.
func verifyCardCV(b []byte, cas []*rsa.PublicKey) (*rsa.PublicKey, error) {
	if len(b) == 0 {
		return nil, errors.New("no EF 0004 certificate")
	}
	cv, err := mynumber.ParseCV(b)
	if err != nil {
		return nil, errors.New("EF 0004 is not a card-verifiable certificate")
	}
	for _, ca := range cas {
		if cv.Verify(ca) == nil {
			return cv.PublicKey, nil
		}
	}
	return nil, fmt.Errorf("EF 0004 issuer %s is not trusted", cv.IssuerID)
}

// checkInputSupport verifies 券面事項入力補助AP records read with 照合番号B: EF 0004 by a trusted
// input-support CA, EF 0003's signature by the key it certifies, H2 over EF 0002, and EF 0002's
// name, birth date and sex against the insured record. (H1 covers EF 0001, the My Number, which
// 照合番号B does not open: it is not checked.)
func (s *Server) checkInputSupport(in *api.InputSupport, p *Person) error {
	signer, err := verifyCardCV(in.Certificate, s.cfg.InputSupportCAs)
	if err != nil {
		return api.New(api.CodeInputSupportInvalid, err.Error())
	}
	g, err := mynumber.ParseIntegrity(in.Integrity)
	if err != nil || g.Verify(signer) != nil {
		return api.New(api.CodeInputSupportInvalid, "EF 0003")
	}
	basic, err := mynumber.ParseBasicFour(in.BasicFour)
	if err != nil {
		return api.New(api.CodeInputSupportInvalid, "EF 0002")
	}
	hashed, err := mynumber.BasicFourHashed(in.BasicFour)
	if err != nil || sha256.Sum256(hashed) != g.H2 {
		return api.New(api.CodeInputSupportInvalid, "H2 does not cover EF 0002")
	}
	if basic.Name != p.Name || basic.BirthDate != compactDate(p.BirthDate) || basic.Sex != p.Sex {
		return api.New(api.CodeInputSupportMismatch, "")
	}
	return nil
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
	c.Items.LimitCertificate, c.Items.SpecificDisease, c.PrescriptionIssue = limitCert, disease, prescription
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
