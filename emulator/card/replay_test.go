package card_test

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"fmt"
	"slices"
	"testing"

	"github.com/mynaconform/mynaconform/emulator/card"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/formats/iso7816"
	m "github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/formats/tlv"
)

// The tests of this file replay, byte for byte, what real clients send to a My Number card
// (docs/card.md, "What real clients send"), each named after the client, and read every answer
// with formats/ alone: the card is driven as those clients drive a real one, and what it answers
// must parse and verify as theirs does.

// client is one connection of a replayed client: it sends bytes and keeps what the card
// answered.
type client struct {
	t *testing.T
	c *card.Card
}

// tx sends one APDU (written as the client writes it) and checks the status word; it returns the
// data. Failures print the header only (VERIFY data is secret).
func (cl client) tx(apdu []byte, want iso7816.StatusWord) []byte {
	cl.t.Helper()
	return exchange(cl.t, cl.c, apdu, want)
}

// sw sends one APDU and returns the status word and data, whatever the word.
func (cl client) sw(apdu []byte) (iso7816.StatusWord, []byte) {
	cl.t.Helper()
	r, err := iso7816.ParseResponse(cl.c.Transmit(apdu))
	if err != nil {
		cl.t.Fatal(err)
	}
	return r.SW(), r.Data
}

// le is the Le byte a client sends for n (1..256) bytes.
func le(n int) byte { return byte(n) }

// --- OpenSC (src/libopensc/card-jpki.c, pkcs15-jpki.c, tools/pkcs11-tool.c) ---

var (
	openscSelectJPKI = hx("00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01")
	openscSelectPIN  = hx("00 A4 02 0C 02 00 18")
	openscSelectPass = hx("00 A4 02 0C 02 00 1B")
	openscSelectKey  = hx("00 A4 02 0C 02 00 17")
	openscSelectSign = hx("00 A4 02 0C 02 00 1A")
)

// openscBind is the binding every pkcs15-tool / pkcs11 start runs: both retry queries must answer
// SW1 63 or the binding fails.
func openscBind(cl client) {
	cl.t.Helper()
	cl.tx(openscSelectJPKI, swOK)
	for _, sel := range [][]byte{openscSelectPIN, openscSelectPass} {
		cl.tx(sel, swOK)
		if sw, _ := cl.sw(hx("00 20 00 80")); sw.SW1() != 0x63 {
			cl.t.Fatalf("OpenSC binding: the retry query of % X answers %v, want 63xx", sel[5:], sw)
		}
	}
}

// openscReadCert is card-jpki.c's certificate read: SELECT EF, 00 B0 00 00 04, then LLLL+4 bytes
// from offset 0 in short reads of at most 256 (00 B0 00 00 00, 00 B0 01 00 00, ..., the last with
// the exact Le). It returns the status word of the 4-byte read when it fails.
func openscReadCert(cl client, fid string) ([]byte, iso7816.StatusWord) {
	cl.t.Helper()
	cl.tx(hx("00 A4 02 0C 02 "+fid), swOK)
	sw, head := cl.sw(hx("00 B0 00 00 04"))
	if sw != swOK {
		return nil, sw
	}
	if len(head) != 4 || head[0] != 0x30 || head[1] != 0x82 {
		cl.t.Fatalf("EF %s header % X, OpenSC needs 30 82 LL LL", fid, head)
	}
	size := int(head[2])<<8 | int(head[3]) + 4
	var der []byte
	for len(der) < size {
		n := min(size-len(der), 256)
		der = append(der, cl.tx([]byte{0x00, 0xB0, byte(len(der) >> 8), byte(len(der)), le(n)}, swOK)...)
	}
	return der, swOK
}

func verifyChain(t *testing.T, der []byte, root *x509.Certificate) *x509.Certificate {
	t.Helper()
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.CheckSignatureFrom(root); err != nil {
		t.Fatalf("%s does not chain to %s: %v", cert.Subject.CommonName, root.Subject.CommonName, err)
	}
	return cert
}

