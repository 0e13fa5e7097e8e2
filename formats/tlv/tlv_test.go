package tlv

import (
	"bytes"
	"errors"
	"testing"
)

func TestRoundTripLengths(t *testing.T) {
	for _, n := range []int{0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x1234, 0xFFFF} {
		for _, tag := range []uint16{0x30, 0x90, 0xDF21, 0x5F4E, 0x7F21, 0xFF20} {
			v := bytes.Repeat([]byte{0xA5}, n)
			enc := append(Encode(tag, v), 0xFF, 0xFF) // filler after the object, as in card files
			o, rest, err := Parse(enc)
			if err != nil {
				t.Fatalf("tag %X len %d: %v", tag, n, err)
			}
			if o.Tag != tag || !bytes.Equal(o.Value, v) || !bytes.Equal(rest, []byte{0xFF, 0xFF}) {
				t.Fatalf("tag %X len %d: got tag %X, %d bytes, rest % X", tag, n, o.Tag, len(o.Value), rest)
			}
			total, err := TotalLen(enc[:min(len(enc), 5)])
			if err != nil || total != len(enc)-2 {
				t.Fatalf("tag %X len %d: TotalLen %d, %v; want %d", tag, n, total, err, len(enc)-2)
			}
		}
	}
}

// The card's certificates start 30 82 LL LL; OpenSC reads the size from those four bytes.
func TestCertificateHeader(t *testing.T) {
	total, err := TotalLen([]byte{0x30, 0x82, 0x05, 0x1F})
	if err != nil || total != 0x51F+4 {
		t.Fatalf("TotalLen(30 82 05 1F) = %d, %v; want %d", total, err, 0x51F+4)
	}
	if got := Encode(0x30, make([]byte, 0x51F))[:4]; !bytes.Equal(got, []byte{0x30, 0x82, 0x05, 0x1F}) {
		t.Fatalf("header % X", got)
	}
}

func TestParseAllStopsAtFiller(t *testing.T) {
	var b []byte
	b = Append(b, 0xDF22, []byte("19800217"))
	b = Append(b, 0xDF23, []byte{'1'})
	b = append(b, 0xFF, 0xFF, 0xFF)
	objs, err := ParseAll(b)
	if err != nil || len(objs) != 2 {
		t.Fatalf("ParseAll: %d objects, %v", len(objs), err)
	}
	if v, ok := Find(objs, 0xDF23); !ok || string(v) != "1" {
		t.Fatalf("Find DF23 = %q, %v", v, ok)
	}
	if _, ok := Find(objs, 0xDF24); ok {
		t.Fatal("Find DF24 found a tag that is not there")
	}
}

func TestMalformed(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"one byte", []byte{0x30}},
		{"two-byte tag cut", []byte{0xDF, 0x21}},
		{"81 without length", []byte{0x30, 0x81}},
		{"82 cut", []byte{0x30, 0x82, 0x01}},
		{"value cut", []byte{0x30, 0x05, 1, 2}},
		{"82 value cut", []byte{0x30, 0x82, 0x01, 0x00, 1}},
	} {
		if _, _, err := Parse(tc.in); !errors.Is(err, ErrTruncated) {
			t.Errorf("%s: Parse(% X) = %v, want ErrTruncated", tc.name, tc.in, err)
		}
	}
	if _, _, err := Parse([]byte{0x30, 0x83, 0, 0, 1}); err == nil || errors.Is(err, ErrTruncated) {
		t.Errorf("83 length form: %v, want an unsupported-length error", err)
	}
	if _, _, err := Parse([]byte{0xDF, 0x81, 0x01, 0x00}); err == nil {
		t.Error("three-byte tag accepted")
	}
}

// FuzzParse: no input panics, and whatever Parse accepts re-encodes to the same bytes when its
// length was minimally encoded.
func FuzzParse(f *testing.F) {
	for _, s := range [][]byte{
		{0x30, 0x82, 0x00, 0x01, 0x00}, {0xDF, 0x21, 0x02, 0x00, 0x10}, {0x7F, 0x21, 0x81, 0x80},
		{0xFF, 0x20, 0x00}, {0x5F}, {},
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		o, rest, err := Parse(b)
		if err != nil {
			return
		}
		consumed := b[:len(b)-len(rest)]
		if re := Encode(o.Tag, o.Value); len(re) == len(consumed) && !bytes.Equal(re, consumed) {
			t.Fatalf("Parse(% X) -> tag %X value % X re-encodes as % X", consumed, o.Tag, o.Value, re)
		}
		_, _ = ParseAll(b)
		// SIMPLE-TLV: whatever parses re-encodes to the same bytes when the length form matches.
		if so, srest, err := ParseSimple(b); err == nil {
			consumed := b[:len(b)-len(srest)]
			re, err := AppendSimple(nil, byte(so.Tag), so.Value)
			if err != nil || (len(re) == len(consumed) && !bytes.Equal(re, consumed)) {
				t.Fatalf("ParseSimple(% X) re-encodes as % X (%v)", consumed, re, err)
			}
		}
	})
}

func BenchmarkParseCertificateHeader(b *testing.B) {
	hdr := []byte{0x30, 0x82, 0x05, 0x1F}
	for b.Loop() {
		if _, err := TotalLen(hdr); err != nil {
			b.Fatal(err)
		}
	}
}

// 共通カードAP EF 0001 record 1 is SIMPLE-TLV: 01 1C + 28 ASCII digits (card.md section 5).
func TestSimpleTLV(t *testing.T) {
	rec := append([]byte{0x01, 0x1C}, "400000012719843"+"13221"+"20350217"...)
	o, rest, err := ParseSimple(rec)
	if err != nil || o.Tag != 0x01 || len(o.Value) != 28 || len(rest) != 0 {
		t.Fatalf("ParseSimple = %X %d %d %v", o.Tag, len(o.Value), len(rest), err)
	}
	for _, n := range []int{0, 1, 0xFE, 0xFF, 0x100, 0xFFFF} {
		v := bytes.Repeat([]byte{0x5A}, n)
		enc, err := AppendSimple(nil, 0x02, v)
		if err != nil {
			t.Fatal(err)
		}
		wantHdr := 2
		if n >= 0xFF {
			wantHdr = 4
		}
		if len(enc) != wantHdr+n {
			t.Fatalf("len %d: encoding of %d bytes", n, len(enc))
		}
		o, rest, err := ParseSimple(append(enc, 0x09))
		if err != nil || !bytes.Equal(o.Value, v) || !bytes.Equal(rest, []byte{0x09}) {
			t.Fatalf("len %d: round trip %d bytes, rest % X, %v", n, len(o.Value), rest, err)
		}
	}
	for _, bad := range [][]byte{{0x01}, {0x00, 0x01, 0x00}, {0xFF, 0x01, 0x00}, {0x01, 0x05, 1, 2}, {0x01, 0xFF, 0x01}} {
		if _, _, err := ParseSimple(bad); err == nil {
			t.Errorf("ParseSimple(% X) accepted", bad)
		}
	}
	if _, err := AppendSimple(nil, 0x01, make([]byte, 0x10000)); !errors.Is(err, ErrTooLong) {
		t.Errorf("AppendSimple of 65536 bytes: %v", err)
	}
}
