package phone

import (
	"testing"

	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/readers/session"
)

// The same SELECT EF + 256-byte READ BINARY, straight into the card and through the phone:
// the difference is the phone's overhead (checks, timing model, locking).
var (
	benchSelect = []byte{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x0A}
	benchRead   = []byte{0x00, 0xB0, 0x00, 0x00, 0x00}
)

func BenchmarkCardTransmit(b *testing.B) {
	_, c := persona(b, "adult")
	c.PowerOn()
	c.Transmit(append([]byte{0x00, 0xA4, 0x04, 0x0C, 0x0A}, mynumber.AIDJPKI...))
	for b.Loop() {
		if r := c.Transmit(benchSelect); len(r) != 2 {
			b.Fatal(r)
		}
		if r := c.Transmit(benchRead); len(r) != 258 {
			b.Fatal(len(r))
		}
	}
}

func BenchmarkPhoneTransmit(b *testing.B) {
	_, c := persona(b, "adult")
	ph := New(android("bench", 65279), c)
	if err := ph.Connect(bg); err != nil {
		b.Fatal(err)
	}
	if _, err := ph.Transmit(bg, append([]byte{0x00, 0xA4, 0x04, 0x0C, 0x0A}, mynumber.AIDJPKI...)); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if r, err := ph.Transmit(bg, benchSelect); err != nil || len(r) != 2 {
			b.Fatal(r, err)
		}
		if r, err := ph.Transmit(bg, benchRead); err != nil || len(r) != 258 {
			b.Fatal(len(r), err)
		}
	}
}

// BenchmarkSessionReadObjectPhone reads the auth certificate (EF 000A) through a session over
// the phone and the virtual card, short-only and extended.
func BenchmarkSessionReadObjectPhone(b *testing.B) {
	for _, max := range []int{261, 65279} {
		name := "short"
		if max > 261 {
			name = "extended"
		}
		b.Run(name, func(b *testing.B) {
			_, c := persona(b, "adult")
			ph := New(android("bench", max), c)
			if err := ph.Connect(bg); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				s := session.New(ph)
				if err := s.SelectAID(bg, mynumber.AIDJPKI); err != nil {
					b.Fatal(err)
				}
				if _, err := s.ReadObject(bg, mynumber.JPKIAuthCert); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// nullCard answers 9000 (and 256 bytes to READ) at no cost: what is left is the phone's own
// cost per APDU.
type nullCard struct{ read, ok []byte }

func (c *nullCard) PowerOn() []byte { return nil }
func (c *nullCard) PowerOff()       {}
func (c *nullCard) Transmit(cmd []byte) []byte {
	if cmd[1] == 0xB0 {
		return c.read
	}
	return c.ok
}

func BenchmarkPhoneOverhead(b *testing.B) {
	ph := New(android("bench", 65279), &nullCard{read: make([]byte, 258), ok: []byte{0x90, 0x00}})
	if err := ph.Connect(bg); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := ph.Transmit(bg, benchSelect); err != nil {
			b.Fatal(err)
		}
		if _, err := ph.Transmit(bg, benchRead); err != nil {
			b.Fatal(err)
		}
	}
}
