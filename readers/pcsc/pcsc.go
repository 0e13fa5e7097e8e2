//go:build pcsc

package pcsc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

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
	pc, err := establishPlain()
	if err != nil {
		return nil, (&Reader{name: "pcscd"}).transportErr("list", err)
	}
	defer pc.release()
	names, err := pc.listReaders()
	if errors.Is(err, ErrNoReadersAvailable) {
		return nil, nil
	}
	if err != nil {
		return nil, (&Reader{name: "pcscd"}).transportErr("list", err)
	}
	states := make([]readerState, len(names))
	for i, n := range names {
		states[i] = readerState{Reader: n, Current: stateUnaware}
	}
	// With SCARD_STATE_UNAWARE, SCardGetStatusChange returns at once with the current states.
	if err := statusChange(ctx, pc, states, time.Second); err != nil {
		return nil, (&Reader{name: "pcscd"}).transportErr("list", err)
	}
	out := make([]Slot, len(names))
	for i, st := range states {
		out[i] = Slot{
			Name:    st.Reader,
			Present: st.Event&statePresent != 0 && st.Event&stateMute == 0,
			InUse:   st.Event&(stateInuse|stateExcl) != 0,
		}
		if out[i].Present {
			out[i].ATR = st.ATR
		}
	}
	return out, nil
}

// statusChange runs SCardGetStatusChange, cancelling it (SCardCancel) when ctx is done.
func statusChange(ctx context.Context, pc *pcscCtx, states []readerState, timeout time.Duration) error {
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if timeout <= 0 {
		return ctx.Err()
	}
	cancelled := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { pc.cancel(); close(cancelled) })
	defer func() {
		if !stop() {
			// The cancel has started: let it finish here, or it could reach pcscd late and
			// cancel the caller's next wait on this context.
			<-cancelled
		}
	}()
	err := pc.getStatusChange(states, timeout)
	if errors.Is(err, ErrCancelled) && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// Option configures a Reader.
type Option func(*Reader)

// WithCapabilities declares the reader's limits instead of the default (short APDUs only until
// Probe says otherwise). The receive buffer is sized from them: a response longer than
// MaxResponse is readers.ErrTagLost.
func WithCapabilities(c readers.Capabilities) Option {
	return func(r *Reader) { r.caps, r.declared = c, true }
}

// WithTimeout sets the bound used when a context has no deadline (default DefaultTimeout).
func WithTimeout(d time.Duration) Option {
	return func(r *Reader) {
		if d > 0 {
			r.timeout = d
		}
	}
}

// Reader is a readers.Reader on one PC/SC reader. It connects in shared mode, so several
// Readers (in this or other processes) may use the same card, as PC/SC allows. Its calls run
// one at a time on the caller's goroutine; a call still pending at its deadline is ended by
// shutting the context's socket to pcscd down (see scard.go), and the Reader is then broken
// until Close.
type Reader struct {
	name     string
	timeout  time.Duration
	declared bool // caps given by WithCapabilities

	sem chan struct{} // one PC/SC call at a time: they share buf

	mu      sync.Mutex
	caps    readers.Capabilities
	pc      *pcscCtx // nil after Close
	card    handle
	linked  bool // card is a connected handle
	atr     []byte
	buf     []byte // the receive buffer, reused by every call
	broken  bool   // a call was ended at its deadline: refuse work until Close
	probing bool   // Probe is running: whatever the capabilities, use the full buffer
	// connecting cancels a Connect waiting for a card (nil when none); that Connect owns pc if
	// Close runs meanwhile.
	connecting context.CancelFunc

	// The call in progress: its number (0: none), its context, the Reader's own deadline for it
	// (zero when the caller's context has one), and whether a deadline ended it.
	seq, inCall  uint64
	callPC       *pcscCtx
	callDeadline time.Time
	fired        bool
	// watchdog enforces callDeadline; armed while it is set to fire.
	watchdog      *time.Timer
	watchdogArmed bool
	// zombie is closed when the call running on a goroutine of its own returns (only on a
	// context whose socket was not found); nil when none runs or it has been waited for.
	zombie chan struct{}
}

