//go:build pcsc && linux

package target_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/conformance/hil/stack"
	"github.com/mynaconform/mynaconform/conformance/target"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/readers"
	"github.com/mynaconform/mynaconform/readers/session"
)

func openPCSC(t *testing.T, slots int) (target.Target, []target.Device) {
	t.Helper()
	if err := stack.Available(); err != nil {
		t.Skip(err)
	}
	tg, err := target.Open("pcsc", target.Options{Slots: slots})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tg.(interface{ Close() error }).Close(); err != nil {
			t.Error(err)
		}
	})
	ds, err := tg.Devices()
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) < slots {
		t.Skipf("pcscd (started by someone else) offers %d vpcd slots", len(ds))
	}
	return tg, ds
}

func persona(t *testing.T, id string) *fixtures.Persona {
	t.Helper()
	p, err := fixtures.PersonaByID(id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// authCert opens a card of p on d and reads its user-authentication certificate.
func authCert(ctx context.Context, d target.Device, p *fixtures.Persona) ([]byte, error) {
	r, done, err := d.Open(p)
	if err != nil {
		return nil, err
	}
	defer done()
	if err := r.Connect(ctx); err != nil {
		return nil, err
	}
	s := session.New(r)
	if err := s.SelectAID(ctx, mynumber.AIDJPKI); err != nil {
		return nil, err
	}
	return s.ReadObject(ctx, mynumber.JPKIAuthCert)
}

// TestPCSCSlotsAreDevices: every vpcd slot is a device of its own with the probed capabilities,
// the target says they may all run at once, and cards of different personas presented on
// different devices at the same time answer each with its own persona's data.
func TestPCSCSlotsAreDevices(t *testing.T) {
	tg, ds := openPCSC(t, 2)
	if got := target.Concurrency(tg); got != len(ds) {
		t.Fatalf("Concurrency = %d for %d slot devices", got, len(ds))
	}
	if ds[0].ID == ds[1].ID || ds[0].ID != "pcsc-virtual-pcd-00-00" {
		t.Fatalf("device IDs %q, %q", ds[0].ID, ds[1].ID)
	}
	for _, d := range ds {
		if !d.Info.Caps.Extended || !d.Info.Caps.Probed || d.Info.Kind != readers.KindPCSC {
			t.Fatalf("%s: info %+v, want probed extended PC/SC", d.ID, d.Info)
		}
	}
	ctx := testCtx(t)
	ps := []*fixtures.Persona{persona(t, "adult"), persona(t, "elderly")}
	errs := make([]error, len(ds))
	var wg sync.WaitGroup
	for round := range 3 {
		for i, d := range ds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := ps[(i+round)%len(ps)]
				cert, err := authCert(ctx, d, p)
				if err == nil && !bytes.Equal(cert, p.AuthCert) {
					err = fmt.Errorf("round %d: %s answered another persona's certificate than %s's", round, d.ID, p.ID)
				}
				errs[i] = errors.Join(errs[i], err)
			}()
		}
		wg.Wait()
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// TestPCSCOpenPresentsAFreshCard: each Open of a device presents a new card. A wrong PIN on one
// card costs it a try, which survives power cycles on a real card, so the next card of the same
// persona, showing every try left, is another card; and while one card is open, a second Open of
// the same device waits for its release (had it power-cycled the slot meanwhile, the first
// card's next command would fail with ErrCardReset).
func TestPCSCOpenPresentsAFreshCard(t *testing.T) {
	_, ds := openPCSC(t, 1)
	d := ds[0]
	ctx := testCtx(t)
	adult := persona(t, "adult")
	r, done, err := d.Open(adult)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	s := session.New(r)
	if err := s.SelectAID(ctx, mynumber.AIDJPKI); err != nil {
		t.Fatal(err)
	}
	wrong := []byte("0000")
	if adult.AuthPIN == "0000" {
		wrong = []byte("9999")
	}
	var pe *session.PINError
	if err := s.Verify(ctx, mynumber.JPKIAuthPIN, wrong, session.SecretPIN); !errors.As(err, &pe) || pe.Retries != 2 {
		t.Fatalf("wrong PIN: %v, want 2 tries left", err)
	}

	var mu sync.Mutex
	var events []string
	second := make(chan error, 1)
	go func() {
		r2, done2, err := d.Open(adult)
		if err == nil {
			mu.Lock()
			events = append(events, "second open")
			mu.Unlock()
			err = r2.Connect(ctx)
			if err == nil {
				s2 := session.New(r2)
				if err = s2.SelectAID(ctx, mynumber.AIDJPKI); err == nil {
					var n int
					n, err = s2.Retries(ctx, mynumber.JPKIAuthPIN)
					if err == nil && n != 3 {
						err = fmt.Errorf("the next card has %d tries left, want 3 (a fresh card)", n)
					}
				}
			}
			done2()
		}
		second <- err
	}()
	// The first card keeps working while the second Open waits.
	for range 20 {
		if n, err := s.Retries(ctx, mynumber.JPKIAuthPIN); err != nil || n != 2 {
			t.Fatalf("first card while a second Open waits: %d tries, %v", n, err)
		}
	}
	mu.Lock()
	events = append(events, "first released")
	mu.Unlock()
	done()
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	if events[0] != "first released" {
		t.Fatalf("events %v: the second Open did not wait for the first card's release", events)
	}
}
