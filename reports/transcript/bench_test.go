package transcript

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"time"
)

// benchFile is a 40-exchange transcript: SELECTs, VERIFYs (masked) and short READ BINARY of
// 256 bytes, about the PIN mode reading a certificate in short APDUs.
func benchFile(b *testing.B) *File {
	f := &File{Version: Version, Target: "emulator", Device: "google-pixel-8", Mode: "pin", Persona: "taro"}
	resp := append(bytes.Repeat([]byte{0x30}, 256), 0x90, 0x00)
	for i := range 40 {
		ex := Exchange{Step: fmt.Sprintf("PIN-%03d step", i/8), Elapsed: time.Duration(i) * time.Millisecond}
		switch i % 8 {
		case 0:
			ex.Command, ex.Response = mustHex(b, "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"), []byte{0x90, 0x00}
		case 1:
			ex = Mask(Exchange{Step: ex.Step, Command: mustHex(b, "00 20 00 98 04 31 32 33 34"), Response: []byte{0x90, 0x00}}, true)
		default:
			ex.Command, ex.Response = []byte{0x00, 0xB0, byte(i), 0x00, 0x00}, resp
		}
		f.Exchanges = append(f.Exchanges, ex)
	}
	return f
}

func BenchmarkTranscriptWrite(b *testing.B) {
	f := benchFile(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := Write(io.Discard, f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTranscriptRead(b *testing.B) {
	data := encode(b, benchFile(b))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Read(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
