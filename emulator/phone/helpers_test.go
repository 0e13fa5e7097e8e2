package phone

import (
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/emulator/card"
	"github.com/mynaconform/mynaconform/fixtures"
)

// persona returns a fixture persona and a fresh virtual card for it.
func persona(t testing.TB, id string) (*fixtures.Persona, *card.Card) {
	t.Helper()
	p, err := fixtures.PersonaByID(id)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := p.CardProfile()
	if err != nil {
		t.Fatal(err)
	}
	c, err := card.New(cp)
	if err != nil {
		t.Fatal(err)
	}
	return p, c
}

// android is a plain Android profile with the given transceive maximum and no card
// processing time.
func android(id string, maxTransceive int) Profile {
	return Profile{
		ID: id, Maker: "Test", Model: "Handset", OS: "Android 14", Platform: Android,
		NFC: true, ISODep: true, MaxTransceive: maxTransceive,
		Timeout: 5 * time.Second, BitRate: 106, FSD: 256, Source: "synthetic",
	}
}

// ios is an iPhone-like profile: extended APDUs, responses capped at maxResponse bytes.
func ios(maxResponse int) Profile {
	p := android("test-ios", MaxCommandAPDU)
	p.Platform, p.OS, p.MaxResponse = IOS, "iOS 13", maxResponse
	return p
}

func boolp(b bool) *bool { return &b }

// countingCard wraps a Card and logs what reaches it.
type countingCard struct {
	Card
	cmds     [][]byte
	powerOff int
}

func (c *countingCard) Transmit(cmd []byte) []byte {
	c.cmds = append(c.cmds, append([]byte(nil), cmd...))
	return c.Card.Transmit(cmd)
}

func (c *countingCard) PowerOff() { c.powerOff++; c.Card.PowerOff() }

// fileCard is a minimal card with one transparent file, answering SELECT and READ BINARY
// (short and extended Le): for the timing calibration, where only sizes matter.
type fileCard struct{ file []byte }

func (c *fileCard) PowerOn() []byte { return []byte{0x3B, 0x00} }
func (c *fileCard) PowerOff()       {}
func (c *fileCard) Transmit(cmd []byte) []byte {
	if len(cmd) < 4 {
		return []byte{0x67, 0x00}
	}
	switch cmd[1] {
	case 0xA4:
		return []byte{0x90, 0x00}
	case 0xB0:
		off := int(cmd[2])<<8 | int(cmd[3])
		var ne int
		switch len(cmd) {
		case 5:
			ne = int(cmd[4])
			if ne == 0 {
				ne = 256
			}
		case 7:
			ne = int(cmd[5])<<8 | int(cmd[6])
			if ne == 0 {
				ne = 65536
			}
		default:
			return []byte{0x67, 0x00}
		}
		if off > len(c.file) {
			return []byte{0x6B, 0x00}
		}
		end := min(off+ne, len(c.file))
		return append(append([]byte(nil), c.file[off:end]...), 0x90, 0x00)
	}
	return []byte{0x6D, 0x00}
}
