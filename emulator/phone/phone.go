package phone

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/mynaconform/mynaconform/formats/iso7816"

	"github.com/mynaconform/mynaconform/readers"
)

// Card is what the phone talks to: the virtual card (*card.Card) or any stand-in.
type Card interface {
	Transmit(cmd []byte) []byte
	PowerOn() []byte
	PowerOff()
}

// Option configures a Phone: fault injection.
type Option func(*Phone)

// WithRemoveAfter removes the card from the field after n APDUs have reached it: command n+1
// fails with readers.ErrCardRemoved and never reaches the card. n counts from New, across
// connects.
func WithRemoveAfter(n int) Option { return func(ph *Phone) { ph.removeAfter = n } }

// WithRemoveAtStep removes the card from the field when step begins (SetStep(step)): the next
// command fails with readers.ErrCardRemoved.
func WithRemoveAtStep(step string) Option { return func(ph *Phone) { ph.removeStep = step } }

// WithLatency adds d to the modelled time of every APDU (host and NFC-controller overhead);
// it counts towards the timeout.
func WithLatency(d time.Duration) Option { return func(ph *Phone) { ph.latency = d } }

// WithCorruptResponse flips one byte of response data on the link: the first response carrying
// data at or after the n-th APDU (counted from 1 across connects) gets its middle data byte
// XORed with FF. The status word is untouched and no error is reported (the CRC is assumed to
// match): the app's own integrity checks must catch it.
func WithCorruptResponse(n int) Option { return func(ph *Phone) { ph.corruptAt = n } }

// Phone is a virtual handset. It implements readers.Reader and readers.Clocked.
type Phone struct {
	p         Profile
	caps      readers.Capabilities
	card      Card
	invalid   error // profile validation, reported by Connect
	charPS    int64 // time of one character on the air, ps
	payload   int   // I-block information field: FSD - PCB - CRC
	connected bool
	removed   bool
	step      string
	elapsed   time.Duration
	apdus     int // APDUs that reached the card

	removeAfter int
	removeStep  string
	latency     time.Duration
	corruptAt   int
	corrupted   bool
}

// New returns a phone with profile p and card c in its field (nil: no card; Info still
// works). An invalid profile makes Connect fail.
func New(p Profile, c Card, opts ...Option) *Phone {
	ph := &Phone{p: p, caps: p.Caps(), card: c, invalid: p.Validate(),
		charPS: byteTimePS(p.BitRate), payload: payloadOf(p.FSD)}
	for _, o := range opts {
		o(ph)
	}
	return ph
}

// Profile returns the phone's profile.
func (ph *Phone) Profile() Profile { return ph.p }

// Info describes the handset.
func (ph *Phone) Info() readers.Info {
	osName := ph.p.OS
	if ph.p.Build != "" {
		osName += " (" + ph.p.Build + ")"
	}
	return readers.Info{
		Kind:  readers.KindPhone,
		Name:  ph.p.ID,
		Maker: ph.p.Maker,
		Model: ph.p.Model,
		OS:    osName,
		Caps:  ph.caps,
	}
}

// Elapsed is the modelled time spent so far (readers.Clocked).
func (ph *Phone) Elapsed() time.Duration {
	return ph.elapsed
}

// APDUs is the number of commands that reached the card so far.
func (ph *Phone) APDUs() int {
	return ph.apdus
}

// SetStep names the step the app is in (forwarded by session.Session.Step); a step named by
// WithRemoveAtStep removes the card.
func (ph *Phone) SetStep(step string) {
	ph.step = step
	if ph.removeStep != "" && step == ph.removeStep {
		ph.removeCard()
	}
}

// Remove takes the card out of the field now (field loss: the card powers off).
func (ph *Phone) Remove() {
	ph.removeCard()
}

// Insert puts the card back into the field; Connect must be called again. Removal faults that
// already fired do not fire again.
func (ph *Phone) Insert() {
	ph.removed = false
}

func (ph *Phone) removeCard() {
	if ph.connected {
		ph.card.PowerOff()
	}
	ph.removed = true
	ph.connected = false
}

// dropLink ends the link after a lost tag or a timeout: the card sees a field loss.
func (ph *Phone) dropLink() {
	ph.card.PowerOff()
	ph.connected = false
}

func (ph *Phone) fail(op string, err error, hint string) error {
	return &readers.TransportError{Reader: ph.p.ID, Op: op, Err: err, Hint: hint}
}

