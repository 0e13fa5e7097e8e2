package mynumber

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"strings"
	"unicode/utf8"

	"github.com/mynaconform/mynaconform/formats/tlv"
)

// CardInfo is record 1 of 共通カードAP EF 0001 (free): SIMPLE-TLV 01 1C + 28 ASCII digits,
// serial (15) || municipality (5) || expiry YYYYMMDD (docs/card.md section 5).
type CardInfo struct {
	Serial       string // 15 digits
	Municipality string // 5 digits, as GET DATA 00F0 and kenkaku DF34
	Expiry       string // YYYYMMDD, as GET DATA 00F2
}

// Encode is the record.
func (c CardInfo) Encode() ([]byte, error) {
	s := c.Serial + c.Municipality + c.Expiry
	if len(c.Serial) != 15 || len(c.Municipality) != 5 || len(c.Expiry) != 8 || !digits([]byte(s)) {
		return nil, malformed("card info: want 15 + 5 + 8 digits")
	}
	return tlv.AppendSimple(nil, 0x01, []byte(s))
}

// ParseCardInfo decodes the record.
func ParseCardInfo(b []byte) (CardInfo, error) {
	o, rest, err := tlv.ParseSimple(b)
	if err != nil || o.Tag != 0x01 || len(o.Value) != 28 || !digits(o.Value) || len(rest) != 0 {
		return CardInfo{}, malformed("card info: want 01 1C and 28 digits")
	}
	v := string(o.Value)
	return CardInfo{Serial: v[:15], Municipality: v[15:20], Expiry: v[20:]}, nil
}

// Token labels of JPKI EF 0006 (docs/card.md section 4).
const (
	TokenCard    = "JPKIAPICCTOKEN2" // マイナンバーカード (pymyna accepts nothing else)
	TokenJuki    = "JPKIAPICCTOKEN"  // the old 住基カード (myna-go refuses it)
	TokenAndroid = "JPKIAPGPSETOKEN" // Android スマホ用電子証明書
	TokenIPhone  = "JPKIAPIOSTOKEN"  // iPhone スマホ用電子証明書
)

// TokenInfoLen is the size of JPKI EF 0006.
const TokenInfoLen = 160

// TokenInfo is JPKI EF 0006: a PKCS#11 CK_TOKEN_INFO with 4-byte big-endian CK_ULONGs and
// space-padded strings, 160 bytes, no filler.
type TokenInfo struct {
	Label                                              string // 32
	ManufacturerID                                     string // 32
	Model                                              string // 16
	SerialNumber                                       string // 16
	Flags                                              uint32
	MaxSessions, Sessions, MaxRWSessions, RWSessions   uint32
	MaxPINLen, MinPINLen                               uint32
	TotalPublic, FreePublic, TotalPrivate, FreePrivate uint32
	HardwareVersion, FirmwareVersion                   [2]byte
	UTCTime                                            [16]byte
}

// Token flags (PKCS#11 CKF_*).
const (
	TokenRNG                uint32 = 0x001
	TokenLoginRequired      uint32 = 0x004
	TokenUserPINInitialized uint32 = 0x008
	TokenInitialized        uint32 = 0x400
)

// DefaultTokenInfo has the values of soltia48's physical-card parser test, with label and serial
// given (the manufacturer id is not published in full: this project pads "0001" with zeros).
func DefaultTokenInfo(label, serial string) TokenInfo {
	t := TokenInfo{
		Label: label, ManufacturerID: "0000000000000001", Model: "E16R01NJ", SerialNumber: serial,
		Flags:       TokenRNG | TokenLoginRequired | TokenUserPINInitialized | TokenInitialized,
		MaxSessions: 1, MaxRWSessions: 1, MaxPINLen: 16, MinPINLen: 6,
		TotalPublic: 0xFFFFFFFF, FreePublic: 0xFFFFFFFF, TotalPrivate: 0xFFFFFFFF, FreePrivate: 0xFFFFFFFF,
		HardwareVersion: [2]byte{'0', '3'}, FirmwareVersion: [2]byte{'0', '1'},
	}
	for i := range t.UTCTime {
		t.UTCTime[i] = ' '
	}
	return t
}

func padded(s string, n int) ([]byte, error) {
	if len(s) > n {
		return nil, malformed("token info: %q longer than %d bytes", s, n)
	}
	return append([]byte(s), bytes.Repeat([]byte{' '}, n-len(s))...), nil
}

// Encode is the 160 bytes.
func (t TokenInfo) Encode() ([]byte, error) {
	out := make([]byte, 0, TokenInfoLen)
	for _, f := range []struct {
		s string
		n int
	}{{t.Label, 32}, {t.ManufacturerID, 32}, {t.Model, 16}, {t.SerialNumber, 16}} {
		p, err := padded(f.s, f.n)
		if err != nil {
			return nil, err
		}
		out = append(out, p...)
	}
	for _, u := range []uint32{t.Flags, t.MaxSessions, t.Sessions, t.MaxRWSessions, t.RWSessions, t.MaxPINLen, t.MinPINLen,
		t.TotalPublic, t.FreePublic, t.TotalPrivate, t.FreePrivate} {
		out = binary.BigEndian.AppendUint32(out, u)
	}
	out = append(append(append(out, t.HardwareVersion[:]...), t.FirmwareVersion[:]...), t.UTCTime[:]...)
	return out, nil
}

