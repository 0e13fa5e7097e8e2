package card

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"sync"
	"time"
)

// Card is one virtual My Number card. It is safe for concurrent use: one card may be driven
// from a vpcd socket goroutine and from tests at the same time.
type Card struct {
	mu   sync.Mutex
	atr  []byte
	apps [3]*app
	pins []*pinState // every key EF, for the state file

	statePath   string
	requireTA   bool
	now         func() time.Time
	fingerprint string
	terminalCA  *rsa.PublicKey // the key of JPKI EF 0016

	// Volatile state, cleared on reset and power-off.
	cur          *app
	curEF        *ef
	verified     uint32 // key EFs of cur verified (bits by FID)
	terminalAuth bool   // a terminal certificate was accepted (80 A2)
}

// Option configures a Card.
type Option func(*Card)

// WithStateFile keeps the non-volatile state (retry counters, salted hashes of changed PINs)
// in the file at path, as the card's EEPROM: loaded by New (created when missing) and written
// atomically on every change. Without it the state lives as long as the Card value.
func WithStateFile(path string) Option { return func(c *Card) { c.statePath = path } }

// WithRequireTerminalAuth makes EF 0002 of the card-face AP readable only after a terminal
// certificate was accepted by 80 A2 since the last reset (model of the visual mode; default
// false so that tools written for real cards keep working).
func WithRequireTerminalAuth(on bool) Option { return func(c *Card) { c.requireTA = on } }

// WithClock gives the card a date for checking the validity period of 80 A2 terminal
// certificates. Without it the card checks only the signature (a card has no clock).
func WithClock(now func() time.Time) Option { return func(c *Card) { c.now = now } }

