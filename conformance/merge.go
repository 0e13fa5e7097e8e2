package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/mynaconform/mynaconform/reports"
)

// MergeShards joins the result sets of the N shards of one run (each written by `mynaconform run
// -shard K/N`, dirs in any order) into the result set a single run would have written, and
// installs it in out as Run installs one (all at once, folders inside out carried over).
//
// What is merged, and how:
//   - supported-devices.json, the model of the list, device by device: the run's fields (target,
//     catalogue, language, and any a later version adds) must be the same in every shard; the
//     start is the earliest. The Markdown, HTML, JSON and CSV lists are rendered from it as a
//     run renders them.
//   - ginkgo-report.json: the specs of every shard, in the order a single run reports them
//     (device by device in the selection's order); the suite's own nodes (BeforeSuite,
//     cleanups) once, from the first shard that ran a device, plus any that failed elsewhere;
//     counts summed, the start the earliest and the end the latest. junit.xml is rendered from
//     it as a run renders it.
//   - every folder of the result set (transcripts/<device>/..., and any per-device folder a
//     later version adds to the result set): copied file by file; no file may be in two shards.
//
// Refused with a *UsageError (exit 2), before anything is written: a folder that is not a
// shard's complete result set, shards of different runs (suite version, target, selection,
// -verdicts, language, -lab, -certify's key, number of shards, Ginkgo filters, any field of the
// JSON list such as -repeat's), shards overlapping in devices or numbers, a missing shard.
func MergeShards(out string, dirs []string) (*Result, error) {
	if len(dirs) == 0 {
		return nil, usagef("give the shard folders to merge (the -out of each 'mynaconform run -shard K/N')")
	}
	if out == "" {
		return nil, usagef("-out: give the folder for the merged result set")
	}
	if err := checkOut(out); err != nil {
		return nil, err
	}
	absOut, err := filepath.Abs(out)
	if err != nil {
		return nil, usagef("-out: %v", err)
	}
	var shards []*shardSet
	seen := map[string]string{}
	for _, d := range dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, usagef("%s: %v", d, err)
		}
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			abs = real
		}
		if prev, ok := seen[abs]; ok {
			return nil, usagef("%s is given twice (as %s and %s)", d, prev, d)
		}
		seen[abs] = d
		if abs == absOut {
			return nil, usagef("-out %s is one of the shard folders: give a new folder for the merged result set", out)
		}
	}
	// The shards are read side by side (their reports are the bulk of the work); the first
	// folder that cannot be merged, in the order given, is the one named.
	shards = make([]*shardSet, len(dirs))
	errs := make([]error, len(dirs))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, d := range dirs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			shards[i], errs[i] = loadShard(d)
		})
	}
	wg.Wait()
	if err := firstError(errs); err != nil {
		return nil, err
	}
	if err := checkShards(shards); err != nil {
		return nil, err
	}
	slices.SortFunc(shards, func(a, b *shardSet) int { return a.man.Shard - b.man.Shard })

	run, err := mergeRuns(shards)
	if err != nil {
		return nil, err
	}
	rep := mergeReports(shards)

	st, err := stagingName(out, 0, "")
	if err != nil {
		return nil, err
	}
	if err := makeStaging(st); err != nil {
		return nil, err
	}
	if err := writeMerged(st, run, rep, shards); err != nil {
		_ = os.RemoveAll(st)
		var ue *UsageError
		if errors.As(err, &ue) {
			return nil, err
		}
		return nil, fmt.Errorf("writing the merged result set: %w", err)
	}
	if err := install(st, out); err != nil {
		_ = os.RemoveAll(st)
		return nil, fmt.Errorf("installing the merged result set in %s: %w", out, err)
	}
	v, err := readReport(rep)
	if err != nil {
		return nil, err
	}
	first := shards[0].man
	return &Result{
		Passed: rep.SuiteSucceeded, Run: run, Out: out, NonConforming: v.nonConforming, Internal: v.internal,
		Devices: first.Selected, Selected: first.Selected,
	}, nil
}

// shardSet is one shard's result set as read.
type shardSet struct {
	dir    string
	man    *shardManifest
	run    *reports.Run
	header map[string]json.RawMessage // the JSON list's top-level fields but devices and started
	rep    types.Report
}

// shardFiles are the files every shard's result set has (transcripts/ only when a spec talked
// to a card).
var shardFiles = []string{reports.MarkdownFile, reports.HTMLFile, reports.JSONFile, reports.CSVFile, JUnitFile, GinkgoFile, ShardFile}

