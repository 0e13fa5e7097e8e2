package conformance

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/mynaconform/mynaconform/conformance/target"
	"github.com/mynaconform/mynaconform/reports"
)

// outcome is what one spec found on one device, recorded as a report entry named "outcome" so
// ReportAfterSuite can build the supported-device list (also from the ginkgo CLI's parallel
// processes, where an entry arrives as JSON).
type outcome struct {
	Device string             `json:"device"`
	Spec   string             `json:"spec"`
	Mode   string             `json:"mode,omitempty"`
	OK     bool               `json:"ok"`
	Step   string             `json:"step,omitempty"`
	Cause  string             `json:"cause,omitempty"`
	Reason string             `json:"reason,omitempty"`
	Tap    time.Duration      `json:"tap,omitempty"`
	Steps  []reports.StepTime `json:"steps,omitempty"`
	Photo  []byte             `json:"photo,omitempty"`
	ATR    []byte             `json:"atr,omitempty"` // the card's ATR as the reader reported it (PC/SC)
	Run    int                `json:"run,omitempty"` // which run of the device's path (1..Repeat)
	// Envelope is the device's measured envelope (the TRN specs: the one measurement they share).
	Envelope *reports.Envelope `json:"envelope,omitempty"`
}

// String is how Ginkgo shows the entry in its reports and JUnit: one stable line (with %+v they
// carried the envelope's pointer address, different in every run, and the photo's bytes).
func (o outcome) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", o.Device, o.Spec)
	if o.Run > 0 {
		fmt.Fprintf(&b, " run %d", o.Run)
	}
	if o.OK {
		b.WriteString(" passed")
	} else {
		b.WriteString(" failed")
	}
	if o.Step != "" && !o.OK {
		fmt.Fprintf(&b, " at %q", o.Step)
	}
	if o.Cause != "" {
		fmt.Fprintf(&b, " (%s)", o.Cause)
	}
	if o.Reason != "" {
		fmt.Fprintf(&b, ": %s", o.Reason)
	}
	if o.Tap > 0 {
		fmt.Fprintf(&b, ", tap %.1f ms", float64(o.Tap)/float64(time.Millisecond))
	}
	if e := o.Envelope; e != nil {
		fmt.Fprintf(&b, ", envelope: command %d, response %d, extended %v", e.LongestCommand, e.LongestResponse, e.Extended)
	}
	return b.String()
}

const outcomeEntry = "outcome"

// specID is the first word of a spec's text ("PIN-001 consent in PIN mode" -> "PIN-001").
func specID(text string) string {
	id, _, _ := strings.Cut(text, " ")
	return id
}

func labelValue(labels []string, prefix string) string {
	for _, l := range labels {
		if v, ok := strings.CutPrefix(l, prefix); ok {
			return v
		}
	}
	return ""
}

// specKey names one spec of one run of one device.
type specKey struct {
	dev, spec string
	run       int
}

// getter returns the outcome of spec id in run `run` (1..Repeat) of one device.
type getter func(run int, id string) (outcome, bool)

// runOf is the run a spec report belongs to: its run:K label (-repeat), else 1.
func runOf(labels []string) int {
	if n, err := strconv.Atoi(labelValue(labels, "run:")); err == nil && n > 0 {
		return n
	}
	return 1
}

// verdicts is what the report says: each spec's outcome, the required verdicts that failed and
// the failures of the suite itself.
type verdicts struct {
	found         map[specKey]outcome
	skipped       map[specKey]string // specs skipped on the device, with the reason
	nonConforming []string
	internal      []string
	setUp         string // the suite's set-up (BeforeSuite) failed: no spec ran
}

