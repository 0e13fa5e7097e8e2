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

// BenchmarkEnvelopeStage is what the envelope stage adds to a device's path: one measurement
// (every boundary case, the bisections, a fresh card after each failure) and the transcripts of
// its 18 TRN specs written to disk, for a short-only handset, an extended one bound by its
// timeout, and an iPhone with the response cap. Compare with BenchmarkDevicePath in the same run.
func BenchmarkEnvelopeStage(b *testing.B) {
	for _, id := range []string{"google-nexus-s", "synthetic-max-65279", "apple-iphone-ios13"} {
		b.Run(id, func(b *testing.B) {
			tg, err := target.Open("emulator", target.Options{Only: []string{id}})
			if err != nil {
				b.Fatal(err)
			}
			ds, _ := tg.Devices()
			s := &suite{opts: Options{Target: "emulator", Repeat: 1}, staging: b.TempDir()}
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				st := &envStage{}
				for _, sd := range plan {
					if sd.Stage == stageEnvelope {
						if r := s.envelopeSpec(ctx, ds[0], st, 1, sd.ID); !r.OK || r.internal != "" {
							b.Fatalf("%s: %s %s", sd.ID, r.Reason, r.internal)
						}
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/device")
		})
	}
}
