//go:build pcsc && linux

package target

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/mynaconform/mynaconform/conformance/envelope"
	"github.com/mynaconform/mynaconform/conformance/hil/stack"
	"github.com/mynaconform/mynaconform/emulator/card"
	"github.com/mynaconform/mynaconform/emulator/vpcd"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/readers"
	"github.com/mynaconform/mynaconform/readers/pcsc"
	"github.com/mynaconform/mynaconform/readers/session"
)

func init() { Register("pcsc", openPCSC) }

// DefaultSlots is how many vpcd slots the pcsc target uses when Options.Slots is 0: the two of
// Debian's /etc/reader.conf.d/vpcd, which a pcscd started by someone else offers too. More need
// a pcscd of the target's own (docs/pcsc.md, "Many slots").
const DefaultSlots = 2

// openTimeout bounds presenting a card (and waiting for the device's previous card to be
// released).
const openTimeout = 30 * time.Second

// measureTimeout bounds measuring a named reader's envelope: a handset in the loop drops its link
// at every limit, and a real one comes back only when the card is tapped again (docs/lab.md).
const measureTimeout = 10 * time.Minute

// PCSC runs the suite through the real pcscd.
//
// Without a reader name it starts (or joins) pcscd with vsmartcard's vpcd and makes every vpcd
// slot a device (pcsc-virtual-pcd-00-00, pcsc-virtual-pcd-00-01, ...), each with a virtual card
// of its own dialled in once. Open presents a fresh card of a persona by changing the card
// behind the slot's vpcd connection (vpcd.Changer) and power-cycling it through PC/SC
// (SCardReconnect with SCARD_UNPOWER_CARD): the slot never looks empty, so no presence poll of
// pcscd (~0.4 s each for a removal and an insertion) is waited for. The slots are independent:
// Concurrency is their number.
//
// With a reader name (Options.Reader) it uses that reader and the one card in it (a lab's test
// card, or a card served by `mynaconform card serve` or `mynaconform phone serve`) as the "adult"
// persona: one device. PC/SC tells nothing of what a reader (or a handset behind vpcd) carries, so
// the target measures the reader's envelope first (MeasureReader) and shapes every APDU of the
// suite by what it measured, as the app on that handset would be shaped by its limits.
type PCSC struct {
	reader string // physical reader name; "" = vpcd slots
	want   int    // vpcd slots asked for
	faceB  []byte // 照合番号B of the named reader's card (nil: the adult persona's)

	mu    sync.Mutex
	st    *stack.Stack
	caps  readers.Capabilities
	probe pcsc.ProbeResult
	slots []*slot // vpcd: set up by Devices
	lab   *slot   // named reader: its one device
}

// slot is one device: a vpcd slot with the Changer dialled into it, or the named reader.
type slot struct {
	n       int
	name    string        // PC/SC reader name
	changer *vpcd.Changer // nil for a named reader
	remove  func()        // takes the Changer out of the slot
	busy    chan struct{} // held from Open to its release: one card at a time
}

func openPCSC(opts Options) (Target, error) {
	if opts.Slots < 0 || opts.Slots > 64 {
		return nil, fmt.Errorf("pcsc target: %d slots: want 1 to 64", opts.Slots)
	}
	want := opts.Slots
	if want == 0 {
		want = DefaultSlots
	}
	return &PCSC{reader: opts.Reader, want: want, faceB: opts.VerificationB}, nil
}

func (t *PCSC) Name() string { return "pcsc" }

// Concurrency is the number of devices: each slot (or the named reader) is driven on its own.
// Valid after Devices.
func (t *PCSC) Concurrency() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.reader != "" {
		return 1
	}
	return max(len(t.slots), 1)
}

// deviceID makes a stable slug of a reader name: "Virtual PCD 00 00" -> "pcsc-virtual-pcd-00-00".
func deviceID(name string) string {
	var b strings.Builder
	b.WriteString("pcsc-")
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-")
}

