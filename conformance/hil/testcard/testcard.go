// Package testcard is a minimal ISO 7816-4 card model for transport tests of the PC/SC path
// (readers/pcsc, emulator/vpcd): just enough state to see security status cleared by a reset,
// plus fault commands a real card model must never offer (empty or 1-byte answers, a hang,
// answers of any length). Tests of card behaviour use emulator/card instead.
package testcard

import (
	"bytes"
	"sync"

	"github.com/mynaconform/mynaconform/formats/iso7816"
)

// Instructions the card knows.
const (
	InsSelect     = 0xA4 // any SELECT: 9000
	InsVerify     = 0x20 // VERIFY with data PIN: 9000 and security status set, else 63C2
	InsReadBinary = 0xB0 // P1 bit 8 set: protected (6982 without VERIFY); returns Le bytes of pattern
	InsEmpty      = 0xE0 // answers 0 bytes (a card killed mid-APDU)
	InsOneByte    = 0xE1 // answers 1 byte
	InsHang       = 0xE2 // blocks until Release
	InsLong       = 0xE3 // answers P1P2 bytes of data + 9000 beyond any Le (framing-limit tests)
)

// PIN is the only PIN VERIFY accepts (a test value, not a persona's).
var PIN = []byte("0000")

// Card is the model. The zero value is not usable: use New.
type Card struct {
	atr []byte

	mu       sync.Mutex
	verified bool
	resets   int
	hang     chan struct{}
	arrived  chan struct{} // closed when the first InsHang command arrives
	once     sync.Once
}

// New returns a card answering atr.
func New(atr []byte) *Card {
	return &Card{atr: bytes.Clone(atr), hang: make(chan struct{}), arrived: make(chan struct{})}
}

// Release ends every current and future InsHang command.
func (c *Card) Release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.hang:
	default:
		close(c.hang)
	}
}

// Hanging is closed when the first InsHang command has reached the card (and waits there for
// Release).
func (c *Card) Hanging() <-chan struct{} { return c.arrived }

// Resets counts power-off, power-on and reset events seen.
func (c *Card) Resets() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resets
}

func (c *Card) ATR() []byte { return bytes.Clone(c.atr) }

func (c *Card) PowerOn() []byte { c.clear(); return c.ATR() }
func (c *Card) PowerOff()       { c.clear() }
func (c *Card) Reset() []byte   { c.clear(); return c.ATR() }

func (c *Card) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.verified = false
	c.resets++
}

// Transmit answers one command APDU.
func (c *Card) Transmit(cmd []byte) []byte {
	if len(cmd) < 4 {
		return sw(iso7816.SWWrongLength)
	}
	ins, p1, p2 := cmd[1], cmd[2], cmd[3]
	switch ins {
	case InsSelect:
		return []byte{0x90, 0x00}
	case InsVerify:
		data := body(cmd)
		c.mu.Lock()
		defer c.mu.Unlock()
		if bytes.Equal(data, PIN) {
			c.verified = true
			return sw(iso7816.SWOK)
		}
		return sw(iso7816.WrongSecret(2))
	case InsReadBinary:
		c.mu.Lock()
		ok := c.verified || p1&0x80 == 0
		c.mu.Unlock()
		if !ok {
			return sw(iso7816.SWSecurityStatus)
		}
		n := le(cmd)
		out := make([]byte, n, n+2)
		for i := range out {
			out[i] = byte(i)
		}
		return append(out, 0x90, 0x00)
	case InsEmpty:
		return nil
	case InsOneByte:
		return []byte{0x90}
	case InsHang:
		c.once.Do(func() { close(c.arrived) })
		<-c.hang
		return []byte{0x90, 0x00}
	case InsLong:
		out := make([]byte, int(p1)<<8|int(p2), int(p1)<<8|int(p2)+2)
		return append(out, 0x90, 0x00)
	}
	return sw(iso7816.SWINSNotSupported)
}

func sw(w iso7816.StatusWord) []byte { return []byte{w.SW1(), w.SW2()} }

// body is the data field of a case 3/4 command (short or extended Lc), or nil.
func body(cmd []byte) []byte {
	l, ok := iso7816.ParseLayout(cmd)
	if !ok || l.DataLen == 0 {
		return nil
	}
	return cmd[l.DataOffset : l.DataOffset+l.DataLen]
}

// le is Ne of a case 2 command: short Le (00 = 256) or extended (00 00 00 = 65536).
func le(cmd []byte) int {
	l, ok := iso7816.ParseLayout(cmd)
	if !ok || l.Case != 2 {
		return 0
	}
	return l.Ne
}
