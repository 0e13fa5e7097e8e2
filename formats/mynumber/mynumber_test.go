package mynumber

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"hash"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"
)

func hx(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

var testKeys = sync.OnceValue(func() [2]*rsa.PrivateKey {
	var ks [2]*rsa.PrivateKey
	for i := range ks {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		ks[i] = k
	}
	return ks
})

func keys(t testing.TB) (issuer, card *rsa.PrivateKey) {
	t.Helper()
	k := testKeys()
	return k[0], k[1]
}

// The sizes card.md gives for an RSA-2048 card, record by record.
func TestRecordSizes(t *testing.T) {
	issuer, card := keys(t)
	sign := RSASigner(issuer)
	pub := &card.PublicKey
	mustLen := func(name string, b []byte, err error, want int) {
		t.Helper()
		if err != nil || len(b) != want {
			t.Errorf("%s: %d bytes (%v), want %d", name, len(b), err, want)
		}
	}
	mustLen("card key", EncodeCardKey(pub), nil, CardKeyLen)
	age, err := (&AgeRecord{BirthDate: "19800217", CardKey: pub}).Encode(sign)
	mustLen("kenkaku EF 0001", age, err, 547)
	if !bytes.HasPrefix(age, hx("FF 10 82 02 1E DF 11 08")) {
		t.Errorf("age record header % X", age[:8])
	}
	cv := &CVCertificate{IssuerID: MustKeyID("6000023/001"), SubjectID: MustKeyID("1322121/000"), PublicKey: pub}
	cvb, err := IssueCV(sign, cv)
	mustLen("EF 0004", cvb, err, CVLen)
	if !bytes.HasPrefix(cvb, hx("7F 21 82 02 33 5F 4E 82 01 29")) || !bytes.Contains(cvb, hx("5F 37 82 01 00")) {
		t.Errorf("CV header % X", cvb[:10])
	}
	mustLen("GET DATA value of a 7F21", cv.Value(), nil, 563)
	info := &FaceAPInfo{Version: DefaultFaceVersion, KeyID: MustKeyID("6000024/001"), Municipality: "13221",
		DF35KeyID: MustKeyID("5900025/001"), DF35Data: make([]byte, 256)}
	ib, err := info.Encode()
	mustLen("kenkaku EF 0003", ib, err, 320)
	if !bytes.HasPrefix(ib, hx("FF 30 82 01 3B DF 31 04 06 03 0E 01 DF 32 10")) {
		t.Errorf("kenkaku EF 0003 header % X", ib[:15])
	}
	g := &Integrity{}
	gb, err := g.Encode(sign)
	mustLen("kenhojo EF 0003", gb, err, IntegrityLen)
	if !bytes.HasPrefix(gb, hx("FF 30 82 01 4B DF 31 20")) {
		t.Errorf("kenhojo EF 0003 header % X", gb[:8])
	}
	ap := &InputAPInfo{Version: DefaultInputVersion, KeyID: MustKeyID("6000034/001"), DF43: make([]byte, 128)}
	apb, err := ap.Encode()
	mustLen("kenhojo EF 0005 object", apb, err, 164)
	if !bytes.HasPrefix(apb, hx("FF 40 82 00 9F DF 41 04 01 03 0E 01 DF 42 10")) || !bytes.Contains(apb, hx("DF 43 82 00 80")) {
		t.Errorf("kenhojo EF 0005 % X", apb[:15])
	}
	mustLen("kenhojo EF 0006", EncodeSMKey(pub), nil, 269)
	if !bytes.HasPrefix(EncodeSMKey(pub), hx("A1 82 01 09 90 03 01 00 01 91 82 01 00")) {
		t.Error("kenhojo EF 0006 header")
	}
	ck, err := (&CardKeyRecord{CardKey: pub}).Encode(sign)
	mustLen("kenhojo EF 0007", ck, err, 536)
	if !bytes.HasPrefix(ck, hx("FF 50 82 02 13 DF 51 82 01 09")) {
		t.Errorf("kenhojo EF 0007 header % X", ck[:10])
	}
	mn, err := EncodeMyNumberRecord("123456789012")
	mustLen("kenhojo EF 0001", mn, err, MyNumberRecordLen)
	tok, err := DefaultTokenInfo(TokenCard, "0000000020500003").Encode()
	mustLen("JPKI EF 0006", tok, err, TokenInfoLen)
}

// The header of the test card's kenhojo EF 0002 (card.md: FF 20 65 DF 21 08 00 0E 00 20 00 59
// 00 64, 104 bytes) follows from a 5-character name and an 18-character address.
func TestBasicFourTestCardLayout(t *testing.T) {
	r := &BasicFour{Name: "山田\u3000花子", Address: strings.Repeat("東", 18), BirthDate: "19800217", Sex: 1}
	b, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, hx("FF 20 65 DF 21 08 00 0E 00 20 00 59 00 64")) || len(b) != 104 {
		t.Fatalf("EF 0002 = % X… (%d bytes)", b[:14], len(b))
	}
	got, err := ParseBasicFour(append(b, 0xFF, 0xFF, 0xFF))
	if err != nil || got.Name != r.Name || got.Address != r.Address || got.BirthDate != "19800217" || got.Sex != 1 {
		t.Fatalf("ParseBasicFour = %+v, %v", got, err)
	}
	hashed, err := BasicFourHashed(b)
	if err != nil || !bytes.Equal(hashed, b[14:]) { // pymyna: the FF20 value from its byte 11
		t.Fatalf("BasicFourHashed = %d bytes, %v", len(hashed), err)
	}
	// A long address takes the 81 form of the outer length.
	r.Address = strings.Repeat("東", 40)
	if b, err = r.Encode(); err != nil || b[2] != 0x81 {
		t.Fatalf("long address: % X %v", b[:4], err)
	}
	if _, err := ParseBasicFour(b); err != nil {
		t.Fatal(err)
	}
}

