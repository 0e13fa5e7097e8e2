package conformance

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mynaconform/mynaconform/conformance/envelope"
	"github.com/mynaconform/mynaconform/conformance/target"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/formats/iso7816"
	"github.com/mynaconform/mynaconform/readers"
	"github.com/mynaconform/mynaconform/readers/session"
	"github.com/mynaconform/mynaconform/reports"
)

// The envelope stage (TESTPLAN.md, stage "envelope"): before the app's path, the device's APDU
// envelope is measured once with a fresh card of the adult persona (conformance/envelope:
// every boundary case, then bisection to the exact limits), and each TRN spec reports its case
// of that measurement. A TRN spec passes when its outcome is consistent with what the device
// states and the envelope is monotonic (stated, below): a short-only handset's refused 262-byte
// command is its measured limit, not a failure of TRN-C262.

// envStage is one run of one device's envelope stage: one measurement its TRN specs share. Its
// bodies run in order on one goroutine (a worker's, or the Its'), so it needs no lock.
type envStage struct {
	measured bool
	env      *envelope.Envelope
	reach    error // the card could not be reached at all (connect refused)
	err      error // the measurement itself failed
	exs      []session.Exchange
	atr      []byte
}

// measure runs the measurement once.
func (st *envStage) measure(ctx context.Context, d target.Device) {
	if st.measured {
		return
	}
	st.measured = true
	if d.Envelope != nil {
		// The target measured it already (a named PC/SC reader, maybe a handset in the loop,
		// where every probe it cannot carry costs a re-tap): report that measurement.
		st.env, st.exs, st.atr = d.Envelope, d.EnvelopeExchanges, d.EnvelopeATR
		return
	}
	adult := persona("adult")
	rp, err := present(ctx, d, adult)
	if err != nil {
		st.reach = err
		return
	}
	defer rp.release()
	ss := session.New(rp.reader())
	st.atr = rp.atr()
	st.env, st.err = envelope.Measure(ctx, ss, envelope.Options{
		VerificationB: verificationBOf(adult), Exact: true, Reconnect: rp.again,
	})
	st.exs = ss.Exchanges()
}

// envelopeSpec is the body of TRN spec id.
func (s *suite) envelopeSpec(ctx context.Context, d target.Device, st *envStage, run int, id string) *result {
	st.measure(ctx, d)
	r := pass()
	c, _ := envelopeCase(id)
	r.Step = c.Title
	if st.exs != nil {
		if err := s.writeTranscriptExchanges(d, id, "", run, persona("adult"), envExchanges(st.exs, st.env, id)); err != nil {
			r.internal = err.Error()
			return r
		}
	}
	r.ATR = st.atr
	r.Envelope = summarize(st)
	stated := statedOf(d)
	switch {
	case st.reach != nil:
		if ok, why := stated.unreachable(st.reach); !ok {
			r.fail(c.Title, fmt.Errorf("the card could not be reached (%s), though %s", reasonOf(st.reach), why))
			r.Cause = causeOf(st.reach)
		}
		return r
	case st.err != nil:
		return r.fail(c.Title, fmt.Errorf("measuring the envelope: %w", st.err))
	}
	o, ok := st.env.Outcome(id)
	if !ok {
		r.internal = "no envelope outcome for " + id
		return r
	}
	if o.Skipped != "" {
		return &result{skip: o.Skipped}
	}
	if why := monotonic(st.env, o); why != "" {
		r.fail(c.Title, errors.New(why))
		r.Cause = reports.CauseLink
		return r
	}
	if why := stated.judge(o); why != "" {
		r.fail(c.Title, errors.New(why))
		if o.Carried {
			r.Cause = reports.CauseCheck
		} else {
			r.Cause = envCause(o.Cause)
		}
		return r
	}
	return r
}

func envelopeCase(id string) (envelope.Case, bool) {
	for _, c := range envelope.Cases() {
		if c.ID == id {
			return c, true
		}
	}
	return envelope.Case{}, false
}

