package card

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/mynaconform/mynaconform/formats/tlv"
)

// ef is one elementary file of an application: a data file, a key EF holding reference data
// (pin) or a private-key EF (key).
type ef struct {
	fid  uint16
	data []byte // physical content, filler included
	// read: key EFs any of which, verified, opens the file (bits by FID); 0 = free.
	read uint32
	// noRead: key and PIN EFs are never readable.
	noRead bool
	// needTA: read also requires a successful 80 A2 (WithRequireTerminalAuth).
	needTA bool
	pin    *pinState
	key    *rsa.PrivateKey
	// useKey: key EFs that must be verified to sign with key.
	useKey uint32
}

// app is one DF (application) with EFs indexed by FID 0001..001E (= SFI).
type app struct {
	aid  string
	name string
	efs  [0x20]*ef
	// cardKey signs card-presence proofs (80 2A 00 00) without credential; nil in JPKI-AP.
	cardKey *rsa.PrivateKey
}

func (a *app) add(e *ef) { a.efs[e.fid] = e }

func bit(fid uint16) uint32 { return 1 << fid }

// withFiller pads b with FF to the next multiple of 256 bytes, at least one byte: files carry
// filler after the BER object (card.md); the real file sizes are not public.
func withFiller(b []byte) []byte {
	n := (len(b) + 256) &^ 255
	out := make([]byte, n)
	copy(out, b)
	for i := len(b); i < n; i++ {
		out[i] = 0xFF
	}
	return out
}

func sign256(key *rsa.PrivateKey, msg []byte) ([]byte, error) {
	h := sha256.Sum256(msg)
	return issuerSign(key, crypto.SHA256, h[:])
}

// issuerSigs memoizes the issuer's signatures over card records. A real card's records are
// signed once, at issuance; here every Card built from the same Profile would sign them again
// (four RSA-2048 signatures, most of the cost of New). PKCS#1 v1.5 is deterministic, so a cached
// signature is byte-for-byte the one a fresh signing gives.
var issuerSigs struct {
	sync.Mutex
	m map[[sha256.Size]byte][]byte
}

// issuerSigsMax bounds the cache; past it the cache starts again (records of ~maxIssuerSigs/5
// distinct cards).
const issuerSigsMax = 4096

func issuerSign(key *rsa.PrivateKey, hash crypto.Hash, digest []byte) ([]byte, error) {
	k := sha256.New()
	k.Write(key.N.Bytes())
	k.Write([]byte{byte(hash)})
	k.Write(digest)
	var id [sha256.Size]byte
	k.Sum(id[:0])
	issuerSigs.Lock()
	sig, ok := issuerSigs.m[id]
	issuerSigs.Unlock()
	if ok {
		return bytes.Clone(sig), nil
	}
	sig, err := rsa.SignPKCS1v15(nil, key, hash, digest)
	if err != nil {
		return nil, err
	}
	issuerSigs.Lock()
	if issuerSigs.m == nil || len(issuerSigs.m) >= issuerSigsMax {
		issuerSigs.m = make(map[[sha256.Size]byte][]byte)
	}
	issuerSigs.m[id] = bytes.Clone(sig)
	issuerSigs.Unlock()
	return sig, nil
}