func TestFaceRecordRoundTrip(t *testing.T) {
	issuer, card := keys(t)
	r := &FaceRecord{BirthDate: "19800217", Sex: 2, CardKey: &card.PublicKey, NamePNG: []byte("name-png"),
		AddressPNG: []byte("addr-png"), Photo: bytes.Repeat([]byte{0x6A}, 3000), Expiry: "20350217", SecurityCodePNG: []byte("sc")}
	b, err := r.Encode(RSASigner(issuer))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, hx("FF 20 82")) || !bytes.HasPrefix(b[5:], hx("DF 21 12")) {
		t.Fatalf("header % X", b[:8])
	}
	got, err := ParseFaceRecord(append(bytes.Clone(b), bytes.Repeat([]byte{0xFF}, 100)...))
	if err != nil {
		t.Fatal(err)
	}
	if got.BirthDate != r.BirthDate || got.Sex != 2 || !SameKey(got.CardKey, &card.PublicKey) || !bytes.Equal(got.Photo, r.Photo) ||
		got.Expiry != "20350217" || len(got.Offsets) != 9 || got.Offsets[0] != 5+3+18 {
		t.Fatalf("parsed %+v", got)
	}
	if err := got.Verify(&issuer.PublicKey); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if err := got.Verify(&card.PublicKey); !errors.Is(err, ErrSignature) {
		t.Fatalf("Verify with another key: %v", err)
	}
	// The signature covers the photo but not DF29/DF2A (card.md).
	tamper := func(at int) error {
		c := bytes.Clone(b)
		c[at] ^= 1
		p, err := ParseFaceRecord(c)
		if err != nil {
			return err
		}
		return p.Verify(&issuer.PublicKey)
	}
	if err := tamper(got.Offsets[5] + 100); !errors.Is(err, ErrSignature) {
		t.Errorf("photo byte flipped: %v", err)
	}
	if err := tamper(len(b) - 1); err != nil {
		t.Errorf("DF2A byte flipped: %v (not covered)", err)
	}
	if len(faceT(got.segments)) != 115 || !bytes.HasPrefix(faceT(got.segments), hx("30 71 30 0D 06 09 60 86 48 01 65 03 04 02 01 05 00 04 60")) {
		t.Error("DF28 input is not the 115-byte DigestInfo of card.md")
	}
	// A wrong offset table is refused.
	c := bytes.Clone(b)
	c[9]++
	if _, err := ParseFaceRecord(c); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad DF21: %v", err)
	}
}

