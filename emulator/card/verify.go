package card

import (
	"github.com/mynaconform/mynaconform/formats/iso7816"
	"github.com/mynaconform/mynaconform/formats/mynumber"
)

// keyTarget resolves P2 of VERIFY, CHANGE REFERENCE DATA and CHANGE KEY: 80 = the current EF,
// 80|SFI = that EF of the current DF, which must hold reference data.
func (c *Card) keyTarget(p2 byte) (*ef, iso7816.StatusWord) { return c.efByP2(p2, efRef) }

// efByP2 resolves a P2 of 80 (the current EF) or 80|SFI (that EF of the current DF) to an EF of
// the kind wanted.
func (c *Card) efByP2(p2 byte, kind efKind) (*ef, iso7816.StatusWord) {
	sfi := p2 & 0x1F
	if p2&0x80 == 0 || p2&0x60 != 0 || sfi == 0x1F {
		return nil, iso7816.SWWrongP1P2
	}
	e := c.curEF
	if sfi != 0 {
		e = c.cur.file(mynumber.FID(sfi))
	}
	switch {
	case e == nil && sfi == 0:
		return nil, iso7816.SWNoCurrentEF
	case e == nil:
		return nil, iso7816.SWFileNotFound
	case e.kind != kind:
		return nil, iso7816.SWDataNotFound
	}
	return e, iso7816.SWOK
}

// verify is VERIFY 00 20 00 P2 (card.md section 2). With a value (1-16 bytes): 9000, or 63Cx with
// x tries left (63C0 on the try that exhausts the counter); a blocked or never-set key 6984. Without
// data it is the retry query: 63Cx, consuming nothing (also on a never-set key and after a
// successful VERIFY unless Quirks.VerifiedQuery9000).
func (c *Card) verify(p1, p2 byte, v []byte) iso7816.StatusWord {
	if p1 != 0 {
		return iso7816.SWWrongP1P2
	}
	e, w := c.keyTarget(p2)
	if w != iso7816.SWOK {
		return w
	}
	k := e.key
	if len(v) == 0 {
		if c.q.VerifiedQuery9000 && c.verified&bit(e.fid) != 0 {
			return iso7816.SWOK
		}
		return iso7816.WrongSecret(k.tries)
	}
	if len(v) > 16 {
		return iso7816.SWWrongLength
	}
	if !k.set || k.tries == 0 {
		return iso7816.SWBlocked
	}
	if k.matches(v) {
		c.verified |= bit(e.fid)
		if k.tries != k.max {
			k.tries = k.max
			if c.saveState() != nil {
				return iso7816.SWMemoryFailure
			}
		}
		return iso7816.SWOK
	}
	c.verified &^= bit(e.fid)
	k.tries--
	if c.saveState() != nil {
		return iso7816.SWMemoryFailure
	}
	return iso7816.WrongSecret(k.tries)
}

// changeReference is CHANGE REFERENCE DATA 00 24 01 P2 (JPKI, 券面事項入力補助AP) and, with
// changeKey, CHANGE KEY 80 32 00 P2 (共通カードAP, 住基AP): the new value after a VERIFY of the
// same key. A key changed by the other instruction, or never changeable (照合番号, birth date),
// answers 6985; a new value breaking the key's format 6A80.
func (c *Card) changeReference(cmd *command, changeKey bool) iso7816.StatusWord {
	if (changeKey && cmd.p1 != 0x00) || (!changeKey && cmd.p1 != 0x01) {
		return iso7816.SWWrongP1P2
	}
	e, w := c.keyTarget(cmd.p2)
	if w != iso7816.SWOK {
		return w
	}
	k := e.key
	switch {
	case len(cmd.data) == 0 || len(cmd.data) > 16 || cmd.ne != 0:
		return iso7816.SWWrongLength
	case !k.spec.Changeable || k.spec.ChangeKey != changeKey:
		return iso7816.SWConditions
	case !k.set || k.tries == 0:
		return iso7816.SWBlocked
	case c.verified&bit(e.fid) == 0:
		return iso7816.SWSecurityStatus
	case !k.validNew(cmd.data):
		return iso7816.SWWrongData
	}
	if k.setValue(cmd.data) != nil || c.saveState() != nil {
		return iso7816.SWMemoryFailure
	}
	return iso7816.SWOK
}
