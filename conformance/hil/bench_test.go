//go:build pcsc

package hil_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ebfe/scard"

	"github.com/mynaconform/mynaconform/conformance/hil/stack"
	"github.com/mynaconform/mynaconform/emulator/vpcd"
	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/readers"
)

// BenchmarkPCSC measures APDU round trips through pcscd + vpcd with the virtual card of persona
// adult in slot 0, with and without TCP_QUICKACK (hil.md: ~95 us per short APDU with it, ~44 ms
// without on Debian 12's vpcd 0.8):
//
//   - select-read: SELECT EF 000A and a short READ BINARY of 32 bytes (2 APDUs per op);
//   - read-4k-extended: one READ BINARY of 4096 bytes with an extended Le from the card-face
//     record EF 0002 (after VERIFY of 照合番号B once).
func BenchmarkPCSC(b *testing.B) {
	need(b)
	for _, quick := range []bool{true, false} {
		b.Run(fmt.Sprintf("quickack=%v", quick), func(b *testing.B) {
			c, p := newCard(b, "adult")
			insert(b, c, 0, vpcd.WithQuickAck(quick))
			r := open(b, 0)

			b.Run("select-read", func(b *testing.B) {
				transmit(b, r, selectJPKI, 0x9000)
				read := []byte{0x00, 0xB0, 0x00, 0x00, 0x20}
				b.ResetTimer()
				start := time.Now()
				for range b.N {
					transmit(b, r, selectAuth, 0x9000)
					if d := transmit(b, r, read, 0x9000); len(d) != 32 {
						b.Fatalf("READ returned %d bytes", len(d))
					}
				}
				b.ReportMetric(float64(2*b.N)/time.Since(start).Seconds(), "apdu/s")
			})

			// The same pair straight through ebfe/scard, beside it: the library's floor, without
			// the Reader's deadline goroutine and typed errors.
			b.Run("select-read-bare-scard", func(b *testing.B) {
				sc, err := scard.EstablishContext()
				if err != nil {
					b.Fatal(err)
				}
				defer sc.Release()
				h, err := sc.Connect(stack.ReaderName(0), scard.ShareShared, scard.ProtocolAny)
				if err != nil {
					b.Fatal(err)
				}
				defer h.Disconnect(scard.LeaveCard)
				read := []byte{0x00, 0xB0, 0x00, 0x00, 0x20}
				if _, err := h.Transmit(selectJPKI); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				start := time.Now()
				for range b.N {
					if resp, err := h.Transmit(selectAuth); err != nil || len(resp) != 2 {
						b.Fatalf("SELECT: % X, %v", resp, err)
					}
					if resp, err := h.Transmit(read); err != nil || len(resp) != 34 {
						b.Fatalf("READ: %d bytes, %v", len(resp), err)
					}
				}
				b.ReportMetric(float64(2*b.N)/time.Since(start).Seconds(), "apdu/s")
			})

			b.Run("read-4k-extended", func(b *testing.B) {
				transmit(b, r, append([]byte{0x00, 0xA4, 0x04, 0x0C, 0x0A}, mynumber.AIDCardFace...), 0x9000)
				transmit(b, r, []byte{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x12}, 0x9000)
				pin := p.VerificationB()
				transmit(b, r, append([]byte{0x00, 0x20, 0x00, 0x80, byte(len(pin))}, pin...), 0x9000)
				transmit(b, r, []byte{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x02}, 0x9000)
				read := []byte{0x00, 0xB0, 0x00, 0x00, 0x00, 0x10, 0x00}
				b.SetBytes(4096)
				b.ResetTimer()
				start := time.Now()
				for range b.N {
					if d := transmit(b, r, read, 0x9000); len(d) != 4096 {
						b.Fatalf("extended READ returned %d bytes", len(d))
					}
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "apdu/s")
			})
		})
	}
}

var _ readers.Reader // the benchmark drives the card through the readers.Reader backend