var _ readers.Reader = (*Reader)(nil)

// Open returns a Reader for the PC/SC reader called name (e.g. "Virtual PCD 00 00"). It fails
// with readers.ErrNoService when pcscd is not running and readers.ErrNoReader when pcscd does
// not know the reader. It does not wait for a card: Connect does.
func Open(name string, opts ...Option) (*Reader, error) {
	r := &Reader{
		name:    name,
		timeout: DefaultTimeout,
		caps:    readers.Capabilities{MaxCommand: readers.ShortMax, MaxResponse: shortResponse},
		sem:     make(chan struct{}, 1),
	}
	for _, o := range opts {
		o(r)
	}
	pc, err := establish()
	if err != nil {
		return nil, r.transportErr("open", err)
	}
	names, err := pc.listReaders()
	if err == nil && !slices.Contains(names, name) {
		err = ErrUnknownReader
	}
	if err != nil {
		pc.release()
		return nil, r.transportErr("open", err)
	}
	r.pc = pc
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

// bufSize is the receive buffer the capabilities call for: pcsc-lite's extended maximum unless
// the reader is known (declared or probed) to deliver less.
func (r *Reader) bufSize() int {
	if r.probing || !r.declared && !r.caps.Probed {
		return maxResponse // Probe needs the full size to find out
	}
	switch {
	case r.caps.MaxResponse > 0:
		return min(r.caps.MaxResponse, maxResponse)
	case !r.caps.Extended:
		return shortResponse
	}
	return maxResponse
}

// Connect waits until a card is present (until the context deadline, or the Reader's timeout)
// and connects to it in shared mode with T=0 or T=1. On a Reader whose card was removed since,
// it drops the dead handle and connects again. Close ends a waiting Connect.
//
// A card whose link was lost (a handset in the loop that closed its vpcd connection after a
// failed command, as vsmartcard's Remote Smart Card Reader app does) stays listed by pcscd until
// its next presence poll (~0.4 s), and commands fail meanwhile. So Connect also checks that the
// driver reaches the card (it asks the driver for the card's ATR: no APDU reaches the card) and,
// on a reader whose driver has answered that before, waits until it does again: until pcscd has
// seen the card go and come back, or the handset's new connection in place of the old one.
func (r *Reader) Connect(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.timeout)
		defer cancel()
	}
	r.mu.Lock()
	linked := r.linked
	r.mu.Unlock()
	if linked {
		err := r.run(ctx, "connect", true, func(_ *pcscCtx, h *handle, _ []byte) error {
			if _, err := h.status(); err != nil {
				_ = h.disconnect(leaveCard) // removed or reset: start over
				return err
			}
			return nil
		})
		if err == nil {
			if err = r.awaitLink(ctx); err == nil {
				return nil
			}
			if linkDown(err) {
				r.dropHandle()
			}
		}
		r.mu.Lock()
		if r.broken || r.pc == nil || ctx.Err() != nil {
			r.mu.Unlock()
			return err
		}
		r.linked, r.atr = false, nil
		r.mu.Unlock()
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.mu.Lock()
	if r.broken {
		r.mu.Unlock()
		return &readers.TransportError{Reader: r.name, Op: "connect", Err: readers.ErrNotConnected, Hint: hintBroken}
	}
	if err := ctx.Err(); err != nil {
		r.mu.Unlock()
		return &readers.TransportError{Reader: r.name, Op: "connect", Err: fmt.Errorf("%w: %w", readers.ErrNoCard, err)}
	}
	if r.pc == nil {
		pc, err := establish()
		if err != nil {
			r.mu.Unlock()
			return r.transportErr("connect", err)
		}
		r.pc = pc
	}
	pc := r.pc
	r.connecting = cancel
	r.mu.Unlock()
	for {
		// Wait without the lock, so that Info and Close stay responsive.
		err := r.waitCard(ctx, pc)

		r.mu.Lock()
		r.connecting = nil
		if r.pc != pc {
			// Closed meanwhile: Close left the context to us.
			r.mu.Unlock()
			pc.release()
			return &readers.TransportError{Reader: r.name, Op: "connect", Err: readers.ErrNotConnected, Hint: "closed while connecting"}
		}
		r.mu.Unlock()
		if err != nil {
			return err
		}
		var atr []byte
		err = r.run(ctx, "connect", false, func(pc *pcscCtx, h *handle, _ []byte) error {
			c, err := pc.connect(r.name)
			if err != nil {
				return err
			}
			if c.proto != protoT0 && c.proto != protoT1 {
				_ = c.disconnect(leaveCard)
				return &readers.TransportError{Reader: r.name, Op: "connect", Err: readers.ErrNotConnected,
					Hint: fmt.Sprintf("the reader negotiated protocol %d; only T=0 and T=1 are supported", c.proto)}
			}
			atr, _ = c.status()
			*h = c
			return nil
		})
		if err == nil {
			if err = r.awaitLink(ctx); err == nil {
				r.mu.Lock()
				r.atr = atr
				r.mu.Unlock()
				return nil
			}
			r.dropHandle()
		}
		if !linkDown(err) || ctx.Err() != nil {
			return err
		}
		// The card is listed but cannot be reached, or has just gone: wait for it again.
		r.mu.Lock()
		if r.pc != pc || r.broken {
			r.mu.Unlock()
			return err
		}
		r.connecting = cancel
		r.mu.Unlock()
		pause(ctx) // at the deadline, waitCard reports it
	}
}

