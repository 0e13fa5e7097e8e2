package mynumber

import (
	"crypto/rsa"
	"crypto/sha256"

	"github.com/mynaconform/mynaconform/formats/tlv"
)

// field is one TLV of a record.
type field struct {
	tag   uint16
	value []byte
}

// encodeOffsetRecord encodes outer { DF21 offsets, fields... }, DF21 holding the big-endian u16
// offset from the file start to each field's tag (kenkaku EF 0002, kenhojo EF 0002). It returns
// the encoding and the start of every field.
func encodeOffsetRecord(outer uint16, fields []field) ([]byte, []int, error) {
	offsLen := 2 * len(fields)
	inner := 2 + 1 + offsLen // DF21 tag, short length, offsets
	encs := make([][]byte, len(fields))
	for i, f := range fields {
		encs[i] = tlv.Encode(f.tag, f.value)
		inner += len(encs[i])
	}
	if inner > 0xFFFF {
		return nil, nil, malformed("record %X of %d bytes does not fit a file", outer, inner)
	}
	out := tlv.AppendLen([]byte{byte(outer >> 8), byte(outer)}, inner)
	pos := len(out) + 3 + offsLen
	offs := make([]byte, 0, offsLen)
	starts := make([]int, len(fields))
	for i, e := range encs {
		starts[i] = pos
		offs = append(offs, byte(pos>>8), byte(pos))
		pos += len(e)
	}
	out = tlv.Append(out, 0xDF21, offs)
	for _, e := range encs {
		out = append(out, e...)
	}
	return out, starts, nil
}

// parseOffsetRecord decodes outer { DF21, tags... } in that order (filler after the object
// ignored) and checks that DF21 gives the true offset of every field. It returns the values and
// the [start, end) of each field's TLV in b.
func parseOffsetRecord(b []byte, outer uint16, tags []uint16) (vals [][]byte, spans [][2]int, err error) {
	tag, l, hdr, err := tlv.Header(b)
	if err != nil || tag != outer || len(b) < hdr+l {
		return nil, nil, malformed("want a %X object", outer)
	}
	pos, end := hdr, hdr+l
	next := func() (tlv.Object, int, error) {
		o, rest, err := tlv.Parse(b[pos:end])
		if err != nil {
			return o, 0, err
		}
		start := pos
		pos = end - len(rest)
		return o, start, nil
	}
	offs, _, err := next()
	if err != nil || offs.Tag != 0xDF21 || len(offs.Value) != 2*len(tags) {
		return nil, nil, malformed("%X: want DF21 with %d offsets", outer, len(tags))
	}
	vals, spans = make([][]byte, len(tags)), make([][2]int, len(tags))
	for i, want := range tags {
		o, start, err := next()
		if err != nil || o.Tag != want {
			return nil, nil, malformed("%X: want %X as field %d", outer, want, i+1)
		}
		if off := int(offs.Value[2*i])<<8 | int(offs.Value[2*i+1]); off != start {
			return nil, nil, malformed("%X: DF21 puts %X at %d, it is at %d", outer, want, off, start)
		}
		vals[i], spans[i] = o.Value, [2]int{start, pos}
	}
	if pos != end {
		return nil, nil, malformed("%X: %d bytes after the last field", outer, end-pos)
	}
	return vals, spans, nil
}

// parseFields decodes outer { tags... } in that order (filler after the object ignored) and
// returns the values and the encoded TLVs of each field.
func parseFields(b []byte, outer uint16, tags ...uint16) (vals, encs [][]byte, err error) {
	o, _, err := tlv.Parse(b)
	if err != nil || o.Tag != outer {
		return nil, nil, malformed("want a %X object", outer)
	}
	rest := o.Value
	for i, want := range tags {
		f, r, err := tlv.Parse(rest)
		if err != nil || f.Tag != want {
			return nil, nil, malformed("%X: want %X as field %d", outer, want, i+1)
		}
		vals, encs = append(vals, f.Value), append(encs, rest[:len(rest)-len(r)])
		rest = r
	}
	if len(rest) != 0 {
		return nil, nil, malformed("%X: %d bytes after the last field", outer, len(rest))
	}
	return vals, encs, nil
}

