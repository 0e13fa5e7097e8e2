package card

import (
	"github.com/mynaconform/mynaconform/formats/iso7816"
	"github.com/mynaconform/mynaconform/formats/mynumber"
)

// secureMessaging runs a command with a secure-messaging CLA (card.md sections 1 and 8). Only
// SELECT EF, VERIFY and READ BINARY take secure messaging, and only on 券面事項入力補助AP after SET
// SESSION KEY:
//
//   - without a session: SELECT 6882, READ BINARY and VERIFY 69FC (measured);
//   - with one: every such command takes the counter N and advances it, refused ones too; CLA 0C
//     (header authenticated) 6987; the data must be exactly one DO (86 for SELECT and VERIFY, 96
//     for READ BINARY), else 6988; a cryptogram that does not decrypt under N (a wrong counter)
//     6988 and the session is gone (69FC after). A READ's data returns as DO 86 under N.
//
// Other instructions, and proprietary SM classes, answer 6882.
func (c *Card) secureMessaging(cmd *command) []byte {
	smIns := cmd.ins == iso7816.InsVerify || cmd.ins == iso7816.InsReadBinary ||
		(cmd.ins == iso7816.InsSelect && cmd.p1 == iso7816.SelectEF)
	if cmd.cla&iso7816.ClaProp != 0 || cmd.cla&iso7816.ClaSMMask == 0x04 || !smIns {
		return sw(iso7816.SWSMNotSupported)
	}
	if c.sm == nil {
		if cmd.ins == iso7816.InsSelect {
			return sw(iso7816.SWSMNotSupported)
		}
		return sw(iso7816.SWSMNoSession)
	}
	n := c.sm.N
	c.sm.N++
	if cmd.cla&iso7816.ClaSMMask == iso7816.ClaSMHeader {
		return sw(iso7816.SWSMObjectsMissing) // no checksum key in this session
	}
	if cmd.ins == iso7816.InsReadBinary {
		v, err := mynumber.SMObject(cmd.data, mynumber.TagSMLe)
		if err != nil {
			return sw(iso7816.SWSMObjectsIncorrect)
		}
		le, err := mynumber.ParseLeObject(v)
		if err != nil {
			return sw(iso7816.SWSMObjectsIncorrect)
		}
		if cmd.ne == 0 {
			return sw(iso7816.SWWrongLength)
		}
		want := int(le)
		if want == 0 { // the whole file from the offset, filler included
			want = maxResponseData - 2*16 - 5
		}
		data, w := c.readBytes(cmd.p1, cmd.p2, min(want, maxResponseData-2*16-5))
		if w != iso7816.SWOK {
			return sw(w)
		}
		do := c.sm.Encrypt(n, data)
		if len(do) > cmd.ne {
			return sw(iso7816.SWWrongLength)
		}
		return iso7816.AppendResponse(nil, do, iso7816.SWOK)
	}
	v, err := mynumber.SMObject(cmd.data, mynumber.TagSMCrypto)
	if err != nil {
		return sw(iso7816.SWSMObjectsIncorrect)
	}
	plain, err := c.sm.Decrypt(n, v)
	if err != nil {
		c.sm = nil // a wrong counter destroys the session key (measured)
		return sw(iso7816.SWSMObjectsIncorrect)
	}
	if cmd.ne != 0 {
		return sw(iso7816.SWWrongLength)
	}
	if cmd.ins == iso7816.InsVerify {
		return sw(c.verify(cmd.p1, cmd.p2, plain))
	}
	if cmd.p2 != iso7816.SelectNoFCI && cmd.p2 != 0x00 {
		return sw(iso7816.SWWrongP1P2)
	}
	if len(plain) != 2 {
		return sw(iso7816.SWWrongLength)
	}
	return sw(c.selectEF(mynumber.FID(plain[0])<<8 | mynumber.FID(plain[1])))
}