// Devices sets the slots up (vpcd) and probes one reader for its capabilities with the adult
// persona's card: PC/SC does not say whether a reader carries extended APDUs. The virtual slots
// are identical, so one probe serves them all. A named reader's envelope is measured instead
// (MeasureReader), with its exact limits: it may be a handset in the loop, with a transceive cap
// or a response cap of its own.
func (t *PCSC) Devices() ([]Device, error) {
	adult, err := fixtures.PersonaByID("adult")
	if err != nil {
		return nil, err
	}
	timeout := 60 * time.Second
	if t.reader != "" {
		timeout = measureTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	slots, err := t.setUp(ctx, adult)
	if err != nil {
		return nil, err
	}
	r, done, err := t.present(ctx, slots[0], adult)
	if err != nil {
		return nil, err
	}
	var caps readers.Capabilities
	var m *Measurement
	source := "probed through pcscd"
	if t.reader != "" {
		faceB := t.faceB
		if faceB == nil {
			faceB = []byte(adult.VerificationB())
		}
		m, err = measure(ctx, r, faceB)
		if err == nil {
			caps, source = m.Caps, "envelope measured through pcscd"
		}
	} else {
		var res pcsc.ProbeResult
		res, err = r.Probe(ctx)
		t.mu.Lock()
		t.probe = res
		t.mu.Unlock()
		caps = res.Caps
	}
	done()
	if err != nil {
		return nil, fmt.Errorf("probing %s: %w", slots[0].name, err)
	}
	t.mu.Lock()
	t.caps = caps
	t.mu.Unlock()
	out := make([]Device, 0, len(slots))
	for _, s := range slots {
		info := readers.Info{Kind: readers.KindPCSC, Name: s.name, Caps: caps, Maker: "PC/SC", Model: s.name}
		if t.reader == "" {
			info.Maker, info.Model, info.OS = "vsmartcard", "vpcd virtual reader", "pcscd"
		}
		dev := Device{
			ID: deviceID(s.name), Info: info, Platform: "pcsc", Source: source,
			Open: func(p *fixtures.Persona) (readers.Reader, func(), error) { return t.open(s, p) },
		}
		if m != nil { // a named reader: its one device carries the measurement
			dev.Envelope, dev.EnvelopeExchanges, dev.EnvelopeATR = m.Envelope, m.Exchanges, m.ATR
		}
		out = append(out, dev)
	}
	return out, nil
}

// Measurement is the APDU envelope of a PC/SC reader with a My Number card in it.
type Measurement struct {
	Reader    string
	ATR       []byte
	Envelope  *envelope.Envelope
	Caps      readers.Capabilities // what the envelope implies (CapsOf)
	Exchanges []session.Exchange   // every APDU of the measurement, each with its wall time
}

// MeasureReader measures the envelope of the PC/SC reader called name with the My Number card in
// it (conformance/envelope: the boundary lengths of every case, then the exact limits by
// bisection), with commands a real card answers harmlessly. verificationB opens the card face,
// the only file long enough for the responses above the auth certificate's size (nil: those are
// not measured); a wrong one costs a try of the card's 照合番号B. After every probe that fails on
// the link the reader is connected again, which waits (until ctx ends) for the card to come back:
// a handset in the loop comes back when the card is tapped again.
func MeasureReader(ctx context.Context, name string, verificationB []byte) (*Measurement, error) {
	r, err := pcsc.Open(name, pcsc.WithCapabilities(unmeasured))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if err := r.Connect(ctx); err != nil {
		return nil, err
	}
	return measure(ctx, r, verificationB)
}

// unmeasured are the capabilities a reader is opened with to measure it: no limit of its own
// before the measurement says what the reader carries (MaxCommand 0: unknown).
var unmeasured = readers.Capabilities{Extended: true}

func measure(ctx context.Context, r *pcsc.Reader, verificationB []byte) (*Measurement, error) {
	s := session.New(r)
	env, err := envelope.Measure(ctx, s, envelope.Options{VerificationB: verificationB, Exact: true})
	if err != nil {
		return nil, err
	}
	if env.LongestCommand == 0 {
		return nil, fmt.Errorf("%s: no probe of the envelope went through (%d failed)", r.Info().Name, len(env.Failed()))
	}
	return &Measurement{Reader: r.Info().Name, ATR: r.ATR(), Envelope: env, Caps: CapsOf(env), Exchanges: s.Exchanges()}, nil
}

// CapsOf is what a measured envelope implies for shaping APDUs: the longest command carried, the
// longest response as the cap when a longer one failed, and extended-length APDUs when both an
// extended Lc and an extended Le went through.
func CapsOf(env *envelope.Envelope) readers.Capabilities {
	c := readers.Capabilities{Probed: true, Extended: env.Extended, MaxCommand: env.LongestCommand}
	if env.FirstFailedResponse > 0 {
		c.MaxResponse = env.LongestResponse
	}
	return c
}

// setUp returns the devices' slots, starting pcscd and dialling a card into every vpcd slot on
// first use.
func (t *PCSC) setUp(ctx context.Context, adult *fixtures.Persona) ([]*slot, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.reader != "" {
		if t.lab == nil {
			t.lab = &slot{name: t.reader, busy: make(chan struct{}, 1)}
		}
		return []*slot{t.lab}, nil
	}
	if t.slots != nil {
		return t.slots, nil
	}
	st, err := stack.Start(ctx, stack.WithSlots(t.want))
	if err != nil {
		return nil, err
	}
	n := min(t.want, st.Slots())
	if n == 0 {
		st.Stop()
		return nil, errors.New("pcsc target: pcscd offers no vpcd slot")
	}
	var slots []*slot
	fail := func(err error) ([]*slot, error) {
		for _, s := range slots {
			s.remove()
		}
		st.Stop()
		return nil, err
	}
	for i := range n {
		c, err := newCard(adult)
		if err != nil {
			return fail(err)
		}
		ch, err := vpcd.NewChanger(c)
		if err != nil {
			return fail(err)
		}
		slots = append(slots, &slot{n: i, name: stack.ReaderName(i), changer: ch,
			remove: stack.Insert(ch, i), busy: make(chan struct{}, 1)})
	}
	// The cards dial in at once; pcscd notices each at its next presence poll.
	for _, s := range slots {
		if err := stack.WaitPresent(ctx, s.n, true); err != nil {
			return fail(err)
		}
	}
	t.st, t.slots = st, slots
	return slots, nil
}

func newCard(p *fixtures.Persona) (*card.Card, error) {
	prof, err := p.CardProfile()
	if err != nil {
		return nil, err
	}
	return card.New(prof)
}

// open is a device's Open: it waits until the device's previous card is released, then presents
// the new one.
func (t *PCSC) open(s *slot, p *fixtures.Persona) (readers.Reader, func(), error) {
	if t.reader != "" && p.ID != "adult" {
		return nil, nil, fmt.Errorf("%w: a lab reader holds one physical card (the adult persona), not %q", ErrPersonaUnavailable, p.ID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	return t.present(ctx, s, p)
}

// present takes the slot, puts a fresh card of persona p in it (vpcd) or finds the lab's card
// there, and returns the PC/SC reader on it, connected, with the probed capabilities. The
// release function closes the reader and frees the slot; the card stays in the slot until the
// next one replaces it.
func (t *PCSC) present(ctx context.Context, s *slot, p *fixtures.Persona) (*pcsc.Reader, func(), error) {
	select {
	case s.busy <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("%s: the previous card was not released: %w", s.name, ctx.Err())
	}
	free := func() { <-s.busy }
	t.mu.Lock()
	caps := t.caps
	t.mu.Unlock()
	var opts []pcsc.Option
	switch {
	case caps.Probed:
		opts = append(opts, pcsc.WithCapabilities(caps))
	case t.reader != "":
		opts = append(opts, pcsc.WithCapabilities(unmeasured)) // the envelope is yet to be measured
	}
	var in <-chan struct{}
	if s.changer != nil {
		c, err := newCard(p)
		if err != nil {
			free()
			return nil, nil, err
		}
		if in, err = s.changer.Change(c); err != nil {
			free()
			return nil, nil, err
		}
	}
	r, err := pcsc.Open(s.name, opts...)
	if err != nil {
		free()
		return nil, nil, err
	}
	release := func() { r.Close(); free() }
	if err := r.Connect(ctx); err != nil {
		release()
		return nil, nil, err
	}
	if s.changer != nil {
		// The power cycle brings the new card in, as a card inserted afresh.
		if err := r.Reset(ctx, true); err != nil {
			release()
			return nil, nil, fmt.Errorf("%s: presenting a card of %s: %w", s.name, p.ID, err)
		}
		select {
		case <-in:
		default:
			release()
			return nil, nil, fmt.Errorf("%s: the power cycle did not reach the virtual card of %s", s.name, p.ID)
		}
	}
	return r, release, nil
}

// Close takes the virtual cards out, stops pcscd if this target started it, and releases the
// machine-wide lock.
func (t *PCSC) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.st == nil {
		return nil
	}
	for _, s := range t.slots {
		s.remove()
	}
	if !t.st.Owned() {
		// pcscd lives on: wait until it has seen the slots empty, so that the next user's
		// card does not meet a stale connection (a card back within ~50 ms would).
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		for _, s := range t.slots {
			_ = stack.WaitPresent(ctx, s.n, false)
		}
		cancel()
	}
	err := t.st.Stop()
	t.st, t.slots = nil, nil
	return err
}
