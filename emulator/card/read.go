package card

import (
	"github.com/mynaconform/mynaconform/formats/iso7816"
	"github.com/mynaconform/mynaconform/formats/mynumber"
)

// maxResponseData caps one response's data at 65533 bytes: vpcd carries at most 65535 bytes
// including SW1 SW2, although an extended Le may ask for 65536.
const maxResponseData = 65533

// MaxResponseData is the most data one response of the card carries.
const MaxResponseData = maxResponseData

// readTarget resolves the EF and offset of READ BINARY: P1 b8 = 0 is a 15-bit offset in the
// current EF; P1 = 80|SFI names the EF (which becomes current) and P2 is an 8-bit offset.
func (c *Card) readTarget(p1, p2 byte) (*ef, int, iso7816.StatusWord) {
	if p1&0x80 == 0 {
		if c.curEF == nil {
			return nil, 0, iso7816.SWNoCurrentEF
		}
		return c.curEF, int(p1)<<8 | int(p2), iso7816.SWOK
	}
	sfi := p1 & 0x1F
	if p1&0x60 != 0 || sfi == 0 || sfi == 0x1F {
		return nil, 0, iso7816.SWWrongP1P2
	}
	e := c.cur.file(mynumber.FID(sfi))
	if e == nil {
		return nil, 0, iso7816.SWFileNotFound
	}
	c.curEF = e
	return e, int(p2), iso7816.SWOK
}

// readable checks that e may be read as kind now: a key or other internal EF answers 6981, as
// does a record EF read as binary and back; a missing credential Quirks.ReadDenied (6982).
func (c *Card) readable(e *ef, kind efKind) iso7816.StatusWord {
	switch {
	case e.kind != kind:
		return iso7816.SWFileStructure
	case e.protected || (e.read != 0 && c.verified&e.read == 0) || (e.needTA && c.requireTA && !c.terminalAuth):
		return c.q.ReadDenied
	}
	return iso7816.SWOK
}

// readBinary is READ BINARY (card.md section 2): short or extended Le; Le beyond the end answers
// the rest of the file with 9000; an offset at or past the end 6B00.
func (c *Card) readBinary(cmd *command) []byte {
	if len(cmd.data) != 0 || cmd.ne == 0 {
		return sw(iso7816.SWWrongLength)
	}
	data, w := c.readBytes(cmd.p1, cmd.p2, cmd.ne)
	if w != iso7816.SWOK {
		return sw(w)
	}
	resp := make([]byte, len(data)+2)
	copy(resp, data)
	resp[len(data)], resp[len(data)+1] = iso7816.SWOK.SW1(), iso7816.SWOK.SW2()
	return resp
}

// readBytes is the part of READ BINARY plain and secure messaging share: the bytes (aliasing the
// file) for P1 P2 and at most ne bytes.
func (c *Card) readBytes(p1, p2 byte, ne int) ([]byte, iso7816.StatusWord) {
	e, off, w := c.readTarget(p1, p2)
	if w != iso7816.SWOK {
		return nil, w
	}
	if w := c.readable(e, efBinary); w != iso7816.SWOK {
		return nil, w
	}
	if off >= len(e.data) {
		return nil, iso7816.SWWrongOffset
	}
	n := min(ne, len(e.data)-off, maxResponseData)
	return e.data[off : off+n], iso7816.SWOK
}

// readRecord is READ RECORD of the record EFs (共通カードAP, 住基AP): 00 B2 nn 04 Le on the current
// EF, or with SFI in P2 (00 B2 01 0C 00). Mode 05 (P1 to the last record) answers
// Quirks.MultiRecordSW.
func (c *Card) readRecord(cmd *command) []byte {
	if len(cmd.data) != 0 || cmd.ne == 0 {
		return sw(iso7816.SWWrongLength)
	}
	switch cmd.p2 & 0x07 {
	case 0x04:
	case 0x05:
		return sw(c.q.MultiRecordSW)
	default:
		return sw(iso7816.SWWrongP1P2)
	}
	var e *ef
	switch sfi := cmd.p2 >> 3; sfi {
	case 0:
		if e = c.curEF; e == nil {
			return sw(iso7816.SWNoCurrentEF)
		}
	case 0x1F:
		return sw(iso7816.SWWrongP1P2)
	default:
		if e = c.cur.file(mynumber.FID(sfi)); e == nil {
			return sw(iso7816.SWFileNotFound)
		}
		c.curEF = e
	}
	if w := c.readable(e, efRecord); w != iso7816.SWOK {
		return sw(w)
	}
	if cmd.p1 == 0 || int(cmd.p1) > len(e.records) {
		return sw(iso7816.SWRecordNotFound)
	}
	rec := e.records[cmd.p1-1]
	return iso7816.AppendResponse(nil, rec[:min(cmd.ne, len(rec))], iso7816.SWOK)
}

// getData is GET DATA 00 CA P1 P2 Le (card.md section 3): the MF-level objects in the power-on
// state; with an application selected only 5F51 on some cards (MFData.ATRAt); an absent object
// 6A88. An object longer than Ne (a big one under a short Le) answers 6700.
func (c *Card) getData(cmd *command) []byte {
	if len(cmd.data) != 0 || cmd.ne == 0 {
		return sw(iso7816.SWWrongLength)
	}
	tag := uint16(cmd.p1)<<8 | uint16(cmd.p2)
	var v []byte
	if c.cur == c.mf {
		v = c.mfObjects[tag]
	} else if tag == mynumber.DOContactATR {
		v = c.apATR
	}
	switch {
	case v == nil:
		return sw(iso7816.SWDataNotFound)
	case cmd.ne < len(v):
		return sw(iso7816.SWWrongLength)
	}
	return iso7816.AppendResponse(nil, v, iso7816.SWOK)
}