// linkPoll is how often Connect asks whether the driver reaches the card again.
const linkPoll = 20 * time.Millisecond

// attribWorks remembers the readers whose driver has answered the ATR attribute: only on those is
// a failure to answer it a lost link (another driver may not know the attribute at all).
var attribWorks sync.Map // reader name -> true

// awaitLink checks that the driver reaches the connected card and, on a reader whose driver has
// answered that before, waits until it does (see Connect). An error that linkDown accepts means the
// card went away meanwhile: connect again.
func (r *Reader) awaitLink(ctx context.Context) error {
	for {
		err := r.run(ctx, "connect", true, func(_ *pcscCtx, h *handle, _ []byte) error { return h.reachable() })
		switch {
		case err == nil:
			attribWorks.Store(r.name, true)
			return nil
		case errors.Is(err, ErrNotTransacted) || errors.Is(err, ErrUnresponsiveCard):
			if _, ok := attribWorks.Load(r.name); !ok {
				return nil // a driver that does not answer the attribute: nothing to tell
			}
		case errors.Is(err, ErrRemovedCard), errors.Is(err, ErrNoSmartcard), errors.Is(err, ErrResetCard),
			errors.Is(err, ErrUnpoweredCard):
			return err
		case errors.As(err, new(Error)):
			return nil // the attribute is not supported here (e.g. SCARD_E_UNSUPPORTED_FEATURE)
		default:
			return err // the Reader is broken, closed, or the deadline passed
		}
		if !pause(ctx) {
			return &readers.TransportError{Reader: r.name, Op: "connect",
				Err: fmt.Errorf("%w: the reader lists a card its driver cannot reach: %w", readers.ErrNoCard, ctx.Err()), Hint: hintNoCard}
		}
	}
}

