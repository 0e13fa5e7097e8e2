package card_test

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"testing"
	"time"

	jpeg2000 "github.com/ajroetker/go-jpeg2000"

	"github.com/mynaconform/mynaconform/emulator/card"
)

// readCertOpenSC reads a certificate EF the way OpenSC's card-jpki.c does: SELECT EF, READ
// BINARY of 4 bytes, size = LLLL + 4 from the 30 82 LL LL header, then ISO READ BINARY in chunks
// of at most 256 bytes (Le 00).
func readCertOpenSC(t *testing.T, c *card.Card, fid uint16) *x509.Certificate {
	t.Helper()
	exchange(t, c, selectEF(fid), swOK)
	hdr := exchange(t, c, hx("00 B0 00 00 04"), swOK)
	if len(hdr) != 4 || hdr[0] != 0x30 || hdr[1] != 0x82 {
		t.Fatalf("EF %04X header % X", fid, hdr)
	}
	size := int(hdr[2])<<8 | int(hdr[3]) + 4
	var der []byte
	for len(der) < size {
		n := min(size-len(der), 256)
		der = append(der, exchange(t, c, apdu(0x00, 0xB0, byte(len(der)>>8), byte(len(der)), nil, n&0xFF), swOK)...)
	}
	if len(der) != size {
		t.Fatalf("EF %04X: read %d bytes, header says %d", fid, len(der), size)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("EF %04X: %v", fid, err)
	}
	return cert
}

// TestOpenSCReplay replays OpenSC's JPKI driver: SELECT AP, certificate by header, SELECT
// 0018, VERIFY query and VERIFY, SELECT 0017, 80 2A 00 80 with a DigestInfo and Le 00.
func TestOpenSCReplay(t *testing.T) {
	c := newTestCard(t, "adult")
	exchange(t, c, selectDF(card.AIDJPKI), swOK)
	cert := readCertOpenSC(t, c, card.EFJPKIAuthCert)
	readCertOpenSC(t, c, card.EFJPKIAuthCACert)
	readCertOpenSC(t, c, card.EFJPKISignCACert)
	exchange(t, c, selectEF(card.EFJPKIAuthPIN), swOK)
	exchange(t, c, hx("00 20 00 80"), 0x63C3) // SC_PIN_CMD_GET_INFO
	exchange(t, c, verifyCur(testAuthPIN), swOK)
	exchange(t, c, selectEF(card.EFJPKIAuthKey), swOK)
	h := sha256.Sum256([]byte("challenge from the qualification system"))
	sig := exchange(t, c, apdu(0x80, 0x2A, 0x00, 0x80, card.DigestInfoSHA256(h[:]), 0), swOK)
	if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, h[:], sig); err != nil {
		t.Fatalf("signature does not verify with the EF 000A certificate: %v", err)
	}
	// The signing certificate needs the signing PIN (sign PIN pin_reference 2).
	exchange(t, c, selectEF(card.EFJPKISignCert), swOK)
	exchange(t, c, hx("00 B0 00 00 04"), swSecurityStatus)
	exchange(t, c, selectEF(card.EFJPKISignPIN), swOK)
	exchange(t, c, verifyCur(testSignPIN), swOK)
	signCert := readCertOpenSC(t, c, card.EFJPKISignCert)
	exchange(t, c, selectEF(card.EFJPKISignKey), swOK)
	sig = exchange(t, c, apdu(0x80, 0x2A, 0x00, 0x80, card.DigestInfoSHA256(h[:]), 0), swOK)
	if err := rsa.VerifyPKCS1v15(signCert.PublicKey.(*rsa.PublicKey), crypto.SHA256, h[:], sig); err != nil {
		t.Fatalf("signing-key signature: %v", err)
	}
}