// readReport sorts every spec of the report into outcomes, verdict failures and internal
// failures: a failed It that recorded a failing outcome is a device's verdict; any other
// failure (a panic, a set-up node, an assertion after the card steps) is the suite's.
func readReport(rep types.Report) (*verdicts, error) {
	v := &verdicts{found: map[specKey]outcome{}, skipped: map[specKey]string{}}
	for _, sr := range rep.SpecReports {
		failed := sr.State.Is(types.SpecStateFailureStates)
		if sr.LeafNodeType != types.NodeTypeIt {
			if failed {
				v.internal = append(v.internal, fmt.Sprintf("%s: %s", sr.LeafNodeType, firstLine(sr.Failure.Message)))
				if sr.LeafNodeType.Is(types.NodeTypeBeforeSuite | types.NodeTypeSynchronizedBeforeSuite) {
					v.setUp = firstLine(sr.Failure.Message)
				}
			}
			continue
		}
		id := specID(sr.LeafNodeText)
		dev := labelValue(sr.Labels(), "device:")
		if dev == "" {
			continue
		}
		var o outcome
		have := false
		for _, e := range sr.ReportEntries {
			if e.Name != outcomeEntry {
				continue
			}
			// In-process the raw value is there; from parallel processes only its JSON.
			if raw, ok := e.GetRawValue().(outcome); ok {
				o = raw
			} else if err := json.Unmarshal([]byte(e.Value.AsJSON), &o); err != nil {
				return nil, fmt.Errorf("spec %s on %s: bad outcome entry: %w", id, dev, err)
			}
			have = true
		}
		key := specKey{dev, id, runOf(sr.Labels())}
		switch {
		case sr.State.Is(types.SpecStateSkipped | types.SpecStatePending):
			if msg := firstLine(sr.Failure.Message); msg != "" {
				v.skipped[key] = msg // not presentable here (a filtered-out spec has no message)
			}
			continue // not part of this run's verdict
		case failed && have && !o.OK && !strings.HasPrefix(sr.Failure.Message, "internal: "):
			v.nonConforming = append(v.nonConforming, fmt.Sprintf("%s %s: %s: %s", dev, id, o.Step, o.Reason))
		case failed:
			v.internal = append(v.internal, fmt.Sprintf("%s %s: %s", dev, id, firstLine(sr.Failure.Message)))
			if !have || o.OK {
				o = outcome{Device: dev, Spec: id, Mode: labelValue(sr.Labels(), "mode:"), Reason: firstLine(sr.Failure.Message), Cause: reports.CauseCheck}
			}
		case !have:
			o = outcome{Device: dev, Spec: id, Mode: labelValue(sr.Labels(), "mode:"), OK: true}
		}
		o.Run = key.run
		v.found[key] = o
	}
	return v, nil
}

// modeVerdict is one mode on one device: ◯ when every spec of that mode and every shared
// precondition spec passed; otherwise the first failing one (in plan order) gives the step,
// cause and reason. ran is false when no spec of the mode ran.
func modeVerdict(mode string, get func(id string) (outcome, bool)) (mr reports.ModeResult, photo []byte, ran bool) {
	mr = reports.ModeResult{Supported: true}
	for _, sd := range plan {
		if sd.Mode != "" && sd.Mode != mode || sd.Stage == stageEnvelope {
			continue // the TRN specs measure the link; they are no precondition of a mode
		}
		o, ok := get(sd.ID)
		if !ok {
			continue
		}
		ran = true
		if o.Mode == mode && sd.Consent {
			mr.TapTime, mr.Steps = o.Tap, o.Steps
			if mode == "visual" && o.OK {
				photo = o.Photo
			}
		}
		if !o.OK && mr.Supported {
			mr.Supported = false
			mr.FailedStep = strings.TrimSpace(sd.ID + " " + o.Step)
			mr.Cause, mr.Reason = o.Cause, o.Reason
		}
	}
	if !ran {
		mr = reports.ModeResult{Cause: reports.CauseNotRun, Reason: "not run"}
	}
	if !mr.Supported {
		mr.TapTime, mr.Steps, photo = 0, nil, nil
	}
	return mr, photo, ran
}

// deviceResult is one device's row of the list, over its runs (1..runs). A mode is ◯ when it
// passed in every run in which it ran; its failure is the first failing run's, its times those
// of the first run.
func (s *suite) deviceResult(d target.Device, get getter, runs int) (reports.DeviceResult, bool) {
	dr := reports.DeviceResult{
		ID: d.ID, Maker: d.Info.Maker, Model: d.Info.Model, OS: d.Info.OS, Platform: d.Platform,
		Source: d.Source, SourceURL: d.SourceURL, MaxTransceive: d.Info.Caps.MaxCommand, Extended: d.Info.Caps.Extended,
		MaxResponse: d.Info.Caps.MaxResponse, BitRate: d.BitRate,
	}
	var ranPIN, ranVisual bool
	dr.PIN, _, ranPIN = modeOverRuns("pin", get, runs)
	dr.Visual, dr.FacePhoto, ranVisual = modeOverRuns("visual", get, runs)
	ranEnvelope := false
	for run := 1; run <= runs && dr.Envelope == nil; run++ {
		for _, sd := range plan {
			o, ok := get(run, sd.ID)
			if ok && sd.Stage == stageEnvelope {
				ranEnvelope = true
				if o.Envelope != nil {
					dr.Envelope = o.Envelope
					break
				}
			}
		}
	}
	if d.Platform == "pcsc" {
		dr.Reader = d.Info.Name
		if dr.Reader == "" {
			dr.Reader = d.Info.Model
		}
	atr:
		for run := 1; run <= runs; run++ {
			for _, sd := range plan {
				if o, ok := get(run, sd.ID); ok && len(o.ATR) > 0 {
					dr.ATR = strings.ToUpper(hex.EncodeToString(o.ATR))
					break atr
				}
			}
		}
		dr.Card = "virtual My Number card (synthetic personas) through vpcd"
		if s.opts.Lab {
			dr.Card = "lab test card playing the adult persona"
		}
	}
	return dr, ranPIN || ranVisual || ranEnvelope
}

