package card

import (
	"bytes"

	"github.com/mynaconform/mynaconform/formats/iso7816"
	"github.com/mynaconform/mynaconform/formats/mynumber"
)

// selectFile is SELECT (card.md section 2):
//
//   - P1 04, by DF name: a name or a prefix of one (JICSAP 4.2(1)); the first match in
//     mynumber.Applications order; the ISD restores the power-on state. P2 0C or 00 (the FCI of
//     Quirks.SelectFCI, none by default); P2 02 (next occurrence) 6A82 unless Quirks.SelectNext.
//   - P1 00, the MF: 6A86 in the power-on state, 9000 with the current DF unchanged otherwise;
//     with data (3F00) 6A82.
//   - P1 02, an EF of the current DF (or of the MF): 3F00 6A82 in every state.
func (c *Card) selectFile(cmd *command) []byte {
	switch cmd.p1 {
	case iso7816.SelectByName:
		return c.selectByName(cmd)
	case iso7816.SelectMF:
		if cmd.p2 != iso7816.SelectNoFCI && cmd.p2 != 0x00 {
			return sw(iso7816.SWWrongP1P2)
		}
		if len(cmd.data) != 0 {
			return sw(iso7816.SWFileNotFound)
		}
		if c.cur == c.mf {
			return sw(iso7816.SWWrongP1P2)
		}
		return sw(iso7816.SWOK)
	case iso7816.SelectEF:
		if cmd.p2 != iso7816.SelectNoFCI && cmd.p2 != 0x00 {
			return sw(iso7816.SWWrongP1P2)
		}
		if len(cmd.data) != 2 {
			return sw(iso7816.SWWrongLength)
		}
		return sw(c.selectEF(mynumber.FID(cmd.data[0])<<8 | mynumber.FID(cmd.data[1])))
	}
	return sw(iso7816.SWWrongP1P2)
}

func (c *Card) selectEF(fid mynumber.FID) iso7816.StatusWord {
	e := c.cur.file(fid)
	if e == nil {
		return iso7816.SWFileNotFound
	}
	c.curEF = e
	return iso7816.SWOK
}

func (c *Card) selectByName(cmd *command) []byte {
	name := cmd.data
	if len(name) == 0 || len(name) > 16 {
		return sw(iso7816.SWWrongLength)
	}
	var next bool
	switch cmd.p2 {
	case iso7816.SelectNoFCI, 0x00:
	case 0x02:
		if !c.q.SelectNext {
			return sw(iso7816.SWFileNotFound)
		}
		next = true
	default:
		return sw(iso7816.SWWrongP1P2)
	}
	var found *dfile
	after := !next || c.cur == c.mf // with next: the match after the current DF
	for _, d := range c.apps {
		if !after {
			after = d == c.cur
			continue
		}
		if bytes.HasPrefix([]byte(d.aid), name) {
			found = d
			break
		}
	}
	if found == nil {
		if !next && bytes.HasPrefix([]byte(mynumber.AIDISD), name) {
			c.toPowerOnState() // SELECT ISD: MF-level GET DATA answers again
			return sw(iso7816.SWOK)
		}
		return sw(iso7816.SWFileNotFound)
	}
	if found != c.cur || !c.q.KeepStatusOnReselect {
		c.verified = 0 // the security status belongs to the DF
	}
	c.cur, c.curEF, c.sm = found, nil, nil // selecting an application clears secure messaging
	if cmd.p2 == 0x00 {
		if fci := c.q.SelectFCI[found.aid]; len(fci) > 0 {
			return iso7816.AppendResponse(nil, fci, iso7816.SWOK)
		}
	}
	return sw(iso7816.SWOK)
}
