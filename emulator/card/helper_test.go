package card

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"image"
	"image/color"
	"image/png"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	jpeg2000 "github.com/ajroetker/go-jpeg2000"
)

// testPKI holds keys generated once per test binary (RSA key generation is slow).
type testPKI struct {
	root, auth, sign, cardKey, issuer, terminalCA, terminal *rsa.PrivateKey
	rootCert, authCert, signCert                            []byte
	issuerCV                                                []byte
	photo, png1                                             []byte
}

var (
	pkiOnce sync.Once
	pki     testPKI
	pkiErr  error
)

func mustKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

func loadPKI(t testing.TB) *testPKI {
	t.Helper()
	pkiOnce.Do(func() { pkiErr = genPKI() })
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	return &pki
}

func genPKI() error {
	p := &pki
	p.root, p.auth, p.sign, p.cardKey = mustKey(), mustKey(), mustKey(), mustKey()
	p.issuer, p.terminalCA, p.terminal = mustKey(), mustKey(), mustKey()
	nb := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	rootT := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test JPKI root"},
		NotBefore: nb, NotAfter: nb.AddDate(10, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	var err error
	if p.rootCert, err = x509.CreateCertificate(rand.Reader, rootT, rootT, &p.root.PublicKey, p.root); err != nil {
		return err
	}
	leaf := func(n int64, cn string, k *rsa.PrivateKey) ([]byte, error) {
		tpl := &x509.Certificate{SerialNumber: big.NewInt(n), Subject: pkix.Name{CommonName: cn},
			NotBefore: nb, NotAfter: nb.AddDate(5, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature}
		return x509.CreateCertificate(rand.Reader, tpl, rootT, &k.PublicKey, p.root)
	}
	if p.authCert, err = leaf(2, "test auth", p.auth); err != nil {
		return err
	}
	if p.signCert, err = leaf(3, "test sign with a longer subject to be larger", p.sign); err != nil {
		return err
	}
	if p.issuerCV, err = IssueCV(p.issuer, CVCertificate{CAR: "JPTESTFACE00", CHR: "JPTESTFACE00",
		PublicKey: &p.issuer.PublicKey, NotBefore: nb, NotAfter: nb.AddDate(10, 0, 0)}); err != nil {
		return err
	}
	g := image.NewGray(image.Rect(0, 0, 48, 60))
	for y := 0; y < 60; y++ {
		for x := 0; x < 48; x++ {
			g.SetGray(x, y, color.Gray{Y: uint8((x*5 + y*3) % 256)})
		}
	}
	var jp bytes.Buffer
	if err := jpeg2000.Encode(&jp, g, &jpeg2000.EncodeOptions{Lossless: true, FileFormat: jpeg2000.FormatJP2}); err != nil {
		return err
	}
	p.photo = jp.Bytes()
	bw := image.NewPaletted(image.Rect(0, 0, 64, 16), color.Palette{color.White, color.Black})
	for x := 0; x < 64; x += 3 {
		bw.SetColorIndex(x, 8, 1)
	}
	var pb bytes.Buffer
	if err := png.Encode(&pb, bw); err != nil {
		return err
	}
	p.png1 = pb.Bytes()
	return nil
}

// Secrets of the test personas (synthetic).
const (
	testAuthPIN    = "1234"
	testSignPIN    = "ABC123"
	testKenhojoPIN = "1234"
	testMyNumber   = "123456789018"
	testNumberB    = "55021720352285" // 1980-02-17 (昭和55), expiry 2035, code 2285 (card.md)
	testBirthEra   = "550217"
)

// testProfile returns the persona: "adult", "child" (no signing certificate), "face-auth"
// (no PINs), "blocked" (auth PIN blocked).
func testProfile(t testing.TB, persona string) Profile {
	p := loadPKI(t)
	pr := Profile{
		Name: "試験\u3000太郎", Address: "東京都千代田区霞が関１－２－２", BirthDate: "19800217", Sex: 1,
		MyNumber: testMyNumber, Expiry: "20350217", SecurityCode: "2285",
		Photo: p.photo, NamePNG: p.png1, AddressPNG: p.png1, SecurityCodePNG: p.png1, MyNumberPNG: p.png1,
		AuthPIN: testAuthPIN, SignPIN: testSignPIN, KenhojoPIN: testKenhojoPIN,
		AuthKey: p.auth, AuthCert: p.authCert, AuthCACert: p.rootCert,
		SignKey: p.sign, SignCert: p.signCert, SignCACert: p.rootCert,
		CardKey: p.cardKey, FaceIssuer: p.issuer, FaceIssuerCV: p.issuerCV,
		TerminalCA: &p.terminalCA.PublicKey, MunicipalityCode: "131016",
	}
	switch persona {
	case "child":
		pr.SignKey, pr.SignCert, pr.SignPIN = nil, nil, ""
	case "face-auth":
		pr.AuthPIN, pr.SignPIN, pr.KenhojoPIN = "", "", ""
	case "blocked":
		pr.AuthBlocked = true
	}
	return pr
}

func newTestCard(t testing.TB, persona string, opts ...Option) *Card {
	t.Helper()
	c, err := New(testProfile(t, persona), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// terminalCert issues a terminal certificate valid in 2025..2030.
func terminalCert(t testing.TB, signer *rsa.PrivateKey) []byte {
	p := loadPKI(t)
	nb := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	b, err := IssueCV(signer, CVCertificate{CAR: "JPTESTTERMCA", CHR: "DEVICE0001", PublicKey: &p.terminal.PublicKey,
		NotBefore: nb, NotAfter: nb.AddDate(5, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hx decodes a hex APDU written with spaces.
func hx(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// apdu builds a short APDU (Le < 0: none; Le 256 coded 00).
func apdu(cla, ins, p1, p2 byte, data []byte, le int) []byte {
	b := []byte{cla, ins, p1, p2}
	if len(data) > 0 {
		b = append(append(b, byte(len(data))), data...)
	}
	if le >= 0 {
		b = append(b, byte(le))
	}
	return b
}

// extAPDU builds an extended APDU (Le < 0: none; 65536 coded 00 00).
func extAPDU(cla, ins, p1, p2 byte, data []byte, le int) []byte {
	b := []byte{cla, ins, p1, p2, 0}
	if len(data) > 0 {
		b = append(b, byte(len(data)>>8), byte(len(data)))
		b = append(b, data...)
	}
	if le >= 0 {
		b = append(b, byte(le>>8), byte(le))
	}
	return b
}

func selectDF(aid string) []byte { return apdu(0x00, 0xA4, 0x04, 0x0C, []byte(aid), -1) }
func selectEF(fid uint16) []byte {
	return apdu(0x00, 0xA4, 0x02, 0x0C, []byte{byte(fid >> 8), byte(fid)}, -1)
}
func verifyCur(pin string) []byte { return apdu(0x00, 0x20, 0x00, 0x80, []byte(pin), -1) }
func verifySFI(fid uint16, pin string) []byte {
	return apdu(0x00, 0x20, 0x00, 0x80|byte(fid), []byte(pin), -1)
}

// exchange sends cmd and fails unless the status word is want; it returns the data.
func exchange(t testing.TB, c *Card, cmd []byte, want uint16) []byte {
	t.Helper()
	r := c.Transmit(cmd)
	if len(r) < 2 {
		t.Fatalf("% X: response %d bytes", cmd, len(r))
	}
	got := uint16(r[len(r)-2])<<8 | uint16(r[len(r)-1])
	if got != want {
		t.Fatalf("% X: SW %04X, want %04X", trunc(cmd), got, want)
	}
	return r[:len(r)-2]
}

func trunc(b []byte) []byte {
	if len(b) > 16 {
		return b[:16]
	}
	return b
}

// readAll reads the current EF from offset 0 in chunks of Le 00 until 6B00 or a short answer.
func readAll(t testing.TB, c *Card) []byte {
	t.Helper()
	var out []byte
	for {
		r := c.Transmit([]byte{0x00, 0xB0, byte(len(out) >> 8), byte(len(out)), 0x00})
		swv := uint16(r[len(r)-2])<<8 | uint16(r[len(r)-1])
		if swv == swOffsetBeyondEnd {
			return out
		}
		if swv != swOK {
			t.Fatalf("READ BINARY at %d: %04X", len(out), swv)
		}
		out = append(out, r[:len(r)-2]...)
		if len(r)-2 < 256 {
			return out
		}
	}
}