// modeOverRuns is one mode's verdict over the runs of a device's path.
func modeOverRuns(mode string, get getter, runs int) (reports.ModeResult, []byte, bool) {
	var out reports.ModeResult
	var photo []byte
	failed := false
	for run := 1; run <= runs; run++ {
		mr, ph, ran := modeVerdict(mode, func(id string) (outcome, bool) { return get(run, id) })
		if !ran {
			continue
		}
		out.Runs++
		if out.Runs == 1 {
			out.TapTime, out.Steps, photo = mr.TapTime, mr.Steps, ph
		}
		if mr.Supported {
			out.PassedRuns++
		} else if !failed {
			failed = true
			out.FailedStep, out.Cause, out.Reason = mr.FailedStep, mr.Cause, mr.Reason
		}
	}
	if out.Runs == 0 {
		return reports.ModeResult{Cause: reports.CauseNotRun, Reason: "not run"}, nil, false
	}
	out.Supported = !failed
	if failed {
		out.TapTime, out.Steps, photo = 0, nil, nil
	}
	return out, photo, true
}

// buildRun turns the report into the supported-device list.
func (s *suite) buildRun(v *verdicts, started time.Time) *reports.Run {
	run := &reports.Run{Schema: reports.Schema, Target: s.opts.Target, Started: started, Repeat: s.opts.Repeat, Devices: []reports.DeviceResult{}}
	switch {
	case s.opts.Generate > 0:
		run.Catalogue = fmt.Sprintf("%d generated synthetic profiles", s.opts.Generate)
	case s.opts.DevicesDir != "":
		run.Catalogue = s.opts.DevicesDir
	case s.opts.Target == "emulator":
		run.Catalogue = "built-in (fixtures/devices)"
	}
	for _, d := range s.devs {
		get := func(run int, id string) (outcome, bool) { o, ok := v.found[specKey{d.ID, id, run}]; return o, ok }
		if dr, ok := s.deviceResult(d, get, s.opts.Repeat); ok {
			run.Devices = append(run.Devices, dr)
		}
	}
	sort.Slice(run.Devices, func(i, j int) bool { return run.Devices[i].ID < run.Devices[j].ID })
	return reports.Localize(run, s.opts.Lang)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// finish builds the list from the merged report (ReportAfterSuite: once, on the first process)
// and installs the result set.
func (s *suite) finish(rep types.Report) error {
	for _, r := range rep.SpecialSuiteFailureReasons {
		if strings.Contains(r, "Interrupted") || strings.Contains(r, "Timeout") {
			return fmt.Errorf("the run was cut short (%s): no result set written", r)
		}
	}
	v, err := readReport(rep)
	if err != nil {
		return err
	}
	if v.setUp != "" {
		return fmt.Errorf("the suite could not start (%s): no result set written", v.setUp)
	}
	if err := checkPlanAgainstReport(rep); err != nil {
		return err
	}
	run := s.buildRun(v, rep.StartTime)
	res := &Result{Run: run, NonConforming: v.nonConforming, Internal: v.internal}
	s.result = res
	if s.staging == "" {
		return nil
	}
	if err := reports.WriteAll(s.staging, run); err != nil {
		return fmt.Errorf("writing reports: %w", err)
	}
	if err := s.certifyAll(v, run, rep.StartTime); err != nil {
		return err
	}
	if err := reporters.GenerateJUnitReport(rep, filepath.Join(s.staging, JUnitFile)); err != nil {
		return fmt.Errorf("writing %s: %w", JUnitFile, err)
	}
	if err := reporters.GenerateJSONReport(rep, filepath.Join(s.staging, GinkgoFile)); err != nil {
		return fmt.Errorf("writing %s: %w", GinkgoFile, err)
	}
	if err := s.writeShardManifest(); err != nil {
		return fmt.Errorf("writing %s: %w", ShardFile, err)
	}
	if err := install(s.staging, s.opts.Out); err != nil {
		return fmt.Errorf("installing the result set in %s: %w", s.opts.Out, err)
	}
	res.Out = s.opts.Out
	return nil
}
