package mynumber

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"strconv"

	"github.com/mynaconform/mynaconform/formats/tlv"
)

// MyNumberRecordLen is the physical size of kenhojo EF 0001: FF 10 0C, 12 digits, FF FF.
const MyNumberRecordLen = 17

// EncodeMyNumberRecord is kenhojo EF 0001 as stored: FF 10 0C + 12 ASCII digits + FF FF (17
// bytes; the integrity hash H1 covers all 17).
func EncodeMyNumberRecord(myNumber string) ([]byte, error) {
	if len(myNumber) != 12 || !digits([]byte(myNumber)) {
		return nil, malformed("My Number: want 12 digits")
	}
	return append(append([]byte{0xFF, 0x10, 0x0C}, myNumber...), 0xFF, 0xFF), nil
}

// ParseMyNumberRecord decodes kenhojo EF 0001 (the object; filler after it ignored). Errors never
// quote the digits.
func ParseMyNumberRecord(b []byte) (string, error) {
	o, _, err := tlv.Parse(b)
	if err != nil || o.Tag != 0xFF10 || len(o.Value) != 12 || !digits(o.Value) {
		return "", malformed("kenhojo EF 0001: want FF10 with 12 digits")
	}
	return string(o.Value), nil
}

// BasicFour is kenhojo EF 0002 (基本4情報; opened by the PIN or 照合番号B):
// FF20 LL { DF21 08 <4 offsets>, DF22 name, DF23 address, DF24 08 birth "YYYYMMDD", DF25 01 sex }.
// Name: UTF-8, family and given name separated by U+3000; address UTF-8 with full-width digits.
type BasicFour struct {
	Name      string
	Address   string
	BirthDate string
	Sex       int
	Offsets   []int // DF21 as read or written
}

var basicTags = []uint16{0xDF22, 0xDF23, 0xDF24, 0xDF25}

// Encode encodes the record (without filler). The outer length is one byte below 128 bytes of
// content, as on the test card (FF 20 65 ...): pymyna reads that byte alone.
func (r *BasicFour) Encode() ([]byte, error) {
	if err := checkDate("birth date", []byte(r.BirthDate)); err != nil {
		return nil, err
	}
	if r.Sex < 0 || r.Sex > 9 {
		return nil, malformed("sex %d: want a JIS X 0303 digit", r.Sex)
	}
	rec, st, err := encodeOffsetRecord(0xFF20, []field{
		{0xDF22, []byte(r.Name)}, {0xDF23, []byte(r.Address)}, {0xDF24, []byte(r.BirthDate)}, {0xDF25, []byte(strconv.Itoa(r.Sex))},
	})
	r.Offsets = st
	return rec, err
}

// ParseBasicFour decodes kenhojo EF 0002 and checks DF21.
func ParseBasicFour(b []byte) (*BasicFour, error) {
	v, sp, err := parseOffsetRecord(b, 0xFF20, basicTags)
	if err != nil {
		return nil, err
	}
	if err := checkDate("DF24 birth date", v[2]); err != nil {
		return nil, err
	}
	sex, err := parseSex(v[3])
	if err != nil {
		return nil, err
	}
	r := &BasicFour{Name: string(v[0]), Address: string(v[1]), BirthDate: string(v[2]), Sex: sex}
	for _, s := range sp {
		r.Offsets = append(r.Offsets, s[0])
	}
	return r, nil
}

// BasicFourHashed is what H2 covers: kenhojo EF 0002 from the DF22 tag to the end of the FF20
// value (the offset table and any filler excluded; pymyna: the FF20 value from its byte 11).
func BasicFourHashed(ef0002 []byte) ([]byte, error) {
	_, sp, err := parseOffsetRecord(ef0002, 0xFF20, basicTags)
	if err != nil {
		return nil, err
	}
	return ef0002[sp[0][0]:sp[len(sp)-1][1]], nil
}

// IntegrityLen is the size of kenhojo EF 0003.
const IntegrityLen = 336

