package readertest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/mynaconform/mynaconform/formats/iso7816"
	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/readers"
)

// Options tune Run for what the card behind the reader allows.
type Options struct {
	// AuthPIN is the JPKI authentication PIN (EF 0018) of the card. When set, the reset test
	// also verifies it, signs, resets and checks that signing is refused (6982). It is never
	// logged. Give it only for a card whose PIN is known to be right: a wrong one costs a try.
	AuthPIN string
}

// Command APDUs (card.md), built from the formats home.
var (
	selectJPKI   = apdu(0x00, iso7816.InsSelect, iso7816.SelectByName, iso7816.SelectNoFCI, mynumber.AIDJPKI.Bytes(), 0)
	selectToken  = apdu(0x00, iso7816.InsSelect, iso7816.SelectEF, iso7816.SelectNoFCI, mynumber.JPKITokenInfo.Bytes(), 0)
	readLabel    = apdu(0x00, iso7816.InsReadBinary, 0, 0, nil, 32)                           // first 32 bytes: the label
	readLabelSFI = apdu(0x00, iso7816.InsReadBinary, sfi(mynumber.JPKITokenInfo), 0, nil, 32) // same by short EF 06
	retriesAuth  = apdu(0x00, iso7816.InsVerify, 0, sfi(mynumber.JPKIAuthPIN), nil, 0)        // non-consuming retry query, EF 0018
)

// apdu encodes a constant command; it panics on a field out of range (a programming error).
func apdu(cla, ins, p1, p2 byte, data []byte, ne int) []byte {
	b, err := iso7816.NewCommand(cla, ins, p1, p2, data, ne).Bytes()
	if err != nil {
		panic(err)
	}
	return b
}

func sfi(f mynumber.FID) byte {
	b, _ := f.SFI()
	return b
}

// Run runs the conformance subtests; open returns a fresh, unconnected reader with a card
// (each subtest opens its own).
func Run(t *testing.T, open func(t *testing.T) readers.Reader) {
	RunWith(t, open, Options{})
}

