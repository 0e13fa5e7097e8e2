package reports

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The JPEG 2000 decoder trusts its input's header: a code-block exponent or an image size out
// of range makes it allocate terabytes and the process dies (found by FuzzThumbnail; a fatal
// out-of-memory cannot be recovered). Thumbnail therefore takes the codestream out of the JP2
// container itself, checks every marker segment that sizes an allocation against ITU-T T.800
// (ISO/IEC 15444-1) Annex A and against what a card photo needs, and hands the decoder only
// the checked raw codestream.

// Codestream markers (T.800 A.2).
const (
	mkSOC = 0xFF4F
	mkSIZ = 0xFF51
	mkCOD = 0xFF52
	mkCOC = 0xFF53
	mkSOT = 0xFF90
	mkSOD = 0xFF93
	mkEOC = 0xFFD9
)

// Limits beyond which a codestream is not a card photo (docs/card.md: a greyscale photo of a few KB).
const (
	maxComponents = 4
	maxTiles      = 1024
	maxLevels     = 15  // decomposition levels (T.800 allows 32)
	maxLayers     = 256 // quality layers (T.800 allows 65535)
	maxBitDepth   = 16
)

var errCodestream = errors.New("reports: face photo is not a JPEG 2000 image a card carries")

// codestreamOf returns the raw codestream of a JP2 file (the first contiguous codestream box,
// ISO/IEC 15444-1 Annex I) or of a raw codestream.
func codestreamOf(data []byte) ([]byte, error) {
	if len(data) >= 2 && binary.BigEndian.Uint16(data) == mkSOC {
		return data, nil
	}
	for pos := 0; pos+8 <= len(data); {
		n := uint64(binary.BigEndian.Uint32(data[pos:]))
		typ := string(data[pos+4 : pos+8])
		hdr := uint64(8)
		switch n {
		case 0: // to the end of the file
			n = uint64(len(data) - pos)
		case 1: // 64-bit length
			if pos+16 > len(data) {
				return nil, fmt.Errorf("%w: truncated box header", errCodestream)
			}
			n, hdr = binary.BigEndian.Uint64(data[pos+8:]), 16
		}
		if n < hdr || n > uint64(len(data)-pos) {
			return nil, fmt.Errorf("%w: box %q of %d bytes out of the file", errCodestream, typ, n)
		}
		if typ == "jp2c" {
			return data[pos+int(hdr) : pos+int(n)], nil
		}
		pos += int(n)
	}
	return nil, fmt.Errorf("%w: no codestream box", errCodestream)
}

// checkCodestream walks the main header and every tile-part header and checks SIZ, COD and COC.
func checkCodestream(cs []byte) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", errCodestream, fmt.Sprintf(format, a...))
	}
	if len(cs) < 4 || binary.BigEndian.Uint16(cs) != mkSOC || binary.BigEndian.Uint16(cs[2:]) != mkSIZ {
		return bad("no SOC and SIZ")
	}
	csiz := 0
	pos := 2
	tileStart := -1 // position of the current SOT, -1 in the main header
	var psot int
	for {
		if pos+2 > len(cs) {
			return bad("truncated header")
		}
		m := int(binary.BigEndian.Uint16(cs[pos:]))
		switch m {
		case mkEOC:
			return nil
		case mkSOD:
			if tileStart < 0 {
				return bad("SOD in the main header")
			}
			if psot == 0 { // the last tile-part runs to EOC: no header follows
				return nil
			}
			pos = tileStart + psot
			tileStart = -1
			if pos+2 > len(cs) {
				return bad("tile-part beyond the codestream")
			}
			if mk := binary.BigEndian.Uint16(cs[pos:]); mk != mkSOT && mk != mkEOC {
				return bad("tile-part not followed by SOT or EOC")
			}
			continue
		}
		if m>>8 != 0xFF || pos+4 > len(cs) {
			return bad("expected a marker at %d", pos)
		}
		l := int(binary.BigEndian.Uint16(cs[pos+2:]))
		if l < 2 || pos+2+l > len(cs) {
			return bad("marker %04X segment of %d bytes out of the codestream", m, l)
		}
		seg := cs[pos+4 : pos+2+l]
		var err error
		switch m {
		case mkSIZ:
			if pos != 2 {
				return bad("SIZ not first")
			}
			csiz, err = checkSIZ(seg)
		case mkCOD:
			if len(seg) < 5 {
				return bad("short COD")
			}
			if layers := int(binary.BigEndian.Uint16(seg[2:])); layers < 1 || layers > maxLayers {
				return bad("%d quality layers", layers)
			}
			err = checkCodingStyle(seg[0], seg[5:])
		case mkCOC:
			if len(seg) < 2 || int(seg[0]) >= csiz { // Ccoc is one byte while Csiz < 257
				return bad("COC for a component that does not exist")
			}
			err = checkCodingStyle(seg[1], seg[2:])
		case mkSOT:
			if len(seg) != 8 {
				return bad("SOT of %d bytes", len(seg))
			}
			tileStart, psot = pos, int(binary.BigEndian.Uint32(seg[2:]))
			if psot != 0 && (psot < 14 || tileStart+psot > len(cs)) {
				return bad("tile-part length %d", psot)
			}
		}
		if err != nil {
			return err
		}
		if csiz == 0 {
			return bad("no SIZ")
		}
		pos += 2 + l
	}
}

