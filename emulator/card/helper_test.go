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
)

// Status words (card.md), spelled out so that the tests do not share the card's constants.
const (
	swOK              = 0x9000
	swVerifyFailed    = 0x6300
	swWrongLength     = 0x6700
	swChannelNotSupp  = 0x6881
	swSMNotSupported  = 0x69FC
	swSecurityStatus  = 0x6982
	swBlocked         = 0x6984
	swConditions      = 0x6985
	swNoCurrentEF     = 0x6986
	swWrongData       = 0x6A80
	swFileNotFound    = 0x6A82
	swWrongP1P2       = 0x6A86
	swOffsetBeyondEnd = 0x6B00
	swINSNotSupported = 0x6D00
	swCLANotSupported = 0x6E00
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

func profile(t testing.TB, id string) card.Profile {
	t.Helper()
	pr, err := persona(t, id).CardProfile()
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

// terminalCert issues a device terminal certificate valid 2025..2029 signed by signer; the
// device key is the rogue CA's public key (any RSA-2048 key will do).
func terminalCert(t testing.TB, signer *rsa.PrivateKey) []byte {
	t.Helper()
	nb := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	b, err := card.IssueCV(signer, card.CVCertificate{CAR: fixtures.TerminalCARef, CHR: "DEVICE0001",
		PublicKey: &testPKI(t).RogueCAKey.PublicKey, NotBefore: nb, NotAfter: nb.AddDate(5, 0, 0)})
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

func sw(w uint16) []byte { return []byte{byte(w >> 8), byte(w)} }

// apdu builds a short APDU (le < 0: no Le; 256 coded 00).
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

// extAPDU builds an extended APDU (le < 0: no Le; 65536 coded 00 00).
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

// exchange sends cmd and fails unless the status word is want; it returns the data. Failure
// messages show only the command header (VERIFY data is secret).
func exchange(t testing.TB, c *card.Card, cmd []byte, want uint16) []byte {
	t.Helper()
	r := c.Transmit(cmd)
	if len(r) < 2 {
		t.Fatalf("% X: response %d bytes", cmd[:min(4, len(cmd))], len(r))
	}
	got := uint16(r[len(r)-2])<<8 | uint16(r[len(r)-1])
	if got != want {
		t.Fatalf("% X: SW %04X, want %04X", cmd[:min(4, len(cmd))], got, want)
	}
	return r[:len(r)-2]
}

// readAll reads the current EF from offset 0 in chunks of Le 00 until 6B00 or a short answer.
func readAll(t testing.TB, c *card.Card) []byte {
	t.Helper()
	var out []byte
	for {
		r := c.Transmit([]byte{0x00, 0xB0, byte(len(out) >> 8), byte(len(out)), 0x00})
		w := uint16(r[len(r)-2])<<8 | uint16(r[len(r)-1])
		if w == swOffsetBeyondEnd {
			return out
		}
		if w != swOK {
			t.Fatalf("READ BINARY at %d: %04X", len(out), w)
		}
		out = append(out, r[:len(r)-2]...)
		if len(r)-2 < 256 {
			return out
		}
	}
}

// Secrets of persona "adult" (synthetic test values from fixtures/personas.yaml), set by
// TestMain.
var testAuthPIN, testSignPIN, testKenhojoPIN, testMyNumber, testNumberB, testBirthEra string

func TestMain(m *testing.M) {
	p, err := fixtures.PersonaByID("adult")
	if err != nil {
		fmt.Fprintln(os.Stderr, "fixtures:", err)
		os.Exit(1)
	}
	testAuthPIN, testSignPIN, testKenhojoPIN = p.AuthPIN, p.SignPIN, p.KenhojoPIN
	testMyNumber, testNumberB, testBirthEra = p.MyNumber, p.VerificationB(), p.BirthDateEra()
	os.Exit(m.Run())
}
