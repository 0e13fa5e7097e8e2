package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/mynaconform/mynaconform/conformance/app"
	"github.com/mynaconform/mynaconform/conformance/target"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/formats/iso7816"
	"github.com/mynaconform/mynaconform/formats/onshi/api"
	"github.com/mynaconform/mynaconform/readers"
	"github.com/mynaconform/mynaconform/readers/session"
	"github.com/mynaconform/mynaconform/reports"
	"github.com/mynaconform/mynaconform/reports/transcript"
)

// result is what one spec body found.
type result struct {
	outcome
	skip     string // the spec cannot run on this target (test data it cannot present)
	internal string // the suite itself failed (a panic, a transcript that cannot be written)
}

func pass() *result { return &result{outcome: outcome{OK: true}} }

func (r *result) fail(step string, err error) *result {
	r.OK = false
	if s := app.FailedStep(err); s != "" {
		step = s
	}
	r.Step = step
	r.Reason = reasonOf(err)
	r.Cause = causeOf(err)
	return r
}

func (r *result) failf(step, format string, args ...any) *result {
	return r.fail(step, fmt.Errorf(format, args...))
}

// precondition fails r because an earlier spec of the device did not leave what it needs.
func (r *result) precondition(step, format string, args ...any) *result {
	r.failf(step, format, args...)
	r.Cause = reports.CausePrecondition
	return r
}

// reasonOf is the one line a person reads in the list: for a transport failure its cause and
// hint (the step is shown beside it), else the step's error.
func reasonOf(err error) string {
	var te *readers.TransportError
	if errors.As(err, &te) {
		s := te.Err.Error()
		if te.Hint != "" {
			s += " (" + te.Hint + ")"
		}
		return s
	}
	var se *app.StepError
	if errors.As(err, &se) {
		return se.Err.Error()
	}
	return err.Error()
}

// causeOf classifies a failure for the list's remedy.
func causeOf(err error) string {
	var (
		sw iso7816.StatusWord
		ae *api.Error
	)
	switch {
	case errors.Is(err, readers.ErrTransceiveLength):
		return reports.CauseTransceiveLength
	case errors.Is(err, readers.ErrTagLost):
		return reports.CauseResponseCap
	case errors.Is(err, readers.ErrTimeout):
		return reports.CauseTimeout
	case errors.Is(err, readers.ErrNoNFC):
		return reports.CauseNoNFC
	case errors.Is(err, readers.ErrNoISODep):
		return reports.CauseNoISODep
	case errors.Is(err, readers.ErrCardRemoved), errors.Is(err, readers.ErrNoCard), errors.Is(err, readers.ErrCardReset):
		return reports.CauseCardRemoved
	case errors.Is(err, readers.ErrNoService), errors.Is(err, readers.ErrNoReader):
		return reports.CauseReader
	case errors.As(err, new(*readers.TransportError)):
		return reports.CauseLink
	case errors.As(err, &sw): // a status word, PIN errors included
		return reports.CauseCard
	case errors.As(err, &ae):
		return reports.CauseService
	}
	return reports.CauseCheck
}

// step is one plan row's body on one device.
type step struct {
	id   string
	body func(ctx context.Context, w *world) *result
}

// deviceRun is the ordered specs of one device and what they found. Its specs run in order
// either inside the Its (one device at a time) or, when devices run concurrently, on a worker
// goroutine ahead of the Its, which then only wait for and report what their body found: the
// same bodies in the same order, so the verdicts cannot depend on the mode.
type deviceRun struct {
	idx   int // the device's index in the tree
	run   int // which run of the device's path (1..Repeat)
	dev   target.Device
	steps []step
	res   map[string]chan *result // one per spec, filled once
	ran   map[string]bool         // one device at a time: the bodies that have run
}

func newDeviceRun(idx, run int, d target.Device) *deviceRun {
	return &deviceRun{idx: idx, run: run, dev: d, res: map[string]chan *result{}, ran: map[string]bool{}}
}

// runInline runs spec id's body in the It, first running (unreported) every earlier body it
// depends on that a Ginkgo filter left out: the shared preconditions (activation, login) and the
// earlier specs of the same mode. So `-ginkgo.focus VIS-002` on one device registers its visual
// consent first instead of failing for want of one.
func (dr *deviceRun) runInline(ctx context.Context, w *world, id, mode string) *result {
	for _, st := range dr.steps {
		if st.id == id {
			break
		}
		// The TRN specs share one measurement that any of them makes: no other spec needs them.
		if sd, _ := planByID(st.id); !dr.ran[st.id] && sd.Stage != stageEnvelope && (sd.Mode == "" || sd.Mode == mode) {
			dr.ran[st.id] = true
			safeRun(ctx, w, st.body)
		}
	}
	dr.ran[id] = true
	for _, st := range dr.steps {
		if st.id == id {
			return safeRun(ctx, w, st.body)
		}
	}
	return &result{internal: "spec " + id + " has no body"}
}