// envExchanges are the exchanges of spec id's probe: those sent under its step name, and, for
// the spec that found a first failure, the two bisection probes that fix the exact limit (the
// longest that went through and the shortest that did not). The bisection's other probes are
// search steps, left out: with commands of tens of kilobytes they would make the transcripts of a
// long-command handset megabytes.
func envExchanges(all []session.Exchange, env *envelope.Envelope, id string) []session.Exchange {
	var out []session.Exchange
	for _, e := range all {
		sid, title, _ := strings.Cut(e.Step, " ")
		if title == "bisection" {
			c, isCmd := strings.CutPrefix(sid, "TRN-C")
			r, isResp := strings.CutPrefix(sid, "TRN-R")
			nc, _ := strconv.Atoi(c)
			nr, _ := strconv.Atoi(r)
			switch {
			case isCmd && (nc == env.LongestCommand || nc == env.FirstFailedCommand):
				sid = env.CommandFailedBy
			case isResp && (nr == env.FirstFailedResponse-1 || nr == env.FirstFailedResponse):
				sid = env.ResponseFailedBy
			default:
				continue
			}
		}
		if sid == id {
			out = append(out, e)
		}
	}
	return out
}

// envCause is the list's cause code of an envelope failure.
func envCause(c envelope.Cause) string {
	switch c {
	case envelope.CauseLength:
		return reports.CauseTransceiveLength
	case envelope.CauseTagLost:
		return reports.CauseResponseCap
	case envelope.CauseTimeout:
		return reports.CauseTimeout
	case envelope.CauseRemoved:
		return reports.CauseCardRemoved
	}
	return reports.CauseLink
}

// summarize is the envelope as the list shows it.
func summarize(st *envStage) *reports.Envelope {
	switch {
	case st.reach != nil:
		return &reports.Envelope{Unreachable: causeOf(st.reach)}
	case st.env == nil:
		return nil
	}
	e := st.env
	out := &reports.Envelope{
		LongestCommand: e.LongestCommand, LongestResponse: e.LongestResponse, Extended: e.Extended,
		FirstFailedCommand: e.FirstFailedCommand, CommandFailedBy: e.CommandFailedBy,
		FirstFailedResponse: e.FirstFailedResponse, ResponseFailedBy: e.ResponseFailedBy,
	}
	if e.FirstFailedCommand > 0 {
		out.CommandCause = envCause(e.CommandCause)
	}
	if e.FirstFailedResponse > 0 {
		out.ResponseCause = envCause(e.ResponseCause)
	}
	return out
}

// monotonic says why outcome o breaks the envelope's monotony ("" when it does not): a command
// or response that went through although a shorter one failed (a flaky link, or a probe that hit
// something else).
func monotonic(env *envelope.Envelope, o envelope.Outcome) string {
	if !o.Carried {
		return ""
	}
	switch {
	case o.Kind == envelope.KindCommand && env.FirstFailedCommand > 0 && o.CommandLen > env.FirstFailedCommand:
		return fmt.Sprintf("envelope not monotonic: a %d-byte command went through, though a %d-byte one failed (%s)", o.CommandLen, env.FirstFailedCommand, env.CommandFailedBy)
	case o.Kind == envelope.KindResponse && env.FirstFailedResponse > 0 && o.Length > env.FirstFailedResponse:
		return fmt.Sprintf("envelope not monotonic: a response to Le %d went through, though Le %d failed (%s)", o.Length, env.FirstFailedResponse, env.ResponseFailedBy)
	}
	return ""
}

// stated is what a device states about the APDUs it carries.
//
//   - An emulated handset states its profile, and its limits are exact: a command up to its max
//     transceive goes through and a longer one is refused (transceive length); a response over
//     its response cap loses the tag; an extended-length command is refused where the profile
//     says extended: false; an exchange may time out, where the profile has a timeout (the
//     modelled time is the profile's too); with no NFC or no ISO-DEP no card is reached.
//   - A PC/SC reader states what pcscd's probe found (Info.Caps), and those are lower bounds:
//     commands up to the probed length, Le up to 256 (257 where extended APDUs were probed)
//     must go through; beyond them, whatever happens is the reader's measured limit. A reader
//     must reach its card.
type stated struct {
	exact                  bool
	maxCommand, maxResp    int
	extended, noExtendedLc bool // noExtendedLc: extended-form commands are refused
	timeout                time.Duration
	nfc, isoDep            bool
}