// linkDown reports the failures of a card that cannot be reached or has just gone, after which
// Connect waits for it again.
func linkDown(err error) bool {
	for _, e := range []Error{ErrNotTransacted, ErrUnresponsiveCard, ErrRemovedCard, ErrNoSmartcard, ErrResetCard, ErrUnpoweredCard} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// dropHandle disconnects the handle of a card that went away, leaving the context.
func (r *Reader) dropHandle() {
	_ = r.run(context.Background(), "connect", true, func(_ *pcscCtx, h *handle, _ []byte) error {
		return h.disconnect(leaveCard)
	})
	r.mu.Lock()
	r.linked, r.atr = false, nil
	r.mu.Unlock()
}

// pause waits linkPoll; false when ctx ended first.
func pause(ctx context.Context) bool {
	t := time.NewTimer(linkPoll)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// waitCard blocks until the reader reports a card, or ctx is done (ErrNoCard).
func (r *Reader) waitCard(ctx context.Context, pc *pcscCtx) error {
	states := []readerState{{Reader: r.name, Current: stateUnaware}}
	for {
		err := statusChange(ctx, pc, states, time.Hour)
		if ctx.Err() != nil {
			return &readers.TransportError{Reader: r.name, Op: "connect",
				Err: fmt.Errorf("%w: %w", readers.ErrNoCard, ctx.Err()), Hint: hintNoCard}
		}
		if err != nil && !errors.Is(err, ErrTimeout) {
			return r.transportErr("connect", err)
		}
		ev := states[0].Event
		if ev&stateUnknown != 0 {
			return r.transportErr("connect", ErrUnknownReader)
		}
		if ev&statePresent != 0 && ev&stateMute == 0 {
			return nil
		}
		states[0].Current = ev &^ stateChanged
	}
}

// Transmit sends cmd and returns the response APDU. It gives up at the context deadline (or
// the Reader's timeout) with readers.ErrTimeout; the Reader is then broken until Close.
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
		// An APDU has at least CLA INS P1 P2 (and ebfe/scard, which this shim replaced,
		// panicked on an empty one).
		return nil, &readers.TransportError{Reader: r.name, Op: "transmit",
			Err: fmt.Errorf("%w: %d-byte command is not an APDU", readers.ErrTransceiveLength, len(cmd))}
	}
	var resp []byte
	err := r.run(ctx, "transmit", true, func(_ *pcscCtx, h *handle, buf []byte) error {
		n, err := h.transmit(cmd, buf)
		if errors.Is(err, ErrResetCard) {
			// Another handle reset the card: report it once (the card's security status is
			// gone) and resynchronise this handle so that the next command goes through.
			_ = h.reconnect(leaveCard)
		}
		if errors.Is(err, ErrInsufficientBuffer) {
			return fmt.Errorf("%w: the response is longer than the %d bytes the reader's capabilities allow: %w",
				readers.ErrTagLost, len(buf), err)
		}
		if err != nil {
			return err
		}
		resp = slices.Clone(buf[:n])
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(resp) < 2 {
		return nil, &readers.TransportError{Reader: r.name, Op: "transmit",
			Err: fmt.Errorf("%w: got %d bytes", readers.ErrShortResponse, len(resp)), Hint: hintLinkLost}
	}
	return resp, nil
}

// Reset resets the card from this handle: warm (SCARD_RESET_CARD) or, with cold, a power cycle
// (SCARD_UNPOWER_CARD). Other handles on the card get readers.ErrCardReset once on their next
// Transmit, then work again.
func (r *Reader) Reset(ctx context.Context, cold bool) error {
	disp := resetCard
	if cold {
		disp = unpowerCard
	}
	var atr []byte
	err := r.run(ctx, "reset", true, func(_ *pcscCtx, h *handle, _ []byte) error {
		if err := h.reconnect(disp); err != nil {
			return err
		}
		if h.proto != protoT0 && h.proto != protoT1 {
			return fmt.Errorf("%w: protocol %d after reset", readers.ErrNotConnected, h.proto)
		}
		atr, _ = h.status()
		return nil
	})
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.atr = atr
	r.mu.Unlock()
	return nil
}

// run makes one PC/SC call f on the Reader's context (and, with card, its connected handle),
// bounded by ctx or the Reader's timeout. f runs on the caller's goroutine; if the bound passes
// first, the watchdog (the Reader's timer, or context.AfterFunc: nothing runs unless it fires)
// kills the context's socket, which makes the pending pcsc-lite call return, and run reports
// readers.ErrTimeout. Changes f makes to the handle are kept. On a context whose socket is
// unknown, f runs on a goroutine of its own and is abandoned at the bound instead.
func (r *Reader) run(ctx context.Context, op string, card bool, f func(pc *pcscCtx, h *handle, buf []byte) error) error {
	// One call at a time; waiting for the previous one honours ctx.
	select {
	case r.sem <- struct{}{}:
	default:
		select {
		case r.sem <- struct{}{}:
		case <-ctx.Done():
			return &readers.TransportError{Reader: r.name, Op: op, Err: fmt.Errorf("%w: %w", readers.ErrTimeout, ctx.Err())}
		}
	}
	r.mu.Lock()
	switch {
	case r.broken:
		r.mu.Unlock()
		<-r.sem
		return &readers.TransportError{Reader: r.name, Op: op, Err: readers.ErrNotConnected, Hint: hintBroken}
	case r.pc == nil || card && !r.linked:
		r.mu.Unlock()
		<-r.sem
		return &readers.TransportError{Reader: r.name, Op: op, Err: readers.ErrNotConnected, Hint: "call Connect first"}
	case ctx.Err() != nil:
		// Nothing sent yet: the Reader stays usable.
		err := ctx.Err()
		r.mu.Unlock()
		<-r.sem
		return &readers.TransportError{Reader: r.name, Op: op, Err: fmt.Errorf("%w: %w", readers.ErrTimeout, err)}
	}
	pc, h := r.pc, r.card
	if want := r.bufSize(); len(r.buf) != want {
		r.buf = make([]byte, want)
	}
	buf := r.buf
	if !pc.killable() {
		done := make(chan struct{})
		r.zombie = done // until it returns, Close must leave the context to the call
		r.mu.Unlock()
		return r.runAside(ctx, op, card, pc, h, len(buf), done, f)
	}
	r.seq++
	seq := r.seq
	r.inCall, r.callPC, r.fired = seq, pc, false
	r.callDeadline = time.Time{}
	if _, ok := ctx.Deadline(); !ok {
		r.callDeadline = time.Now().Add(r.timeout)
		r.armWatchdog(r.timeout)
	}
	r.mu.Unlock()

	var stopCtx func() bool
	if ctx.Done() != nil {
		stopCtx = context.AfterFunc(ctx, func() { r.expire(seq) })
	}
	err := r.safe(pc, &h, buf, f)
	if stopCtx != nil {
		stopCtx()
	}

	r.mu.Lock()
	fired, closed := r.fired, r.pc != pc
	r.inCall, r.callPC = 0, nil
	switch {
	case fired:
		r.broken = true
	case !closed && card:
		r.card = h // Reconnect may have changed the protocol
	case !closed && err == nil:
		r.card, r.linked = h, true // a new connection
	}
	r.mu.Unlock()
	if closed {
		pc.release() // Close ran during the call and killed it
	}
	<-r.sem
	if fired {
		cause := ctx.Err()
		if cause == nil {
			cause = context.DeadlineExceeded
		}
		return &readers.TransportError{Reader: r.name, Op: op,
			Err: fmt.Errorf("%w: %w", readers.ErrTimeout, cause), Hint: hintTimeout}
	}
	if closed {
		return &readers.TransportError{Reader: r.name, Op: op, Err: readers.ErrNotConnected, Hint: "closed during the call"}
	}
	if err != nil {
		return r.transportErr(op, err)
	}
	return nil
}

// safe runs f, turning a panic into an error.
func (r *Reader) safe(pc *pcscCtx, h *handle, buf []byte, f func(*pcscCtx, *handle, []byte) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: PC/SC call panicked: %v", readers.ErrTagLost, p)
		}
	}()
	return f(pc, h, buf)
}

