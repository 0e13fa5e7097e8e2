package iso7816

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/skythen/apdu"
)

func hx(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// Every case of ISO/IEC 7816-4 5.1, in both forms, and the length structures a card must refuse.
func TestParseLayout(t *testing.T) {
	for _, tc := range []struct {
		in          string
		ok          bool
		cas, nc, ne int
		ext         bool
		dataOff     int
	}{
		{"00 A4 00 00", true, 1, 0, 0, false, 0},
		{"00 B0 00 00 00", true, 2, 0, 256, false, 0},
		{"00 B0 00 00 04", true, 2, 0, 4, false, 0},
		{"00 B0 00 00 00 00 00", true, 2, 0, 65536, true, 0},
		{"00 B0 00 00 00 01 00", true, 2, 0, 256, true, 0},
		{"00 A4 02 0C 02 00 0A", true, 3, 2, 0, false, 5},
		{"80 2A 00 80 02 AA BB 00", true, 4, 2, 256, false, 5},
		{"80 A2 00 C1 00 00 02 AA BB", true, 3, 2, 0, true, 7},
		{"80 2A 00 80 00 00 01 AA 00 00", true, 4, 1, 65536, true, 7},
		{"80 A2 00 00 00 00 00", true, 2, 0, 65536, true, 0}, // reads as 2E
		{"00 A4 04 00 00 01", false, 0, 0, 0, false, 0},      // skythen/apdu panics on it
		{"00 A4", false, 0, 0, 0, false, 0},
		{"00 A4 02 0C 03 00 0A", false, 0, 0, 0, false, 0}, // Lc longer than the data
		{"00 A4 02 0C 01 00 0A 00 00", false, 0, 0, 0, false, 0},
		{"80 A2 00 00 00 00 00 AA", false, 0, 0, 0, false, 0}, // extended Lc 0
		{"80 A2 00 00 00 00 02 AA", false, 0, 0, 0, false, 0},
	} {
		l, ok := ParseLayout(hx(tc.in))
		if ok != tc.ok || (ok && (l.Case != tc.cas || l.DataLen != tc.nc || l.Ne != tc.ne || l.Extended != tc.ext || l.DataOffset != tc.dataOff)) {
			t.Errorf("%s: %+v %v", tc.in, l, ok)
		}
		if IsExtended(hx(tc.in)) != (ok && tc.ext) {
			t.Errorf("%s: IsExtended", tc.in)
		}
		c, err := ParseCommand(hx(tc.in))
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrMalformed)) {
			t.Errorf("%s: ParseCommand error %v", tc.in, err)
			continue
		}
		if err == nil {
			// The form is kept: re-encoding gives the very bytes.
			if b, err := c.Bytes(); err != nil || !bytes.Equal(b, hx(tc.in)) {
				t.Errorf("%s: re-encodes as % X (%v)", tc.in, b, err)
			}
		}
	}
}

func TestCommandBytes(t *testing.T) {
	long := bytes.Repeat([]byte{0xAB}, 300)
	for _, tc := range []struct {
		c    Command
		want string
	}{
		{NewCommand(0x00, 0xB0, 0x00, 0x00, nil, 256), "00 B0 00 00 00"},
		{Command{Capdu: NewCommand(0x00, 0xB0, 0x00, 0x00, nil, 256).Capdu, Extended: true}, "00 B0 00 00 00 01 00"},
		{NewCommand(0x00, 0xB0, 0x00, 0x00, nil, 65536), "00 B0 00 00 00 00 00"},
		{Command{Capdu: NewCommand(0x00, 0x84, 0x00, 0x00, nil, 8).Capdu, Extended: true}, "00 84 00 00 00 00 08"},
		{Command{Capdu: NewCommand(0x00, 0xA4, 0x00, 0x00, nil, 0).Capdu, Extended: true}, "00 A4 00 00"}, // case 1 has one form
		{Command{Capdu: NewCommand(0x80, 0xA2, 0x00, 0xC1, []byte{1, 2}, 0).Capdu, Extended: true}, "80 A2 00 C1 00 00 02 01 02"},
		{Command{Capdu: NewCommand(0x80, 0x2A, 0x00, 0x80, []byte{1}, 256).Capdu, Extended: true}, "80 2A 00 80 00 00 01 01 01 00"},
	} {
		b, err := tc.c.Bytes()
		if err != nil || !bytes.Equal(b, hx(tc.want)) {
			t.Errorf("%+v: % X %v, want %s", tc.c, b, err, tc.want)
		}
	}
	b, err := NewCommand(0x00, 0xD6, 0, 0, long, 0).Bytes()
	if err != nil || !IsExtended(b) || len(b) != 7+300 {
		t.Errorf("300 data bytes: % X… %v", b[:8], err)
	}
	for _, bad := range []Command{NewCommand(0, 0xB0, 0, 0, nil, -1), NewCommand(0, 0xB0, 0, 0, nil, 65537), NewCommand(0, 0xD6, 0, 0, make([]byte, 65536), 0)} {
		if _, err := bad.Bytes(); err == nil {
			t.Errorf("Nc %d Ne %d encoded", len(bad.Data), bad.Ne)
		}
	}
}

