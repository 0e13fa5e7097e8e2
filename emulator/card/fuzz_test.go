package card_test

import (
	"testing"

	"github.com/mynaconform/mynaconform/emulator/card"
)

// TestParseCommand checks the ISO/IEC 7816-4 clause 5.1 cases, keeping the encoding form.
func TestParseCommand(t *testing.T) {
	cases := []struct {
		in       string
		ok       bool
		lc, ne   int
		hasLe    bool
		extended bool
	}{
		{"00 A4 00 00", true, 0, 0, false, false},                     // case 1
		{"00 B0 00 00 00", true, 0, 256, true, false},                 // 2S, Le 00 = 256
		{"00 B0 00 00 04", true, 0, 4, true, false},                   // 2S
		{"00 B0 00 00 00 00 00", true, 0, 65536, true, true},          // 2E, 00 00 00 = 65536
		{"00 B0 00 00 00 01 00", true, 0, 256, true, true},            // 2E
		{"00 A4 02 0C 02 00 0A", true, 2, 0, false, false},            // 3S
		{"80 2A 00 80 02 AA BB 00", true, 2, 256, true, false},        // 4S
		{"80 A2 00 00 00 00 02 AA BB", true, 2, 0, false, true},       // 3E
		{"80 2A 00 80 00 00 01 AA 00 00", true, 1, 65536, true, true}, // 4E, Le 00 00 = 65536
		{"00 A4 04 00 00 01", false, 0, 0, false, false},              // skythen/apdu panics here
		{"00 A4", false, 0, 0, false, false},
		{"00 A4 02 0C 03 00 0A", false, 0, 0, false, false}, // Lc longer than data
		{"00 A4 02 0C 01 00 0A 00 00", false, 0, 0, false, false},
		{"80 A2 00 00 00 00 00", true, 0, 65536, true, true},   // reads as 2E
		{"80 A2 00 00 00 00 00 AA", false, 0, 0, false, false}, // extended Lc 0
		{"80 A2 00 00 00 00 02 AA", false, 0, 0, false, false},
	}
	for _, tc := range cases {
		c, ok := card.ParseCommand(hx(tc.in))
		if ok != tc.ok {
			t.Errorf("%s: ok %v", tc.in, ok)
			continue
		}
		if ok && (c.Lc != tc.lc || c.Ne != tc.ne || c.HasLe != tc.hasLe || c.Extended != tc.extended) {
			t.Errorf("%s: lc %d ne %d le %v ext %v", tc.in, c.Lc, c.Ne, c.HasLe, c.Extended)
		}
	}
}

// FuzzTransmit: no byte string makes the card panic or answer fewer than two bytes. The
// corpus seeds edge cases of the length structure and a logged-in JPKI session.
func FuzzTransmit(f *testing.F) {
	for _, s := range []string{
		"", "00", "00 A4", "00 A4 04", "00 A4 04 00", "00 A4 04 00 00", "00 A4 04 00 00 01",
		"00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01", "00 A4 02 0C 02 00 0A", "00 B0 00 00 00",
		"00 B0 7F FF 00", "00 B0 9F 00 00", "00 B0 00 00 00 00 00", "00 B0 00 00 00 FF FF",
		"00 20 00 80", "00 20 00 98 04 31 32 33 34", "00 24 01 98 04 31 32 33 34",
		"80 2A 00 97 02 00 00 00", "80 2A 05 80 01 00 00 00 00", "80 A2 00 00 00 00 03 7F 21 00",
		"00 84 00 00 00", "00 84 00 00 00 00 00", "FF FF FF FF FF", "0C B0 00 00 00", "03 A4 04 0C",
		"00 A4 04 0C FF", "00 A4 04 0C 00 FF FF",
	} {
		f.Add(hx(s), byte(0))
	}
	f.Add(hx("00 B0 00 00 00"), byte(1))
	f.Add(hx("80 2A 03 97 03 61 62 63 00"), byte(1))
	f.Add(hx("00 B0 82 00 00 00 00"), byte(2))
	c := newTestCard(f, "adult")
	f.Fuzz(func(t *testing.T, cmd []byte, prefix byte) {
		c.Reset()
		switch prefix % 3 { // start from a JPKI session with the auth PIN verified, or the card face
		case 1:
			c.Transmit(selectDF(card.AIDJPKI))
			c.Transmit(verifySFI(card.EFJPKIAuthPIN, testAuthPIN))
		case 2:
			c.Transmit(selectDF(card.AIDCardFace))
			c.Transmit(verifySFI(card.KeyFaceNumberB, testNumberB))
		}
		r := c.Transmit(cmd)
		if len(r) < 2 {
			t.Fatalf("% X: %d-byte response", cmd[:min(len(cmd), 4)], len(r))
		}
		if len(r) > card.MaxResponseData+2 {
			t.Fatalf("% X: %d-byte response", cmd[:min(len(cmd), 4)], len(r))
		}
		if r[len(r)-2] == 0x6F {
			t.Fatalf("% X: recovered panic (6F00)", cmd[:min(len(cmd), 4)])
		}
	})
}
