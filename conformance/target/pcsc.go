//go:build pcsc && linux

package target

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/mynaconform/mynaconform/conformance/hil/stack"
	"github.com/mynaconform/mynaconform/emulator/card"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/readers"
	"github.com/mynaconform/mynaconform/readers/pcsc"
)

func init() { Register("pcsc", openPCSC) }

// PCSC runs the suite through the real pcscd. Without a reader name it starts (or joins) pcscd
// with vsmartcard's vpcd and presents a fresh virtual card of each persona in slot 0, dialled in
// over the vpcd protocol; with one (Options.Reader) it uses that reader and the one card in it
// (a lab's test card, or a card served by `mynaconform card serve`) as the "adult" persona.
type PCSC struct {
	reader string // physical reader name; "" = vpcd slot 0

	mu    sync.Mutex
	st    *stack.Stack
	caps  readers.Capabilities
	probe pcsc.ProbeResult
}

func openPCSC(opts Options) (Target, error) {
	return &PCSC{reader: opts.Reader}, nil
}

func (t *PCSC) Name() string { return "pcsc" }

func (t *PCSC) name() string {
	if t.reader != "" {
		return t.reader
	}
	return stack.ReaderName(0)
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

// Devices probes the reader once (with the adult persona's card) for its capabilities: PC/SC
// does not say whether a reader carries extended APDUs.
func (t *PCSC) Devices() ([]Device, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adult, err := fixtures.PersonaByID("adult")
	if err != nil {
		return nil, err
	}
	r, done, err := t.present(ctx, adult)
	if err != nil {
		return nil, err
	}
	if err := r.Connect(ctx); err != nil {
		done()
		return nil, err
	}
	res, err := r.Probe(ctx)
	done()
	if err != nil {
		return nil, fmt.Errorf("probing %s: %w", t.name(), err)
	}
	t.mu.Lock()
	t.caps, t.probe = res.Caps, res
	t.mu.Unlock()
	info := r.Info()
	info.Maker, info.Model = "PC/SC", t.name()
	if t.reader == "" {
		info.Maker, info.Model, info.OS = "vsmartcard", "vpcd virtual reader", "pcscd"
	}
	return []Device{{
		ID: deviceID(t.name()), Info: info, Platform: "pcsc",
		Source: "probed through pcscd", Open: t.open,
	}}, nil
}

func (t *PCSC) open(p *fixtures.Persona) (readers.Reader, func(), error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if t.reader != "" && p.ID != "adult" {
		return nil, nil, fmt.Errorf("%w: a lab reader holds one physical card (the adult persona), not %q", ErrPersonaUnavailable, p.ID)
	}
	r, done, err := t.present(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	return r, done, nil
}

// present puts a card of persona p in the reader (vpcd) or finds the lab's card there, and
// opens the PC/SC reader on it with the probed capabilities.
func (t *PCSC) present(ctx context.Context, p *fixtures.Persona) (*pcsc.Reader, func(), error) {
	t.mu.Lock()
	caps := t.caps
	t.mu.Unlock()
	var opts []pcsc.Option
	if caps.Probed {
		opts = append(opts, pcsc.WithCapabilities(caps))
	}
	if t.reader != "" {
		r, err := pcsc.Open(t.reader, opts...)
		if err != nil {
			return nil, nil, err
		}
		return r, func() { r.Close() }, nil
	}
	if err := t.start(ctx); err != nil {
		return nil, nil, err
	}
	prof, err := p.CardProfile()
	if err != nil {
		return nil, nil, err
	}
	c, err := card.New(prof)
	if err != nil {
		return nil, nil, err
	}
	remove := stack.Insert(c, 0)
	if err := stack.WaitPresent(ctx, 0, true); err != nil {
		remove()
		return nil, nil, err
	}
	r, err := pcsc.Open(stack.ReaderName(0), opts...)
	if err != nil {
		remove()
		return nil, nil, err
	}
	// Taking the card out waits until pcscd has seen it gone (it polls every ~0.4 s): a card
	// that comes back sooner meets a stale connection (hil.md).
	return r, func() {
		r.Close()
		remove()
		wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = stack.WaitPresent(wctx, 0, false)
	}, nil
}

// start takes the machine-wide pcscd (started here or already running) on first use.
func (t *PCSC) start(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.st != nil {
		return nil
	}
	st, err := stack.Start(ctx)
	if err != nil {
		return err
	}
	t.st = st
	return nil
}

// Close stops pcscd if this target started it, and releases the machine-wide lock.
func (t *PCSC) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.st == nil {
		return nil
	}
	err := t.st.Stop()
	t.st = nil
	return err
}