func TestResponse(t *testing.T) {
	r, err := ParseResponse(hx("01 02 90 00"))
	if err != nil || r.SW() != SWOK || !bytes.Equal(r.Data, []byte{1, 2}) {
		t.Fatalf("ParseResponse = %+v %v", r, err)
	}
	for _, bad := range [][]byte{nil, {0x90}} {
		if _, err := ParseResponse(bad); err == nil {
			t.Errorf("ParseResponse(% X) accepted", bad)
		}
	}
	if SWOf([]byte{0x6A, 0x82}) != SWFileNotFound || SWOf([]byte{0x90}) != 0 {
		t.Error("SWOf")
	}
	if got := AppendResponse(nil, []byte{7}, SWWrongOffset); !bytes.Equal(got, []byte{7, 0x6B, 0x00}) {
		t.Errorf("AppendResponse = % X", got)
	}
}

// skythenParse runs skythen/apdu.ParseCapdu with its known panic guarded (a 6-byte command whose
// fifth byte is 00 slices out of range).
func skythenParse(b []byte) (c *apdu.Capdu, ok, panicked bool) {
	defer func() {
		if recover() != nil {
			c, ok, panicked = nil, false, true
		}
	}()
	c, err := apdu.ParseCapdu(b)
	return c, err == nil, false
}

// agree checks ParseLayout against skythen/apdu on one input. Where both accept, every field
// matches; where they differ, it is one of skythen's documented faults. It also checks that
// ParseCommand never panics and re-encodes what it accepts to the very bytes.
func agree(t *testing.T, b []byte) {
	t.Helper()
	l, ok := ParseLayout(b)
	ref, okRef, panicked := skythenParse(b)
	switch {
	case panicked:
		if ok {
			t.Fatalf("% X: skythen panics on it, ParseLayout accepts it", b)
		}
	case ok && okRef:
		data := b[l.DataOffset : l.DataOffset+l.DataLen]
		if l.DataLen == 0 {
			data = nil
		}
		if ref.Cla != b[0] || ref.Ins != b[1] || ref.P1 != b[2] || ref.P2 != b[3] || !bytes.Equal(data, ref.Data) || l.Ne != ref.Ne {
			t.Fatalf("% X: layout %+v, skythen %+v", b, l, ref)
		}
	case okRef && !ok:
		// skythen accepts an extended Lc of zero (invalid per ISO 7816-4 5.1); nothing else.
		if !(len(b) >= 7 && b[4] == 0 && b[5] == 0 && b[6] == 0) {
			t.Fatalf("% X: skythen accepts it, ParseLayout refuses it", b)
		}
	case ok && !okRef:
		t.Fatalf("% X: ParseLayout accepts it, skythen refuses it", b)
	}
	c, err := ParseCommand(b)
	if (err == nil) != ok {
		t.Fatalf("% X: ParseCommand %v, layout ok %v", b, err, ok)
	}
	if err == nil {
		if re, err := c.Bytes(); err != nil || !bytes.Equal(re, b) {
			t.Fatalf("% X re-encodes as % X (%v)", b, re, err)
		}
	}
}

func TestParseAgreesWithSkythen(t *testing.T) {
	for _, s := range []string{
		"00 A4 04 00 00 01", "00 A4 04 0C", "00 B0 00 00 00", "00 B0 00 00 00 00 00", "00 B0 00 00 00 04 00",
		"00 20 00 98 04 31 32 33 34", "80 2A 00 80 02 AA BB 00", "80 A2 00 C1 00 00 02 01 02",
		"80 A2 00 C1 00 00 02 01 02 00 00", "00 84 00 00 00 00 00 08", "00 A4 04 0C 05 01",
	} {
		agree(t, hx(s))
	}
	if _, _, panicked := skythenParse(hx("00 A4 04 00 00 01")); !panicked {
		t.Log("skythen/apdu no longer panics on 00 A4 04 00 00 01; docs/libraries can drop the warning")
	}
}

// FuzzParseCommand: ParseLayout and skythen/apdu agree on every input apart from skythen's
// documented faults; ParseCommand never panics; what it accepts re-encodes byte for byte.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"00 A4 04 00 00 01", "00 B0 00 00 00 00 00", "00 20 00 98 04 31 32 33 34",
		"80 A2 00 C1 00 00 02 01 02 00 00", "00 84 00 00 00 00 00 08", ""} {
		f.Add(hx(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { agree(t, b) })
}

func BenchmarkParseCommand(b *testing.B) {
	cmd := hx("00 B0 00 00 00")
	for b.Loop() {
		if _, err := ParseCommand(cmd); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseLayout(b *testing.B) {
	cmd := hx("00 B0 00 00 00")
	for b.Loop() {
		if _, ok := ParseLayout(cmd); !ok {
			b.Fatal("layout")
		}
	}
}
