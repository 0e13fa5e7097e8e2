package iso7816

import (
	"errors"
	"fmt"

	"github.com/skythen/apdu"
)

// Field limits of ISO/IEC 7816-4 clause 5.1.
const (
	MaxShortLc    = 255   // short Lc: 1..255 data bytes
	MaxShortNe    = 256   // short Le: 00 means 256
	MaxExtendedLc = 65535 // extended Lc: 1..65535
	MaxExtendedNe = 65536 // extended Le: 00 00 means 65536
	// MaxShortCommand is the longest short command APDU: header, Lc, 255 data bytes, Le. AOSP's
	// default ISO_DEP_MAX_TRANSCEIVE is this figure; a reader allowing more carries extended APDUs.
	MaxShortCommand = 4 + 1 + MaxShortLc + 1
)

// ErrMalformed reports bytes that are not a command APDU of ISO/IEC 7816-4 clause 5.1. A card
// answers them 6700 (wrong length).
var ErrMalformed = errors.New("iso7816: malformed command APDU")

// Layout is where the fields of a well-formed command APDU lie: found by ParseLayout without
// copying or allocating. Data is cmd[DataOffset : DataOffset+DataLen].
type Layout struct {
	Case       int  // 1, 2, 3 or 4 (ISO/IEC 7816-4 5.1)
	Extended   bool // Lc and/or Le in the extended form (case 2E, 3E, 4E)
	DataOffset int  // 5 (short) or 7 (extended) when there is data, else 0
	DataLen    int  // Nc
	Ne         int  // expected response length; 0 = no Le field; 256 / 65536 for Le 00 / 00 00
}

// ParseLayout checks the length structure of a command APDU (ISO/IEC 7816-4 5.1: cases 1, 2S, 2E,
// 3S, 3E, 4S, 4E). ok is false for anything else, including an extended Lc of zero and the
// 6-byte forms on which skythen/apdu panics (00 A4 04 00 00 01). It never panics and never
// allocates: it is the guard every parse of outside bytes goes through.
func ParseLayout(cmd []byte) (l Layout, ok bool) {
	n := len(cmd)
	switch {
	case n < 4:
		return l, false
	case n == 4:
		l.Case = 1
		return l, true
	case n == 5: // 2S
		l.Case, l.Ne = 2, shortNe(cmd[4])
		return l, true
	case cmd[4] != 0: // 3S or 4S
		lc := int(cmd[4])
		l.DataOffset, l.DataLen = 5, lc
		switch n {
		case 5 + lc:
			l.Case = 3
			return l, true
		case 6 + lc:
			l.Case, l.Ne = 4, shortNe(cmd[n-1])
			return l, true
		}
		return Layout{}, false
	case n == 7: // 2E: 00 Le1 Le2
		l.Case, l.Extended, l.Ne = 2, true, extendedNe(cmd[5], cmd[6])
		return l, true
	case n > 7: // 3E or 4E: 00 Lc1 Lc2 data [Le1 Le2]
		lc := int(cmd[5])<<8 | int(cmd[6])
		if lc == 0 { // an extended Lc of zero is invalid (5.1)
			return Layout{}, false
		}
		l.Extended, l.DataOffset, l.DataLen = true, 7, lc
		switch n {
		case 7 + lc:
			l.Case = 3
			return l, true
		case 9 + lc:
			l.Case, l.Ne = 4, extendedNe(cmd[n-2], cmd[n-1])
			return l, true
		}
	}
	return Layout{}, false
}

func shortNe(b byte) int {
	if b == 0 {
		return MaxShortNe
	}
	return int(b)
}

func extendedNe(hi, lo byte) int {
	if ne := int(hi)<<8 | int(lo); ne != 0 {
		return ne
	}
	return MaxExtendedNe
}

// IsExtended reports whether cmd is a well-formed command APDU in the extended-length form.
func IsExtended(cmd []byte) bool {
	l, ok := ParseLayout(cmd)
	return ok && l.Extended
}

// HasExtendedForm reports bytes that begin like an extended-length APDU (at least 7 bytes, the
// fifth 00) without checking the rest: all an NFC stack that refuses extended frames looks at.
func HasExtendedForm(cmd []byte) bool { return len(cmd) >= 7 && cmd[4] == 0 }

// Command is a command APDU: skythen/apdu's Capdu (CLA, INS, P1, P2, Data, Ne with 0 = no Le) and
// the encoding form, which Capdu does not keep and which matters on this card (GET CHALLENGE
// refuses an extended Le, 80 A2 needs an extended Lc) and on a handset (its transceive limit).
type Command struct {
	apdu.Capdu
	// Extended forces the extended-length form (Lc/Le on 2-3 bytes) even where the fields fit the
	// short form. A field that does not fit is always encoded extended.
	Extended bool
}

// NewCommand is a command in the shortest form that fits (set Extended to force the long form).
func NewCommand(cla, ins, p1, p2 byte, data []byte, ne int) Command {
	return Command{Capdu: apdu.Capdu{Cla: cla, Ins: ins, P1: p1, P2: p2, Data: data, Ne: ne}}
}

// ParseCommand decodes a command APDU. Malformed bytes give an error wrapping ErrMalformed (never
// a panic: the structure is checked by ParseLayout before skythen/apdu sees the bytes). Data
// aliases b.
func ParseCommand(b []byte) (Command, error) {
	l, ok := ParseLayout(b)
	if !ok {
		return Command{}, fmt.Errorf("%w (%d bytes)", ErrMalformed, len(b))
	}
	c, err := apdu.ParseCapdu(b)
	if err != nil { // cannot happen for a valid layout (TestParseAgreesWithSkythen); kept honest
		return Command{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if l.Case <= 2 {
		c.Data = nil
	}
	return Command{Capdu: *c, Extended: l.Extended}, nil
}

// Header is CLA INS P1 P2 of cmd, which must be at least 4 bytes long.
func Header(cmd []byte) (cla, ins, p1, p2 byte) { return cmd[0], cmd[1], cmd[2], cmd[3] }

// Bytes encodes the command (ISO/IEC 7816-4 5.1).
func (c Command) Bytes() ([]byte, error) { return c.AppendTo(nil) }

// AppendTo appends the encoding of the command to dst. The short form is skythen/apdu's; the
// extended form is written here when Extended asks for it where skythen would choose short.
func (c Command) AppendTo(dst []byte) ([]byte, error) {
	if len(c.Data) > MaxExtendedLc || c.Ne < 0 || c.Ne > MaxExtendedNe {
		return dst, fmt.Errorf("iso7816: Lc %d or Ne %d out of range", len(c.Data), c.Ne)
	}
	fits := len(c.Data) <= MaxShortLc && c.Ne <= MaxShortNe
	if !c.Extended || !fits || (len(c.Data) == 0 && c.Ne == 0) {
		b, err := c.Capdu.Bytes()
		if err != nil {
			return dst, err
		}
		return append(dst, b...), nil
	}
	dst = append(dst, c.Cla, c.Ins, c.P1, c.P2, 0)
	if len(c.Data) > 0 {
		dst = append(dst, byte(len(c.Data)>>8), byte(len(c.Data)))
		dst = append(dst, c.Data...)
	}
	if c.Ne > 0 {
		dst = append(dst, byte(c.Ne>>8), byte(c.Ne)) // 65536 -> 00 00
	}
	return dst, nil
}
