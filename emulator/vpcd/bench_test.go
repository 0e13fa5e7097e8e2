package vpcd

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"time"
)

// BenchmarkServeLoopback measures one APDU round trip through Serve over loopback TCP with a
// driver that writes length and payload in one write (so no delayed-ACK stall): the card-side
// cost of the vpcd protocol, without pcscd.
func BenchmarkServeLoopback(b *testing.B) {
	for _, size := range []int{5, 4096} {
		b.Run(map[int]string{5: "short", 4096: "4k-response"}[size], func(b *testing.B) {
			ln, accept := fakeVPCD(b)
			card := &fakeCard{atr: testATR}
			if size > 5 {
				card.resp = append(bytes.Repeat([]byte{0xAB}, size), 0x90, 0x00)
			}
			serveDial(b, ln.Addr().String(), card)
			c := accept()
			c.SetDeadline(time.Now().Add(10 * time.Minute))
			cmd := []byte{0x00, 0x02, 0x00, 0xB0, 0x00, 0x00, 0x00}
			cmd[1] = byte(len(cmd) - 2)
			hdr := make([]byte, 2)
			buf := make([]byte, 65535)
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				if _, err := c.Write(cmd); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, hdr); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, buf[:binary.BigEndian.Uint16(hdr)]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "apdu/s")
		})
	}
}
