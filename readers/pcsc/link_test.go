//go:build pcsc

package pcsc_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/conformance/hil/stack"
	"github.com/mynaconform/mynaconform/conformance/hil/testcard"
	"github.com/mynaconform/mynaconform/emulator/vpcd"
	"github.com/mynaconform/mynaconform/readers"
)

// insDrop is a command the handset below cannot carry.
const insDrop = 0xE5

// dropHandset is a handset's NFC stack with a testcard in its field: it refuses insDrop as a stack
// refuses a command longer than it carries, and every tap is a new session of the card.
type dropHandset struct {
	mu sync.Mutex
	c  *testcard.Card
}

func (h *dropHandset) Info() readers.Info                { return readers.Info{Name: "drop handset"} }
func (h *dropHandset) Connect(context.Context) error     { h.c.PowerOn(); return nil }
func (h *dropHandset) Reset(context.Context, bool) error { return nil }
func (h *dropHandset) Close() error                      { h.c.PowerOff(); return nil }

func (h *dropHandset) Transmit(_ context.Context, cmd []byte) ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if cmd[1] == insDrop {
		return nil, &readers.TransportError{Reader: "drop handset", Op: "transmit", Err: readers.ErrTransceiveLength}
	}
	return h.c.Transmit(cmd), nil
}

// TestConnectAfterALostLink: a handset in the loop (vsmartcard's Remote Smart Card Reader app)
// closes its vpcd connection when its NFC stack fails a command, and dials again at the next tap.
// The failed command is a transport error; Connect then waits until the card is reachable again,
// whether the handset is back before pcscd's next presence poll (pcscd never saw it go) or after
// it (pcscd saw the card removed and inserted), and the next command reaches the new session.
func TestConnectAfterALostLink(t *testing.T) {
	need(t)
	for _, retap := range []time.Duration{10 * time.Millisecond, time.Second} {
		t.Run("retap "+retap.String(), func(t *testing.T) {
			app := &vpcd.App{Handset: &dropHandset{c: testcard.New(atr0)}, ATR: atr1, Retap: retap}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); _ = app.Dial(ctx, stack.Addr(0)) }()
			t.Cleanup(func() { cancel(); <-done; waitPresent(t, 0, false) })
			waitPresent(t, 0, true)

			r := open(t, 0)
			verify := append([]byte{0x00, testcard.InsVerify, 0x00, 0x80, 0x04}, testcard.PIN...)
			protected := []byte{0x00, testcard.InsReadBinary, 0x80, 0x00, 0x10}
			wantSW(t, transmit(t, r, verify), 0x9000)
			wantSW(t, transmit(t, r, protected), 0x9000)
			_, err := r.Transmit(testCtx(t), []byte{0x00, insDrop, 0x00, 0x00})
			wantTransport(t, err, readers.ErrShortResponse, readers.ErrTagLost, readers.ErrCardRemoved)
			t.Logf("the dropped command: %v", err)

			r.Close()
			if err := r.Connect(testCtx(t)); err != nil {
				t.Fatalf("connect after the lost link: %v", err)
			}
			wantSW(t, transmit(t, r, protected), 0x6982) // a new tap: the security status is gone
			wantSW(t, transmit(t, r, verify), 0x9000)
			wantSW(t, transmit(t, r, protected), 0x9000)
		})
	}
}
