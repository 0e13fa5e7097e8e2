// Package envelope measures the APDU envelope of a handset or reader with a My Number card: the
// longest command and the longest response it carries, whether it carries extended-length APDUs,
// and the first length that failed. PC/SC cannot tell an application whether a reader carries
// extended APDUs, and a handset's limits change with its OS build; so the suite measures them, at
// the boundary lengths, in each case of ISO/IEC 7816-4 5.1, with commands a real card answers
// harmlessly (docs/card.md):
//
//   - commands: 80 A2 00 C1 with data of the boundary length on the JPKI-AP. A real card refuses a
//     body that is no terminal certificate with a status word (6700 on a real card for 256 zero
//     bytes, AokiApp's end-to-end test) and changes nothing; any status word proves the handset
//     carried the command. Short cases 3S/4S up to 261 bytes, extended 3E from 262 to 65535 (the
//     vpcd framing limit).
//   - responses: READ BINARY from offset 0 with the boundary Le (2S up to 256, 2E above), of the
//     user-authentication certificate (free) and, above its size, of the card face (after VERIFY
//     照合番号B). A card answers the rest of a file when Le asks for more, so the response is
//     min(Le, file size) + SW.
//   - case 1 (the non-consuming retry query 00 20 00 98) and case 4S/4E (the card-presence
//     signature 80 2A 00 00 of the card-face AP, which needs no credential).
//
// After a failure the envelope is narrowed to the exact limit by bisection (Options.Exact).
package envelope

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/mynaconform/mynaconform/formats/iso7816"
	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/readers"
	"github.com/mynaconform/mynaconform/readers/session"
)

// Kind says what a case measures.
type Kind string

const (
	KindCommand  Kind = "command"  // the command's length
	KindResponse Kind = "response" // the response's length (Le asked)
	KindCase     Kind = "case"     // one of the ISO/IEC 7816-4 cases
)

// Case is one boundary probe.
type Case struct {
	ID     string // spec ID, "TRN-C262"
	Kind   Kind
	Length int    // command bytes (KindCommand) or Ne (KindResponse)
	Form   string // "1", "2S", "2E", "3S", "3E", "4S", "4E"
	Title  string
}

// CommandLengths and ResponseLengths are the boundaries of the issue that asked for this stage:
// 261 is the longest short APDU (AOSP's default ISO_DEP_MAX_TRANSCEIVE), 262 the shortest command
// beyond it; 585 the 80 A2 command carrying this project's terminal certificate (a 7F21 with a
// 307-byte body) and 609 the size the issue that asked for this stage gave for it; 1693 the iOS
// response cap; 65535 the vpcd framing limit; 256/257 the last short and first extended Le; 65536
// the extended maximum.
var (
	CommandLengths  = []int{255, 256, 261, 262, 585, 609, 1693, 4096, 65535}
	ResponseLengths = []int{256, 257, 1693, 1694, 4096, 65536}
)

// Cases are every probe in the order they run.
func Cases() []Case {
	out := []Case{
		{ID: "TRN-CASE1", Kind: KindCase, Form: "1", Title: "case 1: retry-counter query 00 20 00 98"},
		{ID: "TRN-CASE4S", Kind: KindCase, Form: "4S", Title: "case 4S: card-presence signature, short Lc and Le"},
		{ID: "TRN-CASE4E", Kind: KindCase, Form: "4E", Title: "case 4E: card-presence signature, extended Lc and Le"},
	}
	for _, n := range CommandLengths {
		f := "3E"
		switch {
		case n == iso7816.MaxShortCommand:
			f = "4S"
		case n < iso7816.MaxShortCommand:
			f = "3S"
		}
		out = append(out, Case{ID: fmt.Sprintf("TRN-C%d", n), Kind: KindCommand, Length: n, Form: f,
			Title: fmt.Sprintf("a %d-byte command (case %s)", n, f)})
	}
	for _, n := range ResponseLengths {
		f := "2E"
		if n <= iso7816.MaxShortNe {
			f = "2S"
		}
		out = append(out, Case{ID: fmt.Sprintf("TRN-R%d", n), Kind: KindResponse, Length: n, Form: f,
			Title: fmt.Sprintf("a response to Le %d (case %s)", n, f)})
	}
	return out
}

// Outcome is what one probe gave.
type Outcome struct {
	Case
	Carried     bool   // the card's answer came back
	Skipped     string // why the probe was not sent
	SW          string // the card's status word
	CommandLen  int    // bytes sent
	ResponseLen int    // bytes received, SW included
	Err         string // the transport failure
	Cause       Cause  // its class
	Refused     bool   // the reader refused the command before it reached the card
	// Before is set when the failure came before the probe was sent (selecting the application
	// it needs, e.g. after the card was lost and could not be brought back): the probe says
	// nothing about its length, and is not counted as a failure of it.
	Before bool
}