// TestMynaReplay replays jpki/myna (libmyna): token label by READ BINARY of 0x20 bytes,
// certificate by a 7-byte read then the exact size in Le 00 chunks, PIN lookup, VERIFY and
// 80 2a 00 80 Lc data 00.
func TestMynaReplay(t *testing.T) {
	c := newTestCard(t, "adult")
	exchange(t, c, hx("00 A4 04 0C 0A D3 92 f0 00 26 01 00 00 00 01"), swOK)
	exchange(t, c, hx("00 A4 02 0C 02 00 06"), swOK)
	tok := exchange(t, c, hx("00 B0 00 00 20"), swOK)
	if string(bytes.TrimRight(tok, " ")) != "JPKIAPICCTOKEN2" {
		t.Fatalf("token label %q", tok)
	}
	exchange(t, c, hx("00 A4 02 0C 02 00 0A"), swOK)
	head := exchange(t, c, hx("00 B0 00 00 07"), swOK)
	size := int(head[2])<<8 | int(head[3]) + 4
	var der []byte
	for len(der) < size {
		n := min(size-len(der), 0x100)
		der = append(der, exchange(t, c, apdu(0x00, 0xB0, byte(len(der)>>8), byte(len(der)), nil, n&0xFF), swOK)...)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	exchange(t, c, hx("00 A4 02 0C 02 00 18"), swOK)
	exchange(t, c, hx("00 20 00 80"), 0x63C3)
	exchange(t, c, verifyCur(testAuthPIN), swOK)
	exchange(t, c, hx("00 A4 02 0C 02 00 17"), swOK)
	h := sha256.Sum256([]byte("myna"))
	sig := exchange(t, c, apdu(0x80, 0x2A, 0x00, 0x80, card.DigestInfoSHA256(h[:]), 0), swOK)
	if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, h[:], sig); err != nil {
		t.Fatal(err)
	}
	// The kenhojo text AP: SELECT, VERIFY the PIN, read both records.
	exchange(t, c, hx("00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 08"), swOK)
	exchange(t, c, hx("00 A4 02 0C 02 00 11"), swOK)
	exchange(t, c, verifyCur(testKenhojoPIN), swOK)
	exchange(t, c, hx("00 A4 02 0C 02 00 01"), swOK)
	if n, err := card.ParseMyNumberRecord(exchange(t, c, hx("00 B0 00 00 00"), swOK)); err != nil || n != testMyNumber {
		t.Fatalf("My Number record: %v", err) // never print the number
	}
}

// TestSignatureSchemes checks every P1 (00..05) with the key named by the current EF and by
// P2 80|SFI, each signature verifying with the certificate's key.
func TestSignatureSchemes(t *testing.T) {
	c := newTestCard(t, "adult")
	pr := profile(t, "adult")
	exchange(t, c, selectDF(card.AIDJPKI), swOK)
	exchange(t, c, verifySFI(card.EFJPKIAuthPIN, testAuthPIN), swOK)
	exchange(t, c, verifySFI(card.EFJPKISignPIN, testSignPIN), swOK)
	msg := []byte("data to be signed by the virtual card")
	h := sha256.Sum256(msg)
	pss := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}
	cases := []struct {
		p1     byte
		data   []byte
		verify func(pub *rsa.PublicKey, sig []byte) error
	}{
		{0x00, card.DigestInfoSHA256(h[:]), func(pub *rsa.PublicKey, s []byte) error { return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], s) }},
		{0x01, msg, func(pub *rsa.PublicKey, s []byte) error { return rsa.VerifyPKCS1v15(pub, 0, h[:], s) }},
		{0x02, h[:], func(pub *rsa.PublicKey, s []byte) error { return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], s) }},
		{0x03, msg, func(pub *rsa.PublicKey, s []byte) error { return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], s) }},
		{0x04, h[:], func(pub *rsa.PublicKey, s []byte) error { return rsa.VerifyPSS(pub, crypto.SHA256, h[:], s, pss) }},
		{0x05, msg, func(pub *rsa.PublicKey, s []byte) error { return rsa.VerifyPSS(pub, crypto.SHA256, h[:], s, pss) }},
	}
	for _, k := range []struct {
		fid uint16
		pub *rsa.PublicKey
	}{{card.EFJPKIAuthKey, certKey(t, pr.AuthCert)}, {card.EFJPKISignKey, certKey(t, pr.SignCert)}} {
		for _, tc := range cases {
			exchange(t, c, selectEF(k.fid), swOK)
			sig := exchange(t, c, apdu(0x80, 0x2A, tc.p1, 0x80, tc.data, 0), swOK)
			if err := tc.verify(k.pub, sig); err != nil {
				t.Errorf("key %04X P1 %02X (current EF): %v", k.fid, tc.p1, err)
			}
			exchange(t, c, selectEF(card.EFJPKICertFlags), swOK)
			sig = exchange(t, c, apdu(0x80, 0x2A, tc.p1, 0x80|byte(k.fid), tc.data, 0), swOK)
			if err := tc.verify(k.pub, sig); err != nil {
				t.Errorf("key %04X P1 %02X (P2 80|SFI): %v", k.fid, tc.p1, err)
			}
		}
	}
	exchange(t, c, apdu(0x80, 0x2A, 0x06, 0x97, h[:], 0), swWrongP1P2)
	exchange(t, c, apdu(0x80, 0x2A, 0x02, 0x97, msg, 0), swWrongLength) // P1 02 wants 32 bytes
	exchange(t, c, apdu(0x80, 0x2A, 0x00, 0x97, make([]byte, 246), 0), swWrongLength)
	exchange(t, c, apdu(0x80, 0x2A, 0x00, 0x97, h[:], 0x80), swWrongLength) // Le below 256
	exchange(t, c, apdu(0x80, 0x2A, 0x00, 0x9B, h[:], 0), swFileNotFound)   // PIN EF is no key
}