func checkDate(name string, v []byte) error {
	if len(v) != 8 || !digits(v) {
		return malformed("%s: want YYYYMMDD", name)
	}
	return nil
}

func parseSex(v []byte) (int, error) {
	if len(v) != 1 || v[0] < '0' || v[0] > '9' {
		return 0, malformed("sex: want one JIS X 0303 digit")
	}
	return int(v[0] - '0'), nil
}

// AgeRecord is EF 0001 of 券面事項確認AP (opened by the birth-date key), 547 bytes:
// FF10 82 02 1E { DF11 08 "YYYYMMDD", DF12 82 01 09 <card key>, DF13 82 01 00 <signature> };
// DF13 is sha256WithRSA over the DF11 and DF12 TLVs, by the key certified in EF 0004.
type AgeRecord struct {
	BirthDate string
	CardKey   *rsa.PublicKey
	Signature []byte
	signed    []byte
}

// Encode signs and encodes the record.
func (r *AgeRecord) Encode(sign Signer) ([]byte, error) {
	if err := checkDate("birth date", []byte(r.BirthDate)); err != nil {
		return nil, err
	}
	r.signed = tlv.Append(tlv.Encode(0xDF11, []byte(r.BirthDate)), 0xDF12, EncodeCardKey(r.CardKey))
	sig, err := sign(sha256WithRSA(r.signed))
	if err != nil {
		return nil, err
	}
	r.Signature = sig
	return tlv.Encode(0xFF10, tlv.Append(append([]byte(nil), r.signed...), 0xDF13, sig)), nil
}

// ParseAgeRecord decodes kenkaku EF 0001.
func ParseAgeRecord(b []byte) (*AgeRecord, error) {
	v, e, err := parseFields(b, 0xFF10, 0xDF11, 0xDF12, 0xDF13)
	if err != nil {
		return nil, err
	}
	if err := checkDate("DF11 birth date", v[0]); err != nil {
		return nil, err
	}
	key, err := ParseCardKey(v[1])
	if err != nil {
		return nil, err
	}
	return &AgeRecord{BirthDate: string(v[0]), CardKey: key, Signature: v[2], signed: append(append([]byte(nil), e[0]...), e[1]...)}, nil
}

// Verify checks DF13 with the record-signing key (the key of EF 0004).
func (r *AgeRecord) Verify(signer *rsa.PublicKey) error {
	return verifyT(signer, sha256WithRSA(r.signed), r.Signature)
}

// FaceRecord is EF 0002 of 券面事項確認AP, the card face (opened by 照合番号A or B):
//
//	FF20 82 LL LL { DF21 12 <9 offsets>, DF22 08 birth, DF23 01 sex, DF24 82 01 09 <card key>,
//	                DF25 <name PNG>, DF26 <address PNG>, DF27 <photo JP2>, DF28 82 01 00 <sig>,
//	                DF29 08 expiry, DF2A <security-code PNG> }
//
// DF21 are u16 offsets from the first byte of the file to each of DF22..DF2A. DF28 is PKCS#1 v1.5
// over DigestInfo(sha256, SHA-256(DF22||DF23||DF24) || SHA-256(DF25||DF26) || SHA-256(DF27)),
// each segment the encoded TLVs (115 bytes), by the key certified in EF 0004. DF29 and DF2A
// follow the signature and are not covered.
type FaceRecord struct {
	BirthDate       string         // DF22 "YYYYMMDD"
	Sex             int            // DF23 JIS X 0303 digit: 1 male, 2 female, 0 unknown, 9 n/a
	CardKey         *rsa.PublicKey // DF24: verifies card-presence signatures (80 2A P2 00)
	NamePNG         []byte         // DF25 1-bit PNG
	AddressPNG      []byte         // DF26 1-bit PNG
	Photo           []byte         // DF27 greyscale JPEG 2000 in a JP2 box
	Signature       []byte         // DF28
	Expiry          string         // DF29 "YYYYMMDD"
	SecurityCodePNG []byte         // DF2A 1-bit PNG, 24x12
	Offsets         []int          // DF21 as read (set by Parse and Encode)

	segments [3][]byte
}