func statedOf(d target.Device) stated {
	if p := d.Profile; p != nil {
		return stated{exact: true, maxCommand: p.MaxTransceive, maxResp: p.MaxResponse, extended: p.ExtendedAPDU(),
			noExtendedLc: p.Extended != nil && !*p.Extended, timeout: p.Timeout, nfc: p.NFC, isoDep: p.ISODep}
	}
	c := d.Info.Caps
	return stated{maxCommand: c.MaxCommand, maxResp: c.MaxResponse, extended: c.Extended, noExtendedLc: !c.Extended, nfc: true, isoDep: true}
}

// unreachable tells whether a card that could not be reached is what the device states.
func (st stated) unreachable(err error) (bool, string) {
	switch {
	case errors.Is(err, readers.ErrNoNFC) && st.exact && !st.nfc:
		return true, ""
	case errors.Is(err, readers.ErrNoISODep) && st.exact && st.nfc && !st.isoDep:
		return true, ""
	case !st.exact:
		return false, "a PC/SC reader must reach the card in it"
	}
	return false, "the profile states NFC with ISO-DEP"
}

// judge says why outcome o contradicts what the device states ("" when it does not).
func (st stated) judge(o envelope.Outcome) string {
	extForm := o.Form == "2E" || o.Form == "3E" || o.Form == "4E"
	asked := o.Length // Le of a response probe
	if o.Carried {
		switch {
		case !st.exact:
		case st.maxCommand > 0 && o.CommandLen > st.maxCommand:
			return fmt.Sprintf("a %d-byte command went through, though the device states at most %d", o.CommandLen, st.maxCommand)
		case st.maxResp > 0 && o.ResponseLen > st.maxResp:
			return fmt.Sprintf("a %d-byte response went through, though the device states a cap of %d", o.ResponseLen, st.maxResp)
		}
		return ""
	}
	if o.Before {
		return "the probe could not be sent: " + o.Err
	}
	overLength := st.maxCommand > 0 && o.CommandLen > st.maxCommand || extForm && st.noExtendedLc
	overCap := o.Kind == envelope.KindResponse && st.maxResp > 0 && asked+2 > st.maxResp
	if st.exact {
		switch {
		case o.Cause == envelope.CauseLength && overLength:
			return ""
		case o.Cause == envelope.CauseTagLost && overCap:
			return ""
		case o.Cause == envelope.CauseTimeout && st.timeout > 0:
			return ""
		}
		return fmt.Sprintf("%s within what the device states (max transceive %d, response cap %s, extended %s) did not go through: %s",
			probeWhat(o), st.maxCommand, orNoCap(st.maxResp), yesNo(st.extended), o.Err)
	}
	// PC/SC: beyond the probed lower bounds, a failure is the reader's measured limit.
	beyond := overLength
	if o.Kind == envelope.KindResponse {
		beyond = asked > iso7816.MaxShortNe+1 || !st.extended && asked > iso7816.MaxShortNe
	}
	if beyond {
		return ""
	}
	return fmt.Sprintf("%s within what the reader's probe found (commands up to %d bytes, extended %s) did not go through: %s",
		probeWhat(o), st.maxCommand, yesNo(st.extended), o.Err)
}

func probeWhat(o envelope.Outcome) string {
	if o.Kind == envelope.KindResponse {
		return fmt.Sprintf("a response to Le %d", o.Length)
	}
	return fmt.Sprintf("a %d-byte command (case %s)", o.CommandLen, o.Form)
}

