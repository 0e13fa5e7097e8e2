package envelope_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mynaconform/mynaconform/conformance/envelope"
	"github.com/mynaconform/mynaconform/conformance/target"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/readers/session"
)

func measure(t *testing.T, id string) *envelope.Envelope {
	t.Helper()
	tg, err := target.Open("emulator", target.Options{Only: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	devs, err := tg.Devices()
	if err != nil || len(devs) != 1 {
		t.Fatalf("devices: %v", err)
	}
	per, err := fixtures.PersonaByID("adult")
	if err != nil {
		t.Fatal(err)
	}
	r, release, err := devs[0].Open(per)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx := context.Background()
	if err := r.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	env, err := envelope.Measure(ctx, session.New(r), envelope.Options{VerificationB: []byte(per.VerificationB()), Exact: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Consistent(); err != nil {
		t.Error(err)
	}
	return env
}

// The measured envelope of each catalogue device is the one its profile states: the longest
// command is the profile's max transceive unless its link time already exceeds the profile's
// timeout (then the failure says timeout), the longest response its response cap, each first
// failure named with the spec that found it and its cause.
func TestEnvelopeOfProfiles(t *testing.T) {
	for _, tc := range []struct {
		id               string
		cmd              int // exact longest command; 0: bound by the timeout
		cmdCause         envelope.Cause
		extended         bool
		resp, failedResp int // longest response (SW included) and first failing Le; 0: none
		cmdBy, respBy    string
	}{
		{"synthetic-max-261", 261, envelope.CauseLength, false, 0, 0, "TRN-C262", ""},
		{"synthetic-max-262", 262, envelope.CauseLength, true, 0, 0, "TRN-C585", ""},
		{"synthetic-max-65279", 0, envelope.CauseTimeout, true, 0, 0, "", ""},
		{"synthetic-response-cap-1693", 0, envelope.CauseTimeout, true, 1693, 1692, "", "TRN-R1693"},
		{"synthetic-response-cap-1694", 0, envelope.CauseTimeout, true, 1694, 1693, "", "TRN-R1693"},
	} {
		t.Run(tc.id, func(t *testing.T) {
			env := measure(t, tc.id)
			if tc.cmd > 0 && env.LongestCommand != tc.cmd || tc.cmd == 0 && env.LongestCommand >= 65279 {
				t.Errorf("longest command %d (want %d)", env.LongestCommand, tc.cmd)
			}
			if env.FirstFailedCommand != env.LongestCommand+1 || env.CommandCause != tc.cmdCause {
				t.Errorf("first failed command %d by %s, cause %q (want %d, %q)", env.FirstFailedCommand, env.CommandFailedBy, env.CommandCause, env.LongestCommand+1, tc.cmdCause)
			}
			if tc.cmdBy != "" && env.CommandFailedBy != tc.cmdBy {
				t.Errorf("command failure found by %s, want %s", env.CommandFailedBy, tc.cmdBy)
			}
			if env.Extended != tc.extended {
				t.Errorf("extended %v", env.Extended)
			}
			if tc.resp > 0 && (env.LongestResponse != tc.resp || env.FirstFailedResponse != tc.failedResp || env.ResponseCause != envelope.CauseTagLost || env.ResponseFailedBy != tc.respBy) {
				t.Errorf("longest response %d, first failed Le %d by %s cause %q; want %d, %d by %s, tag lost",
					env.LongestResponse, env.FirstFailedResponse, env.ResponseFailedBy, env.ResponseCause, tc.resp, tc.failedResp, tc.respBy)
			}
			if tc.resp == 0 && env.FirstFailedResponse != 0 && env.ResponseCause != envelope.CauseTimeout {
				t.Errorf("a response failed (Le %d, %s) on a handset without a response cap", env.FirstFailedResponse, env.ResponseCause)
			}
			for _, o := range env.Outcomes {
				if o.Skipped != "" {
					t.Errorf("%s skipped: %s", o.ID, o.Skipped)
				}
				if o.Carried && (o.SW == "" || o.ResponseLen < 2) {
					t.Errorf("%s carried without a status word", o.ID)
				}
				if !o.Carried && (o.Err == "" || o.Cause == "") {
					t.Errorf("%s failed without a reason", o.ID)
				}
			}
		})
	}
}

// Short-only handsets refuse the long commands before they reach the card (the transceive limit);
// the card itself answers every probe it receives with a status word, never a crash.
func TestEnvelopeShortOnlyRefusals(t *testing.T) {
	env := measure(t, "google-nexus-s")
	for _, id := range []string{"TRN-C262", "TRN-C609", "TRN-C65535"} {
		o, _ := env.Outcome(id)
		if o.Carried || !o.Refused || !strings.Contains(o.Err, "transceive length") {
			t.Errorf("%s: %+v", id, o)
		}
	}
	for _, id := range []string{"TRN-CASE1", "TRN-CASE4S", "TRN-C255", "TRN-C261", "TRN-R256"} {
		if o, _ := env.Outcome(id); !o.Carried {
			t.Errorf("%s did not carry: %s", id, o.Err)
		}
	}
}

// A card that is lost after a failed probe and cannot be brought back: the probes after it are
// not sent (Before), and say nothing about their lengths; the first failure stays the one that
// was measured.
func TestEnvelopeLostCardNotCountedAsLength(t *testing.T) {
	tg, err := target.Open("emulator", target.Options{Only: []string{"synthetic-max-261"}})
	if err != nil {
		t.Fatal(err)
	}
	devs, _ := tg.Devices()
	per, _ := fixtures.PersonaByID("adult")
	r, release, err := devs[0].Open(per)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx := context.Background()
	if err := r.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	lost := func(context.Context) error { _ = r.Close(); return errors.New("the card did not come back") }
	env, err := envelope.Measure(ctx, session.New(r), envelope.Options{VerificationB: []byte(per.VerificationB()), Exact: true, Reconnect: lost})
	if err != nil {
		t.Fatal(err)
	}
	if env.FirstFailedCommand != 262 || env.CommandFailedBy != "TRN-C262" || env.FirstFailedResponse != 0 || env.LongestCommand != 261 {
		t.Errorf("first failed command %d by %s, first failed Le %d, longest command %d; want 262 by TRN-C262, none, 261",
			env.FirstFailedCommand, env.CommandFailedBy, env.FirstFailedResponse, env.LongestCommand)
	}
	for _, id := range []string{"TRN-C585", "TRN-R256", "TRN-R65536"} {
		if o, _ := env.Outcome(id); o.Carried || !o.Before || !strings.HasPrefix(o.Err, "before the probe: ") {
			t.Errorf("%s after the card was lost: %+v", id, o)
		}
	}
}