var faceTags = []uint16{0xDF22, 0xDF23, 0xDF24, 0xDF25, 0xDF26, 0xDF27, 0xDF28, 0xDF29, 0xDF2A}

// faceT is the PKCS#1 "T" DF28 signs.
func faceT(seg [3][]byte) []byte {
	h := make([]byte, 0, 3*sha256.Size)
	for _, s := range seg {
		d := sha256.Sum256(s)
		h = append(h, d[:]...)
	}
	return DigestInfoSHA256(h)
}

// Encode signs and encodes the record (without filler).
func (r *FaceRecord) Encode(sign Signer) ([]byte, error) {
	if err := checkDate("birth date", []byte(r.BirthDate)); err != nil {
		return nil, err
	}
	if err := checkDate("expiry", []byte(r.Expiry)); err != nil {
		return nil, err
	}
	if r.Sex < 0 || r.Sex > 9 {
		return nil, malformed("sex %d: want a JIS X 0303 digit", r.Sex)
	}
	fields := []field{
		{0xDF22, []byte(r.BirthDate)}, {0xDF23, []byte{byte('0' + r.Sex)}}, {0xDF24, EncodeCardKey(r.CardKey)},
		{0xDF25, r.NamePNG}, {0xDF26, r.AddressPNG}, {0xDF27, r.Photo},
		{0xDF28, make([]byte, 256)}, // the signature's place: RSA-2048
		{0xDF29, []byte(r.Expiry)}, {0xDF2A, r.SecurityCodePNG},
	}
	rec, st, err := encodeOffsetRecord(0xFF20, fields)
	if err != nil {
		return nil, err
	}
	r.segments = [3][]byte{rec[st[0]:st[3]], rec[st[3]:st[5]], rec[st[5]:st[6]]}
	sig, err := sign(faceT(r.segments))
	if err != nil {
		return nil, err
	}
	if len(sig) != 256 {
		return nil, malformed("face record signature of %d bytes, want 256", len(sig))
	}
	copy(rec[st[7]-256:st[7]], sig)
	r.Signature, r.Offsets = sig, st
	return rec, nil
}

// ParseFaceRecord decodes kenkaku EF 0002 (filler after the object ignored) and checks DF21.
func ParseFaceRecord(b []byte) (*FaceRecord, error) {
	v, sp, err := parseOffsetRecord(b, 0xFF20, faceTags)
	if err != nil {
		return nil, err
	}
	r := &FaceRecord{BirthDate: string(v[0]), NamePNG: v[3], AddressPNG: v[4], Photo: v[5],
		Signature: v[6], Expiry: string(v[7]), SecurityCodePNG: v[8]}
	if err := checkDate("DF22 birth date", v[0]); err != nil {
		return nil, err
	}
	if err := checkDate("DF29 expiry", v[7]); err != nil {
		return nil, err
	}
	if r.Sex, err = parseSex(v[1]); err != nil {
		return nil, err
	}
	if r.CardKey, err = ParseCardKey(v[2]); err != nil {
		return nil, err
	}
	for _, s := range sp {
		r.Offsets = append(r.Offsets, s[0])
	}
	r.segments = [3][]byte{b[sp[0][0]:sp[2][1]], b[sp[3][0]:sp[4][1]], b[sp[5][0]:sp[5][1]]}
	return r, nil
}

// Verify checks DF28 with the record-signing key (the key of EF 0004).
func (r *FaceRecord) Verify(signer *rsa.PublicKey) error {
	if r.segments[0] == nil {
		return ErrSignature
	}
	return verifyT(signer, faceT(r.segments), r.Signature)
}

// FaceAPInfo is EF 0003 of 券面事項確認AP, the AP basic data (free, unsigned), 320 bytes:
// FF30 82 01 3B { DF31 04 <version 06 03 0E 01>, DF32 10 <key id>, DF33 01 00,
// DF34 05 <municipality>, DF35 82 01 10 <key id 16> <256 opaque bytes> }.
type FaceAPInfo struct {
	Version      [4]byte // spec version 06, extended Lc/Le support 03, vendor 0E, vendor byte 01
	KeyID        KeyID   // DF32 (test card 6000024/001: not the key certified in EF 0004)
	DF33         byte
	Municipality string // DF34, 5 digits (全国地方公共団体コード without check digit)
	DF35KeyID    KeyID  // first 16 bytes of DF35 (test card 5900025/001)
	DF35Data     []byte // 256 opaque bytes
}