// RunWith is Run with options.
func RunWith(t *testing.T, open func(t *testing.T) readers.Reader, o Options) {
	t.Run("connect", func(t *testing.T) {
		r := open(t)
		if info := r.Info(); info.Name == "" || info.Kind == "" {
			t.Errorf("Info() = %+v: no name or kind", info)
		}
		connect(t, r)
		wantSW(t, r, selectJPKI, 0x9000)
		if err := r.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		connect(t, r) // a reader may be connected again
		wantSW(t, r, selectJPKI, 0x9000)
		_ = r.Close()
	})
	t.Run("select-jpki", func(t *testing.T) {
		r := open(t)
		connect(t, r)
		defer r.Close()
		if data := wantSW(t, r, selectJPKI, 0x9000); len(data) != 0 {
			t.Errorf("SELECT with P2 0C answered data % X", data)
		}
	})
	t.Run("read-token-info", func(t *testing.T) {
		r := open(t)
		connect(t, r)
		defer r.Close()
		wantSW(t, r, selectJPKI, 0x9000)
		wantSW(t, r, selectToken, 0x9000)
		label := wantSW(t, r, readLabel, 0x9000)
		if len(label) != 32 {
			t.Fatalf("token label is %d bytes, want 32", len(label))
		}
		for _, c := range label {
			if c < 0x20 || c > 0x7E {
				t.Fatalf("token label %q is not space-padded printable ASCII", label)
			}
		}
		if sfi := wantSW(t, r, readLabelSFI, 0x9000); !bytes.Equal(sfi, label) {
			t.Errorf("short-EF read gave %q, offset read %q", sfi, label)
		}
	})
	t.Run("reset-clears-selection", func(t *testing.T) {
		r := open(t)
		connect(t, r)
		defer r.Close()
		wantSW(t, r, selectJPKI, 0x9000)
		wantSW(t, r, selectToken, 0x9000)
		reset(t, r)
		// JPKI-AP is no longer selected: its EF 0006 is not reachable without a new SELECT
		if sw1 := sw(t, r, selectToken); sw1 == 0x9000 {
			if sw2 := sw(t, r, readLabel); sw2 == 0x9000 {
				t.Error("EF 0006 readable after reset without selecting JPKI-AP again")
			}
		}
		wantSW(t, r, selectJPKI, 0x9000)
		wantSW(t, r, selectToken, 0x9000)
		wantSW(t, r, readLabel, 0x9000)
	})
	if o.AuthPIN != "" {
		t.Run("reset-clears-security", func(t *testing.T) {
			r := open(t)
			connect(t, r)
			defer r.Close()
			d := sha256.Sum256([]byte("readertest"))
			sign := apdu(mynumber.ClaProprietary, mynumber.InsComputeSignature, byte(mynumber.SigPKCS1Raw), sfi(mynumber.JPKIAuthKey), mynumber.DigestInfoSHA256(d[:]), 256)
			verify := apdu(0x00, iso7816.InsVerify, 0, sfi(mynumber.JPKIAuthPIN), []byte(o.AuthPIN), 0)
			wantSW(t, r, selectJPKI, 0x9000)
			wantSW(t, r, sign, 0x6982) // no PIN yet
			wantSW(t, r, verify, 0x9000)
			if sig := wantSW(t, r, sign, 0x9000); len(sig) != 256 {
				t.Fatalf("signature of %d bytes, want 256 (RSA-2048)", len(sig))
			}
			reset(t, r)
			wantSW(t, r, selectJPKI, 0x9000)
			wantSW(t, r, sign, 0x6982)
		})
	}
	t.Run("typed-errors", func(t *testing.T) {
		r := open(t)
		ctx := context.Background()
		_, err := r.Transmit(ctx, selectJPKI)
		transportErr(t, "Transmit before Connect", err, readers.ErrNotConnected)
		connect(t, r)
		wantSW(t, r, selectJPKI, 0x9000)
		// a query that never changes card state: still at least SW1 SW2
		if got := sw(t, r, retriesAuth); got>>8 != 0x63 && got != 0x6984 && got != 0x9000 {
			t.Errorf("retry query answered %04X", got)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		_, err = r.Transmit(ctx, selectJPKI)
		transportErr(t, "Transmit after Close", err, readers.ErrNotConnected)
		transportErr(t, "Reset after Close", r.Reset(ctx, false), readers.ErrNotConnected)
	})
	t.Run("context-cancellation", func(t *testing.T) {
		r := open(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := r.Connect(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Connect with a cancelled context: %v", err)
		}
		connect(t, r)
		defer r.Close()
		if resp, err := r.Transmit(ctx, selectJPKI); !errors.Is(err, context.Canceled) || resp != nil {
			t.Errorf("Transmit with a cancelled context: % X, %v", resp, err)
		}
		wantSW(t, r, selectJPKI, 0x9000) // the reader is still usable
	})
}

func connect(t *testing.T, r readers.Reader) {
	t.Helper()
	if err := r.Connect(context.Background()); err != nil {
		t.Fatalf("Connect: %v", err)
	}
}

func reset(t *testing.T, r readers.Reader) {
	t.Helper()
	if err := r.Reset(context.Background(), false); err != nil {
		t.Fatalf("Reset: %v", err)
	}
}

// transmit sends cmd and checks the transport contract: no error, at least SW1 SW2.
func transmit(t *testing.T, r readers.Reader, cmd []byte) (data []byte, sw uint16) {
	t.Helper()
	resp, err := r.Transmit(context.Background(), cmd)
	if err != nil {
		var te *readers.TransportError
		if !errors.As(err, &te) {
			t.Errorf("error %v is no *readers.TransportError", err)
		}
		t.Fatalf("Transmit(% X): %v", cmd[:min(len(cmd), 5)], err)
	}
	if len(resp) < 2 {
		t.Fatalf("Transmit(% X) returned %d bytes without an error", cmd[:min(len(cmd), 5)], len(resp))
	}
	n := len(resp) - 2
	return resp[:n], uint16(resp[n])<<8 | uint16(resp[n+1])
}

func sw(t *testing.T, r readers.Reader, cmd []byte) uint16 {
	t.Helper()
	_, s := transmit(t, r, cmd)
	return s
}

func wantSW(t *testing.T, r readers.Reader, cmd []byte, want uint16) []byte {
	t.Helper()
	data, s := transmit(t, r, cmd)
	if s != want {
		t.Fatalf("command % X...: SW %04X, want %04X", cmd[:min(len(cmd), 5)], s, want)
	}
	return data
}

func transportErr(t *testing.T, what string, err, want error) {
	t.Helper()
	var te *readers.TransportError
	if !errors.As(err, &te) || !errors.Is(err, want) {
		t.Errorf("%s: %v, want a *readers.TransportError matching %v", what, err, want)
	}
}