// Integrity is kenhojo EF 0003 (opened by the PIN, 照合番号A or B), 336 bytes:
// FF30 82 01 4B { DF31 20 <H1>, DF32 20 <H2>, DF33 82 01 00 <sig> }. H1 = SHA-256 of the 17
// physical bytes of EF 0001; H2 = SHA-256 of BasicFourHashed(EF 0002); DF33 = sha256WithRSA over
// the DF31 and DF32 TLVs (70 bytes) by the key certified in EF 0004.
type Integrity struct {
	H1, H2    [32]byte
	Signature []byte
}

func (g *Integrity) signed() []byte { return tlv.Append(tlv.Encode(0xDF31, g.H1[:]), 0xDF32, g.H2[:]) }

// NewIntegrity computes H1 and H2 from the two files as stored.
func NewIntegrity(ef0001, ef0002 []byte) (*Integrity, error) {
	b2, err := BasicFourHashed(ef0002)
	if err != nil {
		return nil, err
	}
	return &Integrity{H1: sha256.Sum256(ef0001), H2: sha256.Sum256(b2)}, nil
}

// Encode signs and encodes the record.
func (g *Integrity) Encode(sign Signer) ([]byte, error) {
	s := g.signed()
	sig, err := sign(sha256WithRSA(s))
	if err != nil {
		return nil, err
	}
	g.Signature = sig
	return tlv.Encode(0xFF30, tlv.Append(s, 0xDF33, sig)), nil
}

// ParseIntegrity decodes kenhojo EF 0003.
func ParseIntegrity(b []byte) (*Integrity, error) {
	v, _, err := parseFields(b, 0xFF30, 0xDF31, 0xDF32, 0xDF33)
	if err != nil {
		return nil, err
	}
	if len(v[0]) != 32 || len(v[1]) != 32 {
		return nil, malformed("FF30: DF31/DF32 of %d/%d bytes, want 32", len(v[0]), len(v[1]))
	}
	g := &Integrity{Signature: v[2]}
	copy(g.H1[:], v[0])
	copy(g.H2[:], v[1])
	return g, nil
}

// Verify checks DF33 with the record-signing key.
func (g *Integrity) Verify(signer *rsa.PublicKey) error {
	return verifyT(signer, sha256WithRSA(g.signed()), g.Signature)
}

// Matches checks H1 against EF 0001 as stored (all 17 bytes) and H2 against EF 0002.
func (g *Integrity) Matches(ef0001, ef0002 []byte) error {
	want, err := NewIntegrity(ef0001, ef0002)
	if err != nil {
		return err
	}
	if want.H1 != g.H1 {
		return malformed("H1 does not match EF 0001 (it covers the 17 physical bytes, filler included)")
	}
	if want.H2 != g.H2 {
		return malformed("H2 does not match EF 0002")
	}
	return nil
}

// InputAPInfo is kenhojo EF 0005 (free), 164 bytes of object in a file of at least 256:
// FF 40 82 00 9F { DF41 04 <version 01 03 0E 01>, DF42 10 <key id>, DF43 82 00 80 <128> }.
// The 82 00 xx length forms are the card's (not minimal): Encode writes them.
type InputAPInfo struct {
	Version [4]byte // spec version 01, extended Lc/Le support 03, vendor 0E, vendor byte 01
	KeyID   KeyID   // DF42 (test card 6000034/001)
	DF43    []byte  // 128 bytes: 32 bytes then 96 x FF on the test card
}

// DefaultInputVersion is DF41 of the test card.
var DefaultInputVersion = [4]byte{0x01, 0x03, 0x0E, 0x01}

// ExtendedSupport reports the "extended Lc/Le support" byte (03 on real cards).
func (a *InputAPInfo) ExtendedSupport() byte { return a.Version[1] }

func append82(dst []byte, tag uint16, v []byte) []byte {
	dst = append(dst, byte(tag>>8), byte(tag), 0x82, byte(len(v)>>8), byte(len(v)))
	return append(dst, v...)
}

