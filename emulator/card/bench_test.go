package card_test

import (
	"crypto/sha256"
	"testing"

	m "github.com/mynaconform/mynaconform/formats/mynumber"
)

// BenchmarkSelectRead: SELECT EF + one 256-byte READ BINARY (target < 2 µs).
func BenchmarkSelectRead(b *testing.B) {
	c := newTestCard(b, "adult")
	c.Transmit(selectDF(m.AIDJPKI))
	sel, read := selectEF(m.JPKIAuthCert), []byte{0x00, 0xB0, 0x00, 0x00, 0x00}
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
	c.Transmit(selectDF(m.AIDJPKI))
	h := sha256.Sum256([]byte("challenge"))
	ver, sign := verifySFI(m.JPKIAuthPIN, testAuthPIN), signCmd(m.SigPKCS1Raw, 0x97, m.DigestInfoSHA256(h[:]))
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
	c.Transmit(selectDF(m.AIDJPKI))
	c.Transmit(verifySFI(m.JPKIAuthPIN, testAuthPIN))
	h := sha256.Sum256([]byte("challenge"))
	sign := signCmd(m.SigPKCS1Raw, 0x97, m.DigestInfoSHA256(h[:]))
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
	c.Transmit(selectDF(m.AIDCardFace))
	ver, sel, read := verifySFI(m.FaceNumberB, testNumberB), selectEF(m.FaceRecordEF), ext(0x00, 0xB0, 0x00, 0x00, nil, 65536)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		c.Transmit(ver)
		c.Transmit(sel)
		n = len(c.Transmit(read))
	}
	b.ReportMetric(float64(n-2), "bytes/read")
}
