package phone

import (
	"context"
	"errors"
	"testing"

	"github.com/mynaconform/mynaconform/readers"
)

// FuzzPhoneTransmit sends arbitrary bytes through a short-only and an iOS-like phone into the
// virtual card: no panic, never a response under 2 bytes without an error, and refused
// commands never reach the card.
func FuzzPhoneTransmit(f *testing.F) {
	f.Add([]byte{0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01})
	f.Add([]byte{0x00, 0xB0, 0x00, 0x00, 0x00, 0x06, 0x9C})
	f.Add([]byte{0x00, 0xA4, 0x04, 0x00, 0x00, 0x01})
	f.Add([]byte{0x80})
	_, c1 := persona(f, "adult")
	_, c2 := persona(f, "adult")
	cc1, cc2 := &countingCard{Card: c1}, &countingCard{Card: c2}
	phones := []*Phone{New(android("fuzz-261", 261), cc1), New(ios(1693), cc2)}
	cards := []*countingCard{cc1, cc2}
	f.Fuzz(func(t *testing.T, cmd []byte) {
		for i, ph := range phones {
			if err := ph.Connect(context.Background()); err != nil {
				t.Fatal(err)
			}
			before := len(cards[i].cmds)
			resp, err := ph.Transmit(context.Background(), cmd)
			if err == nil && len(resp) < 2 {
				t.Fatalf("%d-byte response without error", len(resp))
			}
			if errors.Is(err, readers.ErrTransceiveLength) && len(cards[i].cmds) != before {
				t.Fatal("refused command reached the card")
			}
			cards[i].cmds = cards[i].cmds[:0]
		}
	})
}
