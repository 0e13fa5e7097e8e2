package card_test

import (
	"crypto/sha256"
	"testing"

	"github.com/mynaconform/mynaconform/emulator/card"
)

// BenchmarkSelectRead: SELECT EF + one 256-byte READ BINARY (target < 2 µs).
func BenchmarkSelectRead(b *testing.B) {
	c := newTestCard(b, "adult")
	c.Transmit(selectDF(card.AIDJPKI))
	sel, read := selectEF(card.EFJPKIAuthCert), []byte{0x00, 0xB0, 0x00, 0x00, 0x00}
	b.ReportAllocs()
	for b.Loop() {
		c.Transmit(sel)
		if r := c.Transmit(read); len(r) != 258 {
			b.Fatalf("read %d bytes", len(r))
		}
	}
}

// BenchmarkPINSequence: VERIFY of the auth PIN + signature with EF 0017 (OpenSC's order).
func BenchmarkPINSequence(b *testing.B) {
	c := newTestCard(b, "adult")
	c.Transmit(selectDF(card.AIDJPKI))
	h := sha256.Sum256([]byte("challenge"))
	ver, sign := verifySFI(card.EFJPKIAuthPIN, testAuthPIN), apdu(0x80, 0x2A, 0x00, 0x97, card.DigestInfoSHA256(h[:]), 0)
	b.ReportAllocs()
	for b.Loop() {
		c.Transmit(ver)
		if r := c.Transmit(sign); len(r) != 258 {
			b.Fatalf("sign % X", r)
		}
	}
}

// BenchmarkSign: the signature alone (the RSA share of BenchmarkPINSequence).
func BenchmarkSign(b *testing.B) {
	c := newTestCard(b, "adult")
	c.Transmit(selectDF(card.AIDJPKI))
	c.Transmit(verifySFI(card.EFJPKIAuthPIN, testAuthPIN))
	h := sha256.Sum256([]byte("challenge"))
	sign := apdu(0x80, 0x2A, 0x00, 0x97, card.DigestInfoSHA256(h[:]), 0)
	b.ReportAllocs()
	for b.Loop() {
		if r := c.Transmit(sign); len(r) != 258 {
			b.Fatalf("sign % X", r)
		}
	}
}

// BenchmarkCardFaceRead: VERIFY 照合番号B + the full EF 0002 in one extended READ BINARY.
func BenchmarkCardFaceRead(b *testing.B) {
	c := newTestCard(b, "adult")
	c.Transmit(selectDF(card.AIDCardFace))
	ver, sel, read := verifySFI(card.KeyFaceNumberB, testNumberB), selectEF(card.EFFaceRecord), extAPDU(0x00, 0xB0, 0x00, 0x00, nil, 0)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		c.Transmit(ver)
		c.Transmit(sel)
		n = len(c.Transmit(read))
	}
	b.ReportMetric(float64(n-2), "bytes/read")
}
