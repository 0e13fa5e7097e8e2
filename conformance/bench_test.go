package conformance

import (
	"context"
	"fmt"
	"testing"

	"github.com/mynaconform/mynaconform/conformance/target"
	"github.com/mynaconform/mynaconform/emulator/phone"
	"github.com/mynaconform/mynaconform/fixtures/devices"
	"github.com/mynaconform/mynaconform/readers/session"
)

// BenchmarkDevicePath is the whole path of one device in process, as the suite's main specs run
// it: terminal set-up and activation code, the activation delay on the injected clock, first
// login, PIN-mode consent on a fresh card, lookup, visual-mode consent on a fresh card, lookup.
// Everything crosses real loopback HTTP; the cards' RSA signatures are real.
func BenchmarkDevicePath(b *testing.B) {
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
	e := &target.Emulator{Profiles: []phone.Profile{prof}}
	ds, _ := e.Devices()
	benchDevicePath(b, ds[0])
}

// benchDevicePath runs the whole path of device d b.N times and reports ms/device.
func benchDevicePath(b *testing.B, d target.Device) {
	ctx := context.Background()
	w, err := newWorld(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	adult := persona("adult")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		userMed, userGen := fmt.Sprintf("bm%x", i), fmt.Sprintf("bg%x", i)
		code, err := w.setUpDevice(ctx, d.ID, userMed, userGen)
		if err != nil {
			b.Fatal(err)
		}
		w.clock.Advance(w.cfg.ActivationDelay)
		a := w.newApp()
		if err := a.Activate(ctx, userMed, w.password(userMed), code); err != nil {
			b.Fatal(err)
		}
		for _, mode := range []string{"pin", "visual"} {
			r, done, err := d.Open(adult)
			if err != nil {
				b.Fatal(err)
			}
			if err := r.Connect(ctx); err != nil {
				b.Fatal(err)
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
				b.Fatal(mode, err)
			}
			if _, err := a.Lookup(ctx, id, true); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/device")
}