// mergedFields are the top-level fields of the JSON list that merge combines (mergeRuns); every
// other one must be the same in all shards. A field that differs from run to run by nature (a
// run ID) must be added here and combined in mergeRuns.
var mergedFields = []string{"devices", "started"}

func loadShard(dir string) (*shardSet, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, usagef("%s does not exist", dir)
	}
	if !st.IsDir() {
		return nil, usagef("%s is a file, not a shard's result set (give the folder 'run -shard K/N -out' wrote)", dir)
	}
	man, err := readShardManifest(dir)
	if err != nil {
		return nil, err
	}
	for _, f := range shardFiles {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || !fi.Mode().IsRegular() {
			return nil, usagef("%s is incomplete: it has no %s (copy the whole folder that 'run -shard %d/%d' wrote)", dir, f, man.Shard, man.Shards)
		}
	}
	sh := &shardSet{dir: dir, man: man}
	b, err := os.ReadFile(filepath.Join(dir, reports.JSONFile))
	if err != nil {
		return nil, usagef("%s: %v", dir, err)
	}
	if sh.run, err = reports.ReadJSON(bytes.NewReader(b)); err != nil {
		return nil, usagef("%s: %v", filepath.Join(dir, reports.JSONFile), err)
	}
	if err := json.Unmarshal(b, &sh.header); err != nil {
		return nil, usagef("%s: %v", filepath.Join(dir, reports.JSONFile), err)
	}
	for _, k := range mergedFields {
		delete(sh.header, k)
	}

	b, err = os.ReadFile(filepath.Join(dir, GinkgoFile))
	if err != nil {
		return nil, usagef("%s: %v", dir, err)
	}
	var reps []types.Report
	if err := json.Unmarshal(b, &reps); err != nil {
		return nil, usagef("%s: not a Ginkgo JSON report: %v", filepath.Join(dir, GinkgoFile), err)
	}
	if len(reps) != 1 {
		return nil, usagef("%s: %d suite reports, want the one a run writes", filepath.Join(dir, GinkgoFile), len(reps))
	}
	sh.rep = reps[0]
	rehydrate(&sh.rep)

	mine := map[string]bool{}
	for _, d := range man.Devices {
		mine[d.ID] = true
	}
	for _, d := range sh.run.Devices {
		if !mine[d.ID] {
			return nil, usagef("%s: its list has device %s, which its %s does not give it", dir, d.ID, ShardFile)
		}
	}
	for _, sr := range sh.rep.SpecReports {
		if dev := labelValue(sr.Labels(), "device:"); dev != "" && !mine[dev] {
			return nil, usagef("%s: its Ginkgo report has specs of device %s, which its %s does not give it", dir, dev, ShardFile)
		}
	}
	return sh, nil
}

// rehydrate makes a report read from JSON render as the one it was written from: a report
// entry's value comes back as generic JSON (maps, whose keys re-encode sorted), so it is put
// back as the exact JSON the run wrote, which JUnit and the JSON report write out unchanged.
func rehydrate(rep *types.Report) {
	for i := range rep.SpecReports {
		for j, e := range rep.SpecReports[i].ReportEntries {
			if e.Value.AsJSON == "" {
				continue
			}
			v := types.WrapEntryValue(json.RawMessage(e.Value.AsJSON))
			v.AsJSON, v.Representation = e.Value.AsJSON, e.Value.Representation
			rep.SpecReports[i].ReportEntries[j].Value = v
		}
	}
}

// ginkgoFilters are the parts of Ginkgo's configuration that decide which specs ran and how.
type ginkgoFilters struct {
	LabelFilter, SemVerFilter                        string
	FocusStrings, SkipStrings, FocusFiles, SkipFiles []string
	FailOnPending, FailOnEmpty, FailFast, DryRun     bool
	RandomizeAllSpecs                                bool
	FlakeAttempts, MustPassRepeatedly                int
}

func filtersOf(c types.SuiteConfig) string {
	b, _ := json.Marshal(ginkgoFilters{
		LabelFilter: c.LabelFilter, SemVerFilter: c.SemVerFilter, FocusStrings: c.FocusStrings, SkipStrings: c.SkipStrings,
		FocusFiles: c.FocusFiles, SkipFiles: c.SkipFiles, FailOnPending: c.FailOnPending, FailOnEmpty: c.FailOnEmpty,
		FailFast: c.FailFast, DryRun: c.DryRun, RandomizeAllSpecs: c.RandomizeAllSpecs, FlakeAttempts: c.FlakeAttempts,
		MustPassRepeatedly: c.MustPassRepeatedly,
	})
	return string(b)
}

