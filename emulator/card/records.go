package card

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"time"

	"github.com/mynaconform/mynaconform/formats/tlv"
)

// sha256AlgorithmID is the DER AlgorithmIdentifier { id-sha256, NULL } (RFC 8017 section 9.2
// note 1).
var sha256AlgorithmID = []byte{0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00}

// DigestInfoSHA256 returns the DER DigestInfo { sha256, h } that COMPUTE DIGITAL SIGNATURE
// P1 00 expects (51 bytes for a 32-byte hash). h may be longer than a SHA-256 value: the
// card-face record signature wraps three concatenated hashes (96 bytes) in one DigestInfo
// (card.md).
func DigestInfoSHA256(h []byte) []byte {
	v := append(append(make([]byte, 0, len(sha256AlgorithmID)+4+len(h)), sha256AlgorithmID...), tlv.Encode(0x04, h)...)
	return tlv.Encode(0x30, v)
}

// EraDate converts a Gregorian "YYYYMMDD" into "YYMMDD" with the Japanese era year (和暦), the
// form of the card-face AP's birth-date key and of the first six digits of 照合番号B
// (1980-02-17 = 昭和55 -> "550217").
func EraDate(yyyymmdd string) (string, error) {
	t, err := time.Parse("20060102", yyyymmdd)
	if err != nil {
		return "", fmt.Errorf("card: date %q: want YYYYMMDD", yyyymmdd)
	}
	eras := []struct{ y, m, d int }{{2019, 5, 1}, {1989, 1, 8}, {1926, 12, 25}, {1912, 7, 30}, {1868, 10, 23}}
	for _, e := range eras {
		start := time.Date(e.y, time.Month(e.m), e.d, 0, 0, 0, 0, time.UTC)
		if !t.Before(start) {
			return fmt.Sprintf("%02d%s", t.Year()-e.y+1, yyyymmdd[4:]), nil
		}
	}
	return "", fmt.Errorf("card: date %q before the Meiji era", yyyymmdd)
}

// encodeCardKey encodes a public key as the card-face APs store it (DF12, DF24, DF42):
// 90 03 01 00 01 (exponent) 91 82 01 00 modulus (card.md).
func encodeCardKey(pub *rsa.PublicKey) []byte {
	var v []byte
	v = tlv.Append(v, 0x90, big.NewInt(int64(pub.E)).Bytes())
	return tlv.Append(v, 0x91, pub.N.FillBytes(make([]byte, pub.Size())))
}

