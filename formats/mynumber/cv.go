package mynumber

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/mynaconform/mynaconform/formats/tlv"
)

// Errors of the parsers and verifiers of this package. Every parse error wraps ErrMalformed.
var (
	ErrMalformed = errors.New("mynumber: malformed")
	ErrSignature = errors.New("mynumber: signature invalid")
)

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// KeyID is a 16-byte key identifier (証明者鍵ID / key reference): 7 ASCII digits, 08 05, 3 ASCII
// digits, 4 padding bytes; printed "5000023/001". Production ids start with 5, the JPKI test
// hierarchy's with 6 (docs/card.md section 9).
type KeyID [16]byte

// NewKeyID builds the key id "org/serial" (7 and 3 digits) with zero padding.
func NewKeyID(s string) (KeyID, error) {
	var k KeyID
	if len(s) != 11 || s[7] != '/' || !digits([]byte(s[:7])) || !digits([]byte(s[8:])) {
		return k, malformed("key id %q: want 7 digits / 3 digits", s)
	}
	copy(k[:7], s[:7])
	k[7], k[8] = 0x08, 0x05
	copy(k[9:12], s[8:])
	return k, nil
}

// MustKeyID is NewKeyID for constants; it panics on a malformed id.
func MustKeyID(s string) KeyID {
	k, err := NewKeyID(s)
	if err != nil {
		panic(err)
	}
	return k
}

// String prints "5000023/001", or the hex bytes for an id of another shape.
func (k KeyID) String() string {
	if digits(k[:7]) && k[7] == 0x08 && k[8] == 0x05 && digits(k[9:12]) {
		return string(k[:7]) + "/" + string(k[9:12])
	}
	return fmt.Sprintf("%X", k[:])
}

// Test reports an id of the JPKI test hierarchy (first digit 6).
func (k KeyID) Test() bool { return k[0] == '6' }

// CardKeyLen is the length of an RSA-2048 public key in the card's encoding.
const CardKeyLen = 265

// EncodeCardKey encodes an RSA public key as the card stores it (kenkaku DF12, DF24, DF42, kenhojo
// DF51, the key of a CV certificate): 90 03 01 00 01, 91 82 01 00 <modulus>; 265 bytes for
// RSA-2048 with e = 65537.
func EncodeCardKey(pub *rsa.PublicKey) []byte {
	v := tlv.Append(make([]byte, 0, CardKeyLen), 0x90, big.NewInt(int64(pub.E)).Bytes())
	return tlv.Append(v, 0x91, pub.N.FillBytes(make([]byte, pub.Size())))
}

// ParseCardKey decodes the 90/91 public key of EncodeCardKey.
func ParseCardKey(b []byte) (*rsa.PublicKey, error) {
	e, rest, err := tlv.Parse(b)
	if err != nil || e.Tag != 0x90 {
		return nil, malformed("public key: want 90 exponent")
	}
	n, rest, err := tlv.Parse(rest)
	if err != nil || n.Tag != 0x91 || len(rest) != 0 {
		return nil, malformed("public key: want 91 modulus and nothing after")
	}
	if len(e.Value) == 0 || len(e.Value) > 4 || len(n.Value) < 64 || n.Value[0] == 0 {
		return nil, malformed("public key: exponent of %d bytes, modulus of %d", len(e.Value), len(n.Value))
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n.Value), E: int(new(big.Int).SetBytes(e.Value).Int64())}
	if pub.E < 3 || pub.E%2 == 0 {
		return nil, malformed("public key: exponent %d", pub.E)
	}
	return pub, nil
}

// CVCertificate is the card-verifiable certificate of docs/card.md section 9 (EF 0004 of both
// card-face APs; MF objects 00F8 and 7F21; and, with Extra, the terminal certificate of 80 A2):
//
//	7F21 82 02 33
//	  5F4E 82 01 29   issuer key id (16) || subject key id (16) || 90 03 01 00 01 91 82 01 00 <256>
//	  5F37 82 01 00   PKCS#1 v1.5 SHA-256 over the 5F4E value, by the issuer's key
//
// The issuer key is not on the card; the certified key signs the AP's records.
type CVCertificate struct {
	IssuerID  KeyID
	SubjectID KeyID
	PublicKey *rsa.PublicKey
	// Extra are bytes of the body after the key: none on the card's certificates; 10 in this
	// project's model of the 307-byte terminal certificate (TerminalValidity).
	Extra     []byte
	Body      []byte // the 5F4E value as signed (set by Parse and Issue)
	Signature []byte
}

// CVLen is the size of a card certificate with an RSA-2048 key in an EF: 568 bytes.
const CVLen = 568

// IssueCV fills Body and Signature and returns the 7F21 template.
func IssueCV(sign Signer, c *CVCertificate) ([]byte, error) {
	if c.PublicKey == nil {
		return nil, malformed("CV certificate: no public key")
	}
	body := make([]byte, 0, 32+CardKeyLen+len(c.Extra))
	body = append(append(append(body, c.IssuerID[:]...), c.SubjectID[:]...), EncodeCardKey(c.PublicKey)...)
	body = append(body, c.Extra...)
	sig, err := sign(sha256WithRSA(body))
	if err != nil {
		return nil, err
	}
	c.Body, c.Signature = body, sig
	return tlv.Encode(0x7F21, c.Value()), nil
}

// Value is the content of the 7F21 template (5F4E ... 5F37 ...): what GET DATA 00F8 answers.
func (c *CVCertificate) Value() []byte {
	return tlv.Append(tlv.Encode(0x5F4E, c.Body), 0x5F37, c.Signature)
}