func TestSignedRecords(t *testing.T) {
	issuer, card := keys(t)
	sign := RSASigner(issuer)
	pub := &card.PublicKey
	check := func(name string, enc []byte, err error, parse func([]byte) (interface{ Verify(*rsa.PublicKey) error }, error)) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		r, err := parse(append(bytes.Clone(enc), 0xFF, 0xFF))
		if err != nil {
			t.Fatalf("%s: parse: %v", name, err)
		}
		if err := r.Verify(&issuer.PublicKey); err != nil {
			t.Fatalf("%s: verify: %v", name, err)
		}
		if err := r.Verify(pub); !errors.Is(err, ErrSignature) {
			t.Fatalf("%s: verify with the wrong key: %v", name, err)
		}
		bad := bytes.Clone(enc)
		bad[len(bad)-1] ^= 0x80 // last byte of the signature
		if r, err := parse(bad); err == nil && r.Verify(&issuer.PublicKey) == nil {
			t.Fatalf("%s: flipped signature verifies", name)
		}
	}
	age, err := (&AgeRecord{BirthDate: "20100401", CardKey: pub}).Encode(sign)
	check("age", age, err, func(b []byte) (interface{ Verify(*rsa.PublicKey) error }, error) { return ParseAgeRecord(b) })
	img, err := (&MyNumberImage{PNG: []byte("png"), CardKey: pub}).Encode(sign)
	check("my number image", img, err, func(b []byte) (interface{ Verify(*rsa.PublicKey) error }, error) { return ParseMyNumberImage(b) })
	ck, err := (&CardKeyRecord{CardKey: pub}).Encode(sign)
	check("card key record", ck, err, func(b []byte) (interface{ Verify(*rsa.PublicKey) error }, error) { return ParseCardKeyRecord(b) })
	cv := &CVCertificate{IssuerID: MustKeyID("6000033/001"), SubjectID: MustKeyID("1322131/000"), PublicKey: pub}
	cvb, err := IssueCV(sign, cv)
	check("cv", cvb, err, func(b []byte) (interface{ Verify(*rsa.PublicKey) error }, error) { return ParseCV(b) })
	got, _ := ParseCV(cvb)
	if got.IssuerID.String() != "6000033/001" || got.SubjectID.String() != "1322131/000" || !got.IssuerID.Test() || got.Extra != nil {
		t.Errorf("CV ids %v %v", got.IssuerID, got.SubjectID)
	}
	if v, err := ParseCVValue(cv.Value()); err != nil || v.Verify(&issuer.PublicKey) != nil {
		t.Errorf("GET DATA value: %v", err)
	}

	// The integrity record: H1 over the 17 physical bytes, H2 over EF 0002 from DF22.
	mn, _ := EncodeMyNumberRecord("123456789018")
	bf, _ := (&BasicFour{Name: "試験\u3000太郎", Address: "東京都千代田区１－１", BirthDate: "19800217", Sex: 1}).Encode()
	g, err := NewIntegrity(mn, bf)
	if err != nil {
		t.Fatal(err)
	}
	gb, err := g.Encode(sign)
	check("integrity", gb, err, func(b []byte) (interface{ Verify(*rsa.PublicKey) error }, error) { return ParseIntegrity(b) })
	pg, _ := ParseIntegrity(gb)
	if err := pg.Matches(mn, append(bytes.Clone(bf), 0xFF)); err != nil {
		t.Errorf("Matches: %v", err)
	}
	if err := pg.Matches(mn[:15], bf); err == nil {
		t.Error("H1 matched the trimmed 15 bytes (card.md: only the 17 physical bytes match)")
	}
	if n, err := ParseMyNumberRecord(mn); err != nil || n != "123456789018" {
		t.Errorf("ParseMyNumberRecord = %q %v", n, err)
	}
}