// checkSIZ checks image and tile sizes (T.800 A.5.1) and returns the number of components.
func checkSIZ(seg []byte) (int, error) {
	if len(seg) < 36 {
		return 0, fmt.Errorf("%w: short SIZ", errCodestream)
	}
	u := func(i int) int { return int(binary.BigEndian.Uint32(seg[2+4*i:])) }
	xsiz, ysiz, xo, yo, xt, yt, xto, yto := u(0), u(1), u(2), u(3), u(4), u(5), u(6), u(7)
	csiz := int(binary.BigEndian.Uint16(seg[34:]))
	w, h := xsiz-xo, ysiz-yo
	switch {
	case w < 1 || h < 1 || w > maxPhotoSide || h > maxPhotoSide || xsiz > 1<<20 || ysiz > 1<<20:
		return 0, fmt.Errorf("%w: image of %dx%d", errCodestream, w, h)
	case xt < 1 || yt < 1 || xto > xo || yto > yo || xto+xt <= xo || yto+yt <= yo:
		return 0, fmt.Errorf("%w: tiling out of range", errCodestream)
	case ((xsiz-xto+xt-1)/xt)*((ysiz-yto+yt-1)/yt) > maxTiles:
		return 0, fmt.Errorf("%w: too many tiles", errCodestream)
	case csiz < 1 || csiz > maxComponents || len(seg) != 36+3*csiz:
		return 0, fmt.Errorf("%w: %d components", errCodestream, csiz)
	}
	for c := range csiz {
		s := seg[36+3*c:]
		if int(s[0]&0x7F)+1 > maxBitDepth || s[1] == 0 || s[2] == 0 {
			return 0, fmt.Errorf("%w: component %d depth or sampling out of range", errCodestream, c)
		}
	}
	return csiz, nil
}

// checkCodingStyle checks the SPcod/SPcoc parameters (T.800 A.6.1, Table A.15): decomposition
// levels, code-block size exponents (each 2..10, together at most 12) and the transform.
func checkCodingStyle(scod byte, sp []byte) error {
	if len(sp) < 5 {
		return fmt.Errorf("%w: short coding style", errCodestream)
	}
	levels, xcb, ycb, transform := int(sp[0]), int(sp[1]), int(sp[2]), sp[4]
	switch {
	case levels > maxLevels:
		return fmt.Errorf("%w: %d decomposition levels", errCodestream, levels)
	case xcb > 8 || ycb > 8 || xcb+ycb > 8:
		return fmt.Errorf("%w: code-block size out of range", errCodestream)
	case transform > 1:
		return fmt.Errorf("%w: unknown wavelet transform", errCodestream)
	case scod&1 != 0 && len(sp) != 5+levels+1:
		return fmt.Errorf("%w: precinct sizes do not match the levels", errCodestream)
	case scod&1 == 0 && len(sp) != 5:
		return fmt.Errorf("%w: coding style of %d bytes", errCodestream, len(sp)+1)
	}
	return nil
}
