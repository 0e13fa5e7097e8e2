package conformance

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mynaconform/mynaconform/conformance/target"
	"github.com/mynaconform/mynaconform/emulator/phone"
	"github.com/mynaconform/mynaconform/reports"
	"github.com/mynaconform/mynaconform/reports/certify"
)

// CertificatesDir is the folder of the result set that holds the signed results of -certify:
// certificates/<device>.cose, one COSE_Sign1 (RFC 9052) per device. Each binds the transcripts of
// its device by their paths relative to the result set's transcripts folder
// (<device>/<spec>.cbor), so `mynaconform verify certificates/<device>.cose -key PUB
// -transcripts transcripts` checks them.
const CertificatesDir = "certificates"

// certifyAll signs one result per listed device into the staging folder.
func (s *suite) certifyAll(v *verdicts, run *reports.Run, started time.Time) error {
	if s.signer == nil || s.staging == "" {
		return nil
	}
	listed := map[string]reports.DeviceResult{}
	for _, d := range run.Devices {
		listed[d.ID] = d
	}
	tool := certify.ToolInfo()
	dir := filepath.Join(s.staging, CertificatesDir)
	for _, d := range s.devs {
		dr, ok := listed[d.ID]
		if !ok {
			continue // nothing of it ran
		}
		res, err := s.signedResult(d, dr, v, tool, started)
		if err != nil {
			return fmt.Errorf("signing the result of %s: %w", d.ID, err)
		}
		signed, err := certify.Sign(res, s.signer)
		if err != nil {
			return fmt.Errorf("signing the result of %s: %w", d.ID, err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, d.ID+".cose"), signed, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// signedResult is the signed payload of one device: what it is (its profile file's SHA-256 and
// fields, or the reader's name and ATR), its measured envelope, the suite's version, every
// spec's verdict (per run with -repeat), each mode's verdict, and the SHA-256 of every
// transcript of the device.
func (s *suite) signedResult(d target.Device, dr reports.DeviceResult, v *verdicts, tool certify.Tool, started time.Time) (*certify.Result, error) {
	res := &certify.Result{Tool: tool, Target: s.opts.Target, Date: certify.Now(started),
		Device: certify.Device{ID: d.ID, Fields: deviceFields(d, dr)}}
	if len(d.File) > 0 {
		res.Device.ProfileSHA256 = certify.SHA256Hex(d.File)
	}
	repeat := s.opts.Repeat > 1
	for run := 1; run <= s.opts.Repeat; run++ {
		for _, sd := range plan {
			key := specKey{d.ID, sd.ID, run}
			sp := certify.Spec{ID: sd.ID}
			if repeat {
				sp.Run = run
			}
			if o, ok := v.found[key]; ok {
				sp.Passed = o.OK
				if !o.OK {
					sp.Reason = strings.Join(strings.Fields(strings.TrimSpace(o.Step+": "+o.Reason)), " ")
				}
			} else if why, ok := v.skipped[key]; ok {
				sp.Skipped, sp.Reason = true, why
			} else {
				continue // filtered out: not part of this run
			}
			res.Specs = append(res.Specs, sp)
		}
	}
	for _, m := range []struct {
		name string
		r    reports.ModeResult
	}{{"pin", dr.PIN}, {"visual", dr.Visual}} {
		vd := certify.Verdict{Mode: m.name, Supported: m.r.Supported}
		if !m.r.Supported {
			vd.Reason = strings.Join(strings.Fields(strings.TrimSpace(m.r.FailedStep+": "+m.r.Reason)), " ")
		}
		if repeat {
			vd.Runs, vd.PassedRuns = m.r.Runs, m.r.PassedRuns
		}
		res.Verdicts = append(res.Verdicts, vd)
	}
	tdir := filepath.Join(s.staging, TranscriptsDir)
	var rel []string
	err := filepath.WalkDir(filepath.Join(tdir, d.ID), func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() {
			r, err := filepath.Rel(tdir, p)
			if err != nil {
				return err
			}
			rel = append(rel, filepath.ToSlash(r))
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if res.Transcripts, err = certify.HashTranscripts(tdir, rel); err != nil {
		return nil, err
	}
	return res, nil
}

// deviceFields are the facts a signed result binds besides the profile's hash: every field of
// the profile (emulator: its YAML keys, nested ones as processing.sign) or the reader's name,
// the card's ATR and the probed capabilities (pcsc), then the measured envelope (envelope.*).
func deviceFields(d target.Device, dr reports.DeviceResult) map[string]string {
	f := map[string]string{}
	if d.Profile != nil {
		flattenProfile(*d.Profile, f)
	} else {
		f["reader"] = dr.Reader
		f["atr"] = dr.ATR
		f["card"] = dr.Card
		f["probe.max_command"] = strconv.Itoa(d.Info.Caps.MaxCommand)
		f["probe.max_response"] = strconv.Itoa(d.Info.Caps.MaxResponse)
		f["probe.extended"] = strconv.FormatBool(d.Info.Caps.Extended)
	}
	switch e := dr.Envelope; {
	case e == nil:
	case e.Unreachable != "":
		f["envelope.unreachable"] = e.Unreachable
	default:
		f["envelope.longest_command"] = strconv.Itoa(e.LongestCommand)
		f["envelope.longest_response"] = strconv.Itoa(e.LongestResponse)
		f["envelope.extended"] = strconv.FormatBool(e.Extended)
		if e.FirstFailedCommand > 0 {
			f["envelope.first_failed_command"] = strconv.Itoa(e.FirstFailedCommand)
			f["envelope.command_failed_by"] = e.CommandFailedBy
			f["envelope.command_cause"] = e.CommandCause
		}
		if e.FirstFailedResponse > 0 {
			f["envelope.first_failed_response"] = strconv.Itoa(e.FirstFailedResponse)
			f["envelope.response_failed_by"] = e.ResponseFailedBy
			f["envelope.response_cause"] = e.ResponseCause
		}
	}
	return f
}

// flattenProfile writes the profile's fields under their YAML names (docs/profiles.md).
func flattenProfile(p phone.Profile, f map[string]string) {
	b, err := yaml.Marshal(p)
	if err != nil {
		f["profile"] = "(not encodable: " + err.Error() + ")"
		return
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		f["profile"] = "(not decodable: " + err.Error() + ")"
		return
	}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if sub, ok := m[k].(map[string]any); ok {
				walk(prefix+k+".", sub)
				continue
			}
			f[prefix+k] = fmt.Sprint(m[k])
		}
	}
	walk("", m)
}
