package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/conformance/envelope"
	"github.com/mynaconform/mynaconform/emulator/card"
	"github.com/mynaconform/mynaconform/emulator/phone"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/fixtures/devices"
	"github.com/mynaconform/mynaconform/readers"
	"github.com/mynaconform/mynaconform/readers/session"
)

// measureInProcess measures the envelope of a virtual handset with the adult's card.
func measureInProcess(t *testing.T, p phone.Profile) (*envelope.Envelope, []session.Exchange) {
	t.Helper()
	per, err := fixtures.PersonaByID("adult")
	if err != nil {
		t.Fatal(err)
	}
	prof, err := per.CardProfile()
	if err != nil {
		t.Fatal(err)
	}
	c, err := card.New(prof)
	if err != nil {
		t.Fatal(err)
	}
	ph := phone.New(p, c)
	ctx := context.Background()
	if err := ph.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	s := session.New(ph)
	env, err := envelope.Measure(ctx, s, envelope.Options{VerificationB: []byte(per.VerificationB()), Exact: true})
	if err != nil {
		t.Fatal(err)
	}
	return env, s.Exchanges()
}

// capsOf is the rule of target.CapsOf (built with the pcsc tag only): the longest command carried,
// the longest response as a cap when a longer one failed, extended when both extended forms went.
func capsOf(env *envelope.Envelope) readers.Capabilities {
	c := readers.Capabilities{Probed: true, Extended: env.Extended, MaxCommand: env.LongestCommand}
	if env.FirstFailedResponse > 0 {
		c.MaxResponse = env.LongestResponse
	}
	return c
}

// A measured profile makes the phone model carry exactly what the measured handset carried: the
// same probes of the envelope go through and fail on it as on the handset measured (the limits,
// a stack refusing the extended form, a signature slower than the handset's timeout), and it
// loads as a profile with source: measured and its measured block.
func TestMeasuredProfileCarriesWhatWasMeasured(t *testing.T) {
	for _, id := range []string{"synthetic-max-261", "synthetic-max-262", "synthetic-max-65279",
		"synthetic-response-cap-1693", "synthetic-timeout-short-rsa", "apple-iphone-ios13"} {
		t.Run(id, func(t *testing.T) {
			src, err := devices.ByID(id)
			if err != nil {
				t.Fatal(err)
			}
			env, exs := measureInProcess(t, src)
			caps := capsOf(env)
			out, err := measuredProfile(measuredInput{
				ID: "measured-" + id, Maker: "measured", Model: id, OS: "PC/SC reader (pcscd)", Platform: "android",
				Reader: "Virtual PCD 00 00", ATR: []byte{0x3B, 0x80, 0x80, 0x01, 0x01}, Date: time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC),
				Envelope: env, Caps: caps, Exchanges: exs,
			})
			if err != nil {
				t.Fatal(err)
			}
			p, err := devices.Parse(out)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			m, err := devices.ParseMeasurement(out)
			if err != nil || m == nil || m.Reader != "Virtual PCD 00 00" || m.ATR != "3B80800101" || len(m.RoundTrips) == 0 {
				t.Errorf("measured block %+v, %v", m, err)
			}
			if got := p.Caps(); got.MaxCommand != caps.MaxCommand || got.MaxResponse != caps.MaxResponse || got.Extended != caps.Extended {
				t.Errorf("profile caps %+v, measured %+v", got, caps)
			}
			if p.Source != devices.SourceMeasured || !strings.Contains(p.Notes, "Virtual PCD 00 00") {
				t.Errorf("source %q, notes %q", p.Source, p.Notes)
			}
			again, _ := measureInProcess(t, p)
			for _, o := range env.Outcomes {
				o2, ok := again.Outcome(o.ID)
				if !ok || o2.Carried != o.Carried || o2.Skipped != o.Skipped {
					t.Errorf("%s: carried %v on the measured profile, %v on the handset measured (%s / %s)", o.ID, o2.Carried, o.Carried, o2.Err, o.Err)
				}
			}
			if again.LongestCommand != env.LongestCommand || again.LongestResponse != env.LongestResponse || again.Extended != env.Extended {
				t.Errorf("envelope on the measured profile %d/%d/%v, measured %d/%d/%v", again.LongestCommand, again.LongestResponse,
					again.Extended, env.LongestCommand, env.LongestResponse, env.Extended)
			}
		})
	}
}

func TestProfileIDFromFileName(t *testing.T) {
	if id, err := profileID("/tmp/lab/pixel-7-lab.yaml"); err != nil || id != "pixel-7-lab" {
		t.Errorf("%q, %v", id, err)
	}
	for _, f := range []string{"x.yml", "Pixel 7.yaml", "/tmp/lab/"} {
		if _, err := profileID(f); err == nil || !strings.Contains(err.Error(), "-profile-out") {
			t.Errorf("%s: %v", f, err)
		}
	}
}