func TestTerminalCertificate(t *testing.T) {
	issuer, card := keys(t)
	v := TerminalValidity{NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC), Role: RoleVisual}
	cv := &CVCertificate{IssuerID: MustKeyID("6900001/001"), SubjectID: MustKeyID("7000042/001"), PublicKey: &card.PublicKey, Extra: v.Encode()}
	b, err := IssueCV(RSASigner(issuer), cv)
	if err != nil {
		t.Fatal(err)
	}
	if len(cv.Body) != 307 {
		t.Fatalf("terminal certificate body %d bytes, card.md says 307", len(cv.Body))
	}
	got, err := ParseCV(b)
	if err != nil || got.Verify(&issuer.PublicKey) != nil {
		t.Fatal(err)
	}
	gv, err := ParseTerminalValidity(got.Extra)
	if err != nil || !gv.NotBefore.Equal(v.NotBefore) || !gv.NotAfter.Equal(v.NotAfter) || gv.Role != RoleVisual {
		t.Fatalf("validity %+v %v", gv, err)
	}
	if !gv.ValidAt(time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC)) || gv.ValidAt(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("ValidAt")
	}
	if _, err := ParseTerminalValidity([]byte{0x20, 0x26, 0x13, 0x01, 0, 0, 0, 0, 0, 0}); err == nil {
		t.Error("month 13 accepted")
	}
	if a, b := TerminalSubject("DV0123456789ABCDEF"), TerminalSubject("DV0123456789ABCDEE"); a == b || a != TerminalSubject("DV0123456789ABCDEF") || a == (KeyID{}) {
		t.Error("TerminalSubject is not a per-device id")
	}
}

func TestKeyID(t *testing.T) {
	k := MustKeyID("5000023/001")
	if !bytes.Equal(k[:], append([]byte("5000023\x08\x05001"), 0, 0, 0, 0)) || k.String() != "5000023/001" || k.Test() {
		t.Fatalf("key id % X %v", k[:], k)
	}
	k[15] = 0xA8 // the MF root's last byte (card.md)
	if k.String() != "5000023/001" {
		t.Error("padding must not change the printed id")
	}
	for _, bad := range []string{"500002/001", "5000023-001", "50000a3/001", ""} {
		if _, err := NewKeyID(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("NewKeyID(%q): %v", bad, err)
		}
	}
	var raw KeyID
	if raw.String() != strings.Repeat("00", 16) {
		t.Error("odd ids print as hex")
	}
}

func TestEra(t *testing.T) {
	for in, want := range map[string]string{
		"19800217": "550217", // the test card's 昭和55
		"19890107": "640107", "19890108": "010108", "20190430": "310430", "20190501": "010501",
		"19261224": "151224", "19261225": "011225", "19120729": "450729", "19120730": "010730", "18681023": "011023",
	} {
		got, err := EraYYMMDD(in)
		if err != nil || got != want {
			t.Errorf("EraYYMMDD(%s) = %q %v, want %s", in, got, err, want)
		}
	}
	if _, err := EraYYMMDD("18681022"); err == nil {
		t.Error("a date before Meiji was accepted")
	}
	if e, y, _ := EraOf("19120729"); e.NameJA != "明治" || y != 45 {
		t.Errorf("1912-07-29 = %s %d", e.NameJA, y)
	}
	if g, err := FromEra(Eras[2], "550217"); err != nil || g != "19800217" {
		t.Errorf("FromEra(昭和, 550217) = %q %v", g, err)
	}
	if _, err := FromEra(Eras[0], "550217"); err != nil {
		t.Errorf("令和55 is a future date but a valid one: %v", err)
	}
	if _, err := FromEra(Eras[1], "320101"); err == nil { // 平成32 does not exist
		t.Error("FromEra accepted a date past the era's end")
	}
	for in, want := range map[string]string{"19800217": "319800217", "20190501": "520190501", "19890107": "319890107", "19120729": "119120729"} {
		if got, err := EraCodedDate(in); err != nil || got != want {
			t.Errorf("EraCodedDate(%s) = %q %v, want %s", in, got, err, want)
		}
	}
	b, err := VerificationB("19800217", "20350217", "2285")
	if err != nil || b != "55021720352285" { // the test card's 照合番号B
		t.Errorf("VerificationB = %q %v", b, err)
	}
}

