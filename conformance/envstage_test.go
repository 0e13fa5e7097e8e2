package conformance

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/conformance/envelope"
	"github.com/mynaconform/mynaconform/conformance/target"
	"github.com/mynaconform/mynaconform/emulator/phone"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/fixtures/devices"
	"github.com/mynaconform/mynaconform/formats/iso7816"
	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/readers"
	"github.com/mynaconform/mynaconform/readers/session"
	"github.com/mynaconform/mynaconform/reports"
	"github.com/mynaconform/mynaconform/reports/transcript"
)

// stage runs the envelope stage on d as the suite does (every TRN spec of one run) and returns
// each spec's result and the envelope the list shows.
func stage(t *testing.T, d target.Device) (map[string]*result, *reports.Envelope) {
	t.Helper()
	s := &suite{opts: Options{Target: "emulator", Repeat: 1}}
	st := &envStage{}
	out := map[string]*result{}
	var env *reports.Envelope
	for _, sd := range plan {
		if sd.Stage != stageEnvelope {
			continue
		}
		r := s.envelopeSpec(context.Background(), d, st, 1, sd.ID)
		if r.internal != "" {
			t.Fatalf("%s: internal: %s", sd.ID, r.internal)
		}
		out[sd.ID], env = r, r.Envelope
	}
	return out, env
}

// faceFileSize is the size of the card face EF as the card answers a READ BINARY of Le 65536
// from offset 0 (read here straight from a virtual card, not through the envelope code).
func faceFileSize(t *testing.T) int {
	t.Helper()
	per, err := fixtures.PersonaByID("adult")
	if err != nil {
		t.Fatal(err)
	}
	r, err := target.VirtualCard(per)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r.Connect(ctx)
	s := session.New(r)
	if err := s.SelectAID(ctx, mynumber.AIDCardFace); err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(ctx, mynumber.FaceNumberB, []byte(per.VerificationB()), session.SecretVerificationB); err != nil {
		t.Fatal(err)
	}
	if err := s.SelectEF(ctx, mynumber.FaceRecordEF); err != nil {
		t.Fatal(err)
	}
	resp, sw, err := s.Transmit(ctx, []byte{0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00}, session.SecretNone)
	if err != nil || sw != iso7816.SWOK {
		t.Fatalf("reading the card face: %v %v", sw, err)
	}
	return len(resp)
}

// firstCaseAbove is the boundary case of the lengths that first exceeds limit.
func firstCaseAbove(prefix string, lengths []int, limit int) string {
	for _, n := range lengths {
		if n > limit {
			return fmt.Sprintf("%s%d", prefix, n)
		}
	}
	return ""
}