// armWatchdog makes sure the Reader's timer fires within d (r.mu held). The timer is not stopped
// when a call ends: it is set at most once per timeout, and when it fires it looks at the call
// then in progress (watch). Setting a timer per call would cost more than the timer: Go wakes
// the network poller whenever a new timer is earlier than its sleep.
func (r *Reader) armWatchdog(d time.Duration) {
	if r.watchdogArmed {
		return
	}
	r.watchdogArmed = true
	if r.watchdog == nil {
		r.watchdog = time.AfterFunc(d, r.watch)
		return
	}
	r.watchdog.Reset(d)
}

// watch is the Reader's timer: it kills the call in progress if that call's deadline has passed,
// and sets itself for the call's deadline if not.
func (r *Reader) watch() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.watchdogArmed = false
	if r.inCall == 0 || r.fired || r.callDeadline.IsZero() {
		return
	}
	if left := time.Until(r.callDeadline); left > 0 {
		r.armWatchdog(left)
		return
	}
	r.fired = true
	r.callPC.kill()
}

// expire is the watchdog of a context: it kills call seq if that call is still in progress.
func (r *Reader) expire(seq uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inCall == seq && !r.fired {
		r.fired = true
		r.callPC.kill()
	}
}

// runAside is run on a context whose socket is unknown: f runs on a goroutine of its own with a
// buffer of its own, and is abandoned at the bound (the Reader is then broken until Close, and
// the context is released once f returns).
func (r *Reader) runAside(ctx context.Context, op string, card bool, pc *pcscCtx, h handle, size int, done chan struct{}, f func(*pcscCtx, *handle, []byte) error) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.timeout)
		defer cancel()
	}
	buf := make([]byte, size) // an abandoned call may still write into it
	var err error
	go func() {
		defer close(done)
		err = r.safe(pc, &h, buf, f)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		r.mu.Lock()
		r.broken = true
		r.mu.Unlock()
		<-r.sem
		return &readers.TransportError{Reader: r.name, Op: op,
			Err: fmt.Errorf("%w: %w", readers.ErrTimeout, ctx.Err()), Hint: hintTimeout}
	}
	r.mu.Lock()
	if r.zombie == done {
		r.zombie = nil
	}
	switch {
	case r.pc != pc:
	case card:
		r.card = h
	case err == nil:
		r.card, r.linked = h, true
	}
	r.mu.Unlock()
	<-r.sem
	if err != nil {
		return r.transportErr(op, err)
	}
	return nil
}