func TestCardInfoAndTokens(t *testing.T) {
	rec := append([]byte{0x01, 0x1C}, "4000000127198431322120350217"...)
	ci, err := ParseCardInfo(rec)
	if err != nil || ci.Serial != "400000012719843" || ci.Municipality != "13221" || ci.Expiry != "20350217" {
		t.Fatalf("ParseCardInfo = %+v %v", ci, err)
	}
	if b, err := ci.Encode(); err != nil || !bytes.Equal(b, rec) {
		t.Fatalf("Encode = % X %v", b, err)
	}
	tok := DefaultTokenInfo(TokenCard, "0000000020500003")
	b, _ := tok.Encode()
	if !bytes.HasPrefix(b, []byte("JPKIAPICCTOKEN2                 ")) || !bytes.Equal(b[96:100], hx("00 00 04 0D")) ||
		!bytes.Equal(b[116:124], hx("00 00 00 10 00 00 00 06")) || string(b[140:144]) != "0301" {
		t.Fatalf("token info % X", b)
	}
	got, err := ParseTokenInfo(b)
	if err != nil || got != tok {
		t.Fatalf("ParseTokenInfo = %+v %v", got, err)
	}
	if _, err := (TokenInfo{Label: strings.Repeat("X", 33)}).Encode(); err == nil {
		t.Error("a 33-byte label was encoded")
	}
	if f, _ := ParseCertFlags(hx("8F 8F 00")); f != (CertFlags{true, true}) || !bytes.Equal((CertFlags{Auth: true}).Encode(), hx("00 8F 00")) {
		t.Error("cert flags")
	}
}

func TestSignatureSchemes(t *testing.T) {
	_, card := keys(t)
	data32 := bytes.Repeat([]byte{7}, 32)
	for p1, data := range map[SignatureScheme][]byte{
		SigPKCS1Raw: DigestInfoSHA256(data32), SigPKCS1SHA256Bare: []byte("abc"), SigPKCS1Hash: data32,
		SigPKCS1SHA256: []byte("abc"), SigPSSHash: data32, SigPSSSHA256: []byte("abc"),
	} {
		sig, err := Sign(card, p1, data)
		if err != nil || len(sig) != 256 {
			t.Fatalf("P1 %02X: %v", p1, err)
		}
		if err := VerifySignature(&card.PublicKey, p1, data, sig); err != nil {
			t.Errorf("P1 %02X: verify %v", p1, err)
		}
	}
	// P1 03 is sha256WithRSAEncryption: the same signature as P1 02 over SHA-256 of the data,
	// and as P1 00 over the DigestInfo.
	s3, _ := Sign(card, SigPKCS1SHA256, []byte("abc"))
	s0, _ := Sign(card, SigPKCS1Raw, sha256WithRSA([]byte("abc")))
	if !bytes.Equal(s3, s0) {
		t.Error("P1 03 differs from P1 00 over the DigestInfo")
	}
	for _, c := range []struct {
		p1 SignatureScheme
		n  int
	}{{SigPKCS1Raw, 246}, {SigPKCS1Raw, 0}, {SigPKCS1Hash, 31}, {SigPSSHash, 33}, {SigPKCS1SHA256, 256}} {
		if err := CheckSignatureInput(c.p1, c.n, 256); !errors.Is(err, ErrSignatureInput) {
			t.Errorf("P1 %02X with %d bytes: %v", c.p1, c.n, err)
		}
	}
	if err := CheckSignatureInput(6, 1, 256); !errors.Is(err, ErrSchemeUnknown) {
		t.Error("P1 06")
	}
	if len(DigestInfoSHA256(data32)) != 51 {
		t.Error("DigestInfo of SHA-256 is 51 bytes")
	}
}

func TestSigningAttributes(t *testing.T) {
	issuer, card := keys(t)
	attrs := SigningAttributes{Name: "試験\u3000花子", NameAlt: "", Sex: "2", BirthDate: "19800217", Address: "東京都千代田区", AddressAlt: "x"}
	ext, err := attrs.Extension()
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sign"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), ExtraExtensions: []pkix.Extension{ext}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &card.PublicKey, issuer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := ParseSigningAttributes(cert)
	if err != nil || !ok || got != attrs {
		t.Fatalf("ParseSigningAttributes = %+v %v %v", got, ok, err)
	}
}

