package vpcd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/readers"
)

// fakeHandset is an NFC stack: it answers every command with the command and 9000, fails the
// commands listed in fail (once each) with the error given, and records what it saw.
type fakeHandset struct {
	mu         sync.Mutex
	connectErr error
	fail       map[byte]error // by INS
	sent       [][]byte
	connects   int
	closes     int
	taps       chan struct{} // gets a value at every Connect
}

func newFakeHandset() *fakeHandset {
	return &fakeHandset{fail: map[byte]error{}, taps: make(chan struct{}, 16)}
}

func (h *fakeHandset) Info() readers.Info { return readers.Info{Name: "fake handset"} }

func (h *fakeHandset) Connect(context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.connects++
	select {
	case h.taps <- struct{}{}:
	default:
	}
	return h.connectErr
}

func (h *fakeHandset) Transmit(_ context.Context, cmd []byte) ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sent = append(h.sent, bytes.Clone(cmd))
	if err, ok := h.fail[cmd[1]]; ok {
		delete(h.fail, cmd[1])
		return nil, err
	}
	return append(bytes.Clone(cmd), 0x90, 0x00), nil
}

func (h *fakeHandset) Reset(context.Context, bool) error { return nil }

func (h *fakeHandset) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closes++
	return nil
}

func (h *fakeHandset) state() (sent [][]byte, connects, closes int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]byte(nil), h.sent...), h.connects, h.closes
}

