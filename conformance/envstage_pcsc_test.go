//go:build pcsc && linux

package conformance

import (
	"context"
	"io"
	"sync/atomic"
	"testing"

	"github.com/mynaconform/mynaconform/conformance/hil/stack"
	"github.com/mynaconform/mynaconform/conformance/target"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/readers"
	"github.com/mynaconform/mynaconform/reports"
)

// dropper is a PC/SC reader that loses its card on any command longer than limit, as a reader
// may after a probe it cannot carry: from then on every exchange fails with card removed, and
// only a card presented afresh (a new Open through the target) answers again.
type dropper struct {
	readers.Reader
	limit int
	lost  bool
}

func (d *dropper) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	if len(cmd) > d.limit {
		d.lost = true
	}
	if d.lost {
		return nil, &readers.TransportError{Reader: "dropper", Op: "transmit", Err: readers.ErrCardRemoved}
	}
	return d.Reader.Transmit(ctx, cmd)
}

func (d *dropper) Connect(ctx context.Context) error {
	if d.lost {
		return &readers.TransportError{Reader: "dropper", Op: "connect", Err: readers.ErrNoCard}
	}
	return d.Reader.Connect(ctx)
}

func (d *dropper) ATR() []byte {
	if a, ok := d.Reader.(interface{ ATR() []byte }); ok {
		return a.ATR()
	}
	return nil
}

// TestEnvelopeRepresentsCardPCSC: through the real pcscd and vpcd, a reader that drops the card
// after each probe it cannot carry is measured to its exact limit, because the envelope stage
// presents the card again through the target after every failure (Reconnect): the probes after
// a lost card go through on the fresh one, and every TRN spec passes (the limit lies beyond what
// the reader's probe established, so it is the reader's measured limit).
func TestEnvelopeRepresentsCardPCSC(t *testing.T) {
	if err := stack.Available(); err != nil {
		t.Skip(err)
	}
	tg, err := target.Open("pcsc", target.Options{Slots: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.(io.Closer).Close()
	ds, err := tg.Devices()
	if err != nil {
		t.Fatal(err)
	}
	d := ds[0]
	var opens atomic.Int32
	open := d.Open
	d.Open = func(p *fixtures.Persona) (readers.Reader, func(), error) {
		r, done, err := open(p)
		if err != nil {
			return nil, nil, err
		}
		opens.Add(1)
		return &dropper{Reader: r, limit: 4096}, done, nil
	}
	d.Info.Caps = readers.Capabilities{MaxCommand: 1024, Extended: true, Probed: true} // what a coarse probe would find

	results, env := stage(t, d)
	for id, r := range results {
		if !r.OK {
			t.Errorf("%s: %s: %s", id, r.Step, r.Reason)
		}
	}
	if env == nil || env.LongestCommand != 4096 || env.FirstFailedCommand != 4097 || env.CommandFailedBy != "TRN-C65535" ||
		env.CommandCause != reports.CauseCardRemoved || env.LongestResponse != 5890 || !env.Extended {
		t.Errorf("envelope %+v; want 4096 carried, 4097 failed (found by TRN-C65535, card removed), responses of 5890 bytes", env)
	}
	// One card for the measurement, then one after each lost card: TRN-C65535 and the bisection's
	// failures between 4096 and 65535.
	if n := opens.Load(); n < 3 {
		t.Errorf("the card was presented %d times; want it presented again after each failure", n)
	}
	if r := results["TRN-R65536"]; len(r.ATR) == 0 {
		t.Error("no ATR recorded from the reader")
	}
}