func TestOpenSC(t *testing.T) {
	pki := testPKI(t)
	t.Run("detection", func(t *testing.T) {
		// ATR 01 is matched without an APDU; any other ATR is probed by SELECT of the JPKI AID.
		if a := newTestCard(t, "adult").PowerOn(); !bytes.Equal(a, m.DefaultATR()) {
			t.Fatalf("ATR % X, OpenSC matches % X", a, m.DefaultATR())
		}
		for _, id := range []string{"adult-atr-02", "adult-atr-06", "adult-android"} {
			c := newTestCard(t, id)
			c.PowerOn()
			client{t, c}.tx(openscSelectJPKI, swOK)
		}
	})
	t.Run("binding", func(t *testing.T) {
		for _, id := range []string{"adult", "face-auth", "child", "blocked"} { // no PIN / no signing PIN / blocked: SW1 63 all the same
			openscBind(client{t, newTestCard(t, id)})
		}
	})
	t.Run("pkcs15-tool --list-certificates", func(t *testing.T) {
		cl := client{t, newTestCard(t, "adult")}
		openscBind(cl)
		auth, _ := openscReadCert(cl, "00 0A")
		if _, sw := openscReadCert(cl, "00 01"); sw != swSecurity { // listed without a serial
			t.Fatalf("EF 0001 without the password: %v, want 6982", sw)
		}
		authCA, _ := openscReadCert(cl, "00 0B")
		signCA, _ := openscReadCert(cl, "00 02")
		verifyChain(t, auth, pki.AuthCA)
		verifyChain(t, authCA, pki.AuthCA)
		verifyChain(t, signCA, pki.SignCA)
		if !bytes.Equal(auth, persona(t, "adult").AuthCert) {
			t.Fatal("EF 000A is not the persona's auth certificate")
		}
	})
	t.Run("pkcs11-tool --sign", func(t *testing.T) {
		cl := client{t, newTestCard(t, "adult")}
		openscBind(cl)
		auth, _ := openscReadCert(cl, "00 0A")
		cert := verifyChain(t, auth, pki.AuthCA)
		// Login (C_Login with the user PIN), then SHA256-RSA-PKCS: OpenSC builds the DigestInfo.
		cl.tx(openscSelectPIN, swOK)
		cl.tx(append(hx("00 20 00 80 04"), testAuthPIN...), swOK)
		h := sha256.Sum256([]byte("mynaconform interoperability check"))
		di := m.DigestInfoSHA256(h[:])
		cl.tx(openscSelectKey, swOK)
		sig := cl.tx(append(append(hx("80 2A 00 80 33"), di...), 0x00), swOK)
		if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, h[:], sig); err != nil {
			t.Fatalf("SHA256-RSA-PKCS: %v", err)
		}
		// RSA-PKCS: the caller's bytes as given, padded by the card.
		raw := []byte("raw RSA-PKCS input")
		sig = cl.tx(append(append([]byte{0x80, 0x2A, 0x00, 0x80, byte(len(raw))}, raw...), 0x00), swOK)
		if err := m.VerifySignature(cert.PublicKey.(*rsa.PublicKey), m.SigPKCS1Raw, raw, sig); err != nil {
			t.Fatalf("RSA-PKCS: %v", err)
		}
		// The signing key carries user consent: the password is verified before each signature.
		sign, sw := openscReadCert(cl, "00 01")
		if sw != swSecurity || sign != nil {
			t.Fatalf("EF 0001 before the password: %v", sw)
		}
		for range 2 {
			cl.tx(openscSelectPass, swOK)
			cl.tx(append([]byte{0x00, 0x20, 0x00, 0x80, byte(len(testSignPIN))}, testSignPIN...), swOK)
			cl.tx(openscSelectSign, swOK)
			cl.tx(append(append(hx("80 2A 00 80 33"), di...), 0x00), swOK)
		}
		sign, _ = openscReadCert(cl, "00 01")
		if err := rsa.VerifyPKCS1v15(verifyChain(t, sign, pki.SignCA).PublicKey.(*rsa.PublicKey), crypto.SHA256, h[:],
			cl.tx(append(append(hx("80 2A 00 9A 33"), di...), 0x00), swOK)); err != nil {
			t.Fatalf("signing key: %v", err)
		}
	})
	t.Run("logout", func(t *testing.T) {
		// jpki_logout re-selects the JPKI AP: the security status is cleared.
		cl := client{t, newTestCard(t, "adult")}
		openscBind(cl)
		cl.tx(openscSelectPIN, swOK)
		cl.tx(append(hx("00 20 00 80 04"), testAuthPIN...), swOK)
		cl.tx(openscSelectKey, swOK)
		cl.tx(append(append(hx("80 2A 00 80 33"), make([]byte, 51)...), 0x00), swOK)
		cl.tx(openscSelectJPKI, swOK)
		cl.tx(openscSelectKey, swOK)
		cl.tx(append(append(hx("80 2A 00 80 33"), make([]byte, 51)...), 0x00), swSecurity)
		// And after a reset (jpki_card_reader_lock_obtained re-selects it too).
		cl.c.Reset()
		cl.tx(openscSelectJPKI, swOK)
		cl.tx(hx("00 20 00 98"), 0x63C3)
	})
}

// --- jpki/myna, Go CLI (_go/libmyna, _go/cmd) ---

var (
	mynaSelectJPKI    = hx("00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01")
	mynaSelectKenkaku = hx("00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 02")
	mynaSelectKenhojo = hx("00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 08")
)

func mynaSelectEF(fid string) []byte { return hx("00 A4 02 0C 02 " + fid) }
func mynaVerify(pin string) []byte {
	return append([]byte{0x00, 0x20, 0x00, 0x80, byte(len(pin))}, pin...)
}

// mynaReadBinary is libmyna's ReadBinary(size): from offset 0, Le 00 while more than 255 bytes
// remain, then the remainder.
func mynaReadBinary(cl client, size int) []byte {
	cl.t.Helper()
	var out []byte
	for len(out) < size {
		l := 0
		if size-len(out) <= 0xFF {
			l = size - len(out)
		}
		d := cl.tx([]byte{0x00, 0xB0, byte(len(out) >> 8), byte(len(out)), byte(l)}, swOK)
		out = append(out, d...)
		if len(d) == 0 {
			cl.t.Fatal("READ BINARY returned no data")
		}
	}
	return out
}

// mynaWholeTLV is libmyna's 7-byte read, then header and value from offset 0.
func mynaWholeTLV(cl client) []byte {
	cl.t.Helper()
	head := cl.tx(hx("00 B0 00 00 07"), swOK)
	n, err := tlv.TotalLen(head)
	if err != nil {
		cl.t.Fatalf("whole TLV header % X: %v", head, err)
	}
	return mynaReadBinary(cl, n)
}