func TestSecureMessaging(t *testing.T) {
	_, card := keys(t)
	seed := bytes.Repeat([]byte{0x11}, SMSeedLen)
	ct, err := EncryptSessionKey(rand.Reader, &card.PublicKey, seed)
	if err != nil || len(ct) != 256 {
		t.Fatal(err)
	}
	got, err := DecryptSessionKey(card, ct)
	if err != nil || !bytes.Equal(got, seed) {
		t.Fatalf("DecryptSessionKey: %v", err)
	}
	// The CCS-key form 81 is refused (6A80); a cryptogram at or above the modulus is 6F00.
	bad, _ := rsa.EncryptOAEP(newSHA256(), rand.Reader, &card.PublicKey, append([]byte{0xA0, 0x22, 0x81, 0x20}, seed...), nil)
	if _, err := DecryptSessionKey(card, bad); !errors.Is(err, ErrSMKeyBlock) {
		t.Errorf("81 form: %v", err)
	}
	if _, err := DecryptSessionKey(card, card.N.FillBytes(make([]byte, 256))); !errors.Is(err, ErrSMKeyRange) {
		t.Errorf("cryptogram = modulus: %v", err)
	}
	s, _ := NewSMSession(seed)
	c, _ := NewSMSession(seed)
	for _, plain := range [][]byte{[]byte("1234"), bytes.Repeat([]byte{9}, 16), nil} {
		do := c.Encrypt(c.N, plain)
		v, err := SMObject(do, TagSMCrypto)
		if err != nil {
			t.Fatal(err)
		}
		if want := (len(plain)/16 + 1) * 16; len(v) != 1+want { // padding always added
			t.Errorf("%d-byte plaintext: %d-byte cryptogram", len(plain), len(v)-1)
		}
		p, err := s.Decrypt(s.N, v)
		if err != nil || !bytes.Equal(p, plain) {
			t.Fatalf("Decrypt = % X %v", p, err)
		}
		// Under a wrong counter a one-block cryptogram decrypts to noise; its padding checks
		// about one time in 255, never for this fixed seed and these plaintexts.
		if _, err := s.Decrypt(s.N+1, v); len(v) == 17 && !errors.Is(err, ErrSMCryptogram) {
			t.Errorf("%d-byte plaintext decrypted under a wrong counter", len(plain))
		}
		s.N++
		c.N++
	}
	if _, err := SMObject(append(c.Encrypt(1, nil), 0x96, 0x00), TagSMCrypto); !errors.Is(err, ErrSMObjects) {
		t.Error("an extra DO was accepted")
	}
	if le, err := ParseLeObject(LeObject(0x0123)[2:]); err != nil || le != 0x0123 {
		t.Error("Le DO")
	}
}