func runApp(t *testing.T, a *App, addr string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Dial(ctx, addr, WithBackoff(time.Millisecond, 10*time.Millisecond)) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Dial: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("Dial did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

var appATR = TypeBATR([]byte{0x00, 0x00, 0x05, 0xE0}, []byte{0xB3, 0x81, 0xA1}, AndroidNfcBMaxTransceive)

// The app's answers to vpcd: power on does nothing, power off and reset send SELECT MF to the card
// and answer nothing, get ATR gives the app's ATR, a command APDU the handset's response.
func TestAppAnswersAsTheRemoteReader(t *testing.T) {
	ln, accept := fakeVPCD(t)
	h := newFakeHandset()
	runApp(t, &App{Handset: h, ATR: appATR}, ln.Addr().String())
	c := accept()

	send(t, c, []byte{ctrlPowerOn})
	send(t, c, []byte{ctrlPowerOff})
	send(t, c, []byte{ctrlReset})
	send(t, c, []byte{ctrlGetATR})
	if got := recv(t, c); !bytes.Equal(got, appATR) {
		t.Fatalf("ATR % X, want % X", got, appATR)
	}
	cmd := []byte{0x00, 0xB0, 0x00, 0x00, 0x10}
	send(t, c, cmd)
	if got := recv(t, c); !bytes.Equal(got, append(bytes.Clone(cmd), 0x90, 0x00)) {
		t.Fatalf("response % X", got)
	}
	sent, connects, _ := h.state()
	want := [][]byte{selectMF, selectMF, cmd}
	if len(sent) != len(want) {
		t.Fatalf("the card got %d commands (% X), want SELECT MF twice and the APDU", len(sent), sent)
	}
	for i := range want {
		if !bytes.Equal(sent[i], want[i]) {
			t.Errorf("command %d to the card: % X, want % X", i+1, sent[i], want[i])
		}
	}
	if connects != 1 {
		t.Errorf("%d connects, want one tap", connects)
	}
}

// A failure of the handset's NFC stack is not turned into a status word: the worker closes the
// vpcd connection without answering and ejects the tag; after the re-tap delay the handset
// connects again and a new connection answers.
func TestAppDropsTheConnectionOnAHandsetFailure(t *testing.T) {
	for _, fault := range []error{readers.ErrTransceiveLength, readers.ErrTagLost, readers.ErrTimeout} {
		t.Run(fault.Error(), func(t *testing.T) {
			ln, accept := fakeVPCD(t)
			h := newFakeHandset()
			h.fail[0x2A] = &readers.TransportError{Reader: "fake", Op: "transmit", Err: fault}
			runApp(t, &App{Handset: h, ATR: appATR, Retap: time.Millisecond}, ln.Addr().String())
			c := accept()
			send(t, c, []byte{0x80, 0x2A, 0x00, 0x80, 0x01, 0x00})
			var b [1]byte
			if n, err := c.Read(b[:]); !errors.Is(err, io.EOF) {
				t.Fatalf("after the failure vpcd read %d bytes, %v; want the connection closed with no answer", n, err)
			}
			c2 := accept() // the next tap
			send(t, c2, []byte{ctrlGetATR})
			if got := recv(t, c2); !bytes.Equal(got, appATR) {
				t.Fatalf("ATR after the re-tap % X", got)
			}
			_, connects, closes := h.state()
			if connects != 2 || closes != 1 {
				t.Errorf("%d connects and %d ejects, want 2 and 1", connects, closes)
			}
		})
	}
}

// A control code the app does not know ends its worker; vpcd closing the connection makes the
// app eject the tag; the stand-in then dials again.
func TestAppEndsOnUnknownControlAndRedials(t *testing.T) {
	ln, accept := fakeVPCD(t)
	h := newFakeHandset()
	runApp(t, &App{Handset: h, ATR: appATR}, ln.Addr().String())
	c := accept()
	send(t, c, []byte{0x03})
	var b [1]byte
	if _, err := c.Read(b[:]); !errors.Is(err, io.EOF) {
		t.Fatalf("unknown control: %v, want the connection closed", err)
	}
	c2 := accept()
	c2.Close() // pcscd stops
	c3 := accept()
	send(t, c3, []byte{ctrlGetATR})
	if got := recv(t, c3); !bytes.Equal(got, appATR) {
		t.Fatalf("ATR % X", got)
	}
	if sent, _, closes := h.state(); len(sent) != 0 || closes != 2 {
		t.Errorf("card got % X, %d ejects; want nothing sent and 2 ejects", sent, closes)
	}
}

// A handset without NFC (or without ISO-DEP) never dials vpcd: the app sees no tag.
func TestAppWithoutISODepNeverDials(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dialled := make(chan struct{}, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			dialled <- struct{}{}
			c.Close()
		}
	}()
	h := newFakeHandset()
	h.connectErr = &readers.TransportError{Reader: "fake", Op: "connect", Err: readers.ErrNoISODep}
	stop := runApp(t, &App{Handset: h, ATR: appATR}, ln.Addr().String())
	<-h.taps // Dial gives up on such a handset at its first tap and only waits for the end
	stop()
	select {
	case <-dialled:
		t.Fatal("a handset without ISO-DEP dialled vpcd")
	default:
	}
	if _, connects, _ := h.state(); connects != 1 {
		t.Errorf("%d connects, want 1", connects)
	}
}

// The ATR is built as the app builds it for a Type B card (PC/SC part 3): ATR 06's ATQB data with
// the NCI stack's NfcB maximum gives MBLI 1; a maximum that fits no buffer size, or an RFU frame
// size, gives no historical bytes.
func TestTypeBATR(t *testing.T) {
	for _, tc := range []struct {
		app, proto []byte
		max        int
		want       []byte
	}{
		{[]byte{0x00, 0x00, 0x05, 0xE0}, []byte{0xB3, 0x81, 0xA1}, 253,
			[]byte{0x3B, 0x88, 0x80, 0x01, 0x00, 0x00, 0x05, 0xE0, 0xB3, 0x81, 0xA1, 0x10, 0x6F}},
		{[]byte{0x00, 0x4B, 0x51, 0xFF}, []byte{0x00, 0x81, 0xD1}, 253,
			[]byte{0x3B, 0x88, 0x80, 0x01, 0x00, 0x4B, 0x51, 0xFF, 0x00, 0x81, 0xD1, 0x10, 0xAC}},
		{[]byte{0x00, 0x00, 0x05, 0xE0}, []byte{0xB3, 0x81, 0xA1}, 1019, // 1024-byte buffer: MBLI 3
			[]byte{0x3B, 0x88, 0x80, 0x01, 0x00, 0x00, 0x05, 0xE0, 0xB3, 0x81, 0xA1, 0x30, 0x4F}},
		{[]byte{0x00, 0x00, 0x05, 0xE0}, []byte{0xB3, 0x81, 0xA1}, 0, // PN544: NfcB maximum 0
			[]byte{0x3B, 0x80, 0x80, 0x01, 0x01}},
		{[]byte{0x00, 0x00, 0x05, 0xE0}, []byte{0xB3, 0x91, 0xA1}, 253, // frame size code 9: RFU
			[]byte{0x3B, 0x80, 0x80, 0x01, 0x01}},
		{[]byte{0x00, 0x00, 0x05}, []byte{0xB3, 0x81, 0xA1}, 253, []byte{0x3B, 0x80, 0x80, 0x01, 0x01}},
	} {
		if got := TypeBATR(tc.app, tc.proto, tc.max); !bytes.Equal(got, tc.want) {
			t.Errorf("TypeBATR(% X, % X, %d) = % X, want % X", tc.app, tc.proto, tc.max, got, tc.want)
		}
	}
}