// Cause is the class of a transport failure.
type Cause string

const (
	CauseLength  Cause = "transceive length" // the reader refused the command's length
	CauseTagLost Cause = "tag lost"          // the link dropped (a response over the cap)
	CauseTimeout Cause = "timeout"           // the exchange took longer than the reader waits
	CauseRemoved Cause = "card removed"
	CauseOther   Cause = "transport error"
)

func classify(err error) Cause {
	switch {
	case errors.Is(err, readers.ErrTransceiveLength):
		return CauseLength
	case errors.Is(err, readers.ErrTagLost):
		return CauseTagLost
	case errors.Is(err, readers.ErrTimeout):
		return CauseTimeout
	case errors.Is(err, readers.ErrCardRemoved), errors.Is(err, readers.ErrNoCard):
		return CauseRemoved
	}
	return CauseOther
}

// Envelope is the measured envelope.
type Envelope struct {
	// LongestCommand and LongestResponse are the longest command and response (SW included) that
	// went through; exact when Exact was set and a probe failed.
	LongestCommand  int  `json:"longest_command"`
	LongestResponse int  `json:"longest_response"`
	Extended        bool `json:"extended"` // extended Lc and extended Le both carried
	// FirstFailedCommand / FirstFailedResponse: the smallest command length / Le that failed
	// (0: none; exact after bisection).
	FirstFailedCommand  int       `json:"first_failed_command,omitempty"`
	FirstFailedResponse int       `json:"first_failed_response,omitempty"`
	CommandFailedBy     string    `json:"command_failed_by,omitempty"`  // the spec that found FirstFailedCommand
	ResponseFailedBy    string    `json:"response_failed_by,omitempty"` // the spec that found FirstFailedResponse
	CommandCause        Cause     `json:"command_cause,omitempty"`      // why the first failed command failed
	ResponseCause       Cause     `json:"response_cause,omitempty"`     // why the first failed response failed
	Outcomes            []Outcome `json:"outcomes"`
	Bisection           []Outcome `json:"bisection,omitempty"` // the probes that narrowed the limits
}

// Options configure a measurement.
type Options struct {
	// VerificationB opens the card face (kenkaku EF 0002), the only file large enough for the
	// responses above the certificate's size; without it those probes are skipped.
	VerificationB []byte
	// Exact narrows a failure to the exact limit by bisection (a few more probes, each failure
	// costing a reconnect).
	Exact bool
	// Reconnect brings the card back after a transport failure (default: Close, then Connect).
	Reconnect func(ctx context.Context) error
}

type meter struct {
	s     *session.Session
	opt   Options
	cert  int // size of the auth certificate file read from offset 0
	face  int // size of the card face file
	state string
}

// Measure runs every case on the card behind s (connected), then the bisections. Probe steps are
// named by case ID in the session's exchanges, so transcripts show each probe.
func Measure(ctx context.Context, s *session.Session, opt Options) (*Envelope, error) {
	m := &meter{s: s, opt: opt}
	if m.opt.Reconnect == nil {
		r := s.Reader()
		m.opt.Reconnect = func(ctx context.Context) error {
			_ = r.Close()
			return r.Connect(ctx)
		}
	}
	env := &Envelope{}
	for _, c := range Cases() {
		o, err := m.probe(ctx, c)
		if err != nil {
			return env, err
		}
		env.Outcomes = append(env.Outcomes, o)
	}
	env.summarize()
	if opt.Exact {
		if err := m.narrow(ctx, env); err != nil {
			return env, err
		}
	}
	return env, nil
}

func (env *Envelope) summarize() {
	var c262, r257 bool
	for _, o := range env.Outcomes {
		if o.Skipped != "" {
			continue
		}
		if o.Carried {
			env.LongestCommand = max(env.LongestCommand, o.CommandLen)
			env.LongestResponse = max(env.LongestResponse, o.ResponseLen)
		}
		switch {
		case o.ID == "TRN-C262":
			c262 = o.Carried
		case o.ID == "TRN-R257":
			r257 = o.Carried
		}
		if o.Carried || o.Before {
			continue
		}
		switch o.Kind {
		case KindCommand:
			if env.FirstFailedCommand == 0 || o.CommandLen < env.FirstFailedCommand {
				env.FirstFailedCommand, env.CommandCause, env.CommandFailedBy = o.CommandLen, o.Cause, o.ID
			}
		case KindResponse:
			if env.FirstFailedResponse == 0 {
				env.FirstFailedResponse, env.ResponseCause, env.ResponseFailedBy = o.Length, o.Cause, o.ID
			}
		}
	}
	env.Extended = c262 && r257
}