func TestCommandName(t *testing.T) {
	for in, want := range map[string]string{
		"00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01": "SELECT by AID", "00 A4 02 0C 02 00 0A": "SELECT EF",
		"00 A4 00 00": "SELECT MF", "00 B0 8A 00 00": "READ BINARY (short EF)", "00 B0 00 00 00": "READ BINARY",
		"00 20 00 80": "VERIFY (retry counter)", "00 20 00 98 04 31 32 33 34": "VERIFY",
		"80 2A 00 80 01 00 00": "COMPUTE DIGITAL SIGNATURE", "00 2A 9E 9A 01 00": "PERFORM SECURITY OPERATION",
		"80 A2 00 C1 00 00 01 00": "TERMINAL CERTIFICATE (80 A2)", "80 AE 00 00": "SET SESSION KEY",
		"80 32 00 80 04 31 32 33 34": "CHANGE KEY", "00 B2 01 0C 00": "READ RECORD", "00 CA 00 F0 00": "GET DATA",
		"08 20 00 91 01 00": "VERIFY (secure messaging)", "00 E0 00 00": "INS E0", "00 A4": "malformed command",
	} {
		if got := CommandName(hx(in)); got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
}

func TestKeysTable(t *testing.T) {
	seen := map[[2]uint64]bool{}
	for _, k := range Keys {
		id := [2]uint64{uint64(len(k.AID)) << 32, uint64(k.FID)}
		id[0] |= uint64(k.AID[len(k.AID)-1])
		if seen[id] {
			t.Errorf("%s %04X twice", k.AID.Short(), k.FID)
		}
		seen[id] = true
		if k.AID.Short() == "" || k.NameJA == "" {
			t.Errorf("%04X: no names", k.FID)
		}
	}
	if k, ok := KeyOf(AIDJPKI, JPKIAuthPIN); !ok || k.Tries != 3 || !k.Format.Valid([]byte("1234")) || k.Format.Valid([]byte("12345")) {
		t.Error("JPKI auth PIN")
	}
	if k, _ := KeyOf(AIDJPKI, JPKISignPIN); !k.Format.Valid([]byte("ABC123")) || k.Format.Valid([]byte("abc123")) || k.Tries != 5 {
		t.Error("signing password format")
	}
	if sfi, ok := FaceNumberB.SFI(); !ok || sfi != 0x92 {
		t.Error("SFI")
	}
	if _, ok := FID(0x1F).SFI(); ok {
		t.Error("SFI 1F")
	}
	for _, a := range ATRs {
		if x := xorTCK(a.Bytes); x != 0 || len(a.Bytes) > 33 { // card.md: all TCKs check
			t.Errorf("ATR %s: TCK check %02X", a.ID, x)
		}
	}
}

// xorTCK is the XOR of T0..TCK (zero when TCK is right).
func xorTCK(atr []byte) byte {
	var x byte
	for _, b := range atr[1:] {
		x ^= b
	}
	return x
}

func newSHA256() hash.Hash { return sha256.New() }

// Every file of the layout table parses what this package encodes for it, and refuses junk.
func TestFileLayouts(t *testing.T) {
	issuer, card := keys(t)
	sign := RSASigner(issuer)
	pub := &card.PublicKey
	enc := func(b []byte, err error) []byte {
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	mn := enc(EncodeMyNumberRecord("123456789012"))
	bf := enc((&BasicFour{Name: "a", Address: "b", BirthDate: "19800217", Sex: 1}).Encode())
	g, _ := NewIntegrity(mn, bf)
	tok := enc(DefaultTokenInfo(TokenCard, "1").Encode())
	for ref, b := range map[FileRef][]byte{
		{AIDJPKI, JPKITokenInfo}:           tok,
		{AIDJPKI, JPKICertFlags}:           CertFlags{true, true}.Encode(),
		{AIDCommon, CommonCardInfo}:        enc(CardInfo{"400000012719843", "13221", "20350217"}.Encode()),
		{AIDCardFace, FaceAge}:             enc((&AgeRecord{BirthDate: "19800217", CardKey: pub}).Encode(sign)),
		{AIDCardFace, FaceRecordEF}:        enc((&FaceRecord{BirthDate: "19800217", Sex: 1, CardKey: pub, Expiry: "20350217"}).Encode(sign)),
		{AIDCardFace, FaceBasicData}:       enc((&FaceAPInfo{Municipality: "13221", DF35Data: make([]byte, 256)}).Encode()),
		{AIDCardFace, FaceCV}:              enc(IssueCV(sign, &CVCertificate{PublicKey: pub})),
		{AIDCardFace, FaceMyNumber}:        enc((&MyNumberImage{PNG: []byte{1}, CardKey: pub}).Encode(sign)),
		{AIDInputSupport, InputMyNumber}:   mn,
		{AIDInputSupport, InputBasicFour}:  bf,
		{AIDInputSupport, InputIntegrity}:  enc(g.Encode(sign)),
		{AIDInputSupport, InputInfo}:       enc((&InputAPInfo{DF43: make([]byte, 128)}).Encode()),
		{AIDInputSupport, InputSMKey}:      EncodeSMKey(pub),
		{AIDInputSupport, InputCardKeyPub}: enc((&CardKeyRecord{CardKey: pub}).Encode(sign)),
	} {
		l, ok := LayoutOf(ref.AID, ref.FID)
		if !ok {
			t.Errorf("%s: no layout", FileName(ref.AID, ref.FID))
			continue
		}
		if _, err := l.Parse(b); err != nil {
			t.Errorf("%s: %v", FileName(ref.AID, ref.FID), err)
		}
		if _, err := l.Parse([]byte{0x01, 0x02}); err == nil && ref.FID != JPKICertFlags {
			t.Errorf("%s: junk parsed", FileName(ref.AID, ref.FID))
		}
	}
	if _, ok := LayoutOf(AIDJPKI, JPKIAuthPIN); ok || FileName(AIDCardFace, FaceRecordEF) != "kenkaku EF 0002 (card face)" {
		t.Error("LayoutOf / FileName")
	}
}
