//go:build pcsc && linux

package conformance

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/conformance/hil/stack"
	"github.com/mynaconform/mynaconform/conformance/target"
	"github.com/mynaconform/mynaconform/emulator/phone"
	"github.com/mynaconform/mynaconform/fixtures/devices"
	"github.com/mynaconform/mynaconform/readers/session"
)

// BenchmarkDevicePathPCSC is BenchmarkDevicePath through the real pcscd + vpcd: run both in one
// run (go test -tags pcsc -run '^$' -bench DevicePath ./conformance) to compare.
//
//   - slots=K: the pcsc target with K vpcd slots, K devices driven at once, each by its own
//     worker with its own emulated qualification system; every card is presented by changing
//     the virtual card behind the slot and power-cycling it (no presence poll). ms/device is the
//     wall time over the devices done (amortised), dev/s its inverse.
//   - in-process/workers=K: the same drive over K in-process devices (the profile of
//     BenchmarkDevicePath), for the PC/SC overhead at equal concurrency.
func BenchmarkDevicePathPCSC(b *testing.B) {
	if err := stack.Available(); err != nil {
		b.Skip(err)
	}
	for _, slots := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("slots=%d", slots), func(b *testing.B) {
			t, err := target.Open("pcsc", target.Options{Slots: slots})
			if err != nil {
				b.Fatal(err)
			}
			defer t.(interface{ Close() error }).Close()
			ds, err := t.Devices()
			if err != nil {
				b.Fatal(err)
			}
			if len(ds) < slots {
				b.Skipf("pcscd (started by someone else) offers %d vpcd slots", len(ds))
			}
			if c := target.Concurrency(t); c != slots {
				b.Fatalf("target reports concurrency %d for %d slots", c, slots)
			}
			benchDevicesAtOnce(b, ds)
		})
	}
	b.Run("in-process/workers=2", func(b *testing.B) {
		profiles, err := devices.Load()
		if err != nil {
			b.Fatal(err)
		}
		var prof phone.Profile
		for _, p := range profiles {
			if p.ID == "synthetic-max-65279" {
				prof = p
			}
		}
		e := &target.Emulator{Profiles: []phone.Profile{prof, prof}}
		ds, _ := e.Devices()
		benchDevicesAtOnce(b, ds)
	})
}

// benchDevicesAtOnce runs b.N whole device paths spread over the devices ds, one worker per
// device, all at once; each worker has its own world (a fake clock advanced by one device's
// activation delay must not expire another's challenge or session).
func benchDevicesAtOnce(b *testing.B, ds []target.Device) {
	ctx := context.Background()
	worlds := make([]*world, len(ds))
	for i := range ds {
		w, err := newWorld(ctx)
		if err != nil {
			b.Fatal(err)
		}
		defer w.Close()
		worlds[i] = w
	}
	errs := make([]error, len(ds))
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for k := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := k; i < b.N; i += len(ds) {
				if err := devicePath(ctx, worlds[k], ds[k], i); err != nil {
					errs[k] = fmt.Errorf("%s, device %d: %w", ds[k].ID, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	b.StopTimer()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(took.Microseconds())/float64(b.N)/1000, "ms/device")
	b.ReportMetric(float64(b.N)/took.Seconds(), "dev/s")
}

// devicePath is one device's whole path, as benchDevicePath runs it: terminal set-up,
// activation after the delay, PIN-mode consent on a fresh card, lookup, visual-mode consent on
// a fresh card, lookup.
func devicePath(ctx context.Context, w *world, d target.Device, i int) error {
	userMed, userGen := fmt.Sprintf("bm%x", i), fmt.Sprintf("bg%x", i)
	code, err := w.setUpDevice(ctx, d.ID, userMed, userGen)
	if err != nil {
		return err
	}
	w.clock.Advance(w.cfg.ActivationDelay)
	a := w.newApp()
	if err := a.Activate(ctx, userMed, w.password(userMed), code); err != nil {
		return err
	}
	adult := persona("adult")
	for _, mode := range []string{"pin", "visual"} {
		r, done, err := d.Open(adult)
		if err != nil {
			return err
		}
		if err := r.Connect(ctx); err != nil {
			done()
			return err
		}
		s := session.New(r)
		var id string
		if mode == "pin" {
			id, err = a.ConsentPIN(ctx, s, pinOf(adult), consentItems)
		} else {
			id, _, err = a.ConsentVisual(ctx, s, verificationBOf(adult), photoCheck(adult), consentItems)
		}
		done()
		if err != nil {
			return fmt.Errorf("%s consent: %w", mode, err)
		}
		if _, err := a.Lookup(ctx, id, true); err != nil {
			return fmt.Errorf("%s lookup: %w", mode, err)
		}
	}
	return nil
}