// mynaPrelude is CheckCard: SELECT JPKI, SELECT 0006 twice, the 32-byte token read.
func mynaPrelude(cl client) string {
	cl.t.Helper()
	cl.tx(mynaSelectJPKI, swOK)
	cl.tx(mynaSelectEF("00 06"), swOK)
	cl.tx(mynaSelectEF("00 06"), swOK)
	tok := string(bytes.TrimRight(cl.tx(hx("00 B0 00 00 20"), swOK), " "))
	if tok != m.TokenCard && tok != m.TokenAndroid {
		cl.t.Fatalf("token %q: myna refuses it", tok)
	}
	return tok
}

func TestJpkiMynaGo(t *testing.T) {
	pki := testPKI(t)
	adult := persona(t, "adult")
	t.Run("pin status", func(t *testing.T) {
		cl := client{t, newTestCard(t, "adult")}
		mynaPrelude(cl)
		got := map[string]int{}
		lookup := func(name, fid string) {
			cl.tx(mynaSelectEF(fid), swOK)
			sw, _ := cl.sw(hx("00 20 00 80"))
			n, ok := sw.Retries()
			if !ok {
				t.Fatalf("%s: %v", name, sw)
			}
			got[name] = n
		}
		cl.tx(mynaSelectJPKI, swOK)
		lookup("jpki_auth", "00 18")
		lookup("jpki_sign", "00 1B")
		cl.tx(mynaSelectEF("00 06"), swOK)
		if string(bytes.TrimRight(cl.tx(hx("00 B0 00 00 20"), swOK), " ")) != m.TokenCard {
			t.Fatal("token")
		}
		cl.tx(mynaSelectKenkaku, swOK)
		lookup("visual_pin_a", "0013")
		lookup("visual_pin_b", "0012")
		cl.tx(mynaSelectKenhojo, swOK)
		lookup("text_pin", "0011")
		lookup("text_pin_a", "0014")
		lookup("text_pin_b", "0015")
		want := map[string]int{"jpki_auth": 3, "jpki_sign": 5, "visual_pin_a": 10, "visual_pin_b": 10, "text_pin": 3, "text_pin_a": 10, "text_pin_b": 10}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("pin status %v, want %v", got, want)
		}
	})
	t.Run("pin status on GPSE", func(t *testing.T) {
		// myna-go stops after the token on JPKIAPGPSETOKEN: it queries no card-face AP.
		cl := client{t, newTestCard(t, "adult-android")}
		if mynaPrelude(cl) != m.TokenAndroid {
			t.Fatal("GPSE token label")
		}
		cl.tx(mynaSelectJPKI, swOK)
		cl.tx(mynaSelectEF("00 18"), swOK)
		cl.tx(hx("00 20 00 80"), 0x63C3)
		cl.tx(mynaSelectKenkaku, swFileNotFound) // a phone token holds the JPKI-AP only
	})
	for _, tc := range []struct{ name, fid string }{{"auth", "00 0A"}, {"authca", "00 0B"}, {"sign", "00 01"}, {"signca", "00 02"}} {
		t.Run("jpki cert "+tc.name, func(t *testing.T) {
			cl := client{t, newTestCard(t, "adult")}
			mynaPrelude(cl)
			cl.tx(mynaSelectJPKI, swOK)
			if tc.name == "sign" {
				cl.tx(mynaSelectEF("00 1B"), swOK)
				cl.tx(mynaVerify(adult.SignPIN), swOK) // upper-cased by myna; the persona's already is
			}
			cl.tx(mynaSelectEF(tc.fid), swOK)
			root := pki.AuthCA
			if tc.name == "sign" || tc.name == "signca" {
				root = pki.SignCA
			}
			cert := verifyChain(t, mynaWholeTLV(cl), root)
			if tc.name == "sign" {
				a, ok, err := m.ParseSigningAttributes(cert)
				birth, _ := m.EraCodedDate(adult.BirthDate)
				if err != nil || !ok || a.Name != adult.Name || a.Address != adult.Address || a.Sex != "1" || a.BirthDate != birth {
					t.Fatalf("signing certificate attributes %+v %v %v", a, ok, err)
				}
			}
		})
	}
	t.Run("jpki cert auth on GPSE", func(t *testing.T) {
		cl := client{t, newTestCard(t, "adult-android")}
		mynaPrelude(cl)
		cl.tx(mynaSelectJPKI, swOK)
		cl.tx(mynaSelectEF("00 0A"), swOK)
		cl.tx(hx("00 B0 00 00 07"), swSecurity) // EF 000A only after VERIFY 0018 on a GPSE token
		cl.tx(mynaSelectEF("00 18"), swOK)
		cl.tx(mynaVerify(testAuthPIN), swOK)
		cl.tx(mynaSelectEF("00 0A"), swOK)
		verifyChain(t, mynaWholeTLV(cl), pki.AuthCA)
	})
	t.Run("jpki cms sign", func(t *testing.T) {
		for _, md := range []struct {
			h    crypto.Hash
			sum  func([]byte) []byte
			algo []byte // DigestInfo prefix
		}{
			{crypto.SHA1, func(b []byte) []byte { s := sha1.Sum(b); return s[:] }, hx("30 21 30 09 06 05 2B 0E 03 02 1A 05 00 04 14")},
			{crypto.SHA256, func(b []byte) []byte { s := sha256.Sum256(b); return s[:] }, hx("30 31 30 0D 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20")},
			{crypto.SHA384, func(b []byte) []byte { s := sha512.Sum384(b); return s[:] }, hx("30 41 30 0D 06 09 60 86 48 01 65 03 04 02 02 05 00 04 30")},
			{crypto.SHA512, func(b []byte) []byte { s := sha512.Sum512(b); return s[:] }, hx("30 51 30 0D 06 09 60 86 48 01 65 03 04 02 03 05 00 04 40")},
		} {
			c := newTestCard(t, "adult")
			cl := client{t, c}
			// GetJPKISignCert, on its own connection.
			cl.tx(mynaSelectJPKI, swOK)
			cl.tx(mynaSelectEF("00 1B"), swOK)
			cl.tx(mynaVerify(adult.SignPIN), swOK)
			cl.tx(mynaSelectEF("00 01"), swOK)
			cert := verifyChain(t, mynaWholeTLV(cl), pki.SignCA)
			// JPKISignSigner.Sign, on a new connection: a DigestInfo over the signed attributes.
			attrs := md.sum([]byte("CMS signed attributes (DER)"))
			cl.tx(mynaSelectJPKI, swOK)
			cl.tx(mynaSelectEF("00 1B"), swOK)
			cl.tx(mynaVerify(adult.SignPIN), swOK)
			cl.tx(mynaSelectEF("00 1A"), swOK)
			di := append(slices.Clone(md.algo), attrs...)
			sig := cl.tx(append(append([]byte{0x80, 0x2A, 0x00, 0x80, byte(len(di))}, di...), 0x00), swOK)
			if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), md.h, attrs, sig); err != nil {
				t.Fatalf("%v: %v", md.h, err)
			}
		}
	})
	t.Run("jpki cms signuser", func(t *testing.T) {
		cl := client{t, newTestCard(t, "adult")}
		cl.tx(mynaSelectJPKI, swOK)
		cl.tx(mynaSelectEF("00 18"), swOK)
		cl.tx(mynaVerify(testAuthPIN), swOK)
		cl.tx(mynaSelectEF("00 17"), swOK)
		file := bytes.Repeat([]byte("signuser "), 27)[:243] // the file bytes as given: at most 245 for P1 00
		sig := cl.tx(append(append([]byte{0x80, 0x2A, 0x00, 0x80, byte(len(file))}, file...), 0x00), swOK)
		if err := m.VerifySignature(certKey(t, adult.AuthCert), m.SigPKCS1Raw, file, sig); err != nil {
			t.Fatal(err)
		}
		cl.tx(append(append([]byte{0x80, 0x2A, 0x00, 0x80, 0xFF}, make([]byte, 255)...), 0x00), swWrongLength) // a 255-byte file does not fit P1 00
	})

	// The card face and input support as myna-go reads them; the integrity of what it reads is
	// checked as real cards' is, down to the test PKI's CAs.
	var ef1, ef2 []byte
	cl := client{t, newTestCard(t, "adult")}
	textMyNumber := func(t *testing.T) {
		cl.t = t
		cl.tx(mynaSelectKenhojo, swOK)
		cl.tx(mynaSelectEF("00 11"), swOK)
		cl.tx(mynaVerify(testKenhojoPIN), swOK)
		cl.tx(mynaSelectEF("00 01"), swOK)
		ef1 = cl.tx(hx("00 B0 00 00 11"), swOK)
		if n, err := m.ParseMyNumberRecord(ef1); err != nil || n != testMyNumber || len(ef1) != m.MyNumberRecordLen {
			t.Fatalf("text mynumber: %d bytes, %v", len(ef1), err) // never print the number
		}
	}
	t.Run("text mynumber", textMyNumber)
	t.Run("text attr", func(t *testing.T) {
		cl.t = t
		cl.tx(mynaSelectKenhojo, swOK)
		cl.tx(mynaSelectEF("00 11"), swOK)
		cl.tx(mynaVerify(testKenhojoPIN), swOK)
		cl.tx(mynaSelectEF("00 02"), swOK)
		ef2 = mynaWholeTLV(cl)
		a, err := m.ParseBasicFour(ef2)
		if err != nil || a.Name != adult.Name || a.Address != adult.Address || a.BirthDate != adult.BirthDate || a.Sex != adult.Sex {
			t.Fatalf("text attr %+v %v", a, err)
		}
	})
	var inputCV *m.CVCertificate
	t.Run("text cert", func(t *testing.T) {
		cl.t = t
		cl.tx(mynaSelectKenhojo, swOK)
		cl.tx(mynaSelectEF("00 04"), swOK)
		b := slices.Concat(cl.tx(hx("00 B0 00 00 00"), swOK), cl.tx(hx("00 B0 01 00 00"), swOK), cl.tx(hx("00 B0 02 00 38"), swOK))
		cv, err := m.ParseCV(b)
		if err != nil || len(b) != 568 || len(cv.Body) != 297 {
			t.Fatalf("text cert: %d bytes, %v", len(b), err)
		}
		if err := cv.Verify(&pki.InputCAKey.PublicKey); err != nil || cv.IssuerID != fixtures.InputCAID || !cv.IssuerID.Test() {
			t.Fatalf("text cert: issuer %s: %v", cv.IssuerID, err)
		}
		inputCV = cv
	})
	t.Run("text signature", func(t *testing.T) {
		cl.t = t
		cl.tx(mynaSelectKenhojo, swOK)
		cl.tx(mynaSelectEF("00 11"), swOK)
		cl.tx(mynaVerify(testKenhojoPIN), swOK)
		cl.tx(mynaSelectEF("00 03"), swOK)
		b := slices.Concat(cl.tx(hx("00 B0 00 00 00"), swOK), cl.tx(hx("00 B0 01 00 50"), swOK))
		g, err := m.ParseIntegrity(b)
		if err != nil || len(b) != m.IntegrityLen || !bytes.HasPrefix(b, hx("FF 30 82 01 4B DF 31 20")) {
			t.Fatalf("text signature: %d bytes % X, %v", len(b), b[:8], err)
		}
		if inputCV == nil || ef1 == nil || ef2 == nil {
			t.Skip("needs text cert, mynumber and attr")
		}
		if err := g.Verify(inputCV.PublicKey); err != nil {
			t.Fatalf("DF33 with the key of EF 0004: %v", err)
		}
		if err := g.Matches(ef1, ef2); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("text info", func(t *testing.T) {
		cl.t = t
		cl.tx(mynaSelectKenhojo, swOK)
		cl.tx(mynaSelectEF("00 05"), swOK)
		b := cl.tx(hx("00 B0 00 00 00"), swOK) // must be 256 bytes
		a, err := m.ParseInputAPInfo(b)
		if err != nil || len(b) != 256 || !bytes.HasPrefix(b, hx("FF 40 82 00 9F DF 41 04 01 03 0E 01 DF 42 10")) {
			t.Fatalf("text info: %d bytes, %v", len(b), err)
		}
		if a.ExtendedSupport() != 0x03 || a.KeyID.String() != "6000034/001" || len(a.DF43) != 128 {
			t.Fatalf("text info %+v", a)
		}
	})
	t.Run("visual photo", func(t *testing.T) {
		textMyNumber(t)
		mn, _ := m.ParseMyNumberRecord(ef1)
		cl.tx(mynaSelectKenkaku, swOK)
		cl.tx(mynaSelectEF("00 13"), swOK)
		cl.tx(mynaVerify(mn), swOK)
		cl.tx(mynaSelectEF("00 02"), swOK)
		rec, err := m.ParseFaceRecord(mynaWholeTLV(cl))
		if err != nil {
			t.Fatal(err)
		}
		cl.tx(mynaSelectEF("00 04"), swOK)
		cv, err := m.ParseCV(mynaReadBinary(cl, m.CVLen))
		if err != nil || cv.Verify(&pki.FaceCAKey.PublicKey) != nil || cv.IssuerID != fixtures.FaceCAID {
			t.Fatalf("kenkaku EF 0004: %v", err)
		}
		if err := rec.Verify(cv.PublicKey); err != nil {
			t.Fatalf("DF28: %v", err)
		}
		if !bytes.HasPrefix(rec.Photo, hx("00 00 00 0C 6A 50 20 20 0D 0A 87 0A")) || !bytes.Equal(rec.Photo, adult.Photo) {
			t.Fatal("DF27 is not the persona's JP2 photo")
		}
	})
	t.Run("tool find_ap", func(t *testing.T) {
		cl := client{t, newTestCard(t, "adult")}
		var find func(prefix []byte) [][]byte
		find = func(prefix []byte) [][]byte {
			var found [][]byte
			buf := append(slices.Clone(prefix), 0)
			for n := 0; n < 255; n++ {
				buf[len(prefix)] = byte(n)
				if sw, _ := cl.sw(append([]byte{0x00, 0xA4, 0x04, 0x0C, byte(len(buf))}, buf...)); sw == swOK {
					if deeper := find(buf); len(deeper) == 0 {
						found = append(found, slices.Clone(buf))
					} else {
						found = append(found, deeper...)
					}
				}
			}
			return found
		}
		var names []string
		for _, f := range find(nil) {
			names = append(names, m.AID(f).Short())
		}
		slices.Sort(names)
		if fmt.Sprint(names) != "[common isd jpki juki kenhojo kenkaku]" {
			t.Fatalf("find_ap found %v", names)
		}
	})
}

// --- jpki/myna, mpa: the マイナポータル login host (mpa/src/main.rs, src/jpki.rs, src/reader.rs) ---

// mpaJPKI is MynaReader::jpki_ap: SELECT JPKI, SELECT 0006, the 32-byte token read.
func mpaJPKI(cl client) {
	cl.t.Helper()
	cl.tx(mynaSelectJPKI, swOK)
	cl.tx(hx("00 A4 02 0C 02 00 06"), swOK)
	cl.tx(hx("00 B0 00 00 20"), swOK)
}

// mpaReadAll is read_binary_all: 7 bytes, then the rest from offset 7 (Le 00 while more than 255
// remain).
func mpaReadAll(cl client) []byte {
	cl.t.Helper()
	head := cl.tx(hx("00 B0 00 00 07"), swOK)
	total, err := tlv.TotalLen(head)
	if err != nil {
		cl.t.Fatal(err)
	}
	out := head
	for len(out) < total {
		l := 0
		if total-len(out) <= 0xFF {
			l = total - len(out)
		}
		out = append(out, cl.tx([]byte{0x00, 0xB0, byte(len(out) >> 8), byte(len(out)), byte(l)}, swOK)...)
	}
	return out
}

func TestJpkiMynaMPA(t *testing.T) {
	pki := testPKI(t)
	adult := persona(t, "adult")
	// mpa connects only to a card whose ATR starts 3B 88 80 01: one read contactless.
	const variant = "adult-atr-06"
	for _, mode := range []string{"01", "02", "04"} {
		t.Run("mode "+mode, func(t *testing.T) {
			c := newTestCard(t, variant)
			if atr := c.PowerOn(); !bytes.HasPrefix(atr, hx("3B 88 80 01")) {
				t.Fatalf("ATR % X: mpa would not connect", atr)
			}
			cl := client{t, c}
			h := sha256.Sum256([]byte("マイナポータル challenge"))
			digest := m.DigestInfoSHA256(h[:])
			switch mode {
			case "01":
				mpaJPKI(cl)
				cl.tx(hx("00 A4 02 0C 02 00 18"), swOK)
				cl.tx(mynaVerify(testAuthPIN), swOK)
				cl.tx(hx("00 A4 02 0C 02 00 17"), swOK)
				sig := cl.tx(append(append([]byte{0x80, 0x2A, 0x00, 0x80, byte(len(digest))}, digest...), 0x00), swOK)
				mpaJPKI(cl)
				cl.tx(hx("00 A4 02 0C 02 00 0A"), swOK)
				cert := verifyChain(t, mpaReadAll(cl), pki.AuthCA)
				if err := m.VerifySignature(cert.PublicKey.(*rsa.PublicKey), m.SigPKCS1Raw, digest, sig); err != nil {
					t.Fatal(err)
				}
			case "02":
				mpaJPKI(cl)
				cl.tx(hx("00 A4 02 0C 02 00 1B"), swOK)
				cl.tx(mynaVerify(adult.SignPIN), swOK)
				var sigs [][]byte
				for range 2 { // per digest
					cl.tx(hx("00 A4 02 0C 02 00 1A"), swOK)
					sigs = append(sigs, cl.tx(append(append([]byte{0x80, 0x2A, 0x00, 0x80, byte(len(digest))}, digest...), 0x00), swOK))
				}
				cl.tx(hx("00 A4 02 0C 02 00 01"), swOK)
				cert := verifyChain(t, mpaReadAll(cl), pki.SignCA)
				for _, s := range sigs {
					if err := m.VerifySignature(cert.PublicKey.(*rsa.PublicKey), m.SigPKCS1Raw, digest, s); err != nil {
						t.Fatal(err)
					}
				}
			case "04":
				cl.tx(mynaSelectKenhojo, swOK)
				cl.tx(hx("00 A4 02 0C 02 00 11"), swOK)
				cl.tx(mynaVerify(testKenhojoPIN), swOK)
				cl.tx(hx("00 A4 02 0C 02 00 02"), swOK)
				if _, err := m.ParseBasicFour(mpaReadAll(cl)); err != nil {
					t.Fatal(err)
				}
			}
			// Every mode then reads the 共通カードAP record: the serial's digits 3-15 are used.
			cl.tx(hx("00 A4 04 0C 0A D3 92 10 00 31 00 01 01 01 00"), swOK)
			info, err := m.ParseCardInfo(cl.tx(hx("00 B2 01 0C 00"), swOK))
			if err != nil || info.Serial != adult.CardSerial || info.Municipality != adult.Municipality() || info.Expiry != adult.Expiry {
				t.Fatalf("共通カードAP record %+v %v", info, err)
			}
			if len(info.Serial[2:15]) != 13 {
				t.Fatal("serial digits 3-15")
			}
		})
	}
}

// --- pymyna (myna/api/jpki_ap.py, text_ap.py, myna/core/iso7816.py; RC-S300, contactless) ---

func TestPymyna(t *testing.T) {
	pki := testPKI(t)
	adult := persona(t, "adult")
	cl := client{t, newTestCard(t, "adult-atr-07")}
	cl.tx(mynaSelectJPKI, swOK)
	cl.tx(hx("00 A4 02 0C 02 00 06"), swOK)
	if tok := string(bytes.TrimRight(cl.tx(hx("00 B0 00 00 20"), swOK), " ")); tok != "JPKIAPICCTOKEN2" {
		t.Fatalf("pymyna refuses token %q", tok)
	}
	// Certificates: 4-byte header, then one extended READ of LLLL+4 bytes.
	for _, c := range []struct {
		fid  string
		root *x509.Certificate
	}{{"00 0A", pki.AuthCA}, {"00 0B", pki.AuthCA}, {"00 02", pki.SignCA}} {
		cl.tx(hx("00 A4 02 0C 02 "+c.fid), swOK)
		h := cl.tx(hx("00 B0 00 00 04"), swOK)
		n := int(h[2])<<8 | int(h[3]) + 4
		der := cl.tx([]byte{0x00, 0xB0, 0x00, 0x00, 0x00, byte(n >> 8), byte(n)}, swOK)
		if len(der) != n {
			t.Fatalf("EF %s: extended READ gave %d bytes, want %d", c.fid, len(der), n)
		}
		verifyChain(t, der, c.root)
	}
	// PINs: 0018 then 001B.
	cl.tx(hx("00 A4 02 0C 02 00 18"), swOK)
	cl.tx(mynaVerify(testAuthPIN), swOK)
	cl.tx(hx("00 A4 02 0C 02 00 1B"), swOK)
	cl.tx(mynaVerify(adult.SignPIN), swOK)
	// Kenhojo: the records with the exact lengths pymyna asks for, and its integrity checks.
	cl.tx(mynaSelectKenhojo, swOK)
	cl.tx(hx("00 A4 02 0C 02 00 11"), swOK)
	cl.tx(mynaVerify(testKenhojoPIN), swOK)
	cl.tx(hx("00 A4 02 0C 02 00 01"), swOK)
	ef1 := cl.tx(hx("00 B0 00 00 11"), swOK)
	cl.tx(hx("00 A4 02 0C 02 00 02"), swOK)
	l := cl.tx(hx("00 B0 00 02 01"), swOK) // the length byte: a 1-byte length is assumed
	if len(l) != 1 || l[0] >= 0x80 {
		t.Fatalf("kenhojo EF 0002 length byte % X: pymyna assumes a short form", l)
	}
	ef2 := cl.tx([]byte{0x00, 0xB0, 0x00, 0x00, 3 + l[0]}, swOK)
	cl.tx(hx("00 A4 02 0C 02 00 03"), swOK)
	integ := cl.tx(hx("00 B0 00 00 00 01 50"), swOK)
	cl.tx(hx("00 A4 02 0C 02 00 04"), swOK)
	cvb := cl.tx(hx("00 B0 00 00 00 02 38"), swOK)
	cl.tx(hx("00 A4 02 0C 02 00 05"), swOK)
	if info := cl.tx(hx("00 B0 00 00 00 01 00"), swOK); len(info) != 256 {
		t.Fatalf("EF 0005: %d bytes, exactly 256 expected", len(info))
	}
	h1 := sha256.Sum256(ef1)
	h2 := sha256.Sum256(ef2[3:][11:]) // the FF20 value (after FF 20 LL) from its byte 11: DF22 to the end
	g, err := m.ParseIntegrity(integ)
	if err != nil || g.H1 != h1 || g.H2 != h2 {
		t.Fatalf("pymyna's digests: %v", err)
	}
	cv, err := m.ParseCV(cvb)
	if err != nil || cv.Verify(&pki.InputCAKey.PublicKey) != nil {
		t.Fatalf("certificate against the input-support CA: %v", err)
	}
	if rsa.VerifyPKCS1v15(cv.PublicKey, crypto.SHA256, sha256Of(integ[5:5+70]), g.Signature) != nil { // DF33 over the first 70 bytes
		t.Fatal("DF33 over the DF31 and DF32 TLVs")
	}
}

func sha256Of(b []byte) []byte { h := sha256.Sum256(b); return h[:] }

// --- AokiApp mynacard (packages/apdu-utils, packages/mynacard, examples/mynacard-e2e) ---

func TestAokiAppMynacard(t *testing.T) {
	pki := testPKI(t)
	adult := persona(t, "adult")
	t.Run("randr.e2e", func(t *testing.T) {
		cl := client{t, newTestCard(t, "adult")}
		cl.tx(hx("00 A4 04 00 0A D3 92 F0 00 26 01 00 00 00 01 00"), swOK)
		cl.tx(append(append(hx("80 A2 00 C1 00 01 00"), make([]byte, 256)...), 0x00, 0x00), swWrongLength)
		cl.tx(hx("00 A4 04 00 0A D3 92 10 00 31 00 01 01 04 08 00"), swOK)
		pss := cl.tx(append(append(hx("80 2A 05 00 20"), bytes.Repeat([]byte{0x01}, 32)...), 0x00), swOK)
		raw := cl.tx(append(append(hx("80 2A 00 00 20"), bytes.Repeat([]byte{0x02}, 32)...), 0x00), swOK)
		if len(pss) != 256 || len(raw) != 256 {
			t.Fatalf("signatures of %d and %d bytes", len(pss), len(raw))
		}
		// Both verify with DF51 of EF 0007, read here with the PIN (the signatures needed none).
		cl.tx(verifySFI(m.InputPIN, testKenhojoPIN), swOK)
		rec, err := m.ParseCardKeyRecord(cl.tx(hx("00 B0 87 00 00 00 00"), swOK))
		if err != nil {
			t.Fatal(err)
		}
		if m.VerifySignature(rec.CardKey, m.SigPSSSHA256, bytes.Repeat([]byte{0x01}, 32), pss) != nil ||
			m.VerifySignature(rec.CardKey, m.SigPKCS1Raw, bytes.Repeat([]byte{0x02}, 32), raw) != nil {
			t.Fatal("card-presence signatures do not verify with DF51")
		}
		cv, _ := m.ParseCV(cl.tx(hx("00 B0 84 00 00 00 00"), swOK))
		if cv == nil || rec.Verify(cv.PublicKey) != nil {
			t.Fatal("EF 0007 DF52 with the key of EF 0004")
		}
	})
	t.Run("mynacard", func(t *testing.T) {
		cl := client{t, newTestCard(t, "adult")}
		// VERIFY by short EF without SELECT EF; whole EFs with 00 B0 (80+FID) 00 00 00 00.
		cl.tx(hx("00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 08"), swOK)
		cl.tx(append(hx("00 20 00 91 04"), testKenhojoPIN...), swOK)
		ef1 := cl.tx(hx("00 B0 81 00 00 00 00"), swOK)
		ef2 := cl.tx(hx("00 B0 82 00 00 00 00"), swOK)
		g, err := m.ParseIntegrity(cl.tx(hx("00 B0 83 00 00 00 00"), swOK))
		if err != nil || g.Matches(ef1, ef2) != nil {
			t.Fatalf("integrity: %v", err)
		}
		cl.tx(hx("00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 02"), swOK)
		cl.tx(append(hx("00 20 00 91 06"), testBirthEra...), swOK) // the birth-date key
		age, err := m.ParseAgeRecord(cl.tx(hx("00 B0 81 00 00 00 00"), swOK))
		if err != nil || age.BirthDate != adult.BirthDate {
			t.Fatalf("age record: %v", err)
		}
		cl.tx(append(hx("00 20 00 93 0C"), testMyNumber...), swOK) // 照合番号A
		face, err := m.ParseFaceRecord(cl.tx(hx("00 B0 82 00 00 00 00"), swOK))
		if err != nil {
			t.Fatal(err)
		}
		img, err := m.ParseMyNumberImage(cl.tx(hx("00 B0 85 00 00 00 00"), swOK))
		if err != nil || !bytes.Equal(img.PNG, adult.MyNumberPNG) {
			t.Fatalf("My Number image: %v", err)
		}
		cv, err := m.ParseCV(cl.tx(hx("00 B0 84 00 00 00 00"), swOK))
		if err != nil || cv.Verify(&pki.FaceCAKey.PublicKey) != nil {
			t.Fatalf("EF 0004: %v", err)
		}
		for name, err := range map[string]error{"DF13": age.Verify(cv.PublicKey), "DF28": face.Verify(cv.PublicKey), "DF43": img.Verify(cv.PublicKey)} {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
		info, err := m.ParseFaceAPInfo(cl.tx(hx("00 B0 83 00 00 00 00"), swOK))
		if err != nil || info.Municipality != adult.Municipality() || info.ExtendedSupport() != 0x03 {
			t.Fatalf("EF 0003 %+v %v", info, err)
		}
		// The card-presence signature over a GET CHALLENGE, checked against DF24.
		ch := cl.tx(hx("00 84 00 00 10"), swOK)
		di := m.DigestInfoSHA256(sha256Of(ch))
		sig := cl.tx(append(append([]byte{0x80, 0x2A, 0x00, 0x00, byte(len(di))}, di...), 0x00), swOK)
		if m.VerifySignature(face.CardKey, m.SigPKCS1Raw, di, sig) != nil {
			t.Fatal("card presence with DF24")
		}
		cl.tx(hx("00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"), swOK)
		cl.tx(append(hx("00 20 00 98 04"), testAuthPIN...), swOK)
		der := cl.tx(hx("00 B0 8A 00 00 00 00"), swOK) // the whole file, filler included
		n, err := tlv.TotalLen(der)
		if err != nil {
			t.Fatal(err)
		}
		verifyChain(t, der[:n], pki.AuthCA)
	})
}

// --- TRET iOS (Sources/MIFARE/IndividualNumber) ---

func TestTRETJapanNFCReader(t *testing.T) {
	c := newTestCard(t, "adult-atr-08")
	cl := client{t, c}
	// Core NFC selects one AID of the app's list itself; any of the four answers.
	for _, aid := range []string{"D3 92 F0 00 26 01 00 00 00 01", "D3 92 10 00 31 00 01 01 04 08", "D3 92 10 00 31 00 01 01 01 00", "D3 92 10 00 31 00 01 01 04 01"} {
		c.Reset()
		cl.tx(hx("00 A4 04 0C 0A "+aid), swOK)
	}
	// Token: 20 bytes, spaces removed.
	cl.tx(hx("00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"), swOK)
	cl.tx(hx("00 A4 02 0C 02 00 06"), swOK)
	if tok := string(bytes.ReplaceAll(cl.tx(hx("00 B0 00 00 14"), swOK), []byte(" "), nil)); tok != "JPKIAPICCTOKEN2" {
		t.Fatalf("token %q", tok)
	}
	// Remaining tries: SW2 & 0F when SW1 = 63.
	tries := map[string]int{}
	for _, q := range []struct{ name, aid, fid string }{
		{"sign", "D3 92 F0 00 26 01 00 00 00 01", "00 1B"}, {"auth", "D3 92 F0 00 26 01 00 00 00 01", "00 18"},
		{"input", "D3 92 10 00 31 00 01 01 04 08", "00 11"}, {"common", "D3 92 10 00 31 00 01 01 01 00", "00 1C"},
	} {
		cl.tx(hx("00 A4 04 0C 0A "+q.aid), swOK)
		cl.tx(hx("00 A4 02 0C 02 "+q.fid), swOK)
		sw, _ := cl.sw(hx("00 20 00 80"))
		if sw.SW1() != 0x63 {
			t.Fatalf("%s: %v", q.name, sw)
		}
		tries[q.name] = int(sw.SW2() & 0x0F)
	}
	if fmt.Sprint(tries) != "map[auth:3 common:3 input:3 sign:5]" {
		t.Fatalf("tries %v", tries)
	}
	// My Number.
	cl.tx(hx("00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 08"), swOK)
	cl.tx(hx("00 A4 02 0C 02 00 11"), swOK)
	cl.tx(mynaVerify(testKenhojoPIN), swOK)
	cl.tx(hx("00 A4 02 0C 02 00 01"), swOK)
	if n, err := m.ParseMyNumberRecord(cl.tx(hx("00 B0 00 00 11"), swOK)); err != nil || n != testMyNumber {
		t.Fatalf("My Number: %v", err)
	}
	// The iPhone token: the same JPKI protocol, its own label, and 80 FC 00 00 answered.
	tok := client{t, newTestCard(t, "adult-iphone")}
	tok.tx(hx("00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"), swOK)
	tok.tx(hx("00 A4 02 0C 02 00 06"), swOK)
	if l := string(bytes.ReplaceAll(tok.tx(hx("00 B0 00 00 14"), swOK), []byte(" "), nil)); l != m.TokenIPhone {
		t.Fatalf("iPhone token %q", l)
	}
	tok.tx(hx("80 FC 00 00"), swOK) // the iPhone profile's last-command indicator
}
