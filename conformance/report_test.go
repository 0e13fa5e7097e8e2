package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/mynaconform/mynaconform/conformance/target"
	"github.com/mynaconform/mynaconform/reports"
)

// outcome is what one spec found on one device, recorded as a report entry named "outcome" so
// ReportAfterSuite can build the supported-device list (also from parallel processes, where an
// entry arrives as JSON).
type outcome struct {
	Device string             `json:"device"`
	Spec   string             `json:"spec"`
	Mode   string             `json:"mode,omitempty"`
	OK     bool               `json:"ok"`
	Step   string             `json:"step,omitempty"`
	Reason string             `json:"reason,omitempty"`
	Tap    time.Duration      `json:"tap,omitempty"`
	Steps  []reports.StepTime `json:"steps,omitempty"`
	Photo  []byte             `json:"photo,omitempty"`
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

// buildRun turns the Ginkgo report into the supported-device list: a mode is ◯ on a device when
// every spec of that mode and every shared precondition spec passed; otherwise the first failing
// one (in plan order) gives the step and reason.
func buildRun(rep types.Report, devs []target.Device, tgt string) (*reports.Run, error) {
	type key struct{ dev, id string }
	found := map[key]outcome{}
	for _, sr := range rep.SpecReports {
		if sr.LeafNodeType != types.NodeTypeIt {
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
			// In-process the raw value is there; from parallel processes only its JSON
			// (libraries.md).
			if v, ok := e.GetRawValue().(outcome); ok {
				o = v
			} else if err := json.Unmarshal([]byte(e.Value.AsJSON), &o); err != nil {
				return nil, fmt.Errorf("spec %s on %s: bad outcome entry: %w", id, dev, err)
			}
			have = true
		}
		switch {
		case sr.State.Is(types.SpecStateSkipped | types.SpecStatePending):
			continue // filtered out: not part of this run's verdict
		case !have:
			o = outcome{Device: dev, Spec: id, Mode: labelValue(sr.Labels(), "mode:"), OK: sr.State == types.SpecStatePassed}
			if !o.OK {
				o.Reason = firstLine(sr.Failure.Message)
			}
		case sr.State.Is(types.SpecStateFailureStates) && o.OK:
			// the card steps passed but an assertion after them failed: the spec failed.
			o.OK, o.Reason = false, firstLine(sr.Failure.Message)
		}
		found[key{dev, id}] = o
	}
	run := &reports.Run{Target: tgt, Started: rep.StartTime}
	for _, d := range devs {
		dr := reports.DeviceResult{
			ID: d.ID, Maker: d.Info.Maker, Model: d.Info.Model, OS: d.Info.OS, Platform: d.Platform,
			Source: d.Source, MaxTransceive: d.Info.Caps.MaxCommand, Extended: d.Info.Caps.Extended,
			MaxResponse: d.Info.Caps.MaxResponse, BitRate: d.BitRate,
		}
		ran := false
		for _, mode := range []string{"pin", "visual"} {
			mr := reports.ModeResult{Supported: true}
			any := false
			for _, sd := range plan {
				if sd.Mode != "" && sd.Mode != mode {
					continue
				}
				o, ok := found[key{d.ID, sd.ID}]
				if !ok {
					continue
				}
				any = true
				if o.Mode == mode && o.Tap > 0 && sd.Consent {
					mr.TapTime, mr.Steps = o.Tap, o.Steps
					if mode == "visual" && o.OK {
						dr.FacePhoto = o.Photo
					}
				}
				if !o.OK && mr.Supported {
					mr.Supported = false
					mr.FailedStep = strings.TrimSpace(sd.ID + " " + o.Step)
					mr.Reason = o.Reason
				}
			}
			if !any {
				mr.Supported, mr.Reason = false, "not run"
			}
			ran = ran || any
			if mode == "pin" {
				dr.PIN = mr
			} else {
				dr.Visual = mr
			}
		}
		if !dr.Visual.Supported {
			dr.FacePhoto = nil
		}
		if ran {
			run.Devices = append(run.Devices, dr)
		}
	}
	sort.Slice(run.Devices, func(i, j int) bool { return run.Devices[i].ID < run.Devices[j].ID })
	return run, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// writeOutputs writes the list in every format, the JUnit XML and the Ginkgo JSON report.
func writeOutputs(dir string, rep types.Report, run *reports.Run) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := reports.WriteAll(dir, run); err != nil {
		return err
	}
	if err := reporters.GenerateJUnitReport(rep, filepath.Join(dir, "junit.xml")); err != nil {
		return err
	}
	return reporters.GenerateJSONReport(rep, filepath.Join(dir, "ginkgo-report.json"))
}

// checkGolden compares the Markdown list with the checked-in golden file (or rewrites it with
// -update).
func checkGolden(run *reports.Run) error {
	var buf bytes.Buffer
	if err := reports.WriteMarkdown(&buf, run); err != nil {
		return err
	}
	path := filepath.Join("testdata", "supported-devices.md")
	if *flagUpdate {
		return os.WriteFile(path, buf.Bytes(), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("golden list: %w (run 'go test ./conformance -args -update' to create it)", err)
	}
	if !bytes.Equal(want, buf.Bytes()) {
		got := filepath.Join(os.TempDir(), "supported-devices.got.md")
		_ = os.WriteFile(got, buf.Bytes(), 0o644)
		return fmt.Errorf("supported-device list drifted from %s (new list in %s; 'go test ./conformance -args -update' accepts it)", path, got)
	}
	return nil
}

var _ = ReportAfterSuite("supported-device list", func(rep types.Report) {
	devs, err := suiteDevices()
	if err != nil {
		Fail("devices: " + err.Error())
	}
	run, err := buildRun(rep, devs, *flagTarget)
	if err != nil {
		Fail(err.Error())
	}
	if err := checkPlanAgainstReport(rep); err != nil {
		Fail(err.Error())
	}
	if *flagOut != "" {
		if err := writeOutputs(*flagOut, rep, run); err != nil {
			Fail("writing reports: " + err.Error())
		}
	}
	// The golden list is the checked-in catalogue's: compare only for a full, unfiltered run.
	if *flagTarget == "emulator" && *flagVerdicts == "expect" && fullCatalogueRun() {
		if err := checkGolden(run); err != nil {
			Fail(err.Error())
		}
	}
})
