package session

import (
	"errors"
	"fmt"
)

// Maximum field sizes of ISO/IEC 7816-4 5.1: extended Lc up to 65535, Le up to 65536 (coded 00 00).
const (
	maxShortLc = 255
	maxShortLe = 256
	maxExtLc   = 65535
	maxExtLe   = 65536
)

var errAPDU = errors.New("session: APDU field out of range")

// appendAPDU appends the command APDU CLA INS P1 P2 [Lc data] [Le] to dst in the short or
// extended form of ISO/IEC 7816-4 5.1 (cases 1, 2S/2E, 3S/3E, 4S/4E). ne is the expected
// response length Ne: 0 for no Le field, 256 (short) or 65536 (extended) for "as much as
// possible". Extended is used when ext is set or a field does not fit the short form.
func appendAPDU(dst []byte, cla, ins, p1, p2 byte, data []byte, ne int, ext bool) ([]byte, error) {
	if len(data) > maxExtLc || ne < 0 || ne > maxExtLe {
		return dst, fmt.Errorf("%w: Lc %d, Ne %d", errAPDU, len(data), ne)
	}
	if len(data) > maxShortLc || ne > maxShortLe {
		ext = true
	}
	if ext && len(data) == 0 && ne == 0 {
		ext = false // case 1 has no extended form
	}
	dst = append(dst, cla, ins, p1, p2)
	if !ext {
		if len(data) > 0 {
			dst = append(dst, byte(len(data)))
			dst = append(dst, data...)
		}
		if ne > 0 {
			dst = append(dst, byte(ne)) // 256 -> 00
		}
		return dst, nil
	}
	// Extended: a 00 byte, then Lc on two bytes (if data), then Le on two bytes; in case 2E the
	// leading 00 is the first of Le's three bytes.
	dst = append(dst, 0)
	if len(data) > 0 {
		dst = append(dst, byte(len(data)>>8), byte(len(data)))
		dst = append(dst, data...)
	}
	if ne > 0 {
		dst = append(dst, byte(ne>>8), byte(ne)) // 65536 -> 00 00
	}
	return dst, nil
}

// commandLayout locates the data field of a command APDU (ISO/IEC 7816-4 5.1). ok is false
// for a byte string that is no valid APDU.
type commandLayout struct {
	dataOff, dataLen int
	ne               int // 0: no Le field
	extended         bool
}

func parseLayout(cmd []byte) (l commandLayout, ok bool) {
	n := len(cmd)
	switch {
	case n < 4:
		return l, false
	case n == 4: // case 1
		return l, true
	case n == 5: // case 2S
		l.ne = int(cmd[4])
		if l.ne == 0 {
			l.ne = 256
		}
		return l, true
	case cmd[4] != 0: // case 3S or 4S
		lc := int(cmd[4])
		l.dataOff, l.dataLen = 5, lc
		switch n {
		case 5 + lc:
			return l, true
		case 6 + lc:
			l.ne = int(cmd[n-1])
			if l.ne == 0 {
				l.ne = 256
			}
			return l, true
		}
		return commandLayout{}, false
	case n == 7: // case 2E
		l.extended = true
		l.ne = int(cmd[5])<<8 | int(cmd[6])
		if l.ne == 0 {
			l.ne = 65536
		}
		return l, true
	case n > 7: // case 3E or 4E
		lc := int(cmd[5])<<8 | int(cmd[6])
		if lc == 0 {
			return commandLayout{}, false
		}
		l.extended = true
		l.dataOff, l.dataLen = 7, lc
		switch n {
		case 7 + lc:
			return l, true
		case 9 + lc:
			l.ne = int(cmd[n-2])<<8 | int(cmd[n-1])
			if l.ne == 0 {
				l.ne = 65536
			}
			return l, true
		}
	}
	return commandLayout{}, false
}

// IsExtended reports whether cmd is a well-formed command APDU in the extended-length form of
// ISO/IEC 7816-4 5.1 (cases 2E, 3E, 4E).
func IsExtended(cmd []byte) bool {
	l, ok := parseLayout(cmd)
	return ok && l.extended
}
