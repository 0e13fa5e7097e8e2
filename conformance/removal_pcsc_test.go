//go:build pcsc && linux

package conformance

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/conformance/app"
	"github.com/mynaconform/mynaconform/conformance/hil/stack"
	"github.com/mynaconform/mynaconform/emulator/card"
	"github.com/mynaconform/mynaconform/formats/onshi/api"
	"github.com/mynaconform/mynaconform/readers"
	"github.com/mynaconform/mynaconform/readers/pcsc"
	"github.com/mynaconform/mynaconform/readers/session"
)

// pullBeforeSign is a reader that takes the card out of the vpcd slot just before the first
// COMPUTE DIGITAL SIGNATURE, and waits until pcscd has seen it gone (away for longer than its
// ~0.4 s poll, as docs/pcsc.md says a removal test must be), before passing the command on.
type pullBeforeSign struct {
	readers.Reader
	remove func()
	pulled bool
}

func (p *pullBeforeSign) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	if !p.pulled && len(cmd) > 1 && cmd[1] == 0x2A {
		p.pulled = true
		p.remove()
		if err := stack.WaitPresent(ctx, 0, false); err != nil {
			return nil, err
		}
	}
	return p.Reader.Transmit(ctx, cmd)
}

// TestCardRemovedMidPath: the patient takes the card away in the middle of a PIN-mode consent
// (after VERIFY, before the signature), through the real pcscd + vpcd. The app reports a clean,
// typed failure at the signature step, and no consent is registered.
func TestCardRemovedMidPath(t *testing.T) {
	if err := stack.Available(); err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := stack.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Stop()

	w, err := newWorld(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	code, err := w.setUpDevice(ctx, "pcsc-removal", "rm1", "rg1")
	if err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(w.cfg.ActivationDelay)
	a := w.newApp()
	if err := a.Activate(ctx, "rm1", w.password("rm1"), code); err != nil {
		t.Fatal(err)
	}

	adult := persona("adult")
	prof, err := adult.CardProfile()
	if err != nil {
		t.Fatal(err)
	}
	c, err := card.New(prof)
	if err != nil {
		t.Fatal(err)
	}
	remove := stack.Insert(c, 0)
	defer remove()
	if err := stack.WaitPresent(ctx, 0, true); err != nil {
		t.Fatal(err)
	}
	r, err := pcsc.Open(stack.ReaderName(0))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	s := session.New(&pullBeforeSign{Reader: r, remove: remove})

	_, err = a.ConsentPIN(ctx, s, pinOf(adult), consentItems)
	if err == nil {
		t.Fatal("consent registered although the card left before the signature")
	}
	if step := app.FailedStep(err); step != app.StepSignChallenge {
		t.Errorf("failed step %q, want %q (%v)", step, app.StepSignChallenge, err)
	}
	if !errors.Is(err, readers.ErrCardRemoved) && !errors.Is(err, readers.ErrNoCard) {
		t.Errorf("want a card-removed transport error, got %v", err)
	}
	var te *readers.TransportError
	if !errors.As(err, &te) {
		t.Errorf("want a *readers.TransportError in the chain, got %T: %v", err, err)
	}
	// The VERIFY before it succeeded on the card; nothing reached the service.
	if got := w.consentsOf(ctx, t, a); got != 0 {
		t.Errorf("%d consents registered, want 0", got)
	}
}

// consentsOf counts the consents registered today at the suite's institution (through the
// app's lookup by date range).
func (w *world) consentsOf(ctx context.Context, t *testing.T, a *app.App) int {
	t.Helper()
	day := w.clock.Now().In(time.FixedZone("JST", 9*3600)).Format(time.DateOnly)
	rs, err := a.Search(ctx, api.SearchRequest{From: day, To: day})
	if err != nil {
		t.Fatal(err)
	}
	return len(rs)
}