// checkShards refuses shards that are not the N parts of one run.
func checkShards(shards []*shardSet) error {
	a := shards[0]
	this := thisSuite()
	for _, b := range shards {
		if b.man.Suite != this {
			return usagef("%s was made by mynaconform %s; this is %s: merge with the build that ran the shards", b.dir, b.man.Suite, this)
		}
	}
	for _, b := range shards[1:] {
		for _, c := range []struct{ what, x, y string }{
			{"the target", a.man.Target, b.man.Target},
			{"the devices selected", a.man.Selection, b.man.Selection},
			{"-verdicts", a.man.Verdicts, b.man.Verdicts},
			{"the language (-lang)", a.man.Lang, b.man.Lang},
			{"-lab", fmt.Sprint(a.man.Lab), fmt.Sprint(b.man.Lab)},
			{"the signing key (-certify)", signerName(a.man.Signer), signerName(b.man.Signer)},
			{"the number of shards", fmt.Sprint(a.man.Shards), fmt.Sprint(b.man.Shards)},
			{"the devices selected (count)", fmt.Sprint(a.man.Selected), fmt.Sprint(b.man.Selected)},
			{"the devices selected (their IDs)", a.man.SelectedSHA256, b.man.SelectedSHA256},
			{"Ginkgo's filters and settings", filtersOf(a.rep.SuiteConfig), filtersOf(b.rep.SuiteConfig)},
		} {
			if c.x != c.y {
				return usagef("the shards are not of one run: they disagree on %s: %s has %s, %s has %s", c.what, a.dir, c.x, b.dir, c.y)
			}
		}
		keys := make([]string, 0, len(a.header)+len(b.header))
		for k := range a.header {
			keys = append(keys, k)
		}
		for k := range b.header {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range slices.Compact(keys) {
			if x, y := a.header[k], b.header[k]; !bytes.Equal(x, y) {
				return usagef("the shards are not of one run: their %s disagree on %q: %s has %s, %s has %s", reports.JSONFile, k, a.dir, orAbsent(x), b.dir, orAbsent(y))
			}
		}
	}
	n, m := a.man.Shards, a.man.Selected
	owner := map[string]*shardSet{}
	byIndex := make([]string, m)
	for _, sh := range shards {
		for _, d := range sh.man.Devices {
			if prev, ok := owner[d.ID]; ok {
				return usagef("%s and %s overlap: both hold device %s (shards %d/%d and %d/%d)", prev.dir, sh.dir, d.ID, prev.man.Shard, n, sh.man.Shard, n)
			}
			owner[d.ID] = sh
			if d.Index < 0 || d.Index >= m || byIndex[d.Index] != "" {
				return usagef("%s: device %s at position %d of %d selected devices: not a run's %s", sh.dir, d.ID, d.Index, m, ShardFile)
			}
			byIndex[d.Index] = d.ID
		}
	}
	byNumber := map[int]*shardSet{}
	for _, sh := range shards {
		if prev, ok := byNumber[sh.man.Shard]; ok {
			return usagef("%s and %s are both shard %d/%d", prev.dir, sh.dir, sh.man.Shard, n)
		}
		byNumber[sh.man.Shard] = sh
	}
	var missing []string
	for k := 1; k <= n; k++ {
		if byNumber[k] == nil {
			missing = append(missing, fmt.Sprintf("%d/%d", k, n))
		}
	}
	if len(missing) > 0 {
		if len(missing) > 5 {
			missing = append(missing[:5], fmt.Sprintf("... (%d missing)", len(missing)))
		}
		return usagef("incomplete: no shard %s among the %d folders given (every shard 1/%d..%d/%d is needed)", strings.Join(missing, ", "), len(shards), n, n, n)
	}
	if len(owner) != m || selectionDigest(byIndex) != a.man.SelectedSHA256 {
		return usagef("incomplete: the shards hold %d of the %d devices selected", len(owner), m)
	}
	for _, sh := range shards {
		var got []int
		for _, d := range sh.man.Devices {
			got = append(got, d.Index)
		}
		slices.Sort(got)
		if want := shardPositions(byIndex, sh.man.Shard, n); !slices.Equal(got, want) {
			return usagef("%s does not hold the devices of shard %d/%d by the sharding rule", sh.dir, sh.man.Shard, n)
		}
	}
	return nil
}

func signerName(keyID string) string {
	if keyID == "" {
		return "none"
	}
	return "key " + keyID[:min(16, len(keyID))]
}

func orAbsent(b json.RawMessage) string {
	if b == nil {
		return "nothing"
	}
	return string(b)
}

// mergeRuns joins the shards' lists device by device.
func mergeRuns(shards []*shardSet) (*reports.Run, error) {
	run := *shards[0].run
	run.Devices = []reports.DeviceResult{}
	for _, sh := range shards {
		if !sh.run.Started.IsZero() && (run.Started.IsZero() || sh.run.Started.Before(run.Started)) {
			run.Started = sh.run.Started
		}
		run.Devices = append(run.Devices, sh.run.Devices...)
	}
	slices.SortFunc(run.Devices, func(a, b reports.DeviceResult) int { return strings.Compare(a.ID, b.ID) })
	return &run, nil
}

// mergeReports joins the shards' Ginkgo reports as one run's: specs device by device in the
// selection's order, the suite's own nodes once.
func mergeReports(shards []*shardSet) types.Report {
	pos := map[string]int{}
	for _, sh := range shards {
		for _, d := range sh.man.Devices {
			pos[d.ID] = d.Index
		}
	}
	var base *shardSet
	for _, sh := range shards {
		if hasIt(sh.rep) {
			base = sh
			break
		}
	}
	if base == nil {
		base = shards[0]
	}
	rep := base.rep
	rep.SpecReports = nil
	rep.PreRunStats = types.PreRunStats{}
	var lead, trail, specs types.SpecReports
	for _, sh := range shards {
		r := sh.rep
		rep.SuiteSucceeded = rep.SuiteSucceeded && r.SuiteSucceeded
		rep.SuiteHasProgrammaticFocus = rep.SuiteHasProgrammaticFocus || r.SuiteHasProgrammaticFocus
		for _, reason := range r.SpecialSuiteFailureReasons {
			if !slices.Contains(rep.SpecialSuiteFailureReasons, reason) {
				rep.SpecialSuiteFailureReasons = append(rep.SpecialSuiteFailureReasons, reason)
			}
		}
		rep.PreRunStats.TotalSpecs += r.PreRunStats.TotalSpecs
		rep.PreRunStats.SpecsThatWillRun += r.PreRunStats.SpecsThatWillRun
		if r.StartTime.Before(rep.StartTime) {
			rep.StartTime = r.StartTime
		}
		if r.EndTime.After(rep.EndTime) {
			rep.EndTime = r.EndTime
		}
		its := false
		for _, sr := range r.SpecReports {
			switch {
			case sr.LeafNodeType == types.NodeTypeIt:
				its = true
				specs = append(specs, sr)
			case sh == base && !its:
				lead = append(lead, sr)
			case sh == base:
				trail = append(trail, sr)
			case sr.State.Is(types.SpecStateFailureStates) && !its:
				lead = append(lead, sr) // a failure is never dropped
			case sr.State.Is(types.SpecStateFailureStates):
				trail = append(trail, sr)
			}
		}
	}
	rep.RunTime = rep.EndTime.Sub(rep.StartTime)
	slices.SortStableFunc(specs, func(a, b types.SpecReport) int {
		return pos[labelValue(a.Labels(), "device:")] - pos[labelValue(b.Labels(), "device:")]
	})
	rep.SpecReports = append(append(lead, specs...), trail...)
	renumberTimeline(rep.SpecReports)
	return rep
}

// renumberTimeline numbers the events of the merged specs as one process numbers them: Ginkgo
// counts every event of a run in one sequence (TimelineLocation.Order), each spec's events
// following the previous spec's, so a shard's start again from 1. Within a spec the events keep
// their order and their gaps.
func renumberTimeline(specs types.SpecReports) {
	next := 1
	for i := range specs {
		locs := timelineLocations(&specs[i])
		lo, hi := 0, 0
		for _, l := range locs {
			if l.Order > 0 && (lo == 0 || l.Order < lo) {
				lo = l.Order
			}
			hi = max(hi, l.Order)
		}
		if lo == 0 {
			continue
		}
		for _, l := range locs {
			if l.Order > 0 {
				l.Order += next - lo
			}
		}
		next = hi + next - lo + 1
	}
}

// timelineLocations are the places of a spec's events in the run's timeline.
func timelineLocations(sr *types.SpecReport) []*types.TimelineLocation {
	var out []*types.TimelineLocation
	failure := func(f *types.Failure) {
		out = append(out, &f.TimelineLocation, &f.ProgressReport.TimelineLocation)
		if f.AdditionalFailure != nil {
			out = append(out, &f.AdditionalFailure.Failure.TimelineLocation, &f.AdditionalFailure.Failure.ProgressReport.TimelineLocation)
		}
	}
	for j := range sr.ReportEntries {
		out = append(out, &sr.ReportEntries[j].TimelineLocation)
	}
	for j := range sr.SpecEvents {
		out = append(out, &sr.SpecEvents[j].TimelineLocation)
	}
	for j := range sr.ProgressReports {
		out = append(out, &sr.ProgressReports[j].TimelineLocation)
	}
	failure(&sr.Failure)
	for j := range sr.AdditionalFailures {
		failure(&sr.AdditionalFailures[j].Failure)
	}
	return out
}

func hasIt(r types.Report) bool {
	return slices.ContainsFunc(r.SpecReports, func(sr types.SpecReport) bool { return sr.LeafNodeType == types.NodeTypeIt })
}

// writeMerged writes the merged result set into the staging folder st.
func writeMerged(st string, run *reports.Run, rep types.Report, shards []*shardSet) error {
	if err := checkPlanAgainstReport(rep); err != nil {
		return usagef("%v", err)
	}
	// Four independent writes, side by side.
	errs := make([]error, 4)
	var wg sync.WaitGroup
	wg.Go(func() { errs[0] = reports.WriteAll(st, run) })
	wg.Go(func() { errs[1] = reporters.GenerateJUnitReport(rep, filepath.Join(st, JUnitFile)) })
	wg.Go(func() { errs[2] = reporters.GenerateJSONReport(rep, filepath.Join(st, GinkgoFile)) })
	wg.Go(func() { errs[3] = copyEntries(st, shards) })
	wg.Wait()
	return firstError(errs)
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// copyEntries puts every other entry of the shards' result sets into st: folders file by file,
// files merge does not render by mergeOther.
func copyEntries(st string, shards []*shardSet) error {
	from := map[string]string{} // file of the result set -> the shard folder it came from
	for _, name := range resultEntries {
		if slices.Contains(shardFiles, name) {
			continue // rendered from the merged model and report, or (shard.json) used up
		}
		if err := mergeOther(st, name, shards); err != nil {
			return err
		}
	}
	for _, sh := range shards {
		for _, name := range resultEntries {
			src := filepath.Join(sh.dir, name)
			if fi, err := os.Stat(src); err != nil || !fi.IsDir() {
				continue
			}
			err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				rel, _ := filepath.Rel(sh.dir, p)
				if d.IsDir() {
					return os.MkdirAll(filepath.Join(st, rel), 0o755)
				}
				if !d.Type().IsRegular() {
					return usagef("%s: %s is not a regular file", sh.dir, rel)
				}
				if prev, ok := from[rel]; ok {
					return usagef("%s and %s overlap: both hold %s", prev, sh.dir, filepath.ToSlash(rel))
				}
				from[rel] = sh.dir
				return copyFile(p, filepath.Join(st, rel))
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// mergeOther carries a file of the result set that merge does not render (none today; a later
// version's): the same in every shard that has it, it is copied; different, it is refused, as
// merge cannot know how to combine it.
func mergeOther(st, name string, shards []*shardSet) error {
	var first []byte
	var firstDir string
	for _, sh := range shards {
		p := filepath.Join(sh.dir, name)
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if firstDir == "" {
			first, firstDir = b, sh.dir
			continue
		}
		if !bytes.Equal(b, first) {
			return usagef("%s differs between %s and %s, and merge does not know how to combine it", name, firstDir, sh.dir)
		}
	}
	if firstDir == "" {
		return nil
	}
	return os.WriteFile(filepath.Join(st, name), first, 0o644)
}

// copyFile puts src at dst: a hard link where the file system allows (a result set's files are
// never changed in place: a run or merge replaces the whole folder), else a copy.
func copyFile(src, dst string) error {
	if os.Link(src, dst) == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