// checkProfile validates the card-face data and the PIN formats. Messages never carry a PIN
// or a My Number.
func checkProfile(p *Profile) error {
	if p.CardKey == nil || p.FaceIssuer == nil {
		return errors.New("card: Profile needs CardKey and FaceIssuer")
	}
	if p.AuthKey == nil || len(p.AuthCert) == 0 {
		return errors.New("card: Profile needs AuthKey and AuthCert")
	}
	if (p.SignKey == nil) != (len(p.SignCert) == 0) {
		return errors.New("card: Profile needs both or neither of SignKey and SignCert")
	}
	if len(p.MyNumber) != 12 || !allDigits([]byte(p.MyNumber)) {
		return errors.New("card: MyNumber must be 12 digits")
	}
	if len(p.SecurityCode) != 4 || !allDigits([]byte(p.SecurityCode)) {
		return errors.New("card: SecurityCode must be 4 digits")
	}
	for name, d := range map[string]string{"BirthDate": p.BirthDate, "Expiry": p.Expiry} {
		if _, err := EraDate(d); err != nil {
			return fmt.Errorf("card: %s must be a YYYYMMDD date", name)
		}
	}
	if p.BirthDateEra != "" && (len(p.BirthDateEra) != 6 || !allDigits([]byte(p.BirthDateEra))) {
		return errors.New("card: BirthDateEra must be 6 digits")
	}
	if p.Sex < 0 || p.Sex > 9 {
		return errors.New("card: Sex must be a JIS X 0303 digit")
	}
	for _, c := range []struct {
		name string
		v    string
		f    pinFormat
	}{{"AuthPIN", p.AuthPIN, formatDigits4}, {"SignPIN", p.SignPIN, formatSignature}, {"KenhojoPIN", p.KenhojoPIN, formatDigits4}} {
		if c.v != "" && !validPIN(c.f, []byte(c.v)) {
			return fmt.Errorf("card: %s: %w", c.name, errPINFormat)
		}
	}
	for _, c := range [][]byte{p.AuthCert, p.AuthCACert, p.SignCert, p.SignCACert} {
		if len(c) > 0 && (len(c) < 4 || c[0] != 0x30 || c[1] != 0x82 || int(c[2])<<8|int(c[3]) != len(c)-4) {
			return errors.New("card: certificates must be DER starting with an exact 30 82 LL LL header")
		}
	}
	return nil
}

func orDefault(v, d int) int {
	if v > 0 {
		return v
	}
	return d
}