// Connect activates the card (IsoDep.connect): field on, card powered.
func (ph *Phone) Connect(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return ph.fail("connect", err, "")
	}
	switch {
	case ph.invalid != nil:
		return fmt.Errorf("phone %s: invalid profile: %w", ph.p.ID, ph.invalid)
	case !ph.p.NFC:
		return ph.fail("connect", readers.ErrNoNFC, "this handset cannot read the card; use another device")
	case !ph.p.ISODep:
		return ph.fail("connect", readers.ErrNoISODep, "the NFC stack cannot talk ISO 14443-4 to the card; use another device")
	case ph.removed || ph.card == nil:
		return ph.fail("connect", readers.ErrNoCard, "hold the card to the back of the phone")
	case ph.connected:
		return nil
	}
	ph.card.PowerOn()
	ph.connected = true
	return nil
}

// Transmit carries one command APDU; see the package documentation for the refusals and the
// timing model.
func (ph *Phone) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, ph.fail("transmit", err, "")
	}
	if ph.removeAfter > 0 && ph.apdus >= ph.removeAfter && !ph.removed && ph.connected {
		ph.removeAfter = 0 // fires once
		ph.removeCard()
		return nil, ph.fail("transmit", readers.ErrCardRemoved, "the card left the field; tap it again")
	}
	if ph.removed {
		return nil, ph.fail("transmit", readers.ErrCardRemoved, "the card left the field; tap it again")
	}
	if !ph.connected {
		return nil, ph.fail("transmit", readers.ErrNotConnected, "call Connect first")
	}
	if len(cmd) > ph.p.MaxTransceive {
		return nil, ph.fail("transmit", readers.ErrTransceiveLength,
			fmt.Sprintf("command of %d bytes; this handset carries at most %d", len(cmd), ph.p.MaxTransceive))
	}
	// Android's IsoDep checks only the length (AOSP); a profile that explicitly declares
	// extended: false models a stack that also refuses the extended encoding.
	if ph.p.Extended != nil && !*ph.p.Extended && iso7816.HasExtendedForm(cmd) {
		return nil, ph.fail("transmit", readers.ErrTransceiveLength,
			"extended-length APDU on a handset without extended-length support")
	}
	resp := ph.card.Transmit(cmd)
	ph.apdus++
	if ph.corruptAt > 0 && !ph.corrupted && ph.apdus >= ph.corruptAt && len(resp) > 2 {
		resp = bytes.Clone(resp)
		resp[(len(resp)-2)/2] ^= 0xFF
		ph.corrupted = true
	}
	t := airTime(len(cmd), len(resp), ph.payload, ph.charPS) + ph.p.Processing.of(cmd, resp) + ph.latency
	if ph.p.MaxResponse > 0 && len(resp) > ph.p.MaxResponse {
		ph.elapsed += t
		ph.dropLink()
		return nil, ph.fail("transmit", readers.ErrTagLost,
			fmt.Sprintf("response of %d bytes exceeds this handset's %d-byte cap; read in smaller pieces", len(resp), ph.p.MaxResponse))
	}
	if ph.p.Timeout > 0 && t > ph.p.Timeout {
		ph.elapsed += ph.p.Timeout
		ph.dropLink()
		return nil, ph.fail("transmit", readers.ErrTimeout,
			fmt.Sprintf("modelled %v exceeds the %v transceive timeout", t.Round(time.Microsecond), ph.p.Timeout))
	}
	ph.elapsed += t
	if len(resp) < 2 {
		return nil, ph.fail("transmit", readers.ErrShortResponse, "")
	}
	return resp, nil
}

// Reset power-cycles the card (field off and on; contactless cards have no warm reset, so
// cold is ignored). Volatile card state is gone afterwards.
func (ph *Phone) Reset(ctx context.Context, cold bool) error {
	if err := ctx.Err(); err != nil {
		return ph.fail("reset", err, "")
	}
	if ph.removed {
		return ph.fail("reset", readers.ErrCardRemoved, "the card left the field; tap it again")
	}
	if !ph.connected {
		return ph.fail("reset", readers.ErrNotConnected, "call Connect first")
	}
	ph.card.PowerOff()
	ph.card.PowerOn()
	return nil
}

// Close ends the card session (field off). The phone may be connected again.
func (ph *Phone) Close() error {
	if ph.connected {
		ph.card.PowerOff()
		ph.connected = false
	}
	return nil
}
