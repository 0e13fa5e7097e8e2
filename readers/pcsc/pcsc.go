//go:build pcsc

package pcsc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ebfe/scard"

	"github.com/mynaconform/mynaconform/readers"
)

// DefaultTimeout bounds Connect, Transmit and Reset when the context has no deadline.
const DefaultTimeout = 30 * time.Second

// Slot is one PC/SC reader as List sees it.
type Slot struct {
	Name    string `json:"name"`
	Present bool   `json:"present"`          // a card is in the reader
	InUse   bool   `json:"in_use,omitempty"` // another handle holds it exclusively or in use
	ATR     []byte `json:"atr,omitempty"`
}

// List returns the readers pcscd knows with their card presence and ATR.
func List(ctx context.Context) ([]Slot, error) {
	sc, err := scard.EstablishContext()
	if err != nil {
		return nil, (&Reader{name: "pcscd"}).transportErr("list", err)
	}
	defer sc.Release()
	names, err := sc.ListReaders()
	if errors.Is(err, scard.ErrNoReadersAvailable) {
		return nil, nil
	}
	if err != nil {
		return nil, (&Reader{name: "pcscd"}).transportErr("list", err)
	}
	states := make([]scard.ReaderState, len(names))
	for i, n := range names {
		states[i] = scard.ReaderState{Reader: n, CurrentState: scard.StateUnaware}
	}
	// With StateUnaware GetStatusChange returns at once with the current states.
	if err := statusChange(ctx, sc, states, time.Second); err != nil {
		return nil, (&Reader{name: "pcscd"}).transportErr("list", err)
	}
	out := make([]Slot, len(names))
	for i, st := range states {
		out[i] = Slot{
			Name:    st.Reader,
			Present: st.EventState&scard.StatePresent != 0 && st.EventState&scard.StateMute == 0,
			InUse:   st.EventState&(scard.StateInuse|scard.StateExclusive) != 0,
		}
		if out[i].Present {
			out[i].ATR = slices.Clone(st.Atr)
		}
	}
	return out, nil
}

// statusChange runs SCardGetStatusChange, cancelling it when ctx is done.
func statusChange(ctx context.Context, sc *scard.Context, states []scard.ReaderState, timeout time.Duration) error {
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if timeout <= 0 {
		return ctx.Err()
	}
	stop := context.AfterFunc(ctx, func() { _ = sc.Cancel() })
	defer stop()
	err := sc.GetStatusChange(states, timeout)
	if errors.Is(err, scard.ErrCancelled) && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// Option configures a Reader.
type Option func(*Reader)

// WithCapabilities declares the reader's limits instead of the default (short APDUs only until
// Probe says otherwise).
func WithCapabilities(c readers.Capabilities) Option { return func(r *Reader) { r.caps = c } }

// WithTimeout sets the bound used when a context has no deadline (default DefaultTimeout).
func WithTimeout(d time.Duration) Option {
	return func(r *Reader) {
		if d > 0 {
			r.timeout = d
		}
	}
}

// Reader is a readers.Reader on one PC/SC reader. It connects in shared mode, so several
// Readers (in this or other processes) may use the same card, as PC/SC allows.
type Reader struct {
	name    string
	timeout time.Duration

	mu     sync.Mutex
	caps   readers.Capabilities
	sc     *scard.Context
	card   *scard.Card
	atr    []byte
	broken chan struct{} // non-nil while an abandoned call may still be running; closed when it ends
	// connecting cancels a Connect waiting for a card (nil when none); that Connect owns sc
	// if Close runs meanwhile.
	connecting context.CancelFunc
}

var _ readers.Reader = (*Reader)(nil)

// Open returns a Reader for the PC/SC reader called name (e.g. "Virtual PCD 00 00"). It fails
// with readers.ErrNoService when pcscd is not running and readers.ErrNoReader when pcscd does
// not know the reader. It does not wait for a card: Connect does.
func Open(name string, opts ...Option) (*Reader, error) {
	r := &Reader{
		name:    name,
		timeout: DefaultTimeout,
		caps:    readers.Capabilities{MaxCommand: readers.ShortMax, MaxResponse: 258},
	}
	for _, o := range opts {
		o(r)
	}
	sc, err := scard.EstablishContext()
	if err != nil {
		return nil, r.transportErr("open", err)
	}
	names, err := sc.ListReaders()
	if err == nil && !slices.Contains(names, name) {
		err = scard.ErrUnknownReader
	}
	if err != nil {
		sc.Release()
		return nil, r.transportErr("open", err)
	}
	r.sc = sc
	return r, nil
}

// Info describes the reader; Caps are the declared or probed capabilities.
func (r *Reader) Info() readers.Info {
	r.mu.Lock()
	defer r.mu.Unlock()
	return readers.Info{Kind: readers.KindPCSC, Name: r.name, Caps: r.caps}
}

// ATR is the answer-to-reset of the connected card (nil when not connected).
func (r *Reader) ATR() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.atr)
}