// TestEnvelopeStageGivesProfileLimits: on every catalogue device every TRN spec passes, and the
// envelope the list shows is the one the profile states, computed here from the profile's own
// figures: the longest command is its max transceive, or, where a longer command's air time at
// its bit rate and frame size (plus the card's refusal time) exceeds its timeout, the longest
// that fits; the longest response is its response cap, or the card face's whole file, or what
// fits in the timeout; extended exactly when a 262-byte command and an Le of 257 carry; each
// first failure is the next length, found by the first boundary case above the limit, with the
// cause (too long, tag lost, timeout); a handset without NFC or ISO-DEP reaches no card.
func TestEnvelopeStageGivesProfileLimits(t *testing.T) {
	profiles, err := devices.Load()
	if err != nil {
		t.Fatal(err)
	}
	tg, err := target.Open("emulator", target.Options{})
	if err != nil {
		t.Fatal(err)
	}
	devs, err := tg.Devices()
	if err != nil || len(devs) != len(profiles) {
		t.Fatalf("%d devices, %d profiles: %v", len(devs), len(profiles), err)
	}
	face := faceFileSize(t)
	for i, d := range devs {
		p := profiles[i]
		t.Run(d.ID, func(t *testing.T) {
			results, got := stage(t, d)
			for id, r := range results {
				if !r.OK {
					t.Errorf("%s failed: %s: %s (%s)", id, r.Step, r.Reason, r.Cause)
				}
			}
			want := expectedEnvelope(p, face)
			if got == nil || *got != want {
				t.Errorf("envelope\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// expectedEnvelope is the envelope profile p states, with a card face file of face bytes.
func expectedEnvelope(p phone.Profile, face int) reports.Envelope {
	switch {
	case !p.NFC:
		return reports.Envelope{Unreachable: reports.CauseNoNFC}
	case !p.ISODep:
		return reports.Envelope{Unreachable: reports.CauseNoISODep}
	}
	fits := func(cmd, resp int, card time.Duration) bool {
		return p.Timeout == 0 || p.AirTime(cmd, resp)+card <= p.Timeout
	}
	var e reports.Envelope
	// Commands: the 80 A2 probe of n bytes in all, refused by the card with a status word.
	maxCmd := min(p.MaxTransceive, envelope.CommandLengths[len(envelope.CommandLengths)-1])
	cmdCause := reports.CauseTransceiveLength
	for n := maxCmd; n > 0 && !fits(n, 2, p.Processing.Other); n-- {
		maxCmd, cmdCause = n-1, reports.CauseTimeout
	}
	e.LongestCommand = maxCmd
	if by := firstCaseAbove("TRN-C", envelope.CommandLengths, maxCmd); by != "" {
		e.FirstFailedCommand, e.CommandFailedBy, e.CommandCause = maxCmd+1, by, cmdCause
	}
	// Responses: READ BINARY with Le from offset 0 of the card face: min(Le, face) + SW.
	maxLe := envelope.ResponseLengths[len(envelope.ResponseLengths)-1]
	respCause := ""
	if p.MaxResponse > 0 && p.MaxResponse-2 < min(maxLe, face) {
		maxLe, respCause = p.MaxResponse-2, reports.CauseResponseCap
	}
	readTime := func(le int) time.Duration {
		return p.Processing.Read + time.Duration(min(le, face))*p.Processing.ReadPerByte
	}
	for ; maxLe > 0 && !fits(7, min(maxLe, face)+2, readTime(maxLe)); maxLe-- {
		respCause = reports.CauseTimeout
	}
	e.LongestResponse = min(maxLe, face) + 2
	if respCause != "" {
		e.FirstFailedResponse, e.ResponseCause = maxLe+1, respCause
		e.ResponseFailedBy = firstCaseAbove("TRN-R", envelope.ResponseLengths, maxLe)
	}
	e.Extended = maxCmd >= 262 && maxLe >= 257
	return e
}

// liar is a handset that carries less than its profile states: it refuses commands longer than
// cap, and (carryAt) carries one length above a failure, as a flaky link would.
type liar struct {
	readers.Reader
	cap, carryAt int
}

func (l *liar) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	if len(cmd) > l.cap && len(cmd) != l.carryAt {
		return nil, &readers.TransportError{Reader: "liar", Op: "transmit", Err: readers.ErrTransceiveLength}
	}
	return l.Reader.Transmit(ctx, cmd)
}

// device is a target device of profile id whose reader is wrapped; profile nil makes it a PC/SC
// reader with the capabilities caps (what a probe would have found).
func device(t *testing.T, id string, wrap func(readers.Reader) readers.Reader, stated *phone.Profile, caps readers.Capabilities) target.Device {
	t.Helper()
	tg, err := target.Open("emulator", target.Options{Only: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := tg.Devices()
	if err != nil || len(ds) != 1 {
		t.Fatal(err)
	}
	d := ds[0]
	open := d.Open
	d.Open = func(p *fixtures.Persona) (readers.Reader, func(), error) {
		r, done, err := open(p)
		if err != nil {
			return nil, nil, err
		}
		return wrap(r), done, nil
	}
	d.Profile = stated
	if stated == nil {
		d.Platform, d.Info.Caps = "pcsc", caps
	}
	return d
}

// TestEnvelopeStageFailsWhatContradicts: a TRN spec fails where the measurement contradicts what
// the device states — a handset that refuses a command its profile allows, a PC/SC reader that
// refuses one its probe carried, an envelope that is not monotonic — and passes where a
// PC/SC reader's limit lies beyond what its probe established.
func TestEnvelopeStageFailsWhatContradicts(t *testing.T) {
	p, err := devices.ByID("synthetic-max-65279")
	if err != nil {
		t.Fatal(err)
	}
	short := func(capLen, carryAt int) func(readers.Reader) readers.Reader {
		return func(r readers.Reader) readers.Reader { return &liar{Reader: r, cap: capLen, carryAt: carryAt} }
	}

	// The profile states 65279 bytes; the handset refuses beyond 261.
	res, env := stage(t, device(t, "synthetic-max-65279", short(261, 0), &p, readers.Capabilities{}))
	if r := res["TRN-C262"]; r.OK || r.Cause != reports.CauseTransceiveLength || !strings.Contains(r.Reason, "within what the device states (max transceive 65279") {
		t.Errorf("TRN-C262 on a handset refusing what its profile allows: %+v", r.outcome)
	}
	if r := res["TRN-C261"]; !r.OK {
		t.Errorf("TRN-C261: %s", r.Reason)
	}
	if env.LongestCommand != 261 || env.FirstFailedCommand != 262 {
		t.Errorf("envelope %+v", env)
	}

	// A PC/SC reader whose probe carried 65535-byte commands refuses beyond 261: a failure; one
	// whose probe found short APDUs only: its measured limit.
	res, _ = stage(t, device(t, "synthetic-max-65279", short(261, 0), nil, readers.Capabilities{MaxCommand: 65535, Extended: true, Probed: true}))
	if r := res["TRN-C4096"]; r.OK || !strings.Contains(r.Reason, "within what the reader's probe found (commands up to 65535 bytes") {
		t.Errorf("TRN-C4096 on a reader whose probe carried 65535 bytes: %+v", r.outcome)
	}
	res, _ = stage(t, device(t, "synthetic-max-65279", short(261, 0), nil, readers.Capabilities{MaxCommand: 261, MaxResponse: 258, Probed: true}))
	for id, r := range res {
		if !r.OK {
			t.Errorf("%s on a short-only reader: %s (a limit beyond the probe's is measured, not a failure)", id, r.Reason)
		}
	}

	// Not monotonic: 585 bytes refused, 609 carried.
	res, _ = stage(t, device(t, "synthetic-max-65279", short(584, 609), nil, readers.Capabilities{MaxCommand: 261, MaxResponse: 258, Probed: true}))
	if r := res["TRN-C609"]; r.OK || !strings.Contains(r.Reason, "envelope not monotonic: a 609-byte command went through, though a 585-byte one failed (TRN-C585)") {
		t.Errorf("TRN-C609 carried above a failure: %+v", r.outcome)
	}
	if r := res["TRN-C585"]; !r.OK {
		t.Errorf("TRN-C585 (the reader's measured limit): %s", r.Reason)
	}
}

// TestEnvelopeTranscripts: each TRN spec's transcript holds its own probe; the spec that found
// the first failure also holds the two bisection probes that fix the exact limit (262 bytes went
// through, 263 did not, on a 262-byte handset), and no other search step.
func TestEnvelopeTranscripts(t *testing.T) {
	tg, err := target.Open("emulator", target.Options{Only: []string{"synthetic-max-262"}})
	if err != nil {
		t.Fatal(err)
	}
	ds, _ := tg.Devices()
	s := &suite{opts: Options{Target: "emulator", Repeat: 1}, staging: t.TempDir()}
	st := &envStage{}
	for _, sd := range plan {
		if sd.Stage == stageEnvelope {
			if r := s.envelopeSpec(context.Background(), ds[0], st, 1, sd.ID); !r.OK || r.internal != "" {
				t.Fatalf("%s: %s %s", sd.ID, r.Reason, r.internal)
			}
		}
	}
	read := func(spec string) (steps []string, lens []int) {
		f, err := os.Open(filepath.Join(s.staging, TranscriptsDir, "synthetic-max-262", spec+".cbor"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		tr, err := transcript.Read(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range tr.Exchanges {
			if e.Command[1] == mynumber.InsTerminalCertificate {
				steps, lens = append(steps, e.Step), append(lens, len(e.Command))
			}
		}
		return steps, lens
	}
	steps, lens := read("TRN-C585")
	if want := []int{585, 263, 262}; !slices.Equal(lens, want) {
		t.Errorf("TRN-C585's transcript holds 80 A2 probes of %v bytes (%v), want %v", lens, steps, want)
	}
	if steps, lens := read("TRN-C262"); len(lens) != 1 || lens[0] != 262 || !strings.HasPrefix(steps[0], "TRN-C262 a 262-byte command") {
		t.Errorf("TRN-C262's transcript: %v %v", steps, lens)
	}
}