// New builds a card with all EF contents from the profile (card.md layouts). It fails on a
// profile that breaks card.md's formats (never quoting a PIN) and on an unusable state file.
func New(p Profile, opts ...Option) (*Card, error) {
	if err := checkProfile(&p); err != nil {
		return nil, err
	}
	c := &Card{fingerprint: fingerprint(&p), terminalCA: p.TerminalCA}
	c.atr = bytes.Clone(p.ATR)
	if len(c.atr) == 0 {
		c.atr = bytes.Clone(DefaultATR)
	}
	for _, o := range opts {
		o(c)
	}
	if err := c.build(&p); err != nil {
		return nil, err
	}
	if c.statePath != "" {
		if err := c.loadState(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// ATR returns the answer-to-reset.
func (c *Card) ATR() []byte { return bytes.Clone(c.atr) }

// PowerOn powers the card (cold reset) and returns the ATR. Volatile state is cleared.
func (c *Card) PowerOn() []byte { c.clearVolatile(); return c.ATR() }

// PowerOff removes power: volatile state (selection, security status, terminal
// authentication) is lost; retry counters and PINs stay. A Transmit afterwards finds the card
// powered again, as a reader powers a card before the first APDU.
func (c *Card) PowerOff() { c.clearVolatile() }

// Reset is a warm reset: it returns the ATR and clears volatile state.
func (c *Card) Reset() []byte { c.clearVolatile(); return c.ATR() }

func (c *Card) clearVolatile() {
	c.mu.Lock()
	c.cur, c.curEF, c.verified, c.terminalAuth = nil, nil, 0, false
	c.mu.Unlock()
}

func sw(w uint16) []byte { return []byte{byte(w >> 8), byte(w)} }

// Transmit processes one command APDU and returns the response APDU (data and SW1 SW2). It
// never panics and always returns at least two bytes.
func (c *Card) Transmit(cmd []byte) (resp []byte) {
	defer func() {
		if recover() != nil { // safety net only: every path checks its lengths
			resp = sw(swNoPreciseDiag)
		}
	}()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.process(cmd)
}

func (c *Card) process(b []byte) []byte {
	if len(b) >= 1 && b[0] == 0xFF { // invalid CLA (ISO 7816-4 5.4.1), also PPS/PTS
		return sw(swCLANotSupported)
	}
	cmd, ok := parseCommand(b)
	if !ok {
		return sw(swWrongLength)
	}
	proprietary, w := checkCLA(cmd.cla)
	if w != 0 {
		return sw(w)
	}
	switch cmd.ins {
	case insSelect, insReadBinary, insVerify, insChangeRef, insGetChallenge:
		if proprietary {
			return sw(swCLANotSupported)
		}
	case insSign, insTerminalCert:
		if !proprietary {
			return sw(swCLANotSupported)
		}
	default:
		return sw(swINSNotSupported)
	}
	switch cmd.ins {
	case insSelect:
		return c.selectFile(&cmd)
	case insReadBinary:
		return c.readBinary(&cmd)
	case insVerify:
		return c.verify(&cmd)
	case insChangeRef:
		return c.changeReference(&cmd)
	case insGetChallenge:
		return c.getChallenge(&cmd)
	case insSign:
		return c.sign(&cmd)
	default:
		return c.terminalCert(&cmd)
	}
}

// checkCLA decodes the class byte (ISO 7816-4 5.4.1): only logical channel 0 (6881), no secure
// messaging (69FC, card.md), no command chaining (6884); 0x or 8x classes only (else 6E00).
func checkCLA(cla byte) (proprietary bool, w uint16) {
	switch cla & 0xE0 {
	case 0x00, 0x80: // first interindustry coding, or proprietary with the same bit layout
		switch {
		case cla&0x03 != 0:
			return false, swChannelNotSupp
		case cla&0x0C != 0:
			return false, swSMNotSupported
		case cla&0x10 != 0:
			return false, swChainingNotSupp
		}
		return cla&0x80 != 0, 0
	case 0x40, 0x60, 0xC0, 0xE0: // further interindustry coding: channels 4..19
		return false, swChannelNotSupp
	}
	return false, swCLANotSupported
}

// selectFile: SELECT DF by AID (P1 04) and EF by FID (P1 02); P2 0C (no FCI) or 00 (the FCI is
// not modelled: answered without data). MF selection does not work on the card (card.md): P1 00
// gives 6A86, FID 3F00 6A82.
func (c *Card) selectFile(cmd *command) []byte {
	if cmd.p2 != 0x0C && cmd.p2 != 0x00 {
		return sw(swWrongP1P2)
	}
	switch cmd.p1 {
	case 0x04:
		if len(cmd.data) == 0 {
			return sw(swWrongLength)
		}
		for _, a := range c.apps {
			if a.aid == string(cmd.data) {
				if a != c.cur { // security status belongs to the DF (card.md)
					c.verified = 0
				}
				c.cur, c.curEF = a, nil
				return sw(swOK)
			}
		}
		return sw(swFileNotFound)
	case 0x02:
		if len(cmd.data) != 2 {
			return sw(swWrongLength)
		}
		e := c.lookup(uint16(cmd.data[0])<<8 | uint16(cmd.data[1]))
		if e == nil {
			return sw(swFileNotFound)
		}
		c.curEF = e
		return sw(swOK)
	}
	return sw(swWrongP1P2)
}

func (c *Card) lookup(fid uint16) *ef {
	if c.cur == nil || fid >= uint16(len(c.cur.efs)) {
		return nil
	}
	return c.cur.efs[fid]
}

// readBinary: offset form (P1 b8 = 0, 15-bit offset) and short-EF form (P1 = 80|SFI, P2 =
// offset, the EF becomes current). Le beyond the end answers the bytes that are there.
func (c *Card) readBinary(cmd *command) []byte {
	if cmd.data != nil || !cmd.hasLe {
		return sw(swWrongLength)
	}
	var e *ef
	var off int
	if cmd.p1&0x80 != 0 {
		sfi := cmd.p1 & 0x1F
		if cmd.p1&0x60 != 0 || sfi == 0 || sfi == 0x1F {
			return sw(swWrongP1P2)
		}
		if e = c.lookup(uint16(sfi)); e == nil {
			return sw(swFileNotFound)
		}
		c.curEF, off = e, int(cmd.p2)
	} else {
		if e = c.curEF; e == nil {
			return sw(swNoCurrentEF)
		}
		off = int(cmd.p1)<<8 | int(cmd.p2)
	}
	if e.noRead || (e.read != 0 && c.verified&e.read == 0) || (e.needTA && c.requireTA && !c.terminalAuth) {
		return sw(swSecurityStatus)
	}
	if off >= len(e.data) {
		return sw(swOffsetBeyondEnd)
	}
	n := min(cmd.ne, len(e.data)-off, maxResponseData)
	resp := make([]byte, n+2)
	copy(resp, e.data[off:off+n])
	resp[n], resp[n+1] = 0x90, 0x00
	return resp
}

// keyRef resolves the P2 of VERIFY / CHANGE REFERENCE DATA: 80 = current EF, 80|SFI = that EF.
func (c *Card) keyRef(p1want, p1, p2 byte) (*pinState, uint16, uint16) {
	if p1 != p1want || p2&0x80 == 0 || p2&0x60 != 0 {
		return nil, 0, swWrongP1P2
	}
	var e *ef
	if sfi := p2 & 0x1F; sfi == 0 {
		e = c.curEF
	} else {
		e = c.lookup(uint16(sfi))
	}
	if e == nil || e.pin == nil {
		return nil, 0, swFileNotFound
	}
	return e.pin, e.fid, 0
}

// verify: VERIFY with data checks the reference data; without data it is the retry-counter
// query that consumes no try (card.md).
func (c *Card) verify(cmd *command) []byte {
	p, fid, w := c.keyRef(0x00, cmd.p1, cmd.p2)
	if w != 0 {
		return sw(w)
	}
	if !p.set {
		return sw(swBlocked) // no PIN set (顔認証マイナンバーカード)
	}
	if len(cmd.data) == 0 {
		return sw(swWrongPIN | uint16(min(p.tries, 15)))
	}
	if p.tries == 0 {
		return sw(swBlocked)
	}
	if p.matches(cmd.data) {
		c.verified |= bit(fid)
		if p.tries != p.max {
			p.tries = p.max
			if c.saveState() != nil {
				return sw(swMemoryFailure)
			}
		}
		return sw(swOK)
	}
	c.verified &^= bit(fid)
	p.tries--
	if c.saveState() != nil {
		return sw(swMemoryFailure)
	}
	return sw(swWrongPIN | uint16(min(p.tries, 15)))
}

// changeReference: CHANGE REFERENCE DATA 00 24 01 80 Lc newPIN, after a successful VERIFY of
// the same key. Auth and input-support PINs: 4 digits; signing PIN: 6-16 of A-Z0-9 with a letter
// and a digit (6A80 otherwise). 照合番号 and the birth date cannot be changed (6985).
func (c *Card) changeReference(cmd *command) []byte {
	p, fid, w := c.keyRef(0x01, cmd.p1, cmd.p2)
	if w != 0 {
		return sw(w)
	}
	if len(cmd.data) == 0 {
		return sw(swWrongLength)
	}
	switch {
	case !p.set || p.tries == 0:
		return sw(swBlocked)
	case p.format == formatFixed:
		return sw(swConditions)
	case c.verified&bit(fid) == 0:
		return sw(swSecurityStatus)
	case !validPIN(p.format, cmd.data):
		return sw(swWrongData)
	}
	if p.setValue(cmd.data) != nil || c.saveState() != nil {
		return sw(swMemoryFailure)
	}
	return sw(swOK)
}

// getChallenge: GET CHALLENGE with short Le 1..256; extended Le gives 6985 (card.md).
func (c *Card) getChallenge(cmd *command) []byte {
	if cmd.p1 != 0 || cmd.p2 != 0 {
		return sw(swWrongP1P2)
	}
	if cmd.data != nil || !cmd.hasLe {
		return sw(swWrongLength)
	}
	if cmd.extended {
		return sw(swConditions)
	}
	resp := make([]byte, cmd.ne+2)
	rand.Read(resp[:cmd.ne])
	resp[cmd.ne], resp[cmd.ne+1] = 0x90, 0x00
	return resp
}

// terminalCert: 80 A2 00 00 with an extended Lc carrying a card-verifiable certificate checked
// against the key of JPKI EF 0016. Success sets the volatile terminal-authenticated flag, which
// survives SELECT of another DF (the visual mode sends 80 A2 in JPKI-AP and reads the card-face
// AP afterwards) and is cleared by reset and power-off.
func (c *Card) terminalCert(cmd *command) []byte {
	if c.cur == nil || c.cur.aid != AIDJPKI {
		return sw(swConditions)
	}
	if cmd.p1 != 0 || cmd.p2 != 0 {
		return sw(swWrongP1P2)
	}
	if len(cmd.data) == 0 || !cmd.extended {
		return sw(swWrongLength) // the certificate needs extended Lc (card.md)
	}
	if c.terminalCA == nil {
		return sw(swConditions) // EF 0016 empty
	}
	c.terminalAuth = false
	cv, err := ParseCV(cmd.data)
	if err != nil {
		return sw(swWrongData)
	}
	var at time.Time
	if c.now != nil {
		at = c.now()
	}
	if cv.Verify(c.terminalCA, at) != nil {
		return sw(swVerifyFailed)
	}
	c.terminalAuth = true
	return sw(swOK)
}

// sign: COMPUTE DIGITAL SIGNATURE 80 2A P1 P2 Lc data [Le]. In JPKI-AP the key is the current
// EF (P2 80) or 80|SFI and needs its PIN; in the card-face APs P2 00 signs with the card key
// without credential (card-presence proof). P1 picks the scheme (card.md, myna-card): 00 PKCS#1
// v1.5 over the data as given, 01 SHA-256 by the card then PKCS#1 v1.5 over the bare hash, 02 a
// 32-byte hash wrapped in a DigestInfo, 03 hash and wrap, 04 PSS over a 32-byte prehash, 05 PSS
// with hashing by the card (salt length = 32).
func (c *Card) sign(cmd *command) []byte {
	if cmd.p1 > 0x05 {
		return sw(swWrongP1P2)
	}
	if c.cur == nil {
		return sw(swConditions)
	}
	var key *rsa.PrivateKey
	if c.cur.cardKey != nil {
		if cmd.p2 != 0x00 {
			return sw(swWrongP1P2)
		}
		key = c.cur.cardKey
	} else {
		if cmd.p2&0x80 == 0 || cmd.p2&0x60 != 0 {
			return sw(swWrongP1P2)
		}
		e := c.curEF
		if sfi := cmd.p2 & 0x1F; sfi != 0 {
			e = c.lookup(uint16(sfi))
		}
		if e == nil || e.key == nil {
			return sw(swFileNotFound)
		}
		if c.verified&e.useKey == 0 {
			return sw(swSecurityStatus)
		}
		key = e.key
	}
	if len(cmd.data) == 0 || (cmd.hasLe && cmd.ne < key.Size()) {
		return sw(swWrongLength)
	}
	var sig []byte
	var err error
	switch cmd.p1 {
	case 0x00:
		if len(cmd.data) > key.Size()-11 {
			return sw(swWrongLength)
		}
		sig, err = rsa.SignPKCS1v15(nil, key, 0, cmd.data)
	case 0x01:
		h := sha256.Sum256(cmd.data)
		sig, err = rsa.SignPKCS1v15(nil, key, 0, h[:])
	case 0x02, 0x04:
		if len(cmd.data) != sha256.Size {
			return sw(swWrongLength)
		}
		sig, err = signHash(key, cmd.p1 == 0x04, cmd.data)
	default:
		h := sha256.Sum256(cmd.data)
		sig, err = signHash(key, cmd.p1 == 0x05, h[:])
	}
	if err != nil {
		return sw(swWrongData)
	}
	return append(sig, 0x90, 0x00)
}

func signHash(key *rsa.PrivateKey, pss bool, h []byte) ([]byte, error) {
	if pss {
		return rsa.SignPSS(rand.Reader, key, crypto.SHA256, h, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	}
	return rsa.SignPKCS1v15(nil, key, crypto.SHA256, h)
}