// parseCardKey decodes the 90/91 public-key TLVs of encodeCardKey.
func parseCardKey(b []byte) (*rsa.PublicKey, error) {
	objs, err := tlv.ParseAll(b)
	if err != nil {
		return nil, err
	}
	e, ok1 := tlv.Find(objs, 0x90)
	n, ok2 := tlv.Find(objs, 0x91)
	if !ok1 || !ok2 || len(e) == 0 || len(e) > 4 || len(n) < 64 {
		return nil, errors.New("bad 90/91 public key")
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
}

// field is one TLV of a record with offsets (DF21).
type field struct {
	tag   uint16
	value []byte
}

// encodeOffsetRecord encodes outer { DF21 offsets, fields... } where DF21 holds the big-endian
// u16 offset from the file start of each field's tag (card.md). It returns the encoding and
// the start offset of every field.
func encodeOffsetRecord(outer uint16, fields []field) ([]byte, []int, error) {
	offsLen := 2 * len(fields)
	inner := 2 + 1 + offsLen // DF21 tag, short length, offsets
	encs := make([][]byte, len(fields))
	for i, f := range fields {
		encs[i] = tlv.Encode(f.tag, f.value)
		inner += len(encs[i])
	}
	if inner > 0xFFFF {
		return nil, nil, fmt.Errorf("card: record %X too large (%d bytes)", outer, inner)
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

// faceSegmentsDigestInfo is what DF28 signs: SHA-256 of the segments [DF22..DF24],
// [DF25..DF26], [DF27], concatenated (96 bytes) in one DigestInfo (card.md).
func faceSegmentsDigestInfo(seg [3][]byte) []byte {
	h := make([]byte, 0, 96)
	for _, s := range seg {
		d := sha256.Sum256(s)
		h = append(h, d[:]...)
	}
	return DigestInfoSHA256(h)
}

// FaceRecord is the card face of 券面事項確認AP EF 0002 (FF20), as ParseFaceRecord decodes it.
type FaceRecord struct {
	Offsets         []int          // DF21: offsets of DF22..DF2A from the file start
	BirthDate       string         // DF22 "YYYYMMDD"
	Sex             int            // DF23 JIS X 0303 digit
	CardKey         *rsa.PublicKey // DF24: the card's key (verifies card-presence signatures)
	NamePNG         []byte         // DF25 1-bit PNG
	AddressPNG      []byte         // DF26 1-bit PNG
	Photo           []byte         // DF27 greyscale JPEG 2000 (JP2)
	Signature       []byte         // DF28 issuer signature over the three segments
	Expiry          string         // DF29 "YYYYMMDD", not covered by the signature
	SecurityCodePNG []byte         // DF2A, not covered by the signature

	segments [3][]byte
}

// ErrRecordMalformed reports a card record whose TLV layout is not the one of card.md.
var ErrRecordMalformed = errors.New("card record malformed")

// ErrRecordSignature reports a card record whose issuer signature or integrity hash does not
// match.
var ErrRecordSignature = errors.New("card record signature invalid")

// parseOffsetRecord decodes outer { DF21, tags... } and checks that DF21 gives the true offset
// of every field. It returns the values and the [start, end) of each field in b.
func parseOffsetRecord(b []byte, outer uint16, tags []uint16) (vals [][]byte, spans [][2]int, err error) {
	o, _, err := tlv.Parse(b)
	if err != nil || o.Tag != outer {
		return nil, nil, fmt.Errorf("%w: want %X object", ErrRecordMalformed, outer)
	}
	_, _, pos, _ := tlv.Header(b) // start of the value in b
	rest := o.Value
	next := func() (tlv.Object, int, int, error) {
		start := pos
		obj, r, err := tlv.Parse(rest)
		if err != nil {
			return obj, 0, 0, err
		}
		pos += len(rest) - len(r)
		rest = r
		return obj, start, pos, nil
	}
	offObj, _, _, err := next()
	if err != nil || offObj.Tag != 0xDF21 || len(offObj.Value) != 2*len(tags) {
		return nil, nil, fmt.Errorf("%w: want DF21 with %d offsets", ErrRecordMalformed, len(tags))
	}
	vals, spans = make([][]byte, len(tags)), make([][2]int, len(tags))
	for i, tag := range tags {
		obj, s, e, err := next()
		if err != nil || obj.Tag != tag {
			return nil, nil, fmt.Errorf("%w: want %X at field %d", ErrRecordMalformed, tag, i)
		}
		if off := int(offObj.Value[2*i])<<8 | int(offObj.Value[2*i+1]); off != s {
			return nil, nil, fmt.Errorf("%w: DF21 gives %X at %d, found at %d", ErrRecordMalformed, tag, off, s)
		}
		vals[i], spans[i] = obj.Value, [2]int{s, e}
	}
	return vals, spans, nil
}

var faceTags = []uint16{0xDF22, 0xDF23, 0xDF24, 0xDF25, 0xDF26, 0xDF27, 0xDF28, 0xDF29, 0xDF2A}

// ParseFaceRecord decodes the card-face record (EF 0002 of 券面事項確認AP, trailing filler
// ignored) and checks its DF21 offsets. Verify checks the issuer signature.
func ParseFaceRecord(ef0002 []byte) (*FaceRecord, error) {
	v, sp, err := parseOffsetRecord(ef0002, 0xFF20, faceTags)
	if err != nil {
		return nil, err
	}
	r := &FaceRecord{BirthDate: string(v[0]), NamePNG: v[3], AddressPNG: v[4], Photo: v[5],
		Signature: v[6], Expiry: string(v[7]), SecurityCodePNG: v[8]}
	for _, s := range sp {
		r.Offsets = append(r.Offsets, s[0])
	}
	if len(v[1]) != 1 || v[1][0] < '0' || v[1][0] > '9' {
		return nil, fmt.Errorf("%w: DF23 sex", ErrRecordMalformed)
	}
	r.Sex = int(v[1][0] - '0')
	if r.CardKey, err = parseCardKey(v[2]); err != nil {
		return nil, fmt.Errorf("%w: DF24: %v", ErrRecordMalformed, err)
	}
	r.segments = [3][]byte{ef0002[sp[0][0]:sp[2][1]], ef0002[sp[3][0]:sp[4][1]], ef0002[sp[5][0]:sp[5][1]]}
	return r, nil
}

// Verify checks DF28: PKCS#1 v1.5 by the issuer key (the key of EF 0004) over the DigestInfo
// of the three segment hashes (card.md). DF29 and DF2A are not covered.
func (r *FaceRecord) Verify(issuer *rsa.PublicKey) error {
	if issuer == nil || r.segments[0] == nil {
		return ErrRecordSignature
	}
	if rsa.VerifyPKCS1v15(issuer, 0, faceSegmentsDigestInfo(r.segments), r.Signature) != nil {
		return ErrRecordSignature
	}
	return nil
}

// BasicFour is the input-support AP's EF 0002 (基本4情報).
type BasicFour struct {
	Name      string // UTF-8, U+3000 between family and given name
	Address   string // UTF-8, full-width digits
	BirthDate string // "YYYYMMDD"
	Sex       int    // JIS X 0303 digit
}

var basicTags = []uint16{0xDF22, 0xDF23, 0xDF24, 0xDF25}

// ParseBasicFour decodes EF 0002 of 券面事項入力補助AP (FF20 with DF21 offsets).
func ParseBasicFour(ef0002 []byte) (*BasicFour, error) {
	v, _, err := parseOffsetRecord(ef0002, 0xFF20, basicTags)
	if err != nil {
		return nil, err
	}
	sex, err := strconv.Atoi(string(v[3]))
	if err != nil || len(v[3]) != 1 {
		return nil, fmt.Errorf("%w: DF25 sex", ErrRecordMalformed)
	}
	return &BasicFour{Name: string(v[0]), Address: string(v[1]), BirthDate: string(v[2]), Sex: sex}, nil
}

// ParseMyNumberRecord decodes EF 0001 of 券面事項入力補助AP: FF10 0C + 12 ASCII digits.
func ParseMyNumberRecord(ef0001 []byte) (string, error) {
	o, _, err := tlv.Parse(ef0001)
	if err != nil || o.Tag != 0xFF10 || len(o.Value) != 12 || !allDigits(o.Value) {
		return "", fmt.Errorf("%w: want FF10 with 12 digits", ErrRecordMalformed)
	}
	return string(o.Value), nil
}

// basicFourHashed returns the bytes F2 covers: EF 0002 from the DF22 tag to the end of the FF20
// object (card.md "from DF22 to the end"; AokiApp's calculateBasicFourHash stops at the end of
// the object too, before any filler).
func basicFourHashed(ef0002 []byte) ([]byte, error) {
	_, sp, err := parseOffsetRecord(ef0002, 0xFF20, basicTags)
	if err != nil {
		return nil, err
	}
	return ef0002[sp[0][0]:sp[len(sp)-1][1]], nil
}

// integritySigned is what F3 signs (this project's model; the real input is not public):
// PKCS#1 v1.5 with SHA-256 over the values of F1 and F2 concatenated.
func integritySigned(f1, f2 []byte) []byte {
	return append(append(make([]byte, 0, len(f1)+len(f2)), f1...), f2...)
}

// VerifyInputSupport checks the integrity file of 券面事項入力補助AP: F1 is the SHA-256 of
// EF 0001 as stored (all 17 physical bytes, filler included, card.md), F2 the SHA-256 of EF 0002
// from DF22 to the end of the FF20 object, and F3 the issuer's signature over F1 and F2.
func VerifyInputSupport(ef0001, ef0002, ef0003 []byte, issuer *rsa.PublicKey) error {
	o, _, err := tlv.Parse(ef0003)
	if err != nil || o.Tag != 0xF0 {
		return fmt.Errorf("%w: want F0 object", ErrRecordMalformed)
	}
	objs, err := tlv.ParseAll(o.Value)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRecordMalformed, err)
	}
	f1, ok1 := tlv.Find(objs, 0xF1)
	f2, ok2 := tlv.Find(objs, 0xF2)
	f3, ok3 := tlv.Find(objs, 0xF3)
	if !ok1 || !ok2 || !ok3 {
		return fmt.Errorf("%w: want F1, F2, F3", ErrRecordMalformed)
	}
	h1 := sha256.Sum256(ef0001)
	b2, err := basicFourHashed(ef0002)
	if err != nil {
		return err
	}
	h2 := sha256.Sum256(b2)
	if !bytes.Equal(f1, h1[:]) || !bytes.Equal(f2, h2[:]) {
		return fmt.Errorf("%w: integrity hash mismatch", ErrRecordSignature)
	}
	d := sha256.Sum256(integritySigned(f1, f2))
	if issuer == nil || rsa.VerifyPKCS1v15(issuer, crypto.SHA256, d[:], f3) != nil {
		return ErrRecordSignature
	}
	return nil
}
