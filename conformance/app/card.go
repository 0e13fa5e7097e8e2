package app

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/readers/session"
)

// faceSigNoKey is P2 00 of COMPUTE DIGITAL SIGNATURE: the card-face AP's card-presence
// signature, with the AP's own key and no credential (card.md section 7).
const faceSigNoKey mynumber.FID = 0

// Step names, as they appear in transcripts and in failure reasons.
const (
	StepReadAuthCert     = "read auth certificate"
	StepVerifyPIN        = "VERIFY auth PIN"
	StepSignChallenge    = "sign challenge (auth key)"
	StepTerminalCert     = "terminal certificate (80 A2)"
	StepVerifyB          = "VERIFY 照合番号B"
	StepReadCardFace     = "read card face (EF 0002)"
	StepReadFaceCert     = "read face certificate (EF 0004)"
	StepCheckFace        = "check face-record signature"
	StepCardPresence     = "card-presence signature"
	StepStaffConfirm     = "staff face confirmation"
	StepRegisterConsent  = "register consent"
	StepActivate         = "activation (first login)"
	StepLogin            = "login"
	StepChallenge        = "get challenge"
	StepLookup           = "資格確認結果検索"
	StepConnect          = "connect to card"
	StepCheckCertificate = "check auth certificate"
)

// StepError is a failure of one step of a flow. Its message names the step and the cause, as the
// supported-device list shows it; errors.Is/As reach the cause (a session status error, a
// readers transport error, an api error).
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return e.Step + ": " + e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

func stepErr(step string, err error) error {
	if err == nil {
		return nil
	}
	var se *StepError
	if errors.As(err, &se) {
		return err
	}
	return &StepError{Step: step, Err: err}
}

// FailedStep returns the step name of a StepError in err's chain, or "".
func FailedStep(err error) string {
	var se *StepError
	if errors.As(err, &se) {
		return se.Step
	}
	return ""
}

// digestInfo is DigestInfo(SHA-256(msg)): what the card signs with P1 00 (OpenSC's usage).
func digestInfo(msg []byte) []byte {
	h := sha256.Sum256(msg)
	return mynumber.DigestInfoSHA256(h[:])
}

// readAuthCert selects JPKI-AP and reads the user-authentication certificate (free to read):
// the first step of both modes.
func readAuthCert(ctx context.Context, s *session.Session) ([]byte, error) {
	s.Step(StepReadAuthCert)
	if err := s.SelectAID(ctx, mynumber.AIDJPKI); err != nil {
		return nil, stepErr(StepReadAuthCert, err)
	}
	cert, err := s.ReadObject(ctx, mynumber.JPKIAuthCert)
	if err != nil {
		return nil, stepErr(StepReadAuthCert, err)
	}
	return cert, nil
}

// PINEvidence is what the card yields in PIN mode.
type PINEvidence struct {
	AuthCert  []byte // DER
	Signature []byte // PKCS#1 v1.5 SHA-256 over the challenge, by the auth key
}

// ReadPINEvidence runs the PIN-mode card steps: read the auth certificate, VERIFY the auth PIN,
// sign the challenge with the auth key. Only short APDUs are needed.
func ReadPINEvidence(ctx context.Context, s *session.Session, pin []byte, challenge []byte) (*PINEvidence, error) {
	cert, err := readAuthCert(ctx, s)
	if err != nil {
		return nil, err
	}
	s.Step(StepVerifyPIN)
	if err := s.Verify(ctx, mynumber.JPKIAuthPIN, pin, session.SecretPIN); err != nil {
		return nil, stepErr(StepVerifyPIN, err)
	}
	s.Step(StepSignChallenge)
	sig, err := s.Sign(ctx, mynumber.SigPKCS1Raw, mynumber.JPKIAuthKey, digestInfo(challenge))
	if err != nil {
		return nil, stepErr(StepSignChallenge, err)
	}
	return &PINEvidence{AuthCert: cert, Signature: sig}, nil
}