// DefaultFaceVersion is DF31 of the test card.
var DefaultFaceVersion = [4]byte{0x06, 0x03, 0x0E, 0x01}

// ExtendedSupport reports the "extended Lc/Le support" byte (03 on real cards).
func (a *FaceAPInfo) ExtendedSupport() byte { return a.Version[1] }

// Encode encodes the record.
func (a *FaceAPInfo) Encode() ([]byte, error) {
	if len(a.Municipality) != 5 || !digits([]byte(a.Municipality)) {
		return nil, malformed("municipality %q: want 5 digits", a.Municipality)
	}
	if len(a.DF35Data) != 256 {
		return nil, malformed("DF35: want 256 bytes after the key id, have %d", len(a.DF35Data))
	}
	v := tlv.Encode(0xDF31, a.Version[:])
	v = tlv.Append(v, 0xDF32, a.KeyID[:])
	v = tlv.Append(v, 0xDF33, []byte{a.DF33})
	v = tlv.Append(v, 0xDF34, []byte(a.Municipality))
	v = tlv.Append(v, 0xDF35, append(append([]byte(nil), a.DF35KeyID[:]...), a.DF35Data...))
	return tlv.Encode(0xFF30, v), nil
}

// ParseFaceAPInfo decodes kenkaku EF 0003.
func ParseFaceAPInfo(b []byte) (*FaceAPInfo, error) {
	v, _, err := parseFields(b, 0xFF30, 0xDF31, 0xDF32, 0xDF33, 0xDF34, 0xDF35)
	if err != nil {
		return nil, err
	}
	if len(v[0]) != 4 || len(v[1]) != 16 || len(v[2]) != 1 || len(v[3]) != 5 || !digits(v[3]) || len(v[4]) != 16+256 {
		return nil, malformed("FF30: field sizes %d %d %d %d %d", len(v[0]), len(v[1]), len(v[2]), len(v[3]), len(v[4]))
	}
	a := &FaceAPInfo{DF33: v[2][0], Municipality: string(v[3]), DF35Data: v[4][16:]}
	copy(a.Version[:], v[0])
	copy(a.KeyID[:], v[1])
	copy(a.DF35KeyID[:], v[4][:16])
	return a, nil
}

// MyNumberImage is EF 0005 of 券面事項確認AP (opened by 照合番号A only): FF40 { DF41 <PNG 72x12>,
// DF42 82 01 09 <card key>, DF43 82 01 00 <sig> }; DF43 is sha256WithRSA over the DF41 and DF42
// TLVs by the key certified in EF 0004. The image shows the My Number: a secret.
type MyNumberImage struct {
	PNG       []byte
	CardKey   *rsa.PublicKey
	Signature []byte
	signed    []byte
}

// Encode signs and encodes the record.
func (m *MyNumberImage) Encode(sign Signer) ([]byte, error) {
	m.signed = tlv.Append(tlv.Encode(0xDF41, m.PNG), 0xDF42, EncodeCardKey(m.CardKey))
	sig, err := sign(sha256WithRSA(m.signed))
	if err != nil {
		return nil, err
	}
	m.Signature = sig
	return tlv.Encode(0xFF40, tlv.Append(append([]byte(nil), m.signed...), 0xDF43, sig)), nil
}

// ParseMyNumberImage decodes kenkaku EF 0005.
func ParseMyNumberImage(b []byte) (*MyNumberImage, error) {
	v, e, err := parseFields(b, 0xFF40, 0xDF41, 0xDF42, 0xDF43)
	if err != nil {
		return nil, err
	}
	key, err := ParseCardKey(v[1])
	if err != nil {
		return nil, err
	}
	return &MyNumberImage{PNG: v[0], CardKey: key, Signature: v[2], signed: append(append([]byte(nil), e[0]...), e[1]...)}, nil
}

// Verify checks DF43 with the record-signing key.
func (m *MyNumberImage) Verify(signer *rsa.PublicKey) error {
	return verifyT(signer, sha256WithRSA(m.signed), m.Signature)
}
