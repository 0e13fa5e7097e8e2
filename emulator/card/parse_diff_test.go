package card

import (
	"bytes"
	"testing"

	"github.com/skythen/apdu"
)

// skythenParse runs skythen/apdu.ParseCapdu, the reference parser the project's design names,
// with its known panic guarded (libraries.md: a 6-byte command whose fifth byte is 00 slices out
// of range).
func skythenParse(b []byte) (c *apdu.Capdu, ok, panicked bool) {
	defer func() {
		if recover() != nil {
			c, ok, panicked = nil, false, true
		}
	}()
	c, err := apdu.ParseCapdu(b)
	return c, err == nil, false
}

// agree checks the card's own parser against skythen/apdu on one input. Where both accept, every
// field must match; where they differ, it must be one of skythen's documented faults.
func agree(t *testing.T, b []byte) {
	t.Helper()
	ours, okOurs := parseCommand(b)
	ref, okRef, panicked := skythenParse(b)
	switch {
	case panicked:
		if okOurs {
			t.Fatalf("% X: skythen panics on it, ours accepts it as a valid APDU", b)
		}
	case okOurs && okRef:
		ne := 0
		if ours.hasLe {
			ne = ours.ne
		}
		if ours.cla != ref.Cla || ours.ins != ref.Ins || ours.p1 != ref.P1 || ours.p2 != ref.P2 ||
			!bytes.Equal(ours.data, ref.Data) || ne != ref.Ne {
			t.Fatalf("% X: ours %+v, skythen %+v", b, ours, ref)
		}
	case okRef && !okOurs:
		// skythen accepts an extended Lc of zero (invalid per ISO 7816-4 5.1); nothing else.
		if !(len(b) >= 7 && b[4] == 0 && b[5] == 0 && b[6] == 0) {
			t.Fatalf("% X: skythen accepts it, ours refuses it", b)
		}
	case okOurs && !okRef:
		t.Fatalf("% X: ours accepts it, skythen refuses it", b)
	}
}

func TestParseAgreesWithSkythen(t *testing.T) {
	for _, b := range [][]byte{
		{0x00, 0xA4, 0x04, 0x00, 0x00, 0x01}, // skythen panics (libraries.md)
		{0x00, 0xA4, 0x04, 0x0C},
		{0x00, 0xB0, 0x00, 0x00, 0x00},
		{0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00},
		{0x00, 0xB0, 0x00, 0x00, 0x00, 0x04, 0x00},
		{0x00, 0x20, 0x00, 0x98, 0x04, '1', '2', '3', '4'},
		{0x80, 0x2A, 0x00, 0x80, 0x02, 0xAA, 0xBB, 0x00},
		{0x80, 0xA2, 0x00, 0x00, 0x00, 0x00, 0x02, 0x01, 0x02},
		{0x80, 0xA2, 0x00, 0x00, 0x00, 0x00, 0x02, 0x01, 0x02, 0x00, 0x00},
		{0x00, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08}, // extended Lc 0 with Le: skythen's fault
		{0x00, 0xA4, 0x04, 0x0C, 0x05, 0x01},             // Lc larger than the data
	} {
		agree(t, b)
	}
	if _, _, panicked := skythenParse([]byte{0x00, 0xA4, 0x04, 0x00, 0x00, 0x01}); !panicked {
		t.Log("skythen/apdu no longer panics on 00 A4 04 00 00 01; libraries.md can drop the warning")
	}
}

// FuzzParseAgainstSkythen: the card's parser and skythen/apdu agree on every input, apart from
// skythen's documented faults.
func FuzzParseAgainstSkythen(f *testing.F) {
	f.Add([]byte{0x00, 0xA4, 0x04, 0x00, 0x00, 0x01})
	f.Add([]byte{0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00})
	f.Add([]byte{0x00, 0x20, 0x00, 0x98, 0x04, '1', '2', '3', '4'})
	f.Add([]byte{0x80, 0xA2, 0x00, 0x00, 0x00, 0x00, 0x02, 0x01, 0x02, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) { agree(t, b) })
}