// ParseTokenInfo decodes JPKI EF 0006 (the strings with trailing spaces and NULs trimmed, as
// clients do).
func ParseTokenInfo(b []byte) (TokenInfo, error) {
	if len(b) < TokenInfoLen {
		return TokenInfo{}, malformed("token info of %d bytes, want %d", len(b), TokenInfoLen)
	}
	str := func(off, n int) string { return strings.TrimRight(string(b[off:off+n]), " \x00") }
	u := func(off int) uint32 { return binary.BigEndian.Uint32(b[off:]) }
	t := TokenInfo{Label: str(0, 32), ManufacturerID: str(32, 32), Model: str(64, 16), SerialNumber: str(80, 16),
		Flags: u(96), MaxSessions: u(100), Sessions: u(104), MaxRWSessions: u(108), RWSessions: u(112),
		MaxPINLen: u(116), MinPINLen: u(120), TotalPublic: u(124), FreePublic: u(128), TotalPrivate: u(132), FreePrivate: u(136)}
	copy(t.HardwareVersion[:], b[140:142])
	copy(t.FirmwareVersion[:], b[142:144])
	copy(t.UTCTime[:], b[144:160])
	return t, nil
}

// CertFlags is JPKI EF 0008: 3 bytes, 8F 8F 00 when both certificates exist (byte 0 signing,
// byte 1 auth, byte 2 unknown). Without a signing certificate (children) card.md's default is
// 00 8F 00.
type CertFlags struct{ Sign, Auth bool }

// Encode is the 3 bytes.
func (f CertFlags) Encode() []byte {
	b := []byte{0, 0, 0}
	if f.Sign {
		b[0] = 0x8F
	}
	if f.Auth {
		b[1] = 0x8F
	}
	return b
}

// ParseCertFlags decodes JPKI EF 0008.
func ParseCertFlags(b []byte) (CertFlags, error) {
	if len(b) != 3 {
		return CertFlags{}, malformed("certificate flags of %d bytes, want 3", len(b))
	}
	return CertFlags{Sign: b[0] == 0x8F, Auth: b[1] == 0x8F}, nil
}

// OIDs of the signing certificate's subject attributes, carried in subjectAltName as otherName
// (myna-go libmyna/jpki_ap.go).
var (
	OIDName        = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 1}
	OIDNameAlt     = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 2}
	OIDSex         = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 3}
	OIDBirthDate   = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 4}
	OIDAddress     = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 5}
	OIDAddressAlt  = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 5, 6}
	oidSubjectAlt  = asn1.ObjectIdentifier{2, 5, 29, 17}
	attributeOrder = []asn1.ObjectIdentifier{OIDName, OIDNameAlt, OIDSex, OIDBirthDate, OIDAddress, OIDAddressAlt}
)

// SigningAttributes are the holder attributes of a JPKI signing certificate (署名用電子証明書):
// 氏名, 氏名の代替文字, 性別, 生年月日, 住所, 住所の代替文字.
type SigningAttributes struct {
	Name, NameAlt, Sex, BirthDate, Address, AddressAlt string
}

func (a SigningAttributes) values() []string {
	return []string{a.Name, a.NameAlt, a.Sex, a.BirthDate, a.Address, a.AddressAlt}
}

type otherName struct {
	TypeID asn1.ObjectIdentifier
	Value  struct {
		S string `asn1:"utf8"`
	} `asn1:"tag:0"`
}

// Extension encodes the attributes as the subjectAltName extension: a SEQUENCE of otherName
// [0] { OID, [0] { UTF8String } }, empty attributes left out.
func (a SigningAttributes) Extension() (pkix.Extension, error) {
	var seq []byte
	for i, v := range a.values() {
		if v == "" {
			continue
		}
		if !utf8.ValidString(v) {
			return pkix.Extension{}, malformed("signing attribute %v: invalid UTF-8", attributeOrder[i])
		}
		on := otherName{TypeID: attributeOrder[i]}
		on.Value.S = v
		b, err := asn1.MarshalWithParams(on, "tag:0")
		if err != nil {
			return pkix.Extension{}, err
		}
		seq = append(seq, b...)
	}
	val, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: seq})
	if err != nil {
		return pkix.Extension{}, err
	}
	return pkix.Extension{Id: oidSubjectAlt, Value: val}, nil
}

// ParseSigningAttributes reads the attributes of a signing certificate; ok is false when the
// certificate has no subjectAltName.
func ParseSigningAttributes(cert *x509.Certificate) (a SigningAttributes, ok bool, err error) {
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(oidSubjectAlt) {
			continue
		}
		var seq asn1.RawValue
		if rest, err := asn1.Unmarshal(ext.Value, &seq); err != nil || len(rest) != 0 || seq.Tag != asn1.TagSequence {
			return a, true, malformed("subjectAltName")
		}
		dst := []*string{&a.Name, &a.NameAlt, &a.Sex, &a.BirthDate, &a.Address, &a.AddressAlt}
		for rest := seq.Bytes; len(rest) > 0; {
			var raw asn1.RawValue
			r, err := asn1.Unmarshal(rest, &raw)
			if err != nil {
				return a, true, malformed("subjectAltName entry")
			}
			rest = r
			if raw.Class != asn1.ClassContextSpecific || raw.Tag != 0 {
				continue // another GeneralName form
			}
			var on otherName
			if _, err := asn1.UnmarshalWithParams(raw.FullBytes, &on, "tag:0"); err != nil {
				return a, true, malformed("subjectAltName otherName")
			}
			for i, oid := range attributeOrder {
				if on.TypeID.Equal(oid) {
					*dst[i] = on.Value.S
				}
			}
		}
		return a, true, nil
	}
	return a, false, nil
}