// VisualConfig switches the modelled visual-mode steps.
type VisualConfig struct {
	// SkipTerminalCert omits the 80 A2 terminal certificate (default: sent, as the official app
	// requires extended Lc for the visual mode).
	SkipTerminalCert bool
	// TerminalCert is the device's terminal certificate, issued at activation.
	TerminalCert []byte
	// FaceCAs are the trusted keys of the card-face AP's certificate authority: the issuers of
	// EF 0004 (production 5000023/001, the test hierarchy's 6000023/001). EF 0004 certifies the
	// key that signed the face record; the CA key is on no card.
	FaceCAs []*rsa.PublicKey
	// Confirm is the staff's comparison of the photo read from the card with the patient; nil
	// means the staff confirm.
	Confirm func(photo []byte) bool
}

// VisualEvidence is what the card yields in visual mode.
type VisualEvidence struct {
	AuthCert        []byte
	FaceRecord      []byte // EF 0002 as read (the BER object)
	FaceCertificate []byte // EF 0004: the CV certificate of the face record's signer
	CardSignature   []byte // card-presence signature over the challenge
	Face            *mynumber.FaceRecord
}

// faceSigner verifies a card-face AP's EF 0004 with the trusted CAs (pymyna checks it against
// 5000033 the same way) and returns the key it certifies: the one that signs the AP's records.
func faceSigner(cv []byte, cas []*rsa.PublicKey) (*rsa.PublicKey, error) {
	if len(cas) == 0 {
		return nil, errors.New("no trusted card-face CA key configured")
	}
	c, err := mynumber.ParseCV(cv)
	if err != nil {
		return nil, err
	}
	for _, ca := range cas {
		if c.Verify(ca) == nil {
			return c.PublicKey, nil
		}
	}
	return nil, fmt.Errorf("EF 0004 (issuer %v) is signed by none of the trusted card-face CAs: %w", c.IssuerID, mynumber.ErrSignature)
}

// ReadVisualEvidence runs the visual-mode (目視確認) card steps.
func ReadVisualEvidence(ctx context.Context, s *session.Session, cfg VisualConfig, verificationB []byte, challenge []byte) (*VisualEvidence, error) {
	cert, err := readAuthCert(ctx, s)
	if err != nil {
		return nil, err
	}
	if !cfg.SkipTerminalCert {
		s.Step(StepTerminalCert)
		if len(cfg.TerminalCert) == 0 {
			return nil, stepErr(StepTerminalCert, errors.New("no terminal certificate: the device is not activated"))
		}
		if err := s.TerminalCertificate(ctx, cfg.TerminalCert); err != nil {
			return nil, stepErr(StepTerminalCert, err)
		}
	}
	s.Step(StepVerifyB)
	if err := s.SelectAID(ctx, mynumber.AIDCardFace); err != nil {
		return nil, stepErr(StepVerifyB, err)
	}
	if err := s.Verify(ctx, mynumber.FaceNumberB, verificationB, session.SecretVerificationB); err != nil {
		return nil, stepErr(StepVerifyB, err)
	}
	s.Step(StepReadCardFace)
	raw, err := s.ReadObject(ctx, mynumber.FaceRecordEF)
	if err != nil {
		return nil, stepErr(StepReadCardFace, err)
	}
	s.Step(StepReadFaceCert)
	cv, err := s.ReadObject(ctx, mynumber.FaceCV)
	if err != nil {
		return nil, stepErr(StepReadFaceCert, err)
	}
	s.Step(StepCheckFace)
	rec, err := mynumber.ParseFaceRecord(raw)
	if err != nil {
		return nil, stepErr(StepCheckFace, err)
	}
	signer, err := faceSigner(cv, cfg.FaceCAs)
	if err != nil {
		return nil, stepErr(StepCheckFace, err)
	}
	if err := rec.Verify(signer); err != nil {
		return nil, stepErr(StepCheckFace, err)
	}
	s.Step(StepCardPresence)
	sig, err := s.Sign(ctx, mynumber.SigPKCS1Raw, faceSigNoKey, digestInfo(challenge))
	if err != nil {
		return nil, stepErr(StepCardPresence, err)
	}
	s.Step(StepStaffConfirm)
	if cfg.Confirm != nil && !cfg.Confirm(rec.Photo) {
		return nil, stepErr(StepStaffConfirm, fmt.Errorf("staff did not confirm the face photo"))
	}
	return &VisualEvidence{AuthCert: cert, FaceRecord: raw, FaceCertificate: cv, CardSignature: sig, Face: rec}, nil
}