func (dr *deviceRun) add(id string, body func(ctx context.Context, w *world) *result) {
	dr.steps = append(dr.steps, step{id, body})
	dr.res[id] = make(chan *result, 1)
}

// runAll runs every spec body of the device in order (a worker's job).
func (dr *deviceRun) runAll(ctx context.Context, w *world) {
	for _, st := range dr.steps {
		dr.res[st.id] <- safeRun(ctx, w, st.body)
	}
}

// safeRun runs a body, turning a panic into an internal failure.
func safeRun(ctx context.Context, w *world, body func(context.Context, *world) *result) (r *result) {
	defer func() {
		if p := recover(); p != nil {
			r = &result{internal: fmt.Sprintf("panic: %v\n%s", p, debug.Stack())}
		}
	}()
	return body(ctx, w)
}

// orNone is err, or an error saying there was none (for "want X, got Y" messages).
func orNone(err error) error {
	if err == nil {
		return errors.New("no error")
	}
	return err
}

// stepTerminalSetUp is ACT-001's step: the institution's terminal, not the app.
const stepTerminalSetUp = "terminal set-up"

var consentItems = api.ConsentItems{Medication: true, Clinical: true, Checkup: true}

// deviceSpecs declares the plan's specs for run `run` (1..Repeat) of device d, at position i of
// the run's selection: each run is the device's whole path afresh, with accounts and an
// activation of its own.
func (s *suite) deviceSpecs(i, run int, d target.Device) {
	dr := newDeviceRun(i, run, d)
	s.runs = append(s.runs, dr)
	k := i*s.opts.Repeat + run - 1 // unique per run: the accounts of one world
	var (
		userMed  = fmt.Sprintf("m%x", k) // 医療情報閲覧 account, 2-8 alphanumerics
		userGen  = fmt.Sprintf("g%x", k) // 一般利用者 account
		code     string
		a        *app.App
		consents = map[string]string{} // mode -> consent ID
	)
	adult := persona("adult")

	env := &envStage{}
	for _, sd := range plan {
		if sd.Stage == stageEnvelope {
			id := sd.ID
			dr.add(id, func(ctx context.Context, w *world) *result { return s.envelopeSpec(ctx, d, env, run, id) })
		}
	}

	dr.add("ACT-001", func(ctx context.Context, w *world) *result {
		r := pass()
		c, err := w.setUpDevice(ctx, d.ID, userMed, userGen)
		if err != nil {
			return r.fail(stepTerminalSetUp, err)
		}
		code = c
		return r
	})

	dr.add("ACT-002", func(ctx context.Context, w *world) *result {
		r := pass()
		early := w.newApp()
		err := early.Activate(ctx, userMed, w.password(userMed), code)
		if !api.IsCode(err, api.CodeActivationCodeNotYetValid) {
			return r.failf(app.StepActivate, "want %s before the delay, got %v", api.CodeActivationCodeNotYetValid, err)
		}
		return r
	})

	dr.add("ACT-003", func(ctx context.Context, w *world) *result {
		r := pass()
		w.clock.Advance(w.cfg.ActivationDelay + time.Second)
		a = w.newApp()
		if err := a.Activate(ctx, userMed, w.password(userMed), code); err != nil {
			a = nil
			return r.fail(app.StepActivate, err)
		}
		if err := w.checkTerminalCert(a); err != nil {
			return r.fail(app.StepActivate, err)
		}
		return r
	})

	dr.add("LOG-001", func(ctx context.Context, w *world) *result {
		r := pass()
		if a == nil {
			return r.precondition(app.StepLogin, "no activated device (ACT-003 failed)")
		}
		if err := a.Login(ctx, userMed, w.password(userMed)); err != nil {
			return r.fail(app.StepLogin, err)
		}
		again := w.newApp()
		err := again.Activate(ctx, userMed, w.password(userMed), code)
		if !api.IsCode(err, api.CodeActivationCodeUsed) {
			return r.failf(app.StepActivate, "want %s for a reused code, got %v", api.CodeActivationCodeUsed, err)
		}
		return r
	})

	dr.add("PIN-001", func(ctx context.Context, w *world) *result {
		return s.withCard(ctx, w, d, run, "PIN-001", "pin", a, adult, func(ss *session.Session, r *result) *result {
			id, err := a.ConsentPIN(ctx, ss, pinOf(adult), consentItems)
			r.timing(ss)
			if err != nil {
				return r.fail(app.StepRegisterConsent, err)
			}
			consents["pin"] = id
			return r
		})
	})

	dr.add("PIN-002", func(ctx context.Context, w *world) *result {
		return lookup(ctx, a, consents["pin"], "pin", adult)
	})

	dr.add("PIN-003", func(ctx context.Context, w *world) *result {
		if isLabCard(adult) {
			return &result{skip: "lab card: a wrong PIN would consume a try of a real card"}
		}
		return s.withCard(ctx, w, d, run, "PIN-003", "pin", a, adult, func(ss *session.Session, r *result) *result {
			wrong := []byte("0000")
			if adult.AuthPIN == "0000" {
				wrong = []byte("9999")
			}
			_, err := a.ConsentPIN(ctx, ss, wrong, consentItems)
			var pe *session.PINError
			if !errors.As(err, &pe) || pe.Retries != 2 {
				r.fail(app.StepVerifyPIN, fmt.Errorf("want a PIN error with 2 tries left (63C2), got %w", orNone(err)))
				return r
			}
			if _, err := a.ConsentPIN(ctx, ss, pinOf(adult), consentItems); err != nil {
				return r.fail(app.StepRegisterConsent, err)
			}
			return r
		})
	})

	dr.add("PIN-004", func(ctx context.Context, w *world) *result {
		blocked := persona("blocked")
		return s.withCard(ctx, w, d, run, "PIN-004", "pin", a, blocked, func(ss *session.Session, r *result) *result {
			_, err := a.ConsentPIN(ctx, ss, []byte(blocked.AuthPIN), consentItems)
			if !errors.Is(err, iso7816.SWBlocked) {
				return r.fail(app.StepVerifyPIN, fmt.Errorf("want the card to refuse a blocked PIN, got %w", orNone(err)))
			}
			return r
		})
	})

	dr.add("VIS-001", func(ctx context.Context, w *world) *result {
		return s.withCard(ctx, w, d, run, "VIS-001", "visual", a, adult, func(ss *session.Session, r *result) *result {
			id, ev, err := a.ConsentVisual(ctx, ss, verificationBOf(adult), photoCheck(adult), consentItems)
			r.timing(ss)
			if err != nil {
				return r.fail(app.StepRegisterConsent, err)
			}
			r.Photo = ev.Face.Photo
			consents["visual"] = id
			return r
		})
	})

	dr.add("VIS-002", func(ctx context.Context, w *world) *result {
		return lookup(ctx, a, consents["visual"], "visual", adult)
	})

	dr.add("VIS-003", func(ctx context.Context, w *world) *result {
		fa := persona("face-auth")
		return s.withCard(ctx, w, d, run, "VIS-003", "visual", a, fa, func(ss *session.Session, r *result) *result {
			if _, err := a.ConsentPIN(ctx, ss, []byte("1234"), consentItems); !errors.Is(err, iso7816.SWBlocked) {
				return r.fail(app.StepVerifyPIN, fmt.Errorf("want the card to refuse PIN mode (no PIN set: 6984), got %w", orNone(err)))
			}
			if _, _, err := a.ConsentVisual(ctx, ss, verificationBOf(fa), photoCheck(fa), consentItems); err != nil {
				return r.fail(app.StepRegisterConsent, err)
			}
			return r
		})
	})

	dr.add("LKP-001", func(ctx context.Context, w *world) *result {
		r := pass()
		if a == nil {
			return r.precondition(app.StepLookup, "no activated device to register a consent with (ACT-003 failed)")
		}
		id := consents["pin"]
		if id == "" {
			id = consents["visual"]
		}
		if id == "" {
			// The device could not register one (its card steps failed): this spec checks the
			// service's account rule, so register a consent through the reference reader.
			rs, err := referenceSession(ctx, adult)
			if err != nil {
				return r.fail(app.StepConnect, err)
			}
			id, err = a.ConsentPIN(ctx, rs, pinOf(adult), consentItems)
			if werr := s.writeTranscript(d, "LKP-001", "pin", run, adult, rs); werr != nil {
				r.internal = werr.Error()
				return r
			}
			if err != nil {
				return r.fail(app.StepRegisterConsent, err)
			}
		}
		g := w.newApp()
		g.Device = a.Device
		if err := g.Login(ctx, userGen, w.password(userGen)); err != nil {
			return r.fail(app.StepLogin, err)
		}
		if _, err := g.Lookup(ctx, id, true); !api.IsCode(err, api.CodeMedicalInfoNotPermitted) {
			return r.failf(app.StepLookup, "want %s for a 一般利用者 asking for medication, got %v", api.CodeMedicalInfoNotPermitted, err)
		}
		res, err := g.Lookup(ctx, id, false)
		if err != nil {
			return r.fail(app.StepLookup, err)
		}
		if len(res.Medications) != 0 {
			return r.failf(app.StepLookup, "一般利用者 got %d medication entries", len(res.Medications))
		}
		return r
	})

	s.declare(dr)
}

