package conformance

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/fixtures/insured"
	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/formats/onshi/api"
	"github.com/mynaconform/mynaconform/readers/session"
)

// Lab runs: a physical reader (-target pcsc -reader NAME -lab) holding a real test card. The
// card plays the "adult" persona; its secrets come from the environment and are never printed
// (transcripts mask them; the suite checks that they do not appear). labRun is set by Run: the
// suite runs once per process, so this is the process's mode.
var labRun atomic.Bool

const (
	envLabPIN           = "MYNACONFORM_LAB_AUTH_PIN"       // the card's 4-digit JPKI auth PIN
	envLabVerificationB = "MYNACONFORM_LAB_VERIFICATION_B" // its 14-digit 照合番号B
	envLabAuthCA        = "MYNACONFORM_LAB_AUTH_CA"        // file: PEM or DER root(s) of its auth certificate (J-LIS)
	envLabFaceIssuer    = "MYNACONFORM_LAB_FACE_ISSUER"    // file: PEM RSA public key of the CA that issued its card-face AP's EF 0004 (J-LIS 5000023/001)
)

// EnvLabVerificationB names the environment variable of a lab test card's 照合番号B, which
// `mynaconform readers -probe -profile-out -lab` reads too.
const EnvLabVerificationB = envLabVerificationB

// labPersona is the persona a lab card plays.
const labPersona = "adult"

func isLabCard(p *fixtures.Persona) bool { return labRun.Load() && p.ID == labPersona }

// pinOf and verificationBOf give the persona's secrets: the fixture's, or the lab card's.
func pinOf(p *fixtures.Persona) []byte {
	if isLabCard(p) {
		return []byte(os.Getenv(envLabPIN))
	}
	return []byte(p.AuthPIN)
}

func verificationBOf(p *fixtures.Persona) []byte {
	if isLabCard(p) {
		return []byte(os.Getenv(envLabVerificationB))
	}
	return []byte(p.VerificationB())
}

// checkLabEnv refuses a lab run without the secrets it needs, naming the variables (never their
// values).
func checkLabEnv(o *Options) error {
	// The trust anchors of a real card, when set, must be readable before anything runs.
	if _, _, err := labTrust(); err != nil {
		return usagef("%v", err)
	}
	if !o.Lab {
		return nil
	}
	if o.Target != "pcsc" || o.Reader == "" {
		return usagej("-lab needs -target pcsc -reader NAME (the reader holding the test card)", "-lab には -target pcsc -reader 名前（テストカードを置いたリーダー）が必要です")
	}
	if len(os.Getenv(envLabPIN)) != 4 || len(os.Getenv(envLabVerificationB)) != 14 {
		return usagej("-lab: set %s (4 digits) and %s (14 digits) for the test card", "-lab: テストカードの %s（4 桁）と %s（14 桁）を設定してください", envLabPIN, envLabVerificationB)
	}
	return nil
}

// labTrust reads the optional trust anchors of a real card: the JPKI auth root(s) and the
// card-face issuer key.
func labTrust() (roots []*x509.Certificate, face *rsa.PublicKey, err error) {
	if f := os.Getenv(envLabAuthCA); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", envLabAuthCA, err)
		}
		for rest := b; ; {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil {
				break
			}
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", envLabAuthCA, err)
			}
			roots = append(roots, c)
		}
		if len(roots) == 0 {
			c, err := x509.ParseCertificate(b)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: neither PEM nor DER certificates: %w", envLabAuthCA, err)
			}
			roots = append(roots, c)
		}
	}
	if f := os.Getenv(envLabFaceIssuer); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", envLabFaceIssuer, err)
		}
		blk, _ := pem.Decode(b)
		if blk == nil {
			return nil, nil, fmt.Errorf("%s: no PEM block", envLabFaceIssuer)
		}
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", envLabFaceIssuer, err)
		}
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, nil, fmt.Errorf("%s: not an RSA key", envLabFaceIssuer)
		}
		face = rk
	}
	return roots, face, nil
}

// enrollLabCard reads the lab card's auth certificate (free to read) and, with its 照合番号B, its
// card face and EF 0004, and links them to the synthetic insured record of the persona it plays,
// so the qualification system knows the person (onshi identifies people by their auth
// certificate) and the card whose face may give visual consent for it.
func (w *world) enrollLabCard(ctx context.Context, s *session.Session) error {
	if err := s.SelectAID(ctx, mynumber.AIDJPKI); err != nil {
		return err
	}
	cert, err := s.ReadObject(ctx, mynumber.JPKIAuthCert)
	if err != nil {
		return err
	}
	req := api.EnrollRequest{AuthCertificate: cert}
	if b := os.Getenv(envLabVerificationB); b != "" {
		if err := s.SelectAID(ctx, mynumber.AIDCardFace); err != nil {
			return err
		}
		if err := s.Verify(ctx, mynumber.FaceNumberB, []byte(b), session.SecretVerificationB); err != nil {
			return err
		}
		if req.FaceRecord, err = s.ReadObject(ctx, mynumber.FaceRecordEF); err != nil {
			return err
		}
		if req.FaceCertificate, err = s.ReadObject(ctx, mynumber.FaceCV); err != nil {
			return err
		}
	}
	people, err := insured.Load()
	if err != nil {
		return err
	}
	for _, p := range people {
		if p.Persona == labPersona {
			req.PersonID = p.ID
			_, err := w.admin.EnrollCard(ctx, req)
			return err
		}
	}
	return fmt.Errorf("no insured record for persona %q", labPersona)
}

// photoCheck is the staff's comparison in the suite: with a fixture card the photo read must be
// the persona's; a lab card's photo is not known here, so it must at least be a JPEG 2000 file.
func photoCheck(p *fixtures.Persona) func(photo []byte) bool {
	if isLabCard(p) {
		return func(photo []byte) bool {
			return bytes.HasPrefix(photo, []byte{0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20})
		}
	}
	return func(photo []byte) bool { return bytes.Equal(photo, p.Photo) }
}