// build creates the three applications from the profile (layouts of card.md).
func (c *Card) build(p *Profile) error {
	era := p.BirthDateEra
	if era == "" {
		era, _ = EraDate(p.BirthDate)
	}
	faceMax := orDefault(p.FaceRetries, 10)
	newKey := func(id, v string, max int, f pinFormat) (*pinState, error) {
		ps, err := newPIN(id, v, max, f)
		if err == nil {
			c.pins = append(c.pins, ps)
		}
		return ps, err
	}

	// JPKI-AP.
	j := &app{aid: AIDJPKI, name: "jpki"}
	authPIN, err := newKey("jpki/0018", p.AuthPIN, orDefault(p.AuthRetries, 3), formatDigits4)
	if err != nil {
		return err
	}
	if p.AuthBlocked {
		authPIN.tries = 0
	}
	j.add(&ef{fid: EFJPKIAuthPIN, pin: authPIN, noRead: true})
	j.add(&ef{fid: EFJPKIAuthKey, key: p.AuthKey, useKey: bit(EFJPKIAuthPIN), noRead: true})
	j.add(&ef{fid: EFJPKIAuthCert, data: withFiller(p.AuthCert)})
	if len(p.AuthCACert) > 0 {
		j.add(&ef{fid: EFJPKIAuthCACert, data: withFiller(p.AuthCACert)})
	}
	signPIN, err := newKey("jpki/001B", p.SignPIN, orDefault(p.SignRetries, 5), formatSignature)
	if err != nil {
		return err
	}
	j.add(&ef{fid: EFJPKISignPIN, pin: signPIN, noRead: true})
	flags := []byte{0x8F, 0x8F, 0x00}
	if p.SignKey != nil {
		j.add(&ef{fid: EFJPKISignKey, key: p.SignKey, useKey: bit(EFJPKISignPIN), noRead: true})
		j.add(&ef{fid: EFJPKISignCert, data: withFiller(p.SignCert), read: bit(EFJPKISignPIN)})
	} else {
		flags[0] = 0x00 // model: the first byte flags the signing certificate (children)
	}
	if len(p.SignCACert) > 0 {
		j.add(&ef{fid: EFJPKISignCACert, data: withFiller(p.SignCACert)})
	}
	j.add(&ef{fid: EFJPKICertFlags, data: flags})
	j.add(&ef{fid: EFJPKITokenInfo, data: c.tokenInfo(p.TokenLabel)})
	if p.TerminalCA != nil {
		j.add(&ef{fid: EFJPKITerminalCA, data: withFiller(EncodeCVPublicKey(p.TerminalCA))})
	}

	cardPub := encodeCardKey(&p.CardKey.PublicKey)
	sex := []byte{byte('0' + p.Sex)}

	// 券面事項確認AP.
	f := &app{aid: AIDCardFace, name: "kenkaku", cardKey: p.CardKey}
	numberB := era + p.Expiry[:4] + p.SecurityCode
	birthKey, err := newKey("kenkaku/0011", era, faceMax, formatFixed)
	if err != nil {
		return err
	}
	keyB, err := newKey("kenkaku/0012", numberB, faceMax, formatFixed)
	if err != nil {
		return err
	}
	keyA, err := newKey("kenkaku/0013", p.MyNumber, faceMax, formatFixed)
	if err != nil {
		return err
	}
	f.add(&ef{fid: KeyFaceBirth, pin: birthKey, noRead: true})
	f.add(&ef{fid: KeyFaceNumberB, pin: keyB, noRead: true})
	f.add(&ef{fid: KeyFaceNumberA, pin: keyA, noRead: true})

	var age []byte
	age = tlv.Append(age, 0xDF11, []byte(p.BirthDate))
	age = tlv.Append(age, 0xDF12, cardPub)
	sig, err := sign256(p.FaceIssuer, age) // model: DF13 signs the DF11..DF12 encoding
	if err != nil {
		return err
	}
	age = tlv.Append(age, 0xDF13, sig)
	f.add(&ef{fid: EFFaceAge, data: withFiller(tlv.Encode(0xFF10, age)), read: bit(KeyFaceBirth)})

	face, err := buildFaceRecord(p, sex, cardPub)
	if err != nil {
		return err
	}
	f.add(&ef{fid: EFFaceRecord, data: withFiller(face), read: bit(KeyFaceNumberA) | bit(KeyFaceNumberB), needTA: true})
	f.add(&ef{fid: EFFaceAPInfo, data: withFiller(apInfo(AIDCardFace, &p.CardKey.PublicKey, p.MunicipalityCode))})
	if len(p.FaceIssuerCV) > 0 {
		f.add(&ef{fid: EFFaceIssuerCV, data: withFiller(p.FaceIssuerCV)})
	}
	var num []byte
	num = tlv.Append(num, 0xDF41, p.MyNumberPNG)
	num = tlv.Append(num, 0xDF42, cardPub)
	if sig, err = sign256(p.FaceIssuer, num); err != nil { // model: DF43 signs DF41..DF42
		return err
	}
	num = tlv.Append(num, 0xDF43, sig)
	f.add(&ef{fid: EFFaceMyNumber, data: withFiller(tlv.Encode(0xFF40, num)), read: bit(KeyFaceNumberA)})

	// 券面事項入力補助AP.
	h := &app{aid: AIDInputSupport, name: "kenhojo", cardKey: p.CardKey}
	hPIN, err := newKey("kenhojo/0011", p.KenhojoPIN, orDefault(p.KenhojoRetries, 3), formatDigits4)
	if err != nil {
		return err
	}
	hA, err := newKey("kenhojo/0014", p.MyNumber, faceMax, formatFixed)
	if err != nil {
		return err
	}
	hB, err := newKey("kenhojo/0015", numberB, faceMax, formatFixed)
	if err != nil {
		return err
	}
	h.add(&ef{fid: KeyInputPIN, pin: hPIN, noRead: true})
	h.add(&ef{fid: KeyInputNumberA, pin: hA, noRead: true})
	h.add(&ef{fid: KeyInputNumberB, pin: hB, noRead: true})
	ef1 := append(tlv.Encode(0xFF10, []byte(p.MyNumber)), 0xFF, 0xFF) // 17 bytes physical
	basic, _, err := encodeOffsetRecord(0xFF20, []field{
		{0xDF22, []byte(p.Name)}, {0xDF23, []byte(p.Address)}, {0xDF24, []byte(p.BirthDate)}, {0xDF25, sex}})
	if err != nil {
		return err
	}
	ef2 := withFiller(basic)
	h1 := sha256.Sum256(ef1)
	b2, err := basicFourHashed(ef2)
	if err != nil {
		return err
	}
	h2 := sha256.Sum256(b2)
	if sig, err = sign256(p.FaceIssuer, integritySigned(h1[:], h2[:])); err != nil {
		return err
	}
	var integ []byte
	integ = tlv.Append(integ, 0xF1, h1[:])
	integ = tlv.Append(integ, 0xF2, h2[:])
	integ = tlv.Append(integ, 0xF3, sig)
	read01 := bit(KeyInputPIN) | bit(KeyInputNumberA)
	read02 := bit(KeyInputPIN) | bit(KeyInputNumberB)
	h.add(&ef{fid: EFInputMyNumber, data: ef1, read: read01})
	h.add(&ef{fid: EFInputBasic, data: ef2, read: read02})
	h.add(&ef{fid: EFInputIntegrity, data: withFiller(tlv.Encode(0xF0, integ)), read: read01 | read02})
	if len(p.FaceIssuerCV) > 0 {
		h.add(&ef{fid: EFInputIssuerCV, data: withFiller(p.FaceIssuerCV)})
	}
	h.add(&ef{fid: EFInputAPInfo, data: withFiller(apInfo(AIDInputSupport, &p.CardKey.PublicKey, ""))})

	c.apps = [3]*app{j, f, h}
	return nil
}

