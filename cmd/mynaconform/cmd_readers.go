//go:build pcsc

package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mynaconform/mynaconform/conformance"
	"github.com/mynaconform/mynaconform/conformance/target"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/readers/pcsc"
)

// pcscBuilt says whether this binary has the PC/SC target (mynaconform version).
const pcscBuilt = true

func init() {
	register("readers", "list PC/SC readers, their cards and (with -probe) extended-APDU support", runReaders)
}

// readerReport is one line of `mynaconform readers`.
type readerReport struct {
	Name       string            `json:"name"`
	Present    bool              `json:"present"`
	InUse      bool              `json:"in_use,omitempty"`
	ATR        string            `json:"atr,omitempty"`
	Probe      *pcsc.ProbeResult `json:"probe,omitempty"`
	ProbeError string            `json:"probe_error,omitempty"`
}

const readersUsage = `usage: mynaconform readers [-json] [-probe]
       mynaconform readers -probe -profile-out FILE (-persona ID | -lab) [-reader NAME] [-maker M -model M -os OS]

Lists the readers pcscd knows, card presence and ATR. With -profile-out, measures the envelope of
one reader with the My Number card in it (the longest command and response it carries, exactly,
and whether it carries extended APDUs; commands a real card answers harmlessly, one VERIFY of
照合番号B to open the card face) with round-trip times, and writes a device profile that
'mynaconform run -devices DIR' runs in process (docs/lab.md). Exit codes: 0 ok, 1 the reader or
card failed, 2 bad input.`