// declare turns a run of a device's specs into one Ordered container of Its. With -repeat the
// container is named "<device> run K" and its specs carry the label run:K.
func (s *suite) declare(dr *deviceRun) {
	d := dr.dev
	name := d.ID
	if s.opts.Repeat > 1 {
		name = fmt.Sprintf("%s run %d", d.ID, dr.run)
	}
	Describe(name, Ordered, ContinueOnFailure, func() {
		for _, st := range dr.steps {
			sd, ok := planByID(st.id)
			if !ok {
				panic("spec " + st.id + " is not in the plan")
			}
			labels := Label("device:"+d.ID, "stage:"+sd.Stage)
			if sd.Mode != "" {
				labels = append(labels, "mode:"+sd.Mode)
			}
			if s.opts.Repeat > 1 {
				labels = append(labels, fmt.Sprintf("run:%d", dr.run))
			}
			It(sd.ID+" "+sd.Title, labels, func(ctx SpecContext) {
				var r *result
				if s.ahead {
					select {
					case r = <-dr.res[st.id]:
					case <-ctx.Done():
						Fail("interrupted while the device's worker was still running")
					}
				} else {
					r = dr.runInline(ctx, s.worlds[0], st.id, sd.Mode)
				}
				if r.internal != "" {
					Fail("internal: " + r.internal)
				}
				if r.skip != "" {
					Skip(r.skip)
				}
				o := r.outcome
				o.Device, o.Spec, o.Mode, o.Run = d.ID, sd.ID, sd.Mode, dr.run
				AddReportEntry(outcomeEntry, o, ReportEntryVisibilityNever)
				s.record(o)
				if !o.OK && s.mustPass(d.ID, sd.Mode) {
					Fail(fmt.Sprintf("%s: %s", o.Step, o.Reason))
				}
			})
		}
		if dr.run == s.opts.Repeat {
			AfterAll(func() { s.progress(dr) })
		}
	})
}