// buildFaceRecord encodes EF 0002 of the card-face AP: FF20 { DF21 offsets, DF22..DF2A } with
// DF28 signed by the issuer over the three segments (card.md).
func buildFaceRecord(p *Profile, sex, cardPub []byte) ([]byte, error) {
	fields := []field{
		{0xDF22, []byte(p.BirthDate)}, {0xDF23, sex}, {0xDF24, cardPub},
		{0xDF25, p.NamePNG}, {0xDF26, p.AddressPNG}, {0xDF27, p.Photo},
		{0xDF28, make([]byte, p.FaceIssuer.Size())}, // placeholder of the signature's size
		{0xDF29, []byte(p.Expiry)}, {0xDF2A, p.SecurityCodePNG},
	}
	rec, starts, err := encodeOffsetRecord(0xFF20, fields)
	if err != nil {
		return nil, err
	}
	end := func(i int) int { return starts[i+1] }
	seg := [3][]byte{rec[starts[0]:end(2)], rec[starts[3]:end(4)], rec[starts[5]:end(5)]}
	sig, err := issuerSign(p.FaceIssuer, 0, faceSegmentsDigestInfo(seg))
	if err != nil {
		return nil, err
	}
	// DF28's value: after its tag and 82 01 00 length.
	copy(rec[end(6)-len(sig):end(6)], sig)
	return rec, nil
}

// apInfo encodes the AP basic data (card-face EF 0003, input-support EF 0005): FF30 { DF31 AP
// id (last 4 AID bytes), DF32 16-byte key id (SHA-256 of the card key modulus, truncated),
// DF33 version, DF34 municipality code } (card.md; values are this project's model).
func apInfo(aid string, pub *rsa.PublicKey, municipality string) []byte {
	id := sha256.Sum256(pub.N.Bytes())
	var v []byte
	v = tlv.Append(v, 0xDF31, []byte(aid[len(aid)-4:]))
	v = tlv.Append(v, 0xDF32, id[:16])
	v = tlv.Append(v, 0xDF33, []byte{0x01})
	if municipality != "" {
		v = tlv.Append(v, 0xDF34, []byte(municipality))
	}
	return tlv.Encode(0xFF30, v)
}

// tokenInfo is JPKI EF 0006: 160 bytes laid out like PKCS#11 CK_TOKEN_INFO: label (32),
// manufacturerID (32), model (16), serialNumber (16), all space-padded, then FF filler. Only the
// label is documented (card.md); the rest is this project's model.
func (c *Card) tokenInfo(label string) []byte {
	if label == "" {
		label = "JPKIAPICCTOKEN2"
	}
	out := make([]byte, 160)
	put := func(off, n int, s string) {
		for i := 0; i < n; i++ {
			out[off+i] = ' '
		}
		copy(out[off:off+n], s)
	}
	put(0, 32, label)
	put(32, 32, "mynaconform")
	put(64, 16, "virtual card")
	put(80, 16, c.fingerprint[:16])
	for i := 96; i < 160; i++ {
		out[i] = 0xFF
	}
	return out
}

// fingerprint identifies a card (state-file binding, token serial): hex SHA-256 over the public
// moduli of the card and authentication keys. It carries no personal data.
func fingerprint(p *Profile) string {
	h := sha256.New()
	h.Write(p.CardKey.N.Bytes())
	h.Write(p.AuthKey.N.Bytes())
	return hex.EncodeToString(h.Sum(nil))
}