// TestCardFace reads the card face with 照合番号B (short-EF VERIFY), checks the record
// signature with the EF 0004 issuer key, decodes the JP2 photo and verifies the card-presence
// signature with the record's card key.
func TestCardFace(t *testing.T) {
	c := newTestCard(t, "adult")
	pr := profile(t, "adult")
	exchange(t, c, selectDF(card.AIDCardFace), swOK)
	exchange(t, c, selectEF(card.EFFaceIssuerCV), swOK)
	cv, err := card.ParseCV(readAll(t, c))
	if err != nil {
		t.Fatal(err)
	}
	if err := cv.Verify(cv.PublicKey, time.Time{}); err != nil {
		t.Fatalf("EF 0004: %v", err)
	}
	exchange(t, c, selectEF(card.EFFaceRecord), swOK)
	exchange(t, c, hx("00 B0 00 00 00"), swSecurityStatus)
	exchange(t, c, verifySFI(card.KeyFaceNumberB, testNumberB), swOK)
	// Extended Le 00 00 00 reads the whole file in one APDU; short chunks give the same bytes.
	whole := exchange(t, c, extAPDU(0x00, 0xB0, 0x00, 0x00, nil, 0), swOK)
	if chunks := readAll(t, c); !bytes.Equal(whole, chunks) {
		t.Fatalf("extended read %d bytes, chunked %d", len(whole), len(chunks))
	}
	rec, err := card.ParseFaceRecord(whole)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Verify(cv.PublicKey); err != nil {
		t.Fatalf("face record signature: %v", err)
	}
	if rec.BirthDate != pr.BirthDate || rec.Sex != pr.Sex || rec.Expiry != pr.Expiry || !bytes.Equal(rec.SecurityCodePNG, pr.SecurityCodePNG) {
		t.Errorf("face record fields differ from the profile")
	}
	if !bytes.HasPrefix(rec.Photo, hx("00 00 00 0C 6A 50 20 20")) {
		t.Fatalf("photo is not a JP2 file: % X", rec.Photo[:min(len(rec.Photo), 16)])
	}
	img, err := jpeg2000.Decode(bytes.NewReader(rec.Photo))
	if err != nil {
		t.Fatalf("photo does not decode: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 16 || b.Dy() < 16 || !bytes.Equal(rec.Photo, pr.Photo) {
		t.Fatalf("photo %v, %d bytes", b, len(rec.Photo))
	}
	// A tampered photo breaks the signature; DF29/DF2A are not covered.
	bad := bytes.Clone(whole)
	bad[rec.Offsets[5]+10] ^= 1
	if r2, err := card.ParseFaceRecord(bad); err != nil || r2.Verify(cv.PublicKey) == nil {
		t.Fatalf("tampered photo accepted (parse err %v)", err)
	}
	bad = bytes.Clone(whole)
	bad[rec.Offsets[7]+4] ^= 1
	if r2, err := card.ParseFaceRecord(bad); err != nil || r2.Verify(cv.PublicKey) != nil {
		t.Fatalf("DF29 must not be covered by DF28 (parse err %v)", err)
	}
	// card.Card-presence proof: 80 2A 00 00 Lc DigestInfo 00, no credential needed.
	c.Reset()
	exchange(t, c, selectDF(card.AIDCardFace), swOK)
	h := sha256.Sum256([]byte("server challenge"))
	sig := exchange(t, c, apdu(0x80, 0x2A, 0x00, 0x00, card.DigestInfoSHA256(h[:]), 0), swOK)
	if err := rsa.VerifyPKCS1v15(rec.CardKey, crypto.SHA256, h[:], sig); err != nil {
		t.Fatalf("card-presence signature: %v", err)
	}
	exchange(t, c, selectDF(card.AIDInputSupport), swOK)
	sig = exchange(t, c, apdu(0x80, 0x2A, 0x00, 0x00, card.DigestInfoSHA256(h[:]), 0), swOK)
	if err := rsa.VerifyPKCS1v15(rec.CardKey, crypto.SHA256, h[:], sig); err != nil {
		t.Fatalf("card-presence signature (input-support AP): %v", err)
	}
}

// TestCardFaceAccess checks card.md's access rules of the card-face AP.
func TestCardFaceAccess(t *testing.T) {
	c := newTestCard(t, "adult")
	read := func(fid uint16, want uint16) {
		t.Helper()
		exchange(t, c, selectEF(fid), swOK)
		exchange(t, c, hx("00 B0 00 00 01"), want)
	}
	fresh := func() { t.Helper(); c.Reset(); exchange(t, c, selectDF(card.AIDCardFace), swOK) }
	fresh()
	read(card.EFFaceAPInfo, swOK)
	read(card.EFFaceIssuerCV, swOK)
	for _, f := range []uint16{card.EFFaceAge, card.EFFaceRecord, card.EFFaceMyNumber} {
		read(f, swSecurityStatus)
	}
	exchange(t, c, verifySFI(card.KeyFaceBirth, testBirthEra), swOK) // birth date opens only 0001
	read(card.EFFaceAge, swOK)
	read(card.EFFaceRecord, swSecurityStatus)
	read(card.EFFaceMyNumber, swSecurityStatus)
	fresh()
	exchange(t, c, verifySFI(card.KeyFaceNumberA, testMyNumber), swOK) // A opens 0002, 0005
	read(card.EFFaceRecord, swOK)
	read(card.EFFaceMyNumber, swOK)
	read(card.EFFaceAge, swSecurityStatus)
	fresh()
	exchange(t, c, verifySFI(card.KeyFaceNumberB, testNumberB), swOK) // B: 0002, not 0005
	read(card.EFFaceRecord, swOK)
	read(card.EFFaceMyNumber, swSecurityStatus)
	exchange(t, c, selectEF(card.KeyFaceNumberB), swOK)
	exchange(t, c, hx("00 20 00 80"), 0x63CA) // 10 tries by default
}

// TestInputSupport checks the input-support AP: access rules, the 17-byte My Number file, the
// basic four, and integrity hashes and signature that match.
func TestInputSupport(t *testing.T) {
	c := newTestCard(t, "adult")
	pr := profile(t, "adult")
	read := func(fid uint16, want uint16) []byte {
		t.Helper()
		exchange(t, c, selectEF(fid), swOK)
		if want != swOK {
			exchange(t, c, hx("00 B0 00 00 00"), want)
			return nil
		}
		return readAll(t, c)
	}
	fresh := func() { t.Helper(); c.Reset(); exchange(t, c, selectDF(card.AIDInputSupport), swOK) }
	fresh()
	read(card.EFInputIssuerCV, swOK)
	read(card.EFInputAPInfo, swOK)
	read(card.EFInputMyNumber, swSecurityStatus)
	read(card.EFInputBasic, swSecurityStatus)
	read(card.EFInputIntegrity, swSecurityStatus)
	exchange(t, c, verifySFI(card.KeyInputNumberA, testMyNumber), swOK)
	ef1 := read(card.EFInputMyNumber, swOK)
	read(card.EFInputBasic, swSecurityStatus)
	if len(ef1) != 17 || !bytes.HasPrefix(ef1, hx("FF 10 0C")) || !bytes.HasSuffix(ef1, hx("FF FF")) {
		t.Fatalf("EF 0001 is %d bytes, want FF 10 0C + 12 digits + FF FF", len(ef1))
	}
	fresh()
	exchange(t, c, verifySFI(card.KeyInputNumberB, testNumberB), swOK)
	read(card.EFInputMyNumber, swSecurityStatus)
	read(card.EFInputBasic, swOK)
	fresh()
	exchange(t, c, verifySFI(card.KeyInputPIN, testKenhojoPIN), swOK)
	ef1 = read(card.EFInputMyNumber, swOK)
	ef2 := read(card.EFInputBasic, swOK)
	ef3 := read(card.EFInputIntegrity, swOK)
	b4, err := card.ParseBasicFour(ef2)
	if err != nil {
		t.Fatal(err)
	}
	if b4.Name != pr.Name || b4.Address != pr.Address || b4.BirthDate != pr.BirthDate || b4.Sex != pr.Sex {
		t.Errorf("basic four differ from the profile")
	}
	exchange(t, c, selectEF(card.EFInputIssuerCV), swOK)
	cv, err := card.ParseCV(readAll(t, c))
	if err != nil {
		t.Fatal(err)
	}
	if err := card.VerifyInputSupport(ef1, ef2, ef3, cv.PublicKey); err != nil {
		t.Fatalf("integrity: %v", err)
	}
	i := bytes.Index(ef2, []byte(pr.Address))
	if i < 0 {
		t.Fatal("address not in EF 0002")
	}
	bad := bytes.Clone(ef2)
	bad[i] ^= 1
	if card.VerifyInputSupport(ef1, bad, ef3, cv.PublicKey) == nil {
		t.Fatal("changed address passes the integrity check")
	}
	if card.VerifyInputSupport(ef1[:15], ef2, ef3, cv.PublicKey) == nil {
		t.Fatal("F1 must cover all 17 physical bytes")
	}
}