func (r *Reader) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, r.timeout)
}

// Connect waits until a card is present (until the context deadline, or the Reader's timeout)
// and connects to it in shared mode with T=0 or T=1. On a Reader whose card was removed since,
// it drops the dead handle and connects again. Close ends a waiting Connect.
func (r *Reader) Connect(ctx context.Context) error {
	ctx, cancel := r.deadline(ctx)
	defer cancel()
	r.mu.Lock()
	if r.broken != nil {
		r.mu.Unlock()
		return &readers.TransportError{Reader: r.name, Op: "connect", Err: readers.ErrNotConnected, Hint: hintBroken}
	}
	if r.card != nil {
		if _, err := r.card.Status(); err == nil {
			r.mu.Unlock()
			return nil
		}
		_ = r.card.Disconnect(scard.LeaveCard) // removed or reset: start over
		r.card, r.atr = nil, nil
	}
	if err := ctx.Err(); err != nil {
		r.mu.Unlock()
		return &readers.TransportError{Reader: r.name, Op: "connect", Err: fmt.Errorf("%w: %w", readers.ErrNoCard, err)}
	}
	if r.sc == nil {
		sc, err := scard.EstablishContext()
		if err != nil {
			r.mu.Unlock()
			return r.transportErr("connect", err)
		}
		r.sc = sc
	}
	sc := r.sc
	r.connecting = cancel
	r.mu.Unlock()

	// Wait and connect without the lock, so that Info and Close stay responsive.
	err := r.waitCard(ctx, sc)
	var card *scard.Card
	if err == nil {
		card, err = sc.Connect(r.name, scard.ShareShared, scard.ProtocolAny)
		if err != nil {
			err = r.transportErr("connect", err)
		}
	}
	// ebfe/scard panics in Transmit on any other protocol.
	if err == nil {
		if p := card.ActiveProtocol(); p != scard.ProtocolT0 && p != scard.ProtocolT1 {
			err = &readers.TransportError{Reader: r.name, Op: "connect", Err: readers.ErrNotConnected,
				Hint: fmt.Sprintf("the reader negotiated protocol %d; only T=0 and T=1 are supported", p)}
		}
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	r.connecting = nil
	if r.sc != sc {
		// Closed meanwhile: Close left the context to us.
		if card != nil {
			_ = card.Disconnect(scard.LeaveCard)
		}
		_ = sc.Release()
		return &readers.TransportError{Reader: r.name, Op: "connect", Err: readers.ErrNotConnected, Hint: "closed while connecting"}
	}
	if err != nil {
		if card != nil {
			_ = card.Disconnect(scard.LeaveCard)
		}
		return err
	}
	r.card = card
	if st, err := card.Status(); err == nil {
		r.atr = slices.Clone(st.Atr)
	}
	return nil
}

// waitCard blocks until the reader reports a card, or ctx is done (ErrNoCard).
func (r *Reader) waitCard(ctx context.Context, sc *scard.Context) error {
	states := []scard.ReaderState{{Reader: r.name, CurrentState: scard.StateUnaware}}
	for {
		err := statusChange(ctx, sc, states, time.Hour)
		if ctx.Err() != nil {
			return &readers.TransportError{Reader: r.name, Op: "connect",
				Err: fmt.Errorf("%w: %w", readers.ErrNoCard, ctx.Err()), Hint: hintNoCard}
		}
		if err != nil && !errors.Is(err, scard.ErrTimeout) {
			return r.transportErr("connect", err)
		}
		ev := states[0].EventState
		if ev&scard.StateUnknown != 0 {
			return r.transportErr("connect", scard.ErrUnknownReader)
		}
		if ev&scard.StatePresent != 0 && ev&scard.StateMute == 0 {
			return nil
		}
		states[0].CurrentState = ev &^ scard.StateChanged
	}
}

// Transmit sends cmd and returns the response APDU. It gives up at the context deadline (or
// the Reader's timeout) with readers.ErrTimeout; the Reader is then broken until Close, since
// the abandoned SCardTransmit may still be running.
func (r *Reader) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	r.mu.Lock()
	maxCmd := r.caps.MaxCommand
	r.mu.Unlock()
	if maxCmd > 0 && len(cmd) > maxCmd {
		return nil, &readers.TransportError{Reader: r.name, Op: "transmit",
			Err: fmt.Errorf("%w: %d-byte command, reader takes %d", readers.ErrTransceiveLength, len(cmd), maxCmd)}
	}
	return r.transmit(ctx, cmd)
}