// selectAP selects the application the next probes need (once per state).
func (m *meter) selectAP(ctx context.Context, state string) error {
	if m.state == state {
		return nil
	}
	var err error
	switch state {
	case "jpki":
		err = m.s.SelectAID(ctx, mynumber.AIDJPKI)
	case "face":
		if err = m.s.SelectAID(ctx, mynumber.AIDCardFace); err == nil && len(m.opt.VerificationB) > 0 {
			err = m.s.Verify(ctx, mynumber.FaceNumberB, m.opt.VerificationB, session.SecretVerificationB)
		}
	case "cert":
		if err = m.s.SelectAID(ctx, mynumber.AIDJPKI); err == nil {
			err = m.s.SelectEF(ctx, mynumber.JPKIAuthCert)
		}
	case "faceEF":
		if err = m.selectAP(ctx, "face"); err == nil {
			err = m.s.SelectEF(ctx, mynumber.FaceRecordEF)
		}
	}
	if err == nil {
		m.state = state
	}
	return err
}

func must(c iso7816.Command) []byte {
	b, err := c.Bytes()
	if err != nil {
		panic(err) // the cases are constants within the field limits
	}
	return b
}

// commandOf builds the 80 A2 probe of n bytes in all.
func commandOf(n int) []byte {
	c := iso7816.NewCommand(mynumber.ClaProprietary, mynumber.InsTerminalCertificate, mynumber.TerminalCertP1, mynumber.TerminalCertP2, nil, 0)
	switch {
	case n == iso7816.MaxShortCommand: // 4S: header, Lc, 255 bytes, Le
		c.Data, c.Ne = make([]byte, iso7816.MaxShortLc), iso7816.MaxShortNe
	case n < iso7816.MaxShortCommand: // 3S
		c.Data = make([]byte, n-5)
	default: // 3E
		c.Data, c.Extended = make([]byte, n-7), true
	}
	return must(c)
}

func presence(extended bool) []byte {
	h := sha256.Sum256([]byte("mynaconform envelope"))
	c := iso7816.NewCommand(mynumber.ClaProprietary, mynumber.InsComputeSignature, byte(mynumber.SigPKCS1Raw), 0x00, mynumber.DigestInfoSHA256(h[:]), iso7816.MaxShortNe)
	c.Extended = extended
	return must(c)
}

func readOf(ne int) []byte {
	c := iso7816.NewCommand(0x00, iso7816.InsReadBinary, 0, 0, nil, ne)
	c.Extended = ne > iso7816.MaxShortNe
	return must(c)
}

// probe sends one case.
func (m *meter) probe(ctx context.Context, c Case) (Outcome, error) {
	o := Outcome{Case: c}
	var cmd []byte
	var secret session.Secret
	state := ""
	switch {
	case c.ID == "TRN-CASE1":
		state = "jpki"
		cmd = must(iso7816.NewCommand(0x00, iso7816.InsVerify, 0, 0x80|byte(mynumber.JPKIAuthPIN), nil, 0))
	case c.ID == "TRN-CASE4S" || c.ID == "TRN-CASE4E":
		state, cmd = "face", presence(c.Form == "4E")
	case c.Kind == KindCommand:
		state, cmd = "jpki", commandOf(c.Length)
	case c.Kind == KindResponse:
		state = "cert"
		if c.Length > iso7816.MaxShortNe+1 {
			if len(m.opt.VerificationB) == 0 {
				o.Skipped = "no 照合番号B to open the card face, the only file this long"
				return o, nil
			}
			state = "faceEF"
		}
		cmd = readOf(c.Length)
	}
	m.s.Step(c.ID + " " + c.Title)
	if err := m.selectAP(ctx, state); err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return o, err
		}
		o.Err, o.Cause, o.Before = "before the probe: "+err.Error(), classify(err), true
		m.recover(ctx)
		return o, nil
	}
	resp, sw, err := m.s.Transmit(ctx, cmd, secret)
	o.CommandLen = len(cmd)
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return o, err
		}
		o.Err, o.Cause = err.Error(), classify(err)
		o.Refused = o.Cause == CauseLength
		m.recover(ctx)
		return o, nil
	}
	o.Carried, o.SW, o.ResponseLen = true, sw.String(), len(resp)+2
	return o, nil
}

// recover reconnects after a failure; the next probe selects again.
func (m *meter) recover(ctx context.Context) {
	m.state = ""
	_ = m.opt.Reconnect(ctx)
}

