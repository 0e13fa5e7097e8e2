package card

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/mynaconform/mynaconform/formats/tlv"
)

// CVCertificate is a card-verifiable certificate in the shape of ISO/IEC 7816-8 / BSI TR-03110:
//
//	7F21 { 5F4E body { 5F29 profile, 42 CAR, 7F49 { 81 modulus, 82 exponent }, 5F20 CHR,
//	                   5F25 effective YYMMDD, 5F24 expiry YYMMDD },
//	       5F37 signature }
//
// The signature is RSA PKCS#1 v1.5 with SHA-256 over the encoded 5F4E object. It is the shape of
// the card-face APs' EF 0004 (issuer certificate) and of the terminal certificates the app sends
// with 80 A2 (body >= 307 bytes with an RSA-2048 key, so it needs extended Lc). The real card's
// profile is not public: this is the project's model (card.md).
type CVCertificate struct {
	CAR       string         // certification authority reference
	CHR       string         // certificate holder reference (device ID for terminals)
	PublicKey *rsa.PublicKey // holder key
	NotBefore time.Time      // date only (UTC)
	NotAfter  time.Time      // date only (UTC), inclusive
	Body      []byte         // encoded 5F4E object as signed (set by Parse)
	Signature []byte
}

// Errors of ParseCV and Verify.
var (
	ErrCVMalformed = errors.New("card-verifiable certificate malformed")
	ErrCVSignature = errors.New("card-verifiable certificate signature invalid")
	ErrCVExpired   = errors.New("card-verifiable certificate not valid at this date")
)

func cvDate(t time.Time) []byte {
	s := t.UTC().Format("060102")
	b := make([]byte, 6)
	for i := range b {
		b[i] = s[i] - '0'
	}
	return b
}

func parseCVDate(b []byte) (time.Time, error) {
	if len(b) != 6 {
		return time.Time{}, ErrCVMalformed
	}
	var s [6]byte
	for i, d := range b {
		if d > 9 {
			return time.Time{}, ErrCVMalformed
		}
		s[i] = '0' + d
	}
	return time.Parse("060102", string(s[:]))
}

// encodeCVKey encodes an RSA public key as 7F49 { 81 modulus, 82 exponent }.
func encodeCVKey(pub *rsa.PublicKey) []byte {
	var v []byte
	v = tlv.Append(v, 0x81, pub.N.Bytes())
	v = tlv.Append(v, 0x82, big.NewInt(int64(pub.E)).Bytes())
	return tlv.Encode(0x7F49, v)
}

// IssueCV encodes and signs a card-verifiable certificate with the CA key.
func IssueCV(ca *rsa.PrivateKey, c CVCertificate) ([]byte, error) {
	if c.PublicKey == nil {
		return nil, fmt.Errorf("%w: no public key", ErrCVMalformed)
	}
	var body []byte
	body = tlv.Append(body, 0x5F29, []byte{0x00})
	body = tlv.Append(body, 0x42, []byte(c.CAR))
	body = append(body, encodeCVKey(c.PublicKey)...)
	body = tlv.Append(body, 0x5F20, []byte(c.CHR))
	body = tlv.Append(body, 0x5F25, cvDate(c.NotBefore))
	body = tlv.Append(body, 0x5F24, cvDate(c.NotAfter))
	enc := tlv.Encode(0x5F4E, body)
	h := sha256.Sum256(enc)
	sig, err := rsa.SignPKCS1v15(nil, ca, crypto.SHA256, h[:])
	if err != nil {
		return nil, err
	}
	out := append(append([]byte(nil), enc...), tlv.Encode(0x5F37, sig)...)
	return tlv.Encode(0x7F21, out), nil
}

// ParseCV decodes a card-verifiable certificate (7F21 object; trailing filler is ignored).
func ParseCV(b []byte) (*CVCertificate, error) {
	outer, _, err := tlv.Parse(b)
	if err != nil || outer.Tag != 0x7F21 {
		return nil, fmt.Errorf("%w: want 7F21 object", ErrCVMalformed)
	}
	bodyObj, rest, err := tlv.Parse(outer.Value)
	if err != nil || bodyObj.Tag != 0x5F4E {
		return nil, fmt.Errorf("%w: want 5F4E body", ErrCVMalformed)
	}
	bodyEnc := outer.Value[:len(outer.Value)-len(rest)]
	sigObj, _, err := tlv.Parse(rest)
	if err != nil || sigObj.Tag != 0x5F37 {
		return nil, fmt.Errorf("%w: want 5F37 signature", ErrCVMalformed)
	}
	objs, err := tlv.ParseAll(bodyObj.Value)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCVMalformed, err)
	}
	c := &CVCertificate{Body: bodyEnc, Signature: sigObj.Value}
	car, _ := tlv.Find(objs, 0x42)
	chr, _ := tlv.Find(objs, 0x5F20)
	c.CAR, c.CHR = string(car), string(chr)
	keyV, ok := tlv.Find(objs, 0x7F49)
	if !ok {
		return nil, fmt.Errorf("%w: no 7F49 public key", ErrCVMalformed)
	}
	kobjs, err := tlv.ParseAll(keyV)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCVMalformed, err)
	}
	n, ok1 := tlv.Find(kobjs, 0x81)
	e, ok2 := tlv.Find(kobjs, 0x82)
	if !ok1 || !ok2 || len(e) == 0 || len(e) > 4 || len(n) < 64 {
		return nil, fmt.Errorf("%w: bad RSA key", ErrCVMalformed)
	}
	c.PublicKey = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	nb, _ := tlv.Find(objs, 0x5F25)
	na, _ := tlv.Find(objs, 0x5F24)
	if c.NotBefore, err = parseCVDate(nb); err != nil {
		return nil, fmt.Errorf("%w: effective date", ErrCVMalformed)
	}
	if c.NotAfter, err = parseCVDate(na); err != nil {
		return nil, fmt.Errorf("%w: expiry date", ErrCVMalformed)
	}
	return c, nil
}

// Verify checks the signature with the CA public key and, when at is not zero, the validity
// dates (inclusive, by date).
func (c *CVCertificate) Verify(ca *rsa.PublicKey, at time.Time) error {
	h := sha256.Sum256(c.Body)
	if err := rsa.VerifyPKCS1v15(ca, crypto.SHA256, h[:], c.Signature); err != nil {
		return ErrCVSignature
	}
	if !at.IsZero() {
		d := at.UTC().Truncate(24 * time.Hour)
		if d.Before(c.NotBefore) || d.After(c.NotAfter) {
			return ErrCVExpired
		}
	}
	return nil
}

// EncodeCVPublicKey encodes an RSA public key the way EF 0016 (terminal CA key) stores it:
// 7F49 { 81 modulus, 82 exponent }.
func EncodeCVPublicKey(pub *rsa.PublicKey) []byte { return encodeCVKey(pub) }