// Encode encodes the object (the card file adds FF filler to 256 bytes).
func (a *InputAPInfo) Encode() ([]byte, error) {
	if len(a.DF43) != 128 {
		return nil, malformed("DF43: want 128 bytes, have %d", len(a.DF43))
	}
	v := tlv.Encode(0xDF41, a.Version[:])
	v = tlv.Append(v, 0xDF42, a.KeyID[:])
	v = append82(v, 0xDF43, a.DF43)
	return append82(nil, 0xFF40, v), nil
}

// ParseInputAPInfo decodes kenhojo EF 0005 (myna-go requires DF41 of 4 bytes and DF42 of 16).
func ParseInputAPInfo(b []byte) (*InputAPInfo, error) {
	v, _, err := parseFields(b, 0xFF40, 0xDF41, 0xDF42, 0xDF43)
	if err != nil {
		return nil, err
	}
	if len(v[0]) != 4 || len(v[1]) != 16 {
		return nil, malformed("FF40: DF41 of %d bytes, DF42 of %d; want 4 and 16", len(v[0]), len(v[1]))
	}
	a := &InputAPInfo{DF43: v[2]}
	copy(a.Version[:], v[0])
	copy(a.KeyID[:], v[1])
	return a, nil
}

// EncodeSMKey is kenhojo EF 0006 (opened by the PIN, 照合番号A or B), 269 bytes, unsigned:
// A1 82 01 09 { 90 03 01 00 01, 91 82 01 00 <modulus> }: the key SET SESSION KEY encrypts under.
func EncodeSMKey(pub *rsa.PublicKey) []byte { return tlv.Encode(0xA1, EncodeCardKey(pub)) }

// ParseSMKey decodes kenhojo EF 0006.
func ParseSMKey(b []byte) (*rsa.PublicKey, error) {
	o, _, err := tlv.Parse(b)
	if err != nil || o.Tag != 0xA1 {
		return nil, malformed("kenhojo EF 0006: want an A1 object")
	}
	return ParseCardKey(o.Value)
}

// CardKeyRecord is kenhojo EF 0007 (opened by the PIN, 照合番号A or B), 536 bytes:
// FF50 82 02 13 { DF51 82 01 09 <public key of EF 0013>, DF52 82 01 00 <sig> }; DF52 is
// sha256WithRSA over the DF51 TLV (270 bytes) by the key certified in EF 0004. DF51 verifies
// kenhojo card-presence signatures (80 2A P1 00, no credential).
type CardKeyRecord struct {
	CardKey   *rsa.PublicKey
	Signature []byte
}

// Encode signs and encodes the record.
func (r *CardKeyRecord) Encode(sign Signer) ([]byte, error) {
	s := tlv.Encode(0xDF51, EncodeCardKey(r.CardKey))
	sig, err := sign(sha256WithRSA(s))
	if err != nil {
		return nil, err
	}
	r.Signature = sig
	return tlv.Encode(0xFF50, tlv.Append(s, 0xDF52, sig)), nil
}

// ParseCardKeyRecord decodes kenhojo EF 0007.
func ParseCardKeyRecord(b []byte) (*CardKeyRecord, error) {
	v, _, err := parseFields(b, 0xFF50, 0xDF51, 0xDF52)
	if err != nil {
		return nil, err
	}
	key, err := ParseCardKey(v[0])
	if err != nil {
		return nil, err
	}
	return &CardKeyRecord{CardKey: key, Signature: v[1]}, nil
}

// Verify checks DF52 with the record-signing key.
func (r *CardKeyRecord) Verify(signer *rsa.PublicKey) error {
	return verifyT(signer, sha256WithRSA(tlv.Encode(0xDF51, EncodeCardKey(r.CardKey))), r.Signature)
}

// Unidentified16 is the content of kenkaku EF 0006 and kenhojo EF 0008: 16 x FF.
func Unidentified16() []byte { return bytes.Repeat([]byte{0xFF}, 16) }
