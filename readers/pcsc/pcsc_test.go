//go:build pcsc

package pcsc_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/conformance/hil/stack"
	"github.com/mynaconform/mynaconform/conformance/hil/testcard"
	"github.com/mynaconform/mynaconform/readers"
	"github.com/mynaconform/mynaconform/readers/pcsc"
)

// held is the PC/SC stack this test binary holds for its whole run (one pcscd per machine).
var held stack.Held

func TestMain(m *testing.M) { os.Exit(stack.RunTests(m, &held)) }

func need(t testing.TB) {
	t.Helper()
	held.Need(t)
}

var atr0 = []byte{0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14}
var atr1 = []byte{0x3B, 0x80, 0x80, 0x01, 0x01}

// testCtx bounds one test: nothing may hang.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// insert puts c into slot and waits until pcscd reports it present.
func insert(t testing.TB, c *testcard.Card, slot int) (remove func()) {
	t.Helper()
	remove = stack.Insert(c, slot)
	t.Cleanup(func() { c.Release(); remove(); waitPresent(t, slot, false) })
	waitPresent(t, slot, true)
	return remove
}

func waitPresent(t testing.TB, slot int, want bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := stack.WaitPresent(ctx, slot, want); err != nil {
		t.Fatal(err)
	}
}

func open(t testing.TB, slot int, opts ...pcsc.Option) *pcsc.Reader {
	t.Helper()
	r, err := pcsc.Open(stack.ReaderName(slot), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	if err := r.Connect(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	return r
}

func transmit(t testing.TB, r *pcsc.Reader, cmd []byte) []byte {
	t.Helper()
	resp, err := r.Transmit(testCtx(t), cmd)
	if err != nil {
		t.Fatalf("transmit % X: %v", cmd, err)
	}
	return resp
}

func wantSW(t testing.TB, resp []byte, sw uint16) {
	t.Helper()
	if len(resp) < 2 || uint16(resp[len(resp)-2])<<8|uint16(resp[len(resp)-1]) != sw {
		t.Fatalf("response ends % X, want %04X", resp[max(0, len(resp)-2):], sw)
	}
}

func wantTransport(t testing.TB, err error, sentinels ...error) {
	t.Helper()
	var te *readers.TransportError
	if !errors.As(err, &te) {
		t.Fatalf("error %v (%T) is not a *readers.TransportError", err, err)
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("error %v matches none of %v", err, sentinels)
}

func TestOpenUnknownReader(t *testing.T) {
	need(t)
	_, err := pcsc.Open("No Such Reader 99")
	wantTransport(t, err, readers.ErrNoReader)
}

func TestListAndConnect(t *testing.T) {
	need(t)
	insert(t, testcard.New(atr0), 0)
	slots, err := pcsc.List(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, s := range slots {
		if s.Name == stack.ReaderName(0) {
			found = true
			if !s.Present || !bytes.Equal(s.ATR, atr0) {
				t.Fatalf("slot 0 = %+v, want present with ATR % X", s, atr0)
			}
		}
	}
	if !found {
		t.Fatalf("%q not listed: %+v", stack.ReaderName(0), slots)
	}
	r := open(t, 0)
	if !bytes.Equal(r.ATR(), atr0) {
		t.Fatalf("ATR % X", r.ATR())
	}
	if info := r.Info(); info.Kind != readers.KindPCSC || info.Name != stack.ReaderName(0) || info.Caps.Extended {
		t.Fatalf("info before probe = %+v", info)
	}
	wantSW(t, transmit(t, r, []byte{0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00}), 0x9000)
	// A short read and an extended read come back whole.
	if resp := transmit(t, r, []byte{0x00, 0xB0, 0x00, 0x00, 0x00}); len(resp) != 258 {
		t.Fatalf("short READ: %d bytes", len(resp))
	}
	if resp := transmit(t, r, []byte{0x00, 0xB0, 0x00, 0x00, 0x00, 0x10, 0x00}); len(resp) != 4098 {
		t.Fatalf("extended READ: %d bytes", len(resp))
	}
}

func TestConnectWaitsForCard(t *testing.T) {
	need(t)
	r, err := pcsc.Open(stack.ReaderName(1))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(testCtx(t), 300*time.Millisecond)
	defer cancel()
	wantTransport(t, r.Connect(ctx), readers.ErrNoCard)

	// Connect started before the card arrives returns once it is there.
	c := testcard.New(atr1)
	done := make(chan error, 1)
	go func() { done <- r.Connect(testCtx(t)) }()
	insert(t, c, 1)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	wantSW(t, transmit(t, r, []byte{0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00}), 0x9000)
}

// TestCloseEndsConnect: Close wakes a Connect that waits for a card.
func TestCloseEndsConnect(t *testing.T) {
	need(t)
	r, err := pcsc.Open(stack.ReaderName(1))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Connect(testCtx(t)) }()
	// Close may run before Connect starts waiting; then Connect runs on a closed Reader and
	// waits for its own deadline, so keep closing until it returns.
	for {
		r.Close()
		select {
		case err := <-done:
			wantTransport(t, err, readers.ErrNotConnected, readers.ErrNoCard)
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestShortResponses: a 1-byte answer, and a card killed mid-APDU (docs/pcsc.md: SCardTransmit may
// then succeed with 0 bytes), are typed failures, never responses.
func TestShortResponses(t *testing.T) {
	need(t)
	insert(t, testcard.New(atr0), 0)
	r := open(t, 0)
	resp, err := r.Transmit(testCtx(t), []byte{0x00, testcard.InsOneByte, 0x00, 0x00})
	if resp != nil {
		t.Fatalf("got response % X", resp)
	}
	wantTransport(t, err, readers.ErrShortResponse)
	// The reader stays usable.
	wantSW(t, transmit(t, r, []byte{0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00}), 0x9000)
}

func TestCardKilledMidAPDU(t *testing.T) {
	need(t)
	done := killCard(t, 1)
	waitPresent(t, 1, true)
	r := open(t, 1)
	resp, err := r.Transmit(testCtx(t), []byte{0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00})
	if resp != nil {
		t.Fatalf("got response % X", resp)
	}
	wantTransport(t, err, readers.ErrShortResponse, readers.ErrCardRemoved, readers.ErrNoCard, readers.ErrTagLost)
	t.Logf("card killed mid-APDU: %v", err)
	<-done
	waitPresent(t, 1, false)
}

// killCard speaks vpcd's protocol just far enough to be inserted in slot, and closes the
// connection when the first command APDU arrives.
func killCard(t *testing.T, slot int) <-chan struct{} {
	t.Helper()
	c, err := net.DialTimeout("tcp", stack.Addr(slot), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer c.Close()
		var hdr [2]byte
		for {
			if _, err := io.ReadFull(c, hdr[:]); err != nil {
				return
			}
			msg := make([]byte, binary.BigEndian.Uint16(hdr[:]))
			if _, err := io.ReadFull(c, msg); err != nil {
				return
			}
			switch {
			case len(msg) == 1 && msg[0] == 0x04:
				c.Write(append([]byte{0, byte(len(atr1))}, atr1...))
			case len(msg) > 1:
				return // dies with the APDU in flight
			}
		}
	}()
	return done
}

// TestMalformedCommands: ebfe/scard panics on an empty command; the Reader refuses it.
func TestMalformedCommands(t *testing.T) {
	need(t)
	insert(t, testcard.New(atr0), 0)
	r := open(t, 0)
	for _, cmd := range [][]byte{nil, {}, {0x00}, {0x00, 0xA4, 0x04}} {
		_, err := r.Transmit(testCtx(t), cmd)
		wantTransport(t, err, readers.ErrTransceiveLength)
	}
	wantSW(t, transmit(t, r, []byte{0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00}), 0x9000)
}

// TestFramingLimit: a 65535-byte response (the vpcd framing maximum) arrives whole; a longer
// one is answered 6700 by the slot instead of breaking the link.
func TestFramingLimit(t *testing.T) {
	need(t)
	insert(t, testcard.New(atr0), 0)
	r := open(t, 0)
	resp := transmit(t, r, []byte{0x00, testcard.InsLong, 0xFF, 0xFD}) // 65533 + SW
	if len(resp) != 65535 {
		t.Fatalf("got %d bytes, want 65535", len(resp))
	}
	wantSW(t, resp, 0x9000)
	resp = transmit(t, r, []byte{0x00, testcard.InsLong, 0xFF, 0xFE}) // 65534 + SW: too long
	if !bytes.Equal(resp, []byte{0x67, 0x00}) {
		t.Fatalf("over-long response: got %d bytes ending % X, want 67 00", len(resp), resp[max(0, len(resp)-2):])
	}
	// The card is still there.
	wantSW(t, transmit(t, r, []byte{0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00}), 0x9000)
}

// TestHungCard: SCardTransmit has no timeout; the deadline ends the call, the Reader reports
// ErrTimeout and refuses work until Close; after that it connects again.
func TestHungCard(t *testing.T) {
	need(t)
	c := testcard.New(atr0)
	insert(t, c, 0)
	r := open(t, 0)
	ctx, cancel := context.WithTimeout(testCtx(t), 300*time.Millisecond)
	defer cancel()
	_, err := r.Transmit(ctx, []byte{0x00, testcard.InsHang, 0x00, 0x00})
	wantTransport(t, err, readers.ErrTimeout)
	_, err = r.Transmit(testCtx(t), []byte{0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00})
	wantTransport(t, err, readers.ErrNotConnected)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	c.Release()
	if err := r.Connect(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	wantSW(t, transmit(t, r, []byte{0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00}), 0x9000)
}

// TestDeadlineWithoutGoroutine: the Reader found its context's socket to pcscd, so that a
// deadline ends a pending SCardTransmit by shutting that socket down instead of leaving a
// goroutine behind; and a cancelled context (no deadline) ends it as well.
func TestDeadlineWithoutGoroutine(t *testing.T) {
	need(t)
	c := testcard.New(atr0)
	insert(t, c, 0)
	r := open(t, 0)
	if !pcsc.Killable(r) {
		t.Fatal("the Reader did not find its context's socket: deadlines fall back to a goroutine per call")
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	go func() {
		// Cancel once the command is with the card (it hangs there until Release).
		<-c.Hanging()
		cancel()
	}()
	_, err := r.Transmit(ctx, []byte{0x00, testcard.InsHang, 0x00, 0x00})
	wantTransport(t, err, readers.ErrTimeout)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want the cancellation as the cause, got %v", err)
	}
	_, err = r.Transmit(testCtx(t), []byte{0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00})
	wantTransport(t, err, readers.ErrNotConnected)
	r.Close()
	c.Release()
	if err := r.Connect(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if !pcsc.Killable(r) {
		t.Fatal("after Close and Connect the new context's socket was not found")
	}
	wantSW(t, transmit(t, r, []byte{0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00}), 0x9000)
}

// TestReaderTimeoutEndsHungCall: without a deadline in the context, the Reader's own timeout
// (WithTimeout) ends a Transmit to a hung card, and the Reader is broken until Close.
func TestReaderTimeoutEndsHungCall(t *testing.T) {
	need(t)
	c := testcard.New(atr0)
	insert(t, c, 0)
	r := open(t, 0, pcsc.WithTimeout(300*time.Millisecond))
	// Calls that each end in time are never ended, for as long as they go on in all (the
	// Reader's one timer is set per timeout, not per call, and must follow the call in progress).
	for start := time.Now(); time.Since(start) < 3*300*time.Millisecond; {
		resp, err := r.Transmit(context.Background(), []byte{0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00})
		if err != nil {
			t.Fatalf("a call that ended in time, %v after the first: %v", time.Since(start), err)
		}
		wantSW(t, resp, 0x9000)
	}
	_, err := r.Transmit(context.Background(), []byte{0x00, testcard.InsHang, 0x00, 0x00})
	wantTransport(t, err, readers.ErrTimeout)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the Reader's deadline as the cause, got %v", err)
	}
	_, err = r.Transmit(context.Background(), []byte{0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00})
	wantTransport(t, err, readers.ErrNotConnected)
	r.Close()
	c.Release()
	if err := r.Connect(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	wantSW(t, transmit(t, r, []byte{0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00}), 0x9000)
}

// TestCloseEndsHungTransmit: Close from another goroutine ends a Transmit that waits for a hung
// card (long before that Transmit's own deadline), and the Reader connects again afterwards.
func TestCloseEndsHungTransmit(t *testing.T) {
	need(t)
	c := testcard.New(atr0)
	insert(t, c, 0)
	r := open(t, 0)
	done := make(chan error, 1)
	go func() {
		_, err := r.Transmit(testCtx(t), []byte{0x00, testcard.InsHang, 0x00, 0x00})
		done <- err
	}()
	<-c.Hanging()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	err := <-done
	wantTransport(t, err, readers.ErrNotConnected)
	if errors.Is(err, readers.ErrTimeout) {
		t.Fatalf("Close ended the call, not its deadline: got %v", err)
	}
	c.Release()
	if err := r.Connect(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	wantSW(t, transmit(t, r, []byte{0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00}), 0x9000)
}

// TestHungCardFallback: on a context whose socket is unknown (no /proc), the deadline is still
// honoured, by abandoning the call on a goroutine of its own; Close then releases the context
// once the call returns, and the Reader connects again.
func TestHungCardFallback(t *testing.T) {
	need(t)
	c := testcard.New(atr0)
	insert(t, c, 0)
	r := open(t, 0)
	pcsc.ForgetSocket(r)
	wantSW(t, transmit(t, r, []byte{0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00}), 0x9000)
	ctx, cancel := context.WithTimeout(testCtx(t), 300*time.Millisecond)
	defer cancel()
	_, err := r.Transmit(ctx, []byte{0x00, testcard.InsHang, 0x00, 0x00})
	wantTransport(t, err, readers.ErrTimeout)
	_, err = r.Transmit(testCtx(t), []byte{0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00})
	wantTransport(t, err, readers.ErrNotConnected)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	c.Release()
	if err := r.Connect(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	wantSW(t, transmit(t, r, []byte{0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00}), 0x9000)
}

// TestCardRemoval: a card away for longer than pcscd's ~0.4 s poll is a typed failure on the
// old handle; after it comes back, Close and Connect work again.
func TestCardRemoval(t *testing.T) {
	need(t)
	c := testcard.New(atr0)
	remove := insert(t, c, 0)
	r := open(t, 0)
	wantSW(t, transmit(t, r, []byte{0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00}), 0x9000)
	remove()
	waitPresent(t, 0, false)
	_, err := r.Transmit(testCtx(t), []byte{0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00})
	wantTransport(t, err, readers.ErrCardRemoved, readers.ErrNoCard)
	t.Logf("removed card: %v", err)

	insert(t, c, 0)
	_, err = r.Transmit(testCtx(t), []byte{0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00})
	wantTransport(t, err, readers.ErrCardRemoved, readers.ErrNoCard)
	// Connect on the stale handle connects again, without Close.
	if err := r.Connect(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	wantSW(t, transmit(t, r, []byte{0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00}), 0x9000)
}

// TestResetFromOtherHandle: a reset from one handle clears the card's security status and
// gives the other handle one ErrCardReset, after which that handle works again.
func TestResetFromOtherHandle(t *testing.T) {
	need(t)
	insert(t, testcard.New(atr0), 0)
	a, b := open(t, 0), open(t, 0)
	protected := []byte{0x00, testcard.InsReadBinary, 0x80, 0x00, 0x10}
	verify := append([]byte{0x00, testcard.InsVerify, 0x00, 0x80, 0x04}, testcard.PIN...)
	wantSW(t, transmit(t, a, protected), 0x6982)
	for _, cold := range []bool{false, true} {
		wantSW(t, transmit(t, a, verify), 0x9000)
		wantSW(t, transmit(t, a, protected), 0x9000)
		wantSW(t, transmit(t, b, protected), 0x9000) // security status is the card's, shared
		if err := b.Reset(testCtx(t), cold); err != nil {
			t.Fatalf("reset (cold=%v): %v", cold, err)
		}
		_, err := a.Transmit(testCtx(t), protected)
		wantTransport(t, err, readers.ErrCardReset)
		wantSW(t, transmit(t, a, protected), 0x6982)
		wantSW(t, transmit(t, b, protected), 0x6982)
	}
}

// TestProbe: through pcscd + vpcd, extended APDUs pass up to the 65535-byte framing limit.
func TestProbe(t *testing.T) {
	need(t)
	insert(t, testcard.New(atr0), 0)
	r := open(t, 0)
	res, err := r.Probe(testCtx(t))
	if err != nil {
		t.Fatalf("probe: %v (%+v)", err, res.Steps)
	}
	want := readers.Capabilities{Extended: true, Probed: true, MaxCommand: 65535}
	if res.Caps != want || r.Info().Caps != want || !res.ExtendedLc || !res.ExtendedLe {
		t.Fatalf("probe = %+v, info caps %+v; want %+v", res, r.Info().Caps, want)
	}
	// Transmit now refuses what the reader cannot carry, before it reaches PC/SC.
	_, err = r.Transmit(testCtx(t), make([]byte, 65536))
	wantTransport(t, err, readers.ErrTransceiveLength)
}
