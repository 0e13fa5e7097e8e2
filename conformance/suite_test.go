package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mynaconform/mynaconform/conformance/app"
	"github.com/mynaconform/mynaconform/conformance/target"
	"github.com/mynaconform/mynaconform/emulator/card"
	"github.com/mynaconform/mynaconform/emulator/onshi/api"
	"github.com/mynaconform/mynaconform/emulator/phone"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/formats/iso7816"
	"github.com/mynaconform/mynaconform/readers"
	"github.com/mynaconform/mynaconform/readers/session"
	"github.com/mynaconform/mynaconform/reports"
	"github.com/mynaconform/mynaconform/reports/transcript"
)

func TestConformance(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "mynaconform conformance")
}

// filtered reports whether the run was narrowed by label, focus or skip.
func filtered() bool {
	sc, _ := GinkgoConfiguration()
	return sc.LabelFilter != "" || len(sc.FocusStrings) > 0 || len(sc.SkipStrings) > 0 ||
		len(sc.FocusFiles) > 0 || len(sc.SkipFiles) > 0
}

// w is this process's world: the emulated qualification system on loopback HTTP with an
// injected clock, and the terminal admin.
var w *world

var _ = BeforeSuite(func(ctx SpecContext) {
	Expect(checkLabEnv()).To(Succeed())
	_, err := suiteDevices()
	if c, ok := tgt.(io.Closer); ok {
		DeferCleanup(c.Close) // e.g. the pcsc target's pcscd
	}
	Expect(err).NotTo(HaveOccurred(), "opening the target")
	if *flagVerdicts == "expect" {
		_, err := expectations()
		Expect(err).NotTo(HaveOccurred(), "reading expected.yaml")
	}
	w, err = newWorld(ctx)
	Expect(err).NotTo(HaveOccurred(), "starting the emulated qualification system")
	DeferCleanup(w.Close)
})

var _ = Describe("device", func() {
	ds, err := suiteDevices()
	if err != nil {
		return // BeforeSuite reports it
	}
	for i, d := range ds {
		deviceSpecs(i, d)
	}
})

// result builds a spec's outcome.
type result struct{ outcome }

func pass() *result { return &result{outcome{OK: true}} }