// ParseCV decodes a 7F21 template (filler after it is ignored).
func ParseCV(b []byte) (*CVCertificate, error) {
	o, _, err := tlv.Parse(b)
	if err != nil || o.Tag != 0x7F21 {
		return nil, malformed("CV certificate: want a 7F21 template")
	}
	return ParseCVValue(o.Value)
}

// ParseCVValue decodes the value of a 7F21 template (as GET DATA 00F8 answers it).
func ParseCVValue(b []byte) (*CVCertificate, error) {
	body, rest, err := tlv.Parse(b)
	if err != nil || body.Tag != 0x5F4E {
		return nil, malformed("CV certificate: want 5F4E body")
	}
	sig, rest, err := tlv.Parse(rest)
	if err != nil || sig.Tag != 0x5F37 || len(rest) != 0 {
		return nil, malformed("CV certificate: want 5F37 signature and nothing after")
	}
	if len(body.Value) < 32+CardKeyLen {
		return nil, malformed("CV certificate: body of %d bytes", len(body.Value))
	}
	c := &CVCertificate{Body: body.Value, Signature: sig.Value}
	copy(c.IssuerID[:], body.Value[:16])
	copy(c.SubjectID[:], body.Value[16:32])
	// The key's own length decides where it ends (a terminal certificate carries Extra after it).
	e, r1, err1 := tlv.Parse(body.Value[32:])
	n, r2, err2 := tlv.Parse(r1)
	if err1 != nil || err2 != nil || e.Tag != 0x90 || n.Tag != 0x91 {
		return nil, malformed("CV certificate: key")
	}
	keyEnd := len(body.Value) - len(r2)
	if c.PublicKey, err = ParseCardKey(body.Value[32:keyEnd]); err != nil {
		return nil, err
	}
	if len(r2) > 0 {
		c.Extra = r2
	}
	return c, nil
}

// Verify checks the signature with the issuer's public key.
func (c *CVCertificate) Verify(issuer *rsa.PublicKey) error {
	return verifyT(issuer, sha256WithRSA(c.Body), c.Signature)
}

// TerminalValidity is this project's model of the 10 bytes a terminal certificate of 80 A2
// carries after its key (card.md gives the body as 307 bytes and no layout): effective date and
// expiry as BCD YYYYMMDD, then a 2-byte role (0001: the app's visual mode).
type TerminalValidity struct {
	NotBefore, NotAfter time.Time // dates (UTC); NotAfter inclusive
	Role                uint16
}

// TerminalExtraLen is the length of an encoded TerminalValidity: 307 - 297.
const TerminalExtraLen = 10

// RoleVisual is the role of terminal certificates the qualification system issues to activated
// devices.
const RoleVisual uint16 = 0x0001

// Encode is the 10 bytes.
func (v TerminalValidity) Encode() []byte {
	out := append(bcdDate(v.NotBefore), bcdDate(v.NotAfter)...)
	return append(out, byte(v.Role>>8), byte(v.Role))
}

func bcdDate(t time.Time) []byte {
	s := t.UTC().Format("20060102")
	b := make([]byte, 4)
	for i := range b {
		b[i] = (s[2*i]-'0')<<4 | (s[2*i+1] - '0')
	}
	return b
}

func parseBCDDate(b []byte) (time.Time, error) {
	var s [8]byte
	for i, c := range b {
		hi, lo := c>>4, c&0x0F
		if hi > 9 || lo > 9 {
			return time.Time{}, malformed("BCD date % X", b)
		}
		s[2*i], s[2*i+1] = '0'+hi, '0'+lo
	}
	t, err := time.Parse("20060102", string(s[:]))
	if err != nil {
		return time.Time{}, malformed("BCD date % X", b)
	}
	return t, nil
}

// ParseTerminalValidity decodes the Extra of a terminal certificate.
func ParseTerminalValidity(extra []byte) (TerminalValidity, error) {
	if len(extra) != TerminalExtraLen {
		return TerminalValidity{}, malformed("terminal certificate: %d bytes after the key, want %d", len(extra), TerminalExtraLen)
	}
	var v TerminalValidity
	var err error
	if v.NotBefore, err = parseBCDDate(extra[:4]); err != nil {
		return v, err
	}
	if v.NotAfter, err = parseBCDDate(extra[4:8]); err != nil {
		return v, err
	}
	v.Role = uint16(extra[8])<<8 | uint16(extra[9])
	return v, nil
}

// TerminalSubject is this project's model of the subject id of a terminal certificate (card.md
// gives no layout): the first 16 bytes of SHA-256 of the device id the qualification system
// assigns at activation.
func TerminalSubject(deviceID string) KeyID {
	var k KeyID
	h := sha256.Sum256([]byte(deviceID))
	copy(k[:], h[:])
	return k
}

// ValidAt reports whether the date of at lies in [NotBefore, NotAfter].
func (v TerminalValidity) ValidAt(at time.Time) bool {
	d := at.UTC().Truncate(24 * time.Hour)
	return !d.Before(v.NotBefore) && !d.After(v.NotAfter)
}

// SameKey reports whether two public keys are equal.
func SameKey(a, b *rsa.PublicKey) bool {
	return a != nil && b != nil && a.E == b.E && a.N.Cmp(b.N) == 0
}

// KeyFingerprint identifies a public key: hex SHA-256 of its card encoding (EncodeCardKey), the
// bytes a record carries. The qualification system names a card by the fingerprint of its
// card-face key.
func KeyFingerprint(pub *rsa.PublicKey) string {
	h := sha256.Sum256(EncodeCardKey(pub))
	return hex.EncodeToString(h[:])
}
