package card

import (
	"bytes"
	"crypto/rsa"
	"sync"
	"time"

	"github.com/mynaconform/mynaconform/formats/iso7816"
	"github.com/mynaconform/mynaconform/formats/mynumber"
)

// Card is one virtual My Number card. It is safe for concurrent use: one card may be driven from
// a vpcd socket goroutine and from tests at the same time.
type Card struct {
	mu   sync.Mutex
	atr  []byte
	q    Quirks
	mf   *dfile
	apps []*dfile  // present applications in mynumber.Applications order
	keys []*refKey // every reference-data key, for the state file

	mfObjects  map[uint16][]byte // GET DATA at MF level
	apATR      []byte            // 5F51 with an application selected (some cards), nil: 6A88
	token      string            // EF 0006 label: phone tokens behave differently
	terminalCA *rsa.PublicKey
	terminalID mynumber.KeyID

	statePath   string
	requireTA   bool
	now         func() time.Time
	fingerprint string

	// Volatile state, cleared on reset and power-off.
	cur          *dfile // current DF; mf in the power-on state (after reset or SELECT ISD)
	curEF        *ef
	verified     uint32 // keys of cur verified (bits by FID)
	sm           *mynumber.SMSession
	terminalKey  *rsa.PublicKey // key of the accepted 80 A2 certificate
	terminalAuth bool
	chain        []byte // data of a command chain so far (Quirks.Chaining)
	chainHdr     [4]byte
	chaining     bool
}

// Option configures a Card.
type Option func(*Card)

// WithStateFile keeps the non-volatile state (retry counters, salted hashes of changed PINs) in
// the file at path, as the card's EEPROM: loaded by New (created when missing) and written
// atomically on every change. Without it the state lives as long as the Card value.
func WithStateFile(path string) Option { return func(c *Card) { c.statePath = path } }

// WithRequireTerminalAuth makes EF 0002 of the card-face AP readable only after a terminal
// certificate was accepted by 80 A2 since the last reset (this project's model of the visual
// mode; default false, as on the test card VERIFY 照合番号B alone opens it).
func WithRequireTerminalAuth(on bool) Option { return func(c *Card) { c.requireTA = on } }

// WithClock gives the card a date for checking the validity of 80 A2 terminal certificates.
// Without it the card checks only the issuer and the signature (a card has no clock).
func WithClock(now func() time.Time) Option { return func(c *Card) { c.now = now } }

