package card_test

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"testing"

	"github.com/mynaconform/mynaconform/emulator/card"
	"github.com/mynaconform/mynaconform/fixtures"
)

// Example shows the PIN mode on persona "adult": read the free auth certificate, VERIFY the
// auth PIN by short EF, sign a challenge with EF 0017 named in P2.
func Example() {
	p, _ := fixtures.PersonaByID("adult")
	pr, _ := p.CardProfile()
	c, err := card.New(pr)
	if err != nil {
		fmt.Println(err)
		return
	}
	tx := func(b ...byte) []byte { r := c.Transmit(b); fmt.Printf("%X\n", r[len(r)-2:]); return r[:len(r)-2] }
	tx(append([]byte{0x00, 0xA4, 0x04, 0x0C, 10}, card.AIDJPKI...)...)
	der := tx(0x00, 0xB0, 0x8A, 0x00, 0x00, 0x00, 0x00) // short-EF READ of 000A, extended Le
	cert, _ := x509.ParseCertificate(der[:int(der[2])<<8|int(der[3])+4])
	tx(append([]byte{0x00, 0x20, 0x00, 0x98, 4}, p.AuthPIN...)...)
	h := sha256.Sum256([]byte("challenge"))
	di := card.DigestInfoSHA256(h[:])
	sig := tx(append(append([]byte{0x80, 0x2A, 0x00, 0x97, byte(len(di))}, di...), 0x00)...)
	fmt.Println(rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, h[:], sig) == nil)
	// Output:
	// 9000
	// 9000
	// 9000
	// 9000
	// true
}

// TestDigestInfo: the 32-byte form is the RFC 8017 DigestInfo prefix for SHA-256.
func TestDigestInfo(t *testing.T) {
	h := sha256.Sum256(nil)
	want := append(hx("30 31 30 0D 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20"), h[:]...)
	if got := card.DigestInfoSHA256(h[:]); !bytes.Equal(got, want) {
		t.Fatalf("% X", got)
	}
	if got := card.DigestInfoSHA256(make([]byte, 96)); len(got) != 2+15+2+96 || got[1] != 15+2+96 {
		t.Fatalf("96-byte DigestInfo % X", got[:4])
	}
}