// Close disconnects from the card (leaving it powered) and releases the PC/SC context. A call in
// progress on another goroutine is ended (readers.ErrNotConnected). The Reader may be connected
// again.
func (r *Reader) Close() error {
	r.mu.Lock()
	if r.watchdog != nil {
		r.watchdog.Stop()
		r.watchdogArmed = false
	}
	pc, h, linked, zombie := r.pc, r.card, r.linked, r.zombie
	if pc != nil && pc.dead {
		linked = false // the socket is shut down: only the release is left
	}
	r.pc, r.card, r.linked, r.broken, r.atr, r.zombie = nil, handle{}, false, false, nil, nil
	switch {
	case r.connecting != nil:
		r.connecting() // the waiting Connect wakes up, sees the Reader closed and releases pc
		r.mu.Unlock()
		return nil
	case r.inCall != 0 && r.callPC == pc:
		// The call's end releases pc once the call has returned.
		r.callPC.kill()
		r.mu.Unlock()
		return nil
	case zombie != nil:
		// A call runs on a goroutine of its own (abandoned at its deadline, or not yet done),
		// and pcsc-lite holds the context's mutex for all of it: clean up when it returns,
		// without blocking the caller.
		r.mu.Unlock()
		go func() {
			<-zombie
			if linked {
				_ = h.disconnect(leaveCard)
			}
			pc.release()
		}()
		return nil
	}
	r.mu.Unlock()
	if pc == nil {
		return nil
	}
	var err error
	if linked {
		// A card that is gone or was reset still frees the handle.
		e := h.disconnect(leaveCard)
		if e != nil && !errors.Is(e, ErrInvalidHandle) && !errors.Is(e, ErrRemovedCard) &&
			!errors.Is(e, ErrResetCard) && !errors.Is(e, ErrNoSmartcard) && !errors.Is(e, ErrCommError) {
			err = r.transportErr("close", e)
		}
	}
	pc.release()
	return err
}
