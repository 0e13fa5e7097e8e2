package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mynaconform/mynaconform/conformance/envelope"
	"github.com/mynaconform/mynaconform/emulator/phone"
	"github.com/mynaconform/mynaconform/fixtures/devices"
	"github.com/mynaconform/mynaconform/formats/iso7816"
	"github.com/mynaconform/mynaconform/readers"
	"github.com/mynaconform/mynaconform/readers/session"
	"github.com/mynaconform/mynaconform/reports/certify"
)

// measuredInput is what `readers -probe -profile-out` measured on one reader.
type measuredInput struct {
	ID, Maker, Model, OS, Platform string
	Reader                         string
	ATR                            []byte
	Date                           time.Time
	Envelope                       *envelope.Envelope
	Caps                           readers.Capabilities // what the envelope implies (target.CapsOf)
	Exchanges                      []session.Exchange   // the measurement's APDUs with their wall times
}

// measuredFile is a measured profile as written: the profile's keys, then the measured block.
type measuredFile struct {
	phone.Profile `yaml:",inline"`
	Measured      devices.Measurement `yaml:"measured"`
}

// profileID is the ID a profile file's name gives (<id>.yaml), or an error saying what is allowed.
var profileSlug = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

func profileID(file string) (string, error) {
	base := filepath.Base(file)
	id, ok := strings.CutSuffix(base, ".yaml")
	if !ok {
		return "", fmt.Errorf("-profile-out: %s: a profile file ends in .yaml (its name is the profile's ID)", file)
	}
	if !profileSlug.MatchString(id) {
		return "", fmt.Errorf("-profile-out: %s: the file name is the profile's ID: lower-case letters, digits and '-' (e.g. pixel-7-lab.yaml)", file)
	}
	return id, nil
}

// roundTrips are the probes' exchanges that went through, with their wall time: the last
// exchange of each probe step (the ones before it select what the probe needs).
func roundTrips(exs []session.Exchange) []devices.RoundTrip {
	var out []devices.RoundTrip
	for i, e := range exs {
		id, _, _ := strings.Cut(e.Step, " ")
		if !strings.HasPrefix(id, "TRN-") || e.Err != "" || len(e.Response) < 2 {
			continue
		}
		if i+1 < len(exs) && exs[i+1].Step == e.Step {
			continue
		}
		out = append(out, devices.RoundTrip{Case: id, Command: len(e.Command), Response: len(e.Response),
			MS: math.Round(float64(e.Elapsed.Microseconds())) / 1000})
	}
	return out
}