func persona(id string) *fixtures.Persona {
	p, err := fixtures.PersonaByID(id)
	if err != nil {
		panic(err) // the checked-in fixtures are part of the build
	}
	return p
}

// open presents a fresh card of persona p to the device and starts an APDU session on it.
// It also returns the card's ATR where the reader reports one (PC/SC).
func (s *suite) open(ctx context.Context, w *world, d target.Device, p *fixtures.Persona) (*session.Session, []byte, func(), error) {
	r, done, err := d.Open(p)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := r.Connect(ctx); err != nil {
		done()
		return nil, nil, nil, err
	}
	var atr []byte
	if a, ok := r.(interface{ ATR() []byte }); ok {
		atr = a.ATR()
	}
	if isLabCard(p) {
		if err := w.enrollLabCard(ctx, session.New(r)); err != nil {
			done()
			return nil, nil, nil, fmt.Errorf("enrolling the lab card's auth certificate: %w", err)
		}
	}
	return session.New(r), atr, done, nil
}

// withCard presents a fresh card of persona p to device d for an activated app, runs body on a
// session over it (the preamble of every spec that talks to a card), and writes the session's
// transcript whatever the body found.
func (s *suite) withCard(ctx context.Context, w *world, d target.Device, run int, specID, mode string, a *app.App, p *fixtures.Persona, body func(ss *session.Session, r *result) *result) *result {
	r := pass()
	if a == nil {
		return r.precondition(app.StepLogin, "no activated device (ACT-003 failed)")
	}
	ss, atr, done, err := s.open(ctx, w, d, p)
	if errors.Is(err, target.ErrPersonaUnavailable) {
		return &result{skip: err.Error()} // test data the target cannot present, not a device capability
	}
	if err != nil {
		return r.fail(app.StepConnect, err)
	}
	defer done()
	r = body(ss, r)
	r.ATR = atr
	if err := s.writeTranscript(d, specID, mode, run, p, ss); err != nil {
		r.internal = err.Error()
	}
	return r
}