// narrow bisects between the longest length carried and the first failure, for commands and
// responses.
func (m *meter) narrow(ctx context.Context, env *Envelope) error {
	if env.FirstFailedCommand > 0 {
		lo := 0
		for _, o := range env.Outcomes {
			if o.Kind == KindCommand && o.Carried && o.CommandLen < env.FirstFailedCommand {
				lo = max(lo, o.CommandLen)
			}
		}
		if lo > 0 {
			hi, size, cause, err := m.bisect(ctx, env, lo, env.FirstFailedCommand, func(n int) (Outcome, error) {
				return m.probe(ctx, Case{ID: fmt.Sprintf("TRN-C%d", n), Kind: KindCommand, Length: n, Title: "bisection"})
			})
			if err != nil {
				return err
			}
			env.LongestCommand, env.FirstFailedCommand = max(env.LongestCommand, size), hi
			if cause != "" {
				env.CommandCause = cause
			}
		}
	}
	if env.FirstFailedResponse > 0 {
		lo, loResp := 0, 0
		for _, o := range env.Outcomes {
			if o.Kind == KindResponse && o.Carried && o.Length < env.FirstFailedResponse {
				lo, loResp = max(lo, o.Length), max(loResp, o.ResponseLen)
			}
		}
		// Bisect only where the file held what was asked (the limit lies above) and the probes
		// above the certificate's size can be sent.
		if lo > 0 && loResp >= lo && (len(m.opt.VerificationB) > 0 || env.FirstFailedResponse <= iso7816.MaxShortNe+1) {
			hi, size, cause, err := m.bisect(ctx, env, lo, env.FirstFailedResponse, func(n int) (Outcome, error) {
				return m.probe(ctx, Case{ID: fmt.Sprintf("TRN-R%d", n), Kind: KindResponse, Length: n, Title: "bisection"})
			})
			if err != nil {
				return err
			}
			env.LongestResponse, env.FirstFailedResponse = max(env.LongestResponse, size), hi
			if cause != "" {
				env.ResponseCause = cause
			}
		}
	}
	return nil
}

// bisect narrows [lo, hi) (lo is known to carry, hi not) to the smallest length that fails and
// returns it, the size measured at the largest that carried (command or response bytes) and the
// cause of the failure. A probe that could not be sent (Outcome.Before: the card was lost and
// not brought back) ends the bisection where it stands. Every probe is kept in env.Bisection.
func (m *meter) bisect(ctx context.Context, env *Envelope, lo, hi int, try func(n int) (Outcome, error)) (int, int, Cause, error) {
	size := func(o Outcome) int {
		if o.Kind == KindCommand {
			return o.CommandLen
		}
		return o.ResponseLen
	}
	best, cause := 0, Cause("")
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		o, err := try(mid)
		if err != nil {
			return 0, 0, "", err
		}
		env.Bisection = append(env.Bisection, o)
		switch {
		case o.Carried:
			lo, best = mid, size(o)
		case o.Before: // the probe was not sent: the limit stays where it was measured
			return hi, best, cause, nil
		default:
			hi, cause = mid, o.Cause
		}
	}
	if best == 0 { // every probe failed: measure lo itself again
		o, err := try(lo)
		if err != nil {
			return lo, 0, cause, err
		}
		env.Bisection = append(env.Bisection, o)
		best = size(o)
	}
	return hi, best, cause, nil
}

// Failed lists the outcomes that did not carry, sorted by ID.
func (env *Envelope) Failed() []Outcome {
	var out []Outcome
	for _, o := range env.Outcomes {
		if !o.Carried && o.Skipped == "" {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Outcome returns the outcome of the case with that ID.
func (env *Envelope) Outcome(id string) (Outcome, bool) {
	for _, o := range env.Outcomes {
		if o.ID == id {
			return o, true
		}
	}
	return Outcome{}, false
}

// Consistent checks that the envelope is monotonic: no command or response longer than one that
// failed went through (a reader that does is flaky, or the probe hit something else).
func (env *Envelope) Consistent() error {
	var bad []string
	for _, o := range env.Outcomes {
		if !o.Carried || o.Skipped != "" {
			continue
		}
		if o.Kind == KindCommand && env.FirstFailedCommand > 0 && o.CommandLen > env.FirstFailedCommand {
			bad = append(bad, fmt.Sprintf("%s carried %d bytes though %d failed", o.ID, o.CommandLen, env.FirstFailedCommand))
		}
		if o.Kind == KindResponse && env.FirstFailedResponse > 0 && o.Length > env.FirstFailedResponse {
			bad = append(bad, fmt.Sprintf("%s carried Le %d though Le %d failed", o.ID, o.Length, env.FirstFailedResponse))
		}
	}
	if bad != nil {
		return errors.New("envelope not monotonic: " + strings.Join(bad, "; "))
	}
	return nil
}