// perByte is the least-squares slope of the round trips' wall time over their bytes (both ways),
// in microseconds per byte; 0 with fewer than two sizes.
func perByte(rts []devices.RoundTrip) float64 {
	var n, sx, sy, sxx, sxy float64
	for _, r := range rts {
		x, y := float64(r.Command+r.Response), r.MS*1000
		n, sx, sy, sxx, sxy = n+1, sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	d := n*sxx - sx*sx
	if n < 2 || d == 0 {
		return 0
	}
	return math.Max(0, (n*sxy-sx*sy)/d)
}

// bitRateFor is the slowest ISO 14443 bit rate whose modelled time per byte does not exceed the
// measured one (848 kbit/s when even that one does: a virtual handset answers at once).
func bitRateFor(usPerByte float64) int {
	for _, r := range phone.BitRates {
		p := phone.Profile{BitRate: r, FSD: 256}
		if per := float64(p.AirTime(1000+2, 2)-p.AirTime(2, 2)) / 1000 / 1000; per <= usPerByte {
			return r
		}
	}
	return phone.BitRates[len(phone.BitRates)-1]
}

// recorded answers each command with the response recorded for it: the card of a simulation.
type recorded struct{ resp []byte }

func (c recorded) Transmit([]byte) []byte { return c.resp }
func (c recorded) PowerOn() []byte        { return nil }
func (c recorded) PowerOff()              {}

// modelledTime is what the phone model makes of one recorded exchange on profile p.
func modelledTime(p phone.Profile, e session.Exchange) (time.Duration, error) {
	ph := phone.New(p, recorded{resp: e.Response})
	ctx := context.Background()
	if err := ph.Connect(ctx); err != nil {
		return 0, err
	}
	if _, err := ph.Transmit(ctx, e.Command); err != nil {
		return 0, err
	}
	return ph.Elapsed(), nil
}

// signatureTimedOut reports a card-presence signature probe (TRN-CASE4S/4E) that failed though a
// command at least as long went through: the handset gave up on the card's RSA signature, not on
// its length.
func signatureTimedOut(env *envelope.Envelope) (string, bool) {
	for _, o := range env.Outcomes {
		if o.Kind == envelope.KindCase && o.Form != "1" && !o.Carried && o.Skipped == "" && o.CommandLen > 0 &&
			o.CommandLen <= env.LongestCommand && o.Cause != envelope.CauseLength {
			return o.ID, true
		}
	}
	return "", false
}

// extendedFormRefused reports an extended-length probe whose command was shorter than the longest
// one carried but failed: the stack refuses the extended encoding itself, not the length.
func extendedFormRefused(env *envelope.Envelope) bool {
	for _, o := range env.Outcomes {
		if o.Carried || o.Skipped != "" || o.CommandLen == 0 || o.CommandLen > env.LongestCommand {
			continue
		}
		if o.Form == "2E" || o.Form == "4E" {
			return true
		}
	}
	return false
}

// measuredProfile turns a measurement into a device profile (source: measured) that the suite
// runs in process with the verdicts of the reader: max_transceive, extended and max_response are
// the measured envelope; the timing fields, which a virtual handset's answers (at once) cannot
// show, are chosen so that the model fails nothing the reader carried and fails a signature the
// reader did not bring back.
func measuredProfile(in measuredInput) ([]byte, error) {
	tool := certify.ToolInfo()
	toolName := tool.Module + " " + tool.Version
	if tool.Revision != "" {
		toolName += ", revision " + tool.Revision
		if tool.Modified {
			toolName += " (modified tree)"
		}
	}
	env := in.Envelope
	caps := in.Caps
	rts := roundTrips(in.Exchanges)
	slope := perByte(rts)
	p := phone.Profile{
		ID: in.ID, Maker: in.Maker, Model: in.Model, OS: in.OS, Platform: in.Platform,
		NFC: true, ISODep: true, MaxTransceive: caps.MaxCommand, MaxResponse: caps.MaxResponse,
		Timeout: time.Hour, BitRate: bitRateFor(slope), FSD: 256, Processing: phone.DefaultProcessing(),
		Source: devices.SourceMeasured,
	}
	if p.MaxTransceive < 5 {
		return nil, fmt.Errorf("the measurement carried no command (longest %d bytes)", p.MaxTransceive)
	}
	if ext := caps.Extended; ext != (p.MaxTransceive > readers.ShortMax) || !ext && extendedFormRefused(env) {
		p.Extended = &ext
	}
	// The slowest exchange the reader carried, as the model sees it on this profile.
	var slowest time.Duration
	for _, e := range in.Exchanges {
		if e.Err != "" || len(e.Response) < 2 {
			continue
		}
		if l, ok := iso7816.ParseLayout(e.Command); !ok || len(e.Command) > p.MaxTransceive || p.Extended != nil && !*p.Extended && l.Extended {
			continue
		}
		d, err := modelledTime(p, e)
		if err != nil {
			continue // above the response cap: the model refuses it as the reader did not
		}
		slowest = max(slowest, d)
	}
	p.Timeout = max(time.Second, (slowest*5/4+100*time.Millisecond-1)/(100*time.Millisecond)*(100*time.Millisecond))
	var notes []string
	notes = append(notes, fmt.Sprintf("Measured through the PC/SC reader %q on %s with `mynaconform readers -probe -profile-out` (%s): max_transceive, extended and max_response are the envelope measured with the card (conformance/envelope; exact limits by bisection).",
		in.Reader, in.Date.UTC().Format(time.RFC3339), toolName))
	notes = append(notes, fmt.Sprintf("bit_rate is the slowest ISO 14443 rate whose modelled time per byte is at most the %.1f µs measured per byte; fsd 256 is an assumption; timeout is derived: 1.25 times the slowest exchange the reader carried as this profile models it (%v), at least 1s.",
		slope, slowest.Round(time.Millisecond)))
	if id, ok := signatureTimedOut(env); ok {
		p.Processing.Sign = p.Timeout + 100*time.Millisecond
		notes = append(notes, fmt.Sprintf("The card's RSA signature did not come back (%s) though longer commands did: processing.sign is set above the timeout, so the model's signatures time out too; the other card processing times are the catalogue defaults (assumptions).", id))
	} else {
		notes = append(notes, "Card processing times are the catalogue defaults (assumptions); the measured round trips are in the measured block.")
	}
	p.Notes = strings.Join(notes, " ")
	f := measuredFile{Profile: p, Measured: devices.Measurement{
		Reader: in.Reader, ATR: strings.ToUpper(hex.EncodeToString(in.ATR)), Date: in.Date.UTC().Truncate(time.Second),
		Tool: toolName, RoundTrips: rts,
	}}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&f); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	out := append([]byte("# A device profile measured through a PC/SC reader (docs/lab.md, docs/profiles.md).\n"), b.Bytes()...)
	if _, err := devices.Parse(out); err != nil {
		return nil, fmt.Errorf("the measured profile does not load: %w", err)
	}
	return out, nil
}

// sortedCases lists the envelope's failed probes for the summary line.
func sortedCases(env *envelope.Envelope) []string {
	var ids []string
	for _, o := range env.Failed() {
		ids = append(ids, o.ID)
	}
	slices.Sort(ids)
	return ids
}