// referenceSession is a session on an in-process virtual card of persona p behind a generous
// reference handset (target.ReferenceReader), for specs that check the service rather than the
// device.
func referenceSession(ctx context.Context, p *fixtures.Persona) (*session.Session, error) {
	r, err := target.ReferenceReader(p)
	if err != nil {
		return nil, err
	}
	if err := r.Connect(ctx); err != nil {
		return nil, err
	}
	return session.New(r), nil
}

// timing records the modelled tap time of a mode's card steps and their per-step split.
func (r *result) timing(s *session.Session) {
	var steps []reports.StepTime
	idx := map[string]int{}
	var total time.Duration
	for _, ex := range s.Exchanges() {
		j, ok := idx[ex.Step]
		if !ok {
			j = len(steps)
			idx[ex.Step] = j
			steps = append(steps, reports.StepTime{Step: ex.Step})
		}
		steps[j].Time += ex.Elapsed
		steps[j].APDUs++
		steps[j].Bytes += len(ex.Command) + len(ex.Response)
		total += ex.Elapsed
	}
	r.Tap, r.Steps = total, steps
}

func lookup(ctx context.Context, a *app.App, consentID, mode string, p *fixtures.Persona) *result {
	r := pass()
	if consentID == "" {
		return r.precondition(app.StepLookup, "no %s-mode consent to look up (its consent spec failed)", mode)
	}
	res, err := a.Lookup(ctx, consentID, true)
	if err != nil {
		return r.fail(app.StepLookup, err)
	}
	q := res.Result
	switch {
	case q.Validity != api.ValidityValid:
		return r.failf(app.StepLookup, "validity %d, want 1 (有効)", q.Validity)
	case len(q.Qualifications) == 0 || q.Qualifications[0].InsurerNumber == "" || q.Qualifications[0].Number == "":
		return r.failf(app.StepLookup, "insurer number or 被保険者番号 missing")
	case q.NameKana != p.Kana:
		return r.failf(app.StepLookup, "name kana %q, want the persona's", q.NameKana)
	case q.IdentifiedBy != mode:
		return r.failf(app.StepLookup, "identified by %q, want %q", q.IdentifiedBy, mode)
	case !q.Consent.Medication.Consented:
		return r.failf(app.StepLookup, "medication consent flag not set")
	case len(res.Medications) == 0:
		return r.failf(app.StepLookup, "no medication history for a 医療情報閲覧 account with consent")
	}
	return r
}

// writeTranscript writes the masked exchanges of one spec on one device into the run's
// staging folder, and refuses to if a secret of the persona would appear in clear.
func (s *suite) writeTranscript(d target.Device, specID, mode string, run int, p *fixtures.Persona, ss *session.Session) error {
	return s.writeTranscriptExchanges(d, specID, mode, run, p, ss.Exchanges())
}

// transcriptPath is where spec specID of run `run` of device dev has its transcript, relative to
// the result set's transcripts folder: <device>/<spec>.cbor, and with -repeat
// <device>/run-<K>/<spec>.cbor.
func (s *suite) transcriptPath(dev, specID string, run int) string {
	if s.opts.Repeat > 1 {
		return filepath.Join(dev, fmt.Sprintf("run-%d", run), specID+".cbor")
	}
	return filepath.Join(dev, specID+".cbor")
}

func (s *suite) writeTranscriptExchanges(d target.Device, specID, mode string, run int, p *fixtures.Persona, exs []session.Exchange) error {
	if s.staging == "" {
		return nil
	}
	f := &transcript.File{Version: 1, Target: s.opts.Target, Device: d.ID, Mode: mode, Persona: p.ID,
		Exchanges: transcript.FromSession(exs)}
	var buf bytes.Buffer
	size := 256
	for _, e := range exs {
		size += len(e.Step) + len(e.Command) + len(e.Response) + len(e.Err) + 32
	}
	buf.Grow(size) // the envelope's probes are tens of kilobytes: one allocation, not a doubling
	if err := transcript.Write(&buf, f); err != nil {
		return err
	}
	for _, secret := range []string{p.AuthPIN, p.VerificationB(), p.MyNumber, string(pinOf(p)), string(verificationBOf(p))} {
		if len(secret) >= 4 && bytes.Contains(buf.Bytes(), []byte(secret)) {
			return fmt.Errorf("transcript of %s %s holds a secret in clear", d.ID, specID)
		}
	}
	path := filepath.Join(s.staging, TranscriptsDir, s.transcriptPath(d.ID, specID, run))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