func (r *result) fail(step string, err error) *result {
	r.OK = false
	if s := app.FailedStep(err); s != "" {
		step = s
	}
	r.Step = step
	r.Reason = reasonOf(err)
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

func (r *result) failf(step, format string, args ...any) *result {
	return r.fail(step, fmt.Errorf(format, args...))
}

// spec declares one plan row as an It on device d. body returns what it found; the outcome is
// recorded for the list, and a failure fails the spec when mustPass says the device must pass.
func spec(d target.Device, id string, body func(ctx context.Context) *result) {
	sd, ok := planByID(id)
	if !ok {
		panic("spec " + id + " is not in the plan")
	}
	labels := Label("device:"+d.ID, "stage:"+sd.Stage)
	if sd.Mode != "" {
		labels = append(labels, "mode:"+sd.Mode)
	}
	It(sd.ID+" "+sd.Title, labels, func(ctx SpecContext) {
		r := body(ctx)
		o := r.outcome
		o.Device, o.Spec, o.Mode = d.ID, sd.ID, sd.Mode
		AddReportEntry(outcomeEntry, o, ReportEntryVisibilityNever)
		if !o.OK && mustPass(d.ID, sd.Mode) {
			Fail(fmt.Sprintf("%s: %s", o.Step, o.Reason))
		}
	})
}

var consentItems = api.ConsentItems{Medication: true, Clinical: true, Checkup: true}

func deviceSpecs(i int, d target.Device) {
	Describe(d.ID, Ordered, ContinueOnFailure, func() {
		var (
			userMed  = fmt.Sprintf("m%x", i) // 医療情報閲覧 account, 2-8 alphanumerics
			userGen  = fmt.Sprintf("g%x", i) // 一般利用者 account
			code     string
			a        *app.App
			consents = map[string]string{} // mode -> consent ID
		)
		adult := persona("adult")

		spec(d, "ACT-001", func(ctx context.Context) *result {
			r := pass()
			c, err := w.setUpDevice(ctx, d.ID, userMed, userGen)
			if err != nil {
				return r.fail("terminal set-up", err)
			}
			code = c
			return r
		})

		spec(d, "ACT-002", func(ctx context.Context) *result {
			r := pass()
			early := w.newApp()
			err := early.Activate(ctx, userMed, w.password(userMed), code)
			if !api.IsCode(err, api.CodeActivationCodeNotYetValid) {
				return r.failf(app.StepActivate, "want %s before the delay, got %v", api.CodeActivationCodeNotYetValid, err)
			}
			return r
		})

		spec(d, "ACT-003", func(ctx context.Context) *result {
			r := pass()
			w.clock.Advance(w.cfg.ActivationDelay + time.Second)
			a = w.newApp()
			if err := a.Activate(ctx, userMed, w.password(userMed), code); err != nil {
				return r.fail(app.StepActivate, err)
			}
			if err := w.checkTerminalCert(a); err != nil {
				return r.fail(app.StepActivate, err)
			}
			return r
		})

		spec(d, "LOG-001", func(ctx context.Context) *result {
			r := pass()
			if a == nil {
				return r.failf(app.StepLogin, "no activated device (ACT-003 failed)")
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

		spec(d, "PIN-001", func(ctx context.Context) *result {
			return withCard(ctx, d, a, adult, func(s *session.Session, r *result) *result {
				id, err := a.ConsentPIN(ctx, s, pinOf(adult), consentItems)
				r.timing(s, "pin")
				writeTranscript(d, "PIN-001", "pin", adult, s)
				if err != nil {
					return r.fail(app.StepRegisterConsent, err)
				}
				consents["pin"] = id
				return r
			})
		})

		spec(d, "PIN-002", func(ctx context.Context) *result {
			return lookup(ctx, a, consents["pin"], "pin", adult)
		})

		spec(d, "PIN-003", func(ctx context.Context) *result {
			return withCard(ctx, d, a, adult, func(s *session.Session, r *result) *result {
				if isLabCard(adult) {
					Skip("lab card: a wrong PIN would consume a try of a real card")
				}
				wrong := []byte("0000")
				if adult.AuthPIN == "0000" {
					wrong = []byte("9999")
				}
				_, err := a.ConsentPIN(ctx, s, wrong, consentItems)
				var pe *session.PINError
				if !errors.As(err, &pe) || pe.Retries != 2 {
					return r.failf(app.StepVerifyPIN, "want a PIN error with 2 tries left (63C2), got %v", err)
				}
				if _, err := a.ConsentPIN(ctx, s, pinOf(adult), consentItems); err != nil {
					return r.fail(app.StepRegisterConsent, err)
				}
				return r
			})
		})

		spec(d, "PIN-004", func(ctx context.Context) *result {
			blocked := persona("blocked")
			return withCard(ctx, d, a, blocked, func(s *session.Session, r *result) *result {
				_, err := a.ConsentPIN(ctx, s, []byte(blocked.AuthPIN), consentItems)
				if !errors.Is(err, iso7816.SWBlocked) {
					return r.failf(app.StepVerifyPIN, "want the card to refuse a blocked PIN, got %v", err)
				}
				return r
			})
		})

		spec(d, "VIS-001", func(ctx context.Context) *result {
			return withCard(ctx, d, a, adult, func(s *session.Session, r *result) *result {
				id, ev, err := a.ConsentVisual(ctx, s, verificationBOf(adult), photoCheck(adult), consentItems)
				r.timing(s, "visual")
				writeTranscript(d, "VIS-001", "visual", adult, s)
				if err != nil {
					return r.fail(app.StepRegisterConsent, err)
				}
				r.Photo = ev.Face.Photo
				consents["visual"] = id
				return r
			})
		})

		spec(d, "VIS-002", func(ctx context.Context) *result {
			return lookup(ctx, a, consents["visual"], "visual", adult)
		})

		spec(d, "VIS-003", func(ctx context.Context) *result {
			fa := persona("face-auth")
			return withCard(ctx, d, a, fa, func(s *session.Session, r *result) *result {
				if _, err := a.ConsentPIN(ctx, s, []byte("1234"), consentItems); !errors.Is(err, iso7816.SWBlocked) {
					return r.failf(app.StepVerifyPIN, "want the card to refuse PIN mode (no PIN set: 6984), got %v", err)
				}
				if _, _, err := a.ConsentVisual(ctx, s, verificationBOf(fa), photoCheck(fa), consentItems); err != nil {
					return r.fail(app.StepRegisterConsent, err)
				}
				return r
			})
		})

		spec(d, "LKP-001", func(ctx context.Context) *result {
			r := pass()
			id := consents["pin"]
			if id == "" {
				id = consents["visual"]
			}
			if id == "" && a != nil {
				// The device could not register one (its card steps failed): this spec checks the
				// service's account rule, so register a consent through the reference reader.
				rs, err := referenceSession(ctx, adult)
				if err != nil {
					return r.fail(app.StepConnect, err)
				}
				if id, err = a.ConsentPIN(ctx, rs, pinOf(adult), consentItems); err != nil {
					return r.fail(app.StepRegisterConsent, err)
				}
			}
			if id == "" {
				return r.failf(app.StepLookup, "no activated device to register a consent with (ACT-003 failed)")
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

		AfterAll(func() {
			if *flagProgress {
				fmt.Fprintf(os.Stdout, "  done: %s\n", d.ID)
			}
		})
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
func open(ctx context.Context, d target.Device, p *fixtures.Persona) (*session.Session, func(), error) {
	r, done, err := d.Open(p)
	if errors.Is(err, target.ErrPersonaUnavailable) {
		Skip(err.Error()) // test data the target cannot present, not a device capability
	}
	if err != nil {
		return nil, nil, err
	}
	if err := r.Connect(ctx); err != nil {
		done()
		return nil, nil, err
	}
	if isLabCard(p) {
		if err := w.enrollLabCard(ctx, session.New(r)); err != nil {
			done()
			return nil, nil, fmt.Errorf("enrolling the lab card's auth certificate: %w", err)
		}
	}
	return session.New(r), done, nil
}

// withCard presents a fresh card of persona p to device d for an activated app and runs body on
// a session over it (the preamble of every consent spec).
func withCard(ctx context.Context, d target.Device, a *app.App, p *fixtures.Persona, body func(s *session.Session, r *result) *result) *result {
	r := pass()
	if a == nil {
		return r.failf(app.StepLogin, "no activated device (ACT-003 failed)")
	}
	s, done, err := open(ctx, d, p)
	if err != nil {
		return r.fail(app.StepConnect, err)
	}
	defer done()
	return body(s, r)
}

// referenceSession is a session on an in-process virtual card of persona p behind a generous
// reference handset, for specs that check the service rather than the device.
func referenceSession(ctx context.Context, p *fixtures.Persona) (*session.Session, error) {
	prof, err := p.CardProfile()
	if err != nil {
		return nil, err
	}
	c, err := card.New(prof)
	if err != nil {
		return nil, err
	}
	r := phone.New(phone.Profile{
		ID: "reference", Maker: "mynaconform", Model: "reference reader", OS: "none", Platform: "android",
		NFC: true, ISODep: true, MaxTransceive: 65279, Timeout: 5 * time.Second, BitRate: 848, FSD: 256,
		Processing: phone.DefaultProcessing(), Source: "synthetic",
	}, c)
	if err := r.Connect(ctx); err != nil {
		return nil, err
	}
	return session.New(r), nil
}

// timing records the modelled tap time of a mode's card steps and their per-step split.
func (r *result) timing(s *session.Session, mode string) {
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
		return r.failf(app.StepLookup, "no %s-mode consent to look up (its consent spec failed)", mode)
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

// writeTranscript writes the masked exchanges of one device and mode, and fails the spec if a
// secret of the persona would appear in clear.
func writeTranscript(d target.Device, specID, mode string, p *fixtures.Persona, s *session.Session) {
	if *flagOut == "" {
		return
	}
	f := &transcript.File{Version: 1, Target: *flagTarget, Device: d.ID, Mode: mode, Persona: p.ID,
		Exchanges: transcript.FromSession(s.Exchanges())}
	var buf bytes.Buffer
	Expect(transcript.Write(&buf, f)).To(Succeed())
	for _, secret := range []string{p.AuthPIN, p.VerificationB(), p.MyNumber, string(pinOf(p)), string(verificationBOf(p))} {
		if len(secret) >= 4 {
			Expect(bytes.Contains(buf.Bytes(), []byte(secret))).To(BeFalse(), "transcript of %s %s holds a secret in clear", d.ID, specID)
		}
	}
	dir := filepath.Join(*flagOut, "transcripts", d.ID)
	Expect(os.MkdirAll(dir, 0o755)).To(Succeed())
	Expect(os.WriteFile(filepath.Join(dir, specID+".cbor"), buf.Bytes(), 0o644)).To(Succeed())
}
