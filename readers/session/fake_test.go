package session

import (
	"bytes"
	"context"
	"time"

	"github.com/mynaconform/mynaconform/formats/iso7816"
	"github.com/mynaconform/mynaconform/readers"
)

// fakeReader is a scripted reader: handle answers each command; a fixed modelled time per
// exchange makes it Clocked.
type fakeReader struct {
	caps    readers.Capabilities
	handle  func(cmd []byte) ([]byte, error)
	sent    [][]byte
	steps   []string
	elapsed time.Duration
	per     time.Duration
}

func (f *fakeReader) Info() readers.Info {
	return readers.Info{Kind: readers.KindPhone, Name: "fake", Caps: f.caps}
}
func (f *fakeReader) Connect(context.Context) error     { return nil }
func (f *fakeReader) Reset(context.Context, bool) error { return nil }
func (f *fakeReader) Close() error                      { return nil }
func (f *fakeReader) SetStep(s string)                  { f.steps = append(f.steps, s) }
func (f *fakeReader) Elapsed() time.Duration            { return f.elapsed }
func (f *fakeReader) Transmit(_ context.Context, cmd []byte) ([]byte, error) {
	f.sent = append(f.sent, bytes.Clone(cmd))
	f.elapsed += f.per
	return f.handle(cmd)
}

// fakeCard answers SELECT AID / SELECT EF / READ BINARY (short and extended Le) from files,
// and VERIFY against one PIN: enough to check the session's decisions.
type fakeCard struct {
	files   map[string]map[uint16][]byte // AID (as string) -> FID -> content
	pin     []byte
	tries   int
	aid     string
	ef      uint16
	maxRead int // largest Ne the card honours (0: 65536)
}

func sw(data []byte, sw uint16) []byte { return append(bytes.Clone(data), byte(sw>>8), byte(sw)) }

func (c *fakeCard) transmit(cmd []byte) ([]byte, error) {
	l, ok := iso7816.ParseLayout(cmd)
	if !ok {
		return sw(nil, 0x6700), nil
	}
	data := cmd[l.DataOffset : l.DataOffset+l.DataLen]
	switch cmd[1] {
	case iso7816.InsSelect:
		switch cmd[2] {
		case 0x04:
			if _, ok := c.files[string(data)]; !ok {
				return sw(nil, 0x6A82), nil
			}
			c.aid, c.ef = string(data), 0
		case 0x02:
			fid := uint16(data[0])<<8 | uint16(data[1])
			if _, ok := c.files[c.aid][fid]; !ok {
				return sw(nil, 0x6A82), nil
			}
			c.ef = fid
		}
		return sw(nil, 0x9000), nil
	case iso7816.InsReadBinary:
		f, ok := c.files[c.aid][c.ef]
		if !ok {
			return sw(nil, 0x6986), nil
		}
		off := int(cmd[2])<<8 | int(cmd[3])
		if off > len(f) {
			return sw(nil, 0x6B00), nil
		}
		n := l.Ne
		if c.maxRead > 0 && n > c.maxRead {
			n = c.maxRead
		}
		end := min(off+n, len(f))
		if end-off < l.Ne && c.maxRead == 0 {
			return sw(f[off:end], 0x6282), nil
		}
		return sw(f[off:end], 0x9000), nil
	case iso7816.InsVerify:
		if c.tries == 0 {
			return sw(nil, 0x6984), nil
		}
		if len(data) == 0 {
			return sw(nil, 0x63C0|uint16(c.tries)), nil
		}
		if bytes.Equal(data, c.pin) {
			return sw(nil, 0x9000), nil
		}
		c.tries--
		return sw(nil, 0x63C0|uint16(c.tries)), nil
	}
	return sw(nil, 0x6D00), nil
}

// certFile is a 30 82 LL LL object of total bytes followed by FF filler.
func certFile(total, filler int) []byte {
	b := make([]byte, total+filler)
	b[0], b[1], b[2], b[3] = 0x30, 0x82, byte((total-4)>>8), byte(total-4)
	for i := 4; i < total; i++ {
		b[i] = byte(i)
	}
	for i := total; i < len(b); i++ {
		b[i] = 0xFF
	}
	return b
}