func orNoCap(n int) string {
	if n == 0 {
		return "none"
	}
	return fmt.Sprint(n)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// presented is the card of the envelope stage, presented through the target (Device.Open).
// Reconnect presents it again — the old one released, a fresh one opened and connected — as a
// person takes the card away and taps it again: a PC/SC reader may drop the card after a failed
// probe, and a handset's link drops after a refusal it reports as a lost tag or a timeout.
type presented struct {
	d    target.Device
	p    *fixtures.Persona
	r    readers.Reader
	info readers.Info
	done func()
	base time.Duration // modelled time of the readers presented before r (clocked readers)
}

// present opens the device's reader with a fresh card of persona p and connects it.
func present(ctx context.Context, d target.Device, p *fixtures.Persona) (*presented, error) {
	x := &presented{d: d, p: p}
	if err := x.open(ctx); err != nil {
		return nil, err
	}
	return x, nil
}

func (x *presented) open(ctx context.Context) error {
	r, done, err := x.d.Open(x.p)
	if err != nil {
		return err
	}
	if err := r.Connect(ctx); err != nil {
		done()
		return err
	}
	x.r, x.done, x.info = r, done, r.Info()
	return nil
}

// again is Measure's Reconnect.
func (x *presented) again(ctx context.Context) error {
	if c, ok := x.r.(readers.Clocked); ok && x.r != nil {
		x.base += c.Elapsed()
	}
	x.release()
	return x.open(ctx)
}

func (x *presented) release() {
	if x.done != nil {
		x.done()
		x.done, x.r = nil, nil
	}
}

func (x *presented) atr() []byte {
	if a, ok := x.r.(interface{ ATR() []byte }); ok {
		return a.ATR()
	}
	return nil
}

// reader is x as a readers.Reader for the session: with modelled time when the device's
// readers model it (the virtual phone), else measured around each exchange.
func (x *presented) reader() readers.Reader {
	if _, ok := x.r.(readers.Clocked); ok {
		return &clockedPresented{presented: x}
	}
	return (*presentedReader)(x)
}

type presentedReader presented

func (x *presentedReader) gone(op string) error {
	return &readers.TransportError{Reader: x.info.Name, Op: op, Err: readers.ErrNoCard, Hint: "the card could not be presented again"}
}

func (x *presentedReader) Info() readers.Info { return x.info }

func (x *presentedReader) Connect(ctx context.Context) error {
	if x.r == nil {
		return (*presented)(x).open(ctx)
	}
	return x.r.Connect(ctx)
}

func (x *presentedReader) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	if x.r == nil {
		return nil, x.gone("transmit")
	}
	return x.r.Transmit(ctx, cmd)
}

func (x *presentedReader) Reset(ctx context.Context, cold bool) error {
	if x.r == nil {
		return x.gone("reset")
	}
	return x.r.Reset(ctx, cold)
}

func (x *presentedReader) Close() error {
	if x.r == nil {
		return nil
	}
	return x.r.Close()
}

// SetStep passes the session's step names on (the virtual phone's fault injection uses them).
func (x *presentedReader) SetStep(step string) {
	if s, ok := x.r.(interface{ SetStep(string) }); ok {
		s.SetStep(step)
	}
}

type clockedPresented struct{ *presented }

func (c *clockedPresented) Info() readers.Info { return (*presentedReader)(c.presented).Info() }
func (c *clockedPresented) Connect(ctx context.Context) error {
	return (*presentedReader)(c.presented).Connect(ctx)
}
func (c *clockedPresented) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	return (*presentedReader)(c.presented).Transmit(ctx, cmd)
}
func (c *clockedPresented) Reset(ctx context.Context, cold bool) error {
	return (*presentedReader)(c.presented).Reset(ctx, cold)
}
func (c *clockedPresented) Close() error        { return (*presentedReader)(c.presented).Close() }
func (c *clockedPresented) SetStep(step string) { (*presentedReader)(c.presented).SetStep(step) }

// Elapsed is the modelled time of every reader presented so far.
func (c *clockedPresented) Elapsed() time.Duration {
	if cl, ok := c.r.(readers.Clocked); ok && c.r != nil {
		return c.base + cl.Elapsed()
	}
	return c.base
}
