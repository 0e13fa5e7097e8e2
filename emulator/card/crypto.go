package card

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"

	"github.com/mynaconform/mynaconform/formats/iso7816"
	"github.com/mynaconform/mynaconform/formats/mynumber"
)

// keyEF resolves the key P2 names in COMPUTE DIGITAL SIGNATURE and INTERNAL AUTHENTICATE:
// 80 = the current EF, 80|SFI = that EF; 00 = the DF's default key (def, nil where it has none).
func (c *Card) keyEF(p2 byte, def *ef) (*ef, iso7816.StatusWord) {
	if p2 == 0x00 {
		if def == nil {
			return nil, iso7816.SWWrongP1P2
		}
		return def, iso7816.SWOK
	}
	return c.efByP2(p2, efPrivate)
}

// sign is COMPUTE DIGITAL SIGNATURE 80 2A P1 P2 Lc data [Le] (card.md sections 4, 7, 8). P1 is
// the scheme (00-05, formats/mynumber.SignatureScheme); P2 80 or 80|SFI names the key (JPKI: after
// its PIN), P2 00 the card-presence key of a card-face AP (no credential).
func (c *Card) sign(cmd *command) []byte {
	if cmd.p1 > byte(mynumber.SigPSSSHA256) {
		return sw(iso7816.SWWrongP1P2)
	}
	e, w := c.keyEF(cmd.p2, c.cur.presence)
	if w != iso7816.SWOK {
		return sw(w)
	}
	switch {
	case e == c.cur.ia: // the INTERNAL AUTHENTICATE key signs nothing else
		return sw(iso7816.SWConditions)
	case e.use != 0 && c.verified&e.use == 0:
		return sw(iso7816.SWSecurityStatus)
	case len(cmd.data) == 0 || (cmd.ne != 0 && cmd.ne < e.priv.Size()):
		return sw(iso7816.SWWrongLength)
	}
	sig, err := mynumber.Sign(e.priv, mynumber.SignatureScheme(cmd.p1), cmd.data)
	switch {
	case errors.Is(err, mynumber.ErrSignatureInput):
		return sw(iso7816.SWWrongLength)
	case err != nil:
		return sw(iso7816.SWNoPreciseDiagnosis)
	}
	return append(sig, iso7816.SWOK.SW1(), iso7816.SWOK.SW2())
}

// internalAuthenticate is INTERNAL AUTHENTICATE 00 88 00 P2 Lc challenge 00: only 共通カードAP EF
// 0019 answers it, with a deterministic PKCS#1 v1.5 signature over DigestInfo(SHA-256(challenge))
// and no credential (card.md section 5); every other DF answers its own refusal (JPKI 6982, the
// card-face APs 6985).
func (c *Card) internalAuthenticate(cmd *command) []byte {
	if c.cur.ia == nil {
		return sw(c.cur.iaSW)
	}
	if cmd.p1 != 0 {
		return sw(iso7816.SWWrongP1P2)
	}
	e, w := c.keyEF(cmd.p2, c.cur.ia)
	if w != iso7816.SWOK {
		return sw(w)
	}
	switch {
	case e != c.cur.ia:
		return sw(iso7816.SWConditions)
	case len(cmd.data) == 0 || len(cmd.data) > iso7816.MaxShortLc || (cmd.ne != 0 && cmd.ne < e.priv.Size()):
		return sw(iso7816.SWWrongLength)
	}
	h := sha256.Sum256(cmd.data)
	sig, err := rsa.SignPKCS1v15(nil, e.priv, crypto.SHA256, h[:])
	if err != nil {
		return sw(iso7816.SWNoPreciseDiagnosis)
	}
	return append(sig, iso7816.SWOK.SW1(), iso7816.SWOK.SW2())
}