// runReaders implements `mynaconform readers [-json] [-probe]`.
func runReaders(ctx context.Context, args []string) int {
	fs := newFlags("readers", readersUsage)
	asJSON := fs.Bool("json", false, "print JSON")
	probe := fs.Bool("probe", false, "probe each card with harmless commands for extended-APDU support (changes the card's selection)")
	timeout := fs.Duration("timeout", 20*time.Second, "deadline for the whole listing and probing (with -profile-out: 10m)")
	profileOut := fs.String("profile-out", "", "with -probe: measure the reader's exact envelope and write it as a device profile (source: measured) to `FILE` (<id>.yaml)")
	readerName := fs.String("reader", "", "-profile-out: the reader to measure (default: the only reader with a card)")
	personaID := fs.String("persona", "", "-profile-out: the card is the virtual card of this persona (its 照合番号B opens the card face)")
	lab := fs.Bool("lab", false, "-profile-out: the card is a real test card; its 照合番号B is read from MYNACONFORM_LAB_VERIFICATION_B")
	maker := fs.String("maker", "measured", "-profile-out: the profile's maker (e.g. the handset's)")
	model := fs.String("model", "", "-profile-out: the profile's model (default: the reader's name)")
	osName := fs.String("os", "PC/SC reader (pcscd)", "-profile-out: the profile's OS (e.g. the handset's Android version)")
	platform := fs.String("platform", "android", "-profile-out: android or ios")
	if exit, done := parseNoArgs(fs, args); done {
		return exit
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *profileOut != "" {
		if !set["timeout"] {
			*timeout = 10 * time.Minute
		}
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		return writeMeasuredProfile(ctx, profileRequest{
			file: *profileOut, reader: *readerName, persona: *personaID, lab: *lab, probe: *probe,
			maker: *maker, model: *model, os: *osName, platform: *platform,
		})
	}
	for _, f := range []string{"reader", "persona", "lab", "maker", "model", "os", "platform"} {
		if set[f] {
			fmt.Fprintf(os.Stderr, "mynaconform readers: -%s goes with -probe -profile-out FILE\n", f)
			return 2
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	slots, err := pcsc.List(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mynaconform readers:", err)
		return 1
	}
	out := make([]readerReport, 0, len(slots))
	for _, s := range slots {
		rep := readerReport{Name: s.Name, Present: s.Present, InUse: s.InUse, ATR: strings.ToUpper(hex.EncodeToString(s.ATR))}
		if *probe && s.Present {
			res, err := probeReader(ctx, s.Name)
			if err != nil {
				rep.ProbeError = err.Error()
			} else {
				rep.Probe = &res
			}
		}
		out = append(out, rep)
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			fmt.Fprintln(os.Stderr, "mynaconform readers:", err)
			return 1
		}
		return 0
	}
	if len(out) == 0 {
		fmt.Println("no readers (is the reader plugged in, or vpcd configured in /etc/reader.conf.d?)")
	}
	for _, r := range out {
		card := "no card"
		if r.Present {
			atr, _ := hex.DecodeString(r.ATR)
			card = fmt.Sprintf("card, ATR % X", atr)
		}
		fmt.Printf("%s: %s\n", r.Name, card)
		switch {
		case r.Probe != nil:
			c := r.Probe.Caps
			fmt.Printf("  extended APDUs: %v (Lc %v, Le %v), max command %d bytes, largest response seen %d bytes\n",
				c.Extended, r.Probe.ExtendedLc, r.Probe.ExtendedLe, c.MaxCommand, r.Probe.LargestResponse)
		case r.ProbeError != "":
			fmt.Printf("  probe failed: %s\n", r.ProbeError)
		}
	}
	return 0
}

func probeReader(ctx context.Context, name string) (pcsc.ProbeResult, error) {
	r, err := pcsc.Open(name)
	if err != nil {
		return pcsc.ProbeResult{}, err
	}
	defer r.Close()
	if err := r.Connect(ctx); err != nil {
		return pcsc.ProbeResult{}, err
	}
	return r.Probe(ctx)
}

// profileRequest is what `readers -probe -profile-out` was asked.
type profileRequest struct {
	file, reader, persona string
	lab, probe            bool
	maker, model, os      string
	platform              string
}

// writeMeasuredProfile measures one reader's envelope and writes it as a device profile.
func writeMeasuredProfile(ctx context.Context, q profileRequest) int {
	bad := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "mynaconform readers: "+format+"\n", a...)
		return 2
	}
	if !q.probe {
		return bad("-profile-out needs -probe (the profile is what the probe measures)")
	}
	id, err := profileID(q.file)
	if err != nil {
		return bad("%v", err)
	}
	if q.platform != "android" && q.platform != "ios" {
		return bad("-platform: %q is not android or ios", q.platform)
	}
	var faceB []byte
	switch {
	case q.lab && q.persona != "":
		return bad("-lab and -persona exclude each other: the card is a real test card or a persona's virtual card")
	case q.lab:
		if v := os.Getenv(conformance.EnvLabVerificationB); len(v) != 14 {
			return bad("-lab: set %s to the test card's 14-digit 照合番号B (it opens the card face for the long responses)", conformance.EnvLabVerificationB)
		} else {
			faceB = []byte(v)
		}
	case q.persona != "":
		per, err := fixtures.PersonaByID(q.persona)
		if err != nil {
			return bad("-persona: %v", err)
		}
		faceB = []byte(per.VerificationB())
	default:
		return bad("-profile-out: say which card is in the reader: -persona ID for a virtual card, -lab for a real test card (照合番号B from %s); a wrong 照合番号B costs the card a try", conformance.EnvLabVerificationB)
	}
	if st, err := os.Stat(filepath.Dir(q.file)); err != nil || !st.IsDir() {
		return bad("-profile-out: %s: the folder %s does not exist", q.file, filepath.Dir(q.file))
	}
	name := q.reader
	slots, err := pcsc.List(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mynaconform readers:", err)
		return 1
	}
	var withCard, all []string
	for _, s := range slots {
		all = append(all, s.Name)
		if s.Present {
			withCard = append(withCard, s.Name)
		}
	}
	switch {
	case name != "" && !slices.Contains(all, name):
		return bad("-reader: pcscd knows no reader %q (known: %s)", name, strings.Join(all, ", "))
	case name == "" && len(withCard) == 1:
		name = withCard[0]
	case name == "":
		return bad("-profile-out: %d readers hold a card (%s): name one with -reader", len(withCard), strings.Join(withCard, ", "))
	}
	model := q.model
	if model == "" {
		model = name
	}
	start := time.Now()
	m, err := target.MeasureReader(ctx, name, faceB)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mynaconform readers: measuring", name+":", err)
		return 1
	}
	out, err := measuredProfile(measuredInput{
		ID: id, Maker: q.maker, Model: model, OS: q.os, Platform: q.platform,
		Reader: name, ATR: m.ATR, Date: start, Envelope: m.Envelope, Caps: m.Caps, Exchanges: m.Exchanges,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "mynaconform readers:", err)
		return 3
	}
	tmp := q.file + ".tmp"
	if err := os.WriteFile(tmp, out, 0o644); err != nil {
		return bad("-profile-out: %v", err)
	}
	if err := os.Rename(tmp, q.file); err != nil {
		os.Remove(tmp)
		return bad("-profile-out: %v", err)
	}
	c := m.Caps
	resp := "no response cap"
	if c.MaxResponse > 0 {
		resp = fmt.Sprintf("responses up to %d bytes", c.MaxResponse)
	}
	fmt.Printf("%s: commands up to %d bytes, %s, extended APDUs %v; %d probes failed (%s); %d APDUs in %v\n",
		name, c.MaxCommand, resp, c.Extended, len(m.Envelope.Failed()), strings.Join(sortedCases(m.Envelope), " "),
		len(m.Exchanges), time.Since(start).Round(time.Millisecond))
	fmt.Printf("wrote %s (profile %s, source: measured); run it with: mynaconform run -devices %s -only %s\n", q.file, id, filepath.Dir(q.file), id)
	return 0
}