// transmit is Transmit without the capability check (Probe uses it to find the limits).
func (r *Reader) transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	if len(cmd) < 4 {
		// ebfe/scard panics on an empty command; an APDU has at least CLA INS P1 P2.
		return nil, &readers.TransportError{Reader: r.name, Op: "transmit",
			Err: fmt.Errorf("%w: %d-byte command is not an APDU", readers.ErrTransceiveLength, len(cmd))}
	}
	var resp []byte
	err := r.call(ctx, "transmit", func(card *scard.Card) (err error) {
		resp, err = card.Transmit(cmd)
		if errors.Is(err, scard.ErrResetCard) {
			// Another handle reset the card: report it once (the card's security status is
			// gone) and resynchronise this handle so that the next command goes through.
			_ = card.Reconnect(scard.ShareShared, scard.ProtocolAny, scard.LeaveCard)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(resp) < 2 {
		return nil, &readers.TransportError{Reader: r.name, Op: "transmit",
			Err: fmt.Errorf("%w: got %d bytes", readers.ErrShortResponse, len(resp)), Hint: hintRemoved}
	}
	return resp, nil
}

// call runs f on the connected card in a goroutine, bounded by ctx (or the Reader's timeout).
func (r *Reader) call(ctx context.Context, op string, f func(*scard.Card) error) error {
	ctx, cancel := r.deadline(ctx)
	defer cancel()
	r.mu.Lock()
	if r.broken != nil {
		r.mu.Unlock()
		return &readers.TransportError{Reader: r.name, Op: op, Err: readers.ErrNotConnected, Hint: hintBroken}
	}
	card := r.card
	if card == nil {
		r.mu.Unlock()
		return &readers.TransportError{Reader: r.name, Op: op, Err: readers.ErrNotConnected, Hint: "call Connect first"}
	}
	if err := ctx.Err(); err != nil {
		// Nothing sent yet: the Reader stays usable.
		r.mu.Unlock()
		return &readers.TransportError{Reader: r.name, Op: op, Err: fmt.Errorf("%w: %w", readers.ErrTimeout, err)}
	}
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("%w: ebfe/scard panicked: %v", readers.ErrTagLost, p)
			}
		}()
		err = f(card)
	}()
	r.mu.Unlock()
	select {
	case <-done:
		if err != nil {
			return r.transportErr(op, err)
		}
		return nil
	case <-ctx.Done():
		r.mu.Lock()
		r.broken = done
		r.mu.Unlock()
		return &readers.TransportError{Reader: r.name, Op: op,
			Err: fmt.Errorf("%w: %w", readers.ErrTimeout, ctx.Err()), Hint: hintTimeout}
	}
}

// Reset resets the card from this handle: warm (SCARD_RESET_CARD) or, with cold, a power cycle
// (SCARD_UNPOWER_CARD). Other handles on the card get readers.ErrCardReset once on their next
// Transmit, then work again.
func (r *Reader) Reset(ctx context.Context, cold bool) error {
	disp := scard.ResetCard
	if cold {
		disp = scard.UnpowerCard
	}
	var atr []byte
	err := r.call(ctx, "reset", func(card *scard.Card) error {
		if err := card.Reconnect(scard.ShareShared, scard.ProtocolAny, disp); err != nil {
			return err
		}
		if p := card.ActiveProtocol(); p != scard.ProtocolT0 && p != scard.ProtocolT1 {
			return fmt.Errorf("%w: protocol %d after reset", readers.ErrNotConnected, p)
		}
		if st, err := card.Status(); err == nil {
			atr = st.Atr
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.atr = slices.Clone(atr)
	r.mu.Unlock()
	return nil
}

// Close disconnects from the card (leaving it powered) and releases the PC/SC context. After an
// abandoned call, the release happens in the background once that call returns. The Reader may
// be connected again.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	card, sc, broken := r.card, r.sc, r.broken
	r.card, r.sc, r.broken, r.atr = nil, nil, nil, nil
	if r.connecting != nil {
		r.connecting() // the waiting Connect wakes up, sees the Reader closed and releases sc
		return nil
	}
	if broken != nil {
		// The context is locked by the hung SCardTransmit (pcsclite holds the context mutex
		// for the whole call): clean up when it returns, without blocking the caller.
		go func() {
			<-broken
			if card != nil {
				_ = card.Disconnect(scard.LeaveCard)
			}
			if sc != nil {
				_ = sc.Release()
			}
		}()
		return nil
	}
	var err error
	if card != nil {
		// A card that is gone or was reset still frees the handle.
		e := card.Disconnect(scard.LeaveCard)
		if e != nil && !errors.Is(e, scard.ErrInvalidHandle) && !errors.Is(e, scard.ErrRemovedCard) &&
			!errors.Is(e, scard.ErrResetCard) && !errors.Is(e, scard.ErrNoSmartcard) {
			err = r.transportErr("close", e)
		}
	}
	if sc != nil {
		_ = sc.Release()
	}
	return err
}