// New builds a card with every EF from the profile (card.md layouts, encoded by
// formats/mynumber). It fails on a profile that breaks the formats (never quoting a PIN) and on
// an unusable state file.
func New(p Profile, opts ...Option) (*Card, error) {
	if err := checkProfile(&p); err != nil {
		return nil, err
	}
	c := &Card{fingerprint: fingerprint(&p), terminalCA: p.TerminalCA, terminalID: p.TerminalCAID, q: DefaultQuirks()}
	if p.Quirks != nil {
		c.q = *p.Quirks
	}
	c.atr = bytes.Clone(p.ATR)
	if len(c.atr) == 0 {
		c.atr = mynumber.DefaultATR()
	}
	for _, o := range opts {
		o(c)
	}
	if err := c.build(&p); err != nil {
		return nil, err
	}
	c.cur = c.mf
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

// PowerOff removes power: volatile state (selection, security status, secure messaging, terminal
// authentication) is lost; retry counters and PINs stay. A Transmit afterwards finds the card
// powered again, as a reader powers a card before the first APDU.
func (c *Card) PowerOff() { c.clearVolatile() }

// Reset is a warm reset: it returns the ATR and clears volatile state.
func (c *Card) Reset() []byte { c.clearVolatile(); return c.ATR() }

func (c *Card) clearVolatile() {
	c.mu.Lock()
	c.toPowerOnState()
	c.terminalKey, c.terminalAuth = nil, false
	c.mu.Unlock()
}

// toPowerOnState is the state after reset as far as selection goes (SELECT ISD restores it).
func (c *Card) toPowerOnState() {
	c.cur, c.curEF, c.verified, c.sm = c.mf, nil, 0, nil
	c.chain, c.chaining = nil, false
}

// command is one command APDU as the card sees it; data aliases the input.
type command struct {
	cla, ins, p1, p2 byte
	data             []byte
	ne               int  // expected response length; 0 = no Le field
	extended         bool // Lc and/or Le in the extended form
}

func sw(w iso7816.StatusWord) []byte { return []byte{w.SW1(), w.SW2()} }

// Transmit processes one command APDU and returns the response APDU (data and SW1 SW2). It never
// panics and always returns at least two bytes.
func (c *Card) Transmit(cmd []byte) (resp []byte) {
	defer func() {
		if recover() != nil { // safety net only: every path checks its lengths
			resp = sw(iso7816.SWNoPreciseDiagnosis)
		}
	}()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.process(cmd)
}

func (c *Card) process(b []byte) []byte {
	if len(b) >= 1 && b[0] == 0xFF { // invalid CLA (ISO 7816-4 5.4.1), also PPS/PTS
		return sw(iso7816.SWCLANotSupported)
	}
	l, ok := iso7816.ParseLayout(b)
	if !ok {
		return sw(iso7816.SWWrongLength)
	}
	cmd := command{cla: b[0], ins: b[1], p1: b[2], p2: b[3], ne: l.Ne, extended: l.Extended}
	if l.DataLen > 0 {
		cmd.data = b[l.DataOffset : l.DataOffset+l.DataLen]
	}
	switch cmd.cla & 0xE0 {
	case 0x00, 0x80: // first interindustry coding, or proprietary with the same bit layout
	case 0x40, 0x60, 0xC0, 0xE0: // further interindustry coding: channels 4..19
		return sw(iso7816.SWChannelNotSupported)
	default:
		return sw(iso7816.SWCLANotSupported)
	}
	if cmd.cla&iso7816.ClaChannel != 0 {
		return sw(iso7816.SWChannelNotSupported) // only channel 0 (measured)
	}
	if cmd.cla&iso7816.ClaChaining != 0 || c.chaining {
		r, done := c.chainStep(&cmd, l)
		if !done {
			return r
		}
	}
	if cmd.cla&iso7816.ClaSMMask != 0 {
		return c.secureMessaging(&cmd)
	}
	return c.dispatch(&cmd)
}

// chainStep handles command chaining (CLA 10): refused with 6884 unless Quirks.Chaining, in which
// case the data of the chain is kept and the last command (CLA without 10) runs on all of it.
// done reports that cmd (with the chain's data) is to be processed now.
func (c *Card) chainStep(cmd *command, l iso7816.Layout) (resp []byte, done bool) {
	if !c.q.Chaining {
		return sw(iso7816.SWChainingNotSupported), false
	}
	hdr := [4]byte{cmd.cla &^ iso7816.ClaChaining, cmd.ins, cmd.p1, cmd.p2}
	if c.chaining && hdr != c.chainHdr {
		c.chain, c.chaining = nil, false
		return sw(iso7816.SWLastCommandExpected), false
	}
	if cmd.cla&iso7816.ClaChaining != 0 {
		if l.Ne != 0 || len(c.chain)+len(cmd.data) > iso7816.MaxExtendedLc {
			c.chain, c.chaining = nil, false
			return sw(iso7816.SWWrongLength), false
		}
		c.chain, c.chainHdr, c.chaining = append(c.chain, cmd.data...), hdr, true
		return sw(iso7816.SWOK), false
	}
	cmd.data = append(c.chain, cmd.data...)
	cmd.extended = cmd.extended || len(cmd.data) > iso7816.MaxShortLc
	c.chain, c.chaining = nil, false
	return nil, true
}

// dispatch runs a plain (not secure-messaging) command.
func (c *Card) dispatch(cmd *command) []byte {
	prop := cmd.cla&iso7816.ClaProp != 0
	switch cmd.ins {
	case iso7816.InsSelect, iso7816.InsReadBinary, iso7816.InsReadRecord, iso7816.InsVerify,
		iso7816.InsChangeReferenceData, iso7816.InsGetChallenge, iso7816.InsInternalAuthenticate,
		iso7816.InsExternalAuthenticate, iso7816.InsGetData:
		if prop {
			return sw(iso7816.SWCLANotSupported)
		}
	case mynumber.InsComputeSignature, mynumber.InsChangeKey, mynumber.InsTerminalCertificate,
		mynumber.InsSetSessionKey, mynumber.InsLastCommand, mynumber.InsEraseAllRecords, mynumber.InsLockDF,
		mynumber.InsUnlockDF, mynumber.InsUnlockKey, mynumber.InsManageAttributes:
		if !prop {
			return sw(iso7816.SWCLANotSupported)
		}
	default:
		return sw(iso7816.SWINSNotSupported)
	}
	switch cmd.ins {
	case iso7816.InsSelect:
		return c.selectFile(cmd)
	case iso7816.InsReadBinary:
		return c.readBinary(cmd)
	case iso7816.InsReadRecord:
		return c.readRecord(cmd)
	case iso7816.InsVerify:
		if cmd.ne != 0 {
			return sw(iso7816.SWWrongLength)
		}
		return sw(c.verify(cmd.p1, cmd.p2, cmd.data))
	case iso7816.InsChangeReferenceData:
		return sw(c.changeReference(cmd, false))
	case mynumber.InsChangeKey:
		return sw(c.changeReference(cmd, true))
	case iso7816.InsGetChallenge:
		return c.getChallenge(cmd)
	case iso7816.InsInternalAuthenticate:
		return c.internalAuthenticate(cmd)
	case iso7816.InsGetData:
		return c.getData(cmd)
	case mynumber.InsComputeSignature:
		return c.sign(cmd)
	case mynumber.InsTerminalCertificate:
		return sw(c.terminalCert(cmd))
	case mynumber.InsSetSessionKey:
		return sw(c.setSessionKey(cmd))
	case mynumber.InsLastCommand:
		return sw(c.lastCommand(cmd))
	case mynumber.InsManageAttributes:
		if cmd.p1 != 0x22 && cmd.p1 != 0x24 { // only these reach the issuer check (card.md)
			return sw(iso7816.SWWrongP1P2)
		}
		return sw(c.q.AdminSW)
	default: // ERASE ALL RECORDS, LOCK/UNLOCK DF, UNLOCK KEY, EXTERNAL AUTHENTICATE
		return sw(c.q.AdminSW)
	}
}

// lastCommand is 80 FC 00 00: the iPhone token's last-command indicator; physical cards answer
// 6700 (card.md section 4).
func (c *Card) lastCommand(cmd *command) iso7816.StatusWord {
	if c.token != mynumber.TokenIPhone {
		return iso7816.SWWrongLength
	}
	if cmd.p1 != 0 || cmd.p2 != 0 {
		return iso7816.SWWrongP1P2
	}
	if len(cmd.data) != 0 || cmd.ne != 0 {
		return iso7816.SWWrongLength
	}
	return iso7816.SWOK
}
