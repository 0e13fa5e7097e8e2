// Package tlv encodes and decodes the data objects of ISO/IEC 7816-4 clause 5.2 as the My Number
// card uses them:
//
//   - BER-TLV (Parse, Append): tags of one or two bytes (FF20, DF21, 5F4E, 7F21, ...), definite
//     lengths in short form or 81/82 long form. Files carry filler bytes (FF) after the outer
//     object; Parse stops at the object and reports what follows.
//   - SIMPLE-TLV (ParseSimple, AppendSimple): a one-byte tag and a length of one byte or FF HH LL,
//     the records of the 共通カードAP (e.g. 01 1C + 28 digits).
//
// It is part of the neutral formats home (formats/): the card emulator, the session layer, the
// reference app and the qualification system all import it.
package tlv

import (
	"errors"
	"fmt"
)

// Object is one decoded TLV: Tag (1 or 2 bytes as an integer, e.g. 0xDF21), Value aliases the
// input.
type Object struct {
	Tag   uint16
	Value []byte
}

// ErrTruncated reports a TLV whose length runs past the input.
var ErrTruncated = errors.New("tlv: truncated")

// Header decodes the tag and length at the start of b and returns the tag, the value length,
// and the header size.
func Header(b []byte) (tag uint16, length, hdr int, err error) {
	if len(b) < 2 {
		return 0, 0, 0, ErrTruncated
	}
	i := 0
	tag = uint16(b[0])
	i++
	if b[0]&0x1F == 0x1F { // two-byte tag (ISO 7816-4: subsequent byte follows)
		if len(b) < 3 {
			return 0, 0, 0, ErrTruncated
		}
		tag = tag<<8 | uint16(b[1])
		if b[1]&0x80 != 0 {
			return 0, 0, 0, fmt.Errorf("tlv: tags longer than 2 bytes are not used: % X", b[:2])
		}
		i++
	}
	l := int(b[i])
	i++
	switch {
	case l < 0x80:
	case l == 0x81:
		if len(b) < i+1 {
			return 0, 0, 0, ErrTruncated
		}
		l = int(b[i])
		i++
	case l == 0x82:
		if len(b) < i+2 {
			return 0, 0, 0, ErrTruncated
		}
		l = int(b[i])<<8 | int(b[i+1])
		i += 2
	default:
		return 0, 0, 0, fmt.Errorf("tlv: unsupported length byte %02X", l)
	}
	return tag, l, i, nil
}

// Parse decodes one TLV object at the start of b and returns it and the rest of b.
func Parse(b []byte) (Object, []byte, error) {
	tag, l, hdr, err := Header(b)
	if err != nil {
		return Object{}, nil, err
	}
	if len(b) < hdr+l {
		return Object{}, nil, fmt.Errorf("%w: tag %X wants %d bytes, %d left", ErrTruncated, tag, l, len(b)-hdr)
	}
	return Object{Tag: tag, Value: b[hdr : hdr+l]}, b[hdr+l:], nil
}

// ParseAll decodes consecutive TLV objects until b is empty or only FF/00 filler remains.
func ParseAll(b []byte) ([]Object, error) {
	var out []Object
	for len(b) > 0 && b[0] != 0xFF && b[0] != 0x00 {
		o, rest, err := Parse(b)
		if err != nil {
			return out, err
		}
		out = append(out, o)
		b = rest
	}
	return out, nil
}

// Find returns the value of the first object with tag among objs.
func Find(objs []Object, tag uint16) ([]byte, bool) {
	for _, o := range objs {
		if o.Tag == tag {
			return o.Value, true
		}
	}
	return nil, false
}

// TotalLen returns the size of the complete TLV object whose header starts b (header plus
// value), from the header alone: what a reader needs to know how many bytes to READ.
func TotalLen(b []byte) (int, error) {
	_, l, hdr, err := Header(b)
	if err != nil {
		return 0, err
	}
	return hdr + l, nil
}

// Append appends the TLV encoding of tag and value to dst.
func Append(dst []byte, tag uint16, value []byte) []byte {
	if tag > 0xFF {
		dst = append(dst, byte(tag>>8), byte(tag))
	} else {
		dst = append(dst, byte(tag))
	}
	dst = AppendLen(dst, len(value))
	return append(dst, value...)
}

// AppendLen appends a BER definite length.
func AppendLen(dst []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(dst, byte(n))
	case n <= 0xFF:
		return append(dst, 0x81, byte(n))
	default:
		return append(dst, 0x82, byte(n>>8), byte(n))
	}
}

// Encode returns the TLV encoding of tag and value.
func Encode(tag uint16, value []byte) []byte { return Append(nil, tag, value) }

// ErrTooLong reports a value longer than the 65535 bytes a two-byte length can carry.
var ErrTooLong = errors.New("tlv: value longer than 65535 bytes")

// ParseSimple decodes one SIMPLE-TLV object (ISO/IEC 7816-4 5.2.1): a tag byte other than 00 and
// FF, a length byte 00..FE, or FF followed by two length bytes. It returns the object and the
// rest of b.
func ParseSimple(b []byte) (Object, []byte, error) {
	if len(b) < 2 {
		return Object{}, nil, ErrTruncated
	}
	tag := b[0]
	if tag == 0x00 || tag == 0xFF {
		return Object{}, nil, fmt.Errorf("tlv: SIMPLE-TLV tag %02X is invalid", tag)
	}
	l, hdr := int(b[1]), 2
	if b[1] == 0xFF {
		if len(b) < 4 {
			return Object{}, nil, ErrTruncated
		}
		l, hdr = int(b[2])<<8|int(b[3]), 4
	}
	if len(b) < hdr+l {
		return Object{}, nil, fmt.Errorf("%w: tag %02X wants %d bytes, %d left", ErrTruncated, tag, l, len(b)-hdr)
	}
	return Object{Tag: uint16(tag), Value: b[hdr : hdr+l]}, b[hdr+l:], nil
}

// AppendSimple appends the SIMPLE-TLV encoding of tag and value to dst.
func AppendSimple(dst []byte, tag byte, value []byte) ([]byte, error) {
	if tag == 0x00 || tag == 0xFF {
		return dst, fmt.Errorf("tlv: SIMPLE-TLV tag %02X is invalid", tag)
	}
	if len(value) > 0xFFFF {
		return dst, ErrTooLong
	}
	dst = append(dst, tag)
	if len(value) < 0xFF {
		dst = append(dst, byte(len(value)))
	} else {
		dst = append(dst, 0xFF, byte(len(value)>>8), byte(len(value)))
	}
	return append(dst, value...), nil
}
