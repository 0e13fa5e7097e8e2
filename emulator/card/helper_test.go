package card_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/emulator/card"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/formats/iso7816"
	"github.com/mynaconform/mynaconform/formats/mynumber"
)

// The tests speak to the card in bytes and read its answers with formats/ only: status words from
// iso7816, identifiers and records from mynumber.
const (
	swOK             = iso7816.SWOK
	swVerifyFailed   = iso7816.SWVerifyFailed
	swWrongLength    = iso7816.SWWrongLength
	swChannel        = iso7816.SWChannelNotSupported
	swSMNotSupported = iso7816.SWSMNotSupported
	swSMNoSession    = iso7816.SWSMNoSession
	swFileStructure  = iso7816.SWFileStructure
	swSecurity       = iso7816.SWSecurityStatus
	swBlocked        = iso7816.SWBlocked
	swConditions     = iso7816.SWConditions
	swNoCurrentEF    = iso7816.SWNoCurrentEF
	swWrongData      = iso7816.SWWrongData
	swFileNotFound   = iso7816.SWFileNotFound
	swWrongP1P2      = iso7816.SWWrongP1P2
	swDataNotFound   = iso7816.SWDataNotFound
	swWrongOffset    = iso7816.SWWrongOffset
	swINS            = iso7816.SWINSNotSupported
	swCLA            = iso7816.SWCLANotSupported
)

// persona returns a fixtures persona (the deterministic test data of the project).
func persona(t testing.TB, id string) *fixtures.Persona {
	t.Helper()
	p, err := fixtures.PersonaByID(id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func testPKI(t testing.TB) *fixtures.TestPKI {
	t.Helper()
	p, err := fixtures.PKI()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// profile is the card of a persona or variant ID.
func profile(t testing.TB, id string) card.Profile {
	t.Helper()
	v, err := fixtures.VariantByID(id)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := v.CardProfile()
	if err != nil {
		t.Fatal(err)
	}
	return pr
}

func newTestCard(t testing.TB, id string, opts ...card.Option) *card.Card {
	t.Helper()
	c, err := card.New(profile(t, id), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func certKey(t testing.TB, der []byte) *rsa.PublicKey {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c.PublicKey.(*rsa.PublicKey)
}

// terminalCert issues a device terminal certificate (the qualification system's model, valid
// 2025..2029) signed by signer naming issuer; the device key is the rogue CA's public key (any
// RSA-2048 key will do).
func terminalCert(t testing.TB, signer *rsa.PrivateKey, issuer mynumber.KeyID) []byte {
	t.Helper()
	nb := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	v := mynumber.TerminalValidity{NotBefore: nb, NotAfter: nb.AddDate(5, 0, 0), Role: mynumber.RoleVisual}
	b, err := mynumber.IssueCV(mynumber.RSASigner(signer), &mynumber.CVCertificate{IssuerID: issuer,
		SubjectID: mynumber.TerminalSubject("DV0001"), PublicKey: &testPKI(t).RogueCAKey.PublicKey, Extra: v.Encode()})
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

// cmd encodes a command APDU with formats/iso7816 (the shortest form; le 0 = no Le, 256 = 00).
func cmd(cla, ins, p1, p2 byte, data []byte, le int) []byte {
	b, err := iso7816.NewCommand(cla, ins, p1, p2, data, le).Bytes()
	if err != nil {
		panic(err)
	}
	return b
}

// ext encodes a command in the extended-length form.
func ext(cla, ins, p1, p2 byte, data []byte, le int) []byte {
	c := iso7816.NewCommand(cla, ins, p1, p2, data, le)
	c.Extended = true
	b, err := c.Bytes()
	if err != nil {
		panic(err)
	}
	return b
}

func selectDF(aid mynumber.AID) []byte { return cmd(0x00, 0xA4, 0x04, 0x0C, aid.Bytes(), 0) }
func selectEF(fid mynumber.FID) []byte { return cmd(0x00, 0xA4, 0x02, 0x0C, fid.Bytes(), 0) }
func verifyCur(pin string) []byte      { return cmd(0x00, 0x20, 0x00, 0x80, []byte(pin), 0) }
func verifySFI(fid mynumber.FID, pin string) []byte {
	sfi, _ := fid.SFI()
	return cmd(0x00, 0x20, 0x00, sfi, []byte(pin), 0)
}
func query(fid mynumber.FID) []byte { sfi, _ := fid.SFI(); return []byte{0x00, 0x20, 0x00, sfi} }

// signCmd is 80 2A p1 p2 Lc data 00.
func signCmd(p1 mynumber.SignatureScheme, p2 byte, data []byte) []byte {
	return cmd(0x80, 0x2A, byte(p1), p2, data, 256)
}

// exchange sends cmd and fails unless the status word is want; it returns the data. Failure
// messages show only the command header (VERIFY data is secret).
func exchange(t testing.TB, c *card.Card, cmd []byte, want iso7816.StatusWord) []byte {
	t.Helper()
	r, err := iso7816.ParseResponse(c.Transmit(cmd))
	if err != nil {
		t.Fatalf("% X: %v", cmd[:min(4, len(cmd))], err)
	}
	if r.SW() != want {
		t.Fatalf("% X: SW %v, want %v", cmd[:min(4, len(cmd))], r.SW(), want)
	}
	return r.Data
}

// readAll reads the current EF from offset 0 in chunks of Le 00 until 6B00 or a short answer:
// the whole physical file.
func readAll(t testing.TB, c *card.Card) []byte {
	t.Helper()
	var out []byte
	for {
		r, err := iso7816.ParseResponse(c.Transmit([]byte{0x00, 0xB0, byte(len(out) >> 8), byte(len(out)), 0x00}))
		if err != nil {
			t.Fatal(err)
		}
		if r.SW() == swWrongOffset {
			return out
		}
		if r.SW() != swOK {
			t.Fatalf("READ BINARY at %d: %v", len(out), r.SW())
		}
		out = append(out, r.Data...)
		if len(r.Data) < 256 {
			return out
		}
	}
}

// Secrets of persona "adult" (synthetic test values from fixtures/personas.yaml), set by
// TestMain.
var testAuthPIN, testSignPIN, testKenhojoPIN, testCommonPIN, testMyNumber, testNumberB, testBirthEra string

func TestMain(m *testing.M) {
	p, err := fixtures.PersonaByID("adult")
	if err != nil {
		fmt.Fprintln(os.Stderr, "fixtures:", err)
		os.Exit(1)
	}
	testAuthPIN, testSignPIN, testKenhojoPIN, testCommonPIN = p.AuthPIN, p.SignPIN, p.KenhojoPIN, p.CommonPIN
	testMyNumber, testNumberB, testBirthEra = p.MyNumber, p.VerificationB(), p.BirthDateEra()
	os.Exit(m.Run())
}