// getChallenge is GET CHALLENGE 00 84 00 00 Le: Le 1-256 bytes exactly, in every DF and at MF
// level; an extended Le answers 6985 (measured).
func (c *Card) getChallenge(cmd *command) []byte {
	switch {
	case cmd.p1 != 0 || cmd.p2 != 0:
		return sw(iso7816.SWWrongP1P2)
	case len(cmd.data) != 0 || cmd.ne == 0:
		return sw(iso7816.SWWrongLength)
	case cmd.extended:
		return sw(iso7816.SWConditions)
	}
	resp := make([]byte, cmd.ne+2)
	rand.Read(resp[:cmd.ne])
	resp[cmd.ne], resp[cmd.ne+1] = iso7816.SWOK.SW1(), iso7816.SWOK.SW2()
	return resp
}

// terminalCert is 80 A2 on the JPKI-AP (card.md sections 4 and 13): with P1 P2
// Quirks.TerminalCertP1P2 (00 C1) the data is a 7F21 card-verifiable certificate
// (formats/mynumber.CVCertificate) issued by the key of EF 0016; the card keeps the key it
// carries and answers Quirks.TerminalCertOK. Other P1 P2 6A86; data that is not a certificate 6700
// (as AokiApp's 256 zero bytes); another issuer 6A88; a bad signature, or with WithClock a date
// outside the certificate's TerminalValidity, 6300. A failed 80 A2 clears an earlier success.
func (c *Card) terminalCert(cmd *command) iso7816.StatusWord {
	if !c.cur.terminal {
		return iso7816.SWConditions
	}
	if uint16(cmd.p1)<<8|uint16(cmd.p2) != c.q.TerminalCertP1P2 {
		return iso7816.SWWrongP1P2
	}
	c.terminalAuth, c.terminalKey = false, nil
	cv, err := mynumber.ParseCV(cmd.data)
	switch {
	case err != nil:
		return iso7816.SWWrongLength
	case c.terminalCA == nil:
		return iso7816.SWConditions // EF 0016 holds no key
	case c.terminalID != (mynumber.KeyID{}) && cv.IssuerID != c.terminalID:
		return iso7816.SWDataNotFound
	case cv.Verify(c.terminalCA) != nil:
		return iso7816.SWVerifyFailed
	}
	if c.now != nil {
		v, err := mynumber.ParseTerminalValidity(cv.Extra)
		if err != nil {
			return iso7816.SWWrongData
		}
		if !v.ValidAt(c.now()) {
			return iso7816.SWVerifyFailed
		}
	}
	c.terminalAuth, c.terminalKey = true, cv.PublicKey
	return c.q.TerminalCertOK
}

// setSessionKey is SET SESSION KEY 80 AE 00 00 with an extended Lc of 256 (card.md section 8):
// on 券面事項入力補助AP, after the PIN was verified, the RSAES-OAEP cryptogram of the session seed
// under the EF 0006 key opens secure messaging (counter 1). Without the PIN 6982; a block other
// than A0 { 80 seed } 6A80; a cryptogram not below the modulus 6F00. The other DFs answer their
// refusal (JPKI and 住基AP 6982, 券面事項確認AP and 共通カードAP 66F1).
func (c *Card) setSessionKey(cmd *command) iso7816.StatusWord {
	d := c.cur
	if d.smKey == nil {
		return d.sskSW
	}
	switch {
	case cmd.p1 != 0 || cmd.p2 != 0:
		return iso7816.SWWrongP1P2
	case len(cmd.data) != d.smKey.Size():
		return iso7816.SWWrongLength
	case c.verified&d.smNeeds == 0:
		return iso7816.SWSecurityStatus
	}
	seed, err := mynumber.DecryptSessionKey(d.smKey, cmd.data)
	switch {
	case errors.Is(err, mynumber.ErrSMKeyRange):
		return iso7816.SWNoPreciseDiagnosis
	case err != nil:
		return iso7816.SWWrongData
	}
	s, err := mynumber.NewSMSession(seed)
	if err != nil {
		return iso7816.SWWrongData
	}
	c.sm = s
	return iso7816.SWOK
}
