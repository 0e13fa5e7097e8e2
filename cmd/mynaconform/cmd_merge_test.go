package main

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/reports/certify"
	"github.com/mynaconform/mynaconform/reports/transcript"
)

// What may differ between a merged result set and a single run's, and why: only what no two runs
// share, however they are run. Every other byte must be equal.
//   - The run's start time: "started" in the JSON list, "Run started" on the page, the suite's
//     timestamp in junit.xml.
//   - Wall-clock times that were measured: every time="..." in junit.xml, the timeline's clock
//     times and durations in its system-err, and in ginkgo-report.json every StartTime, EndTime,
//     RunTime, Time and Duration.
//   - Ginkgo's random seed, drawn for each run (junit.xml's RandomSeed property and the report's
//     SuiteConfig): the run's ID.
//   - Addresses in the process's memory: the argument words of a failure's stack trace (a spec
//     entry prints through outcome.String, which carries no address).
//   - In transcripts, the payload of the two commands made from the run's random draws: the
//     terminal certificate of 80 A2 (the terminal key is generated in each process) and COMPUTE
//     DIGITAL SIGNATURE (the digest of the service's random challenge) with the card's signature
//     in its response. Their header, lengths, status word and modelled time are compared, as is
//     every byte of every other exchange.
//   - In a signed result (certificates/<device>.cose, -certify), its date and the SHA-256 of each
//     transcript it names (the transcripts hold those random draws); every other field of the
//     signed payload is compared, the signature must verify, and the hashes must be those of the
//     merged set's own transcripts.
var (
	reStarted     = regexp.MustCompile(`"started": "[^"]*"`)
	rePageStarted = regexp.MustCompile(`(Run started|実行開始) [0-9T:Z-]+`)
	reJUnitTime   = regexp.MustCompile(`(time|timestamp)="[^"]*"`)
	reJUnitSeed   = regexp.MustCompile(`<property name="RandomSeed" value="[0-9]+">`)
	reClock       = regexp.MustCompile(`@ [0-9]{2}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?`)
	reWallTime    = regexp.MustCompile(`\(([0-9]+(\.[0-9]+)?(h|m|s|ms|µs|ns))+\)`)
	reReportTime  = regexp.MustCompile(`"(StartTime|EndTime|Time|SpecStartTime|CurrentNodeStartTime|CurrentStepStartTime)": "[^"]*"`)
	reReportDur   = regexp.MustCompile(`"(RunTime|Duration|RandomSeed)": -?[0-9]+`)
	reStackTrace  = regexp.MustCompile(`"(FullStackTrace|Representation)": "(\\.|[^"\\])*"`)
	reAddress     = regexp.MustCompile(`0x[0-9a-f]+\??`)
)

// normalized is a result-set file with what differs between any two runs blanked (above).
func normalized(t *testing.T, rel string, b []byte) []byte {
	t.Helper()
	switch name := filepath.Base(rel); {
	case name == "supported-devices.json":
		return reStarted.ReplaceAll(b, []byte(`"started": ""`))
	case name == "supported-devices.html":
		return rePageStarted.ReplaceAll(b, []byte("$1 -"))
	case name == "junit.xml":
		b = reJUnitTime.ReplaceAll(b, []byte(`$1=""`))
		b = reJUnitSeed.ReplaceAll(b, []byte(`<property name="RandomSeed" value="">`))
		b = reClock.ReplaceAll(b, []byte("@ -"))
		return reWallTime.ReplaceAll(b, []byte("(-)"))
	case name == "ginkgo-report.json":
		b = reReportTime.ReplaceAll(b, []byte(`"$1": ""`))
		b = reReportDur.ReplaceAll(b, []byte(`"$1": 0`))
		return reStackTrace.ReplaceAllFunc(b, func(s []byte) []byte { return reAddress.ReplaceAll(s, []byte("0x-")) })
	case strings.HasSuffix(name, ".cbor"):
		f, err := transcript.Read(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		for i, ex := range f.Exchanges {
			if len(ex.Command) < 4 || ex.Command[0] != 0x80 || (ex.Command[1] != mynumber.InsTerminalCertificate && ex.Command[1] != mynumber.InsComputeSignature) {
				continue
			}
			ex.Command = slices.Clone(ex.Command)
			clear(ex.Command[4:])
			if n := len(ex.Response); n > 2 {
				ex.Response = slices.Clone(ex.Response)
				clear(ex.Response[:n-2])
			}
			f.Exchanges[i] = ex
		}
		var buf bytes.Buffer
		if err := transcript.Write(&buf, f); err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		return buf.Bytes()
	}
	return b
}

// sameResultSet fails t unless dirs a and b hold the same files with the same normalized bytes;
// signed results are checked with pub (see above).
func sameResultSet(t *testing.T, a, b string, pub crypto.PublicKey) {
	t.Helper()
	fa, fb := files(t, a), files(t, b)
	if !slices.Equal(fa, fb) {
		var onlyA, onlyB []string
		for _, f := range fa {
			if !slices.Contains(fb, f) {
				onlyA = append(onlyA, f)
			}
		}
		for _, f := range fb {
			if !slices.Contains(fa, f) {
				onlyB = append(onlyB, f)
			}
		}
		t.Fatalf("%s and %s hold different files: only in the first %d (%v), only in the second %d (%v)",
			a, b, len(onlyA), onlyA[:min(5, len(onlyA))], len(onlyB), onlyB[:min(5, len(onlyB))])
	}
	differ := 0
	for _, rel := range fa {
		x, err := os.ReadFile(filepath.Join(a, rel))
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(b, rel))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(rel, ".cose") {
			if err := sameSignedResult(x, y, pub, filepath.Join(a, "transcripts"), filepath.Join(b, "transcripts")); err != nil {
				differ++
				t.Errorf("%s: %v", rel, err)
			}
			continue
		}
		if nx, ny := normalized(t, rel, x), normalized(t, rel, y); !bytes.Equal(nx, ny) {
			differ++
			if differ <= 5 {
				t.Errorf("%s differs from the single run's: %s", rel, firstDifference(nx, ny))
			}
		}
	}
	if differ > 5 {
		t.Errorf("... %d files differ in all", differ)
	}
}

// sameSignedResult: x (of the single run) and y (merged) verify with pub, each names its own set's
// transcripts, and they sign the same result but for the date and the transcripts' hashes.
func sameSignedResult(x, y []byte, pub crypto.PublicKey, dirX, dirY string) error {
	if pub == nil {
		return errors.New("a signed result, and no key to check it with")
	}
	rx, err := certify.Verify(x, pub)
	if err != nil {
		return fmt.Errorf("single run's: %w", err)
	}
	ry, err := certify.Verify(y, pub)
	if err != nil {
		return fmt.Errorf("merged: %w", err)
	}
	if err := certify.CheckTranscripts(rx, dirX); err != nil {
		return fmt.Errorf("single run's: %w", err)
	}
	if err := certify.CheckTranscripts(ry, dirY); err != nil {
		return fmt.Errorf("merged: %w", err)
	}
	for _, r := range []*certify.Result{rx, ry} {
		r.Date = ""
		for i := range r.Transcripts {
			r.Transcripts[i].SHA256 = ""
		}
	}
	if !reflect.DeepEqual(rx, ry) {
		return fmt.Errorf("signs another result:\n  single: %+v\n  merged: %+v", rx, ry)
	}
	return nil
}

func firstDifference(x, y []byte) string {
	i := 0
	for i < len(x) && i < len(y) && x[i] == y[i] {
		i++
	}
	lo := max(0, i-120)
	return fmt.Sprintf("at byte %d:\n  single: %q\n  merged: %q", i, x[lo:min(len(x), i+120)], y[lo:min(len(y), i+120)])
}

// TestMergedShardsEqualSingleRun: N shards of a run over 100 generated profiles, merged, give
// the single run's result set (every list format, junit.xml, ginkgo-report.json and every
// transcript) byte for byte but for the fields above, for N = 1, 3 and 7; and the merge exits
// as the single run does, listing the same failures. -verdicts strict makes failing specs part
// of it (their JUnit failures and report entries).
func TestMergedShardsEqualSingleRun(t *testing.T) {
	u := newUserRun(t)
	args := []string{"run", "-generate", "100", "-verdicts", "strict"}
	_, singleErr, code := u.run(t, append(args, "-out", "single")...)
	if code != 1 {
		t.Fatalf("single run: exit %d, want 1 (strict, with handsets that cannot do 目視確認):\n%s", code, singleErr)
	}
	if len(files(t, u.path("single", "transcripts"))) < 300 {
		t.Fatalf("single run wrote %d transcripts", len(files(t, u.path("single", "transcripts"))))
	}
	for _, n := range []int{1, 3, 7} {
		t.Run(fmt.Sprintf("N=%d", n), func(t *testing.T) {
			var dirs []string
			total := 0
			for k := n; k >= 1; k-- { // any order
				dir := fmt.Sprintf("shard-%d-of-%d", k, n)
				stdout, stderr, code := u.run(t, append(args, "-shard", fmt.Sprintf("%d/%d", k, n), "-out", dir)...)
				if code != 0 && code != 1 {
					t.Fatalf("shard %d/%d: exit %d:\n%s", k, n, code, stderr)
				}
				if !strings.Contains(stdout, fmt.Sprintf("shard %d/%d: ", k, n)) {
					t.Errorf("shard %d/%d does not say which shard it ran:\n%s", k, n, stdout)
				}
				ids := listed(t, u.path(dir))
				if got, lo, hi := len(ids), 100/n, (100+n-1)/n; got < lo || got > hi {
					t.Errorf("shard %d/%d ran %d devices, want %d..%d", k, n, got, lo, hi)
				}
				total += len(ids)
				dirs = append(dirs, dir)
			}
			if total != 100 {
				t.Errorf("the shards ran %d devices, want 100", total)
			}
			out := fmt.Sprintf("merged-%d", n)
			stdout, stderr, code := u.run(t, append([]string{"merge", "-out", out}, dirs...)...)
			if code != 1 {
				t.Fatalf("merge: exit %d, want 1 as the single run:\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			want := strings.Replace(singleErr, "mynaconform run: does not conform (-verdicts strict):", "mynaconform merge: does not conform:", 1)
			if stderr != want {
				t.Errorf("merge lists other failures than the single run: %s", firstDifference([]byte(want), []byte(stderr)))
			}
			if !strings.Contains(stdout, fmt.Sprintf("merged %d shards: %s (100 devices)", n, out)) {
				t.Errorf("merge output:\n%s", stdout)
			}
			sameResultSet(t, u.path("single"), u.path(out), nil)
		})
	}
}

// TestMergeCarriesRepeatAndCertificates: with -repeat (a folder per run in transcripts/, pass
// rates in the lists) and -certify (certificates/<device>.cose), the merged set is the single
// run's too, and its signed results verify against its own transcripts.
func TestMergeCarriesRepeatAndCertificates(t *testing.T) {
	u := newUserRun(t)
	if _, stderr, code := u.run(t, "keygen", "-key", "signer.pem", "-pub", "signer.pub"); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, stderr)
	}
	pub, err := certify.LoadPublicKey(u.path("signer.pub"))
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"run", "-generate", "20", "-repeat", "2", "-certify", "signer.pem", "-verdicts", "record"}
	if _, stderr, code := u.run(t, append(args, "-out", "single")...); code != 0 {
		t.Fatalf("single run: exit %d: %s", code, stderr)
	}
	var dirs []string
	for k := 1; k <= 3; k++ {
		dir := fmt.Sprintf("shard-%d", k)
		if _, stderr, code := u.run(t, append(args, "-shard", fmt.Sprintf("%d/3", k), "-out", dir)...); code != 0 {
			t.Fatalf("shard %d/3: exit %d: %s", k, code, stderr)
		}
		dirs = append(dirs, dir)
	}
	if _, stderr, code := u.run(t, append([]string{"merge", "-out", "merged"}, dirs...)...); code != 0 {
		t.Fatalf("merge: exit %d: %s", code, stderr)
	}
	got := files(t, u.path("merged"))
	for _, want := range []string{"certificates/gen-0007.cose", "transcripts/gen-0007/run-2/PIN-001.cbor"} {
		if !slices.Contains(got, filepath.FromSlash(want)) {
			t.Errorf("the merged set lacks %s", want)
		}
	}
	sameResultSet(t, u.path("single"), u.path("merged"), pub)
}

// TestShardOfEmptyShare: more shards than devices leave some empty, and an empty shard is still
// a complete result set that merges. (-p 1: the suite's own nodes in the reports come from one
// shard, and a run of one device at a time has one cleanup node fewer than a run of several at
// once, as a shard of one device is.)
func TestShardOfEmptyShare(t *testing.T) {
	u := newUserRun(t)
	only := []string{"run", "-only", "google-nexus-s,apple-iphone-ios13", "-p", "1"}
	if _, stderr, code := u.run(t, append(only, "-out", "single")...); code != 0 {
		t.Fatalf("single: exit %d: %s", code, stderr)
	}
	var dirs []string
	empty := 0
	for k := 1; k <= 3; k++ {
		dir := fmt.Sprintf("s%d", k)
		stdout, stderr, code := u.run(t, append(only, "-shard", fmt.Sprintf("%d/3", k), "-out", dir)...)
		if code != 0 {
			t.Fatalf("shard %d/3: exit %d: %s", k, code, stderr)
		}
		if len(listed(t, u.path(dir))) == 0 {
			empty++
			if !strings.Contains(stdout, fmt.Sprintf("shard %d/3: 0 of the 2 devices", k)) {
				t.Errorf("empty shard's output:\n%s", stdout)
			}
			for _, f := range []string{"supported-devices.md", "supported-devices.html", "supported-devices.csv", "junit.xml", "ginkgo-report.json", "shard.json"} {
				if _, err := os.Stat(u.path(dir, f)); err != nil {
					t.Errorf("empty shard lacks %s", f)
				}
			}
		}
		dirs = append(dirs, dir)
	}
	if empty != 1 {
		t.Errorf("%d empty shards of 3 over 2 devices, want 1", empty)
	}
	if _, stderr, code := u.run(t, append([]string{"merge", "-out", "merged"}, dirs...)...); code != 0 {
		t.Fatalf("merge: exit %d: %s", code, stderr)
	}
	sameResultSet(t, u.path("single"), u.path("merged"), nil)
}

// TestMergeRefuses: folders that are not the complete shards of one run are refused with exit 2
// and one line naming the folder and what is wrong, and nothing is written.
func TestMergeRefuses(t *testing.T) {
	u := newUserRun(t)
	shard := func(dir string, extra ...string) {
		t.Helper()
		args := append([]string{"run", "-only", "google-nexus-s,apple-iphone-ios13,synthetic-max-65279", "-out", dir}, extra...)
		if _, stderr, code := u.run(t, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}
	shard("a1", "-shard", "1/2")
	shard("a2", "-shard", "2/2")
	shard("ja2", "-shard", "2/2", "-lang", "ja")
	shard("strict2", "-shard", "2/2", "-verdicts", "record")
	shard("three1", "-shard", "1/3")
	shard("whole")
	shard("repeat2", "-shard", "2/2", "-repeat", "2")
	if _, stderr, code := u.run(t, "keygen", "-key", "signer.pem", "-pub", "signer.pub"); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, stderr)
	}
	shard("signed2", "-shard", "2/2", "-certify", "signer.pem")
	copyDir(t, u.path("a2"), u.path("a2copy"))
	copyDir(t, u.path("a2"), u.path("nojunit"))
	os.Remove(u.path("nojunit", "junit.xml"))
	copyDir(t, u.path("a2"), u.path("oldsuite"))
	edit(t, u.path("oldsuite", "shard.json"), `"plan": "`, `"plan": "0`)
	copyDir(t, u.path("a2"), u.path("pcsc2"))
	edit(t, u.path("pcsc2", "shard.json"), `"target": "emulator"`, `"target": "pcsc"`)
	copyDir(t, u.path("a2"), u.path("tampered"))
	edit(t, u.path("tampered", "supported-devices.json"), `"catalogue": "built-in (fixtures/devices)"`, `"catalogue": "elsewhere"`)
	if err := os.WriteFile(u.path("afile"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no shards", nil, "give the shard folders to merge"},
		{"overlap: the same shard twice", []string{"a1", "a2", "a2"}, "a2 is given twice"},
		{"overlap in devices", []string{"a1", "a2", "a2copy"}, "a2 and a2copy overlap: both hold device "},
		{"disagree on language", []string{"a1", "ja2"}, "disagree on the language (-lang): a1 has en, ja2 has ja"},
		{"disagree on verdicts", []string{"a1", "strict2"}, "disagree on -verdicts: a1 has expect, strict2 has record"},
		{"disagree on target", []string{"a1", "pcsc2"}, "disagree on the target: a1 has emulator, pcsc2 has pcsc"},
		{"disagree on the suite version", []string{"a1", "oldsuite"}, "oldsuite was made by mynaconform"},
		{"disagree on the list's fields", []string{"a1", "tampered"}, `supported-devices.json disagree on "catalogue": a1 has "built-in (fixtures/devices)", tampered has "elsewhere"`},
		{"disagree on -repeat", []string{"a1", "repeat2"}, `supported-devices.json disagree on "repeat": a1 has 1, repeat2 has 2`},
		{"disagree on -certify", []string{"a1", "signed2"}, "disagree on the signing key (-certify): a1 has none, signed2 has key "},
		{"disagree on the number of shards", []string{"a1", "three1"}, "disagree on the number of shards: a1 has 2, three1 has 3"},
		{"incomplete: a shard missing", []string{"a1"}, "incomplete: no shard 2/2 among the 1 folders given"},
		{"incomplete: a file missing", []string{"a1", "nojunit"}, "nojunit is incomplete: it has no junit.xml"},
		{"a whole run", []string{"a1", "whole"}, "whole is a whole run's result set, not a shard's"},
		{"not a result set", []string{"a1", "."}, ". is not a shard's result set (no shard.json)"},
		{"missing folder", []string{"a1", "nowhere"}, "nowhere does not exist"},
		{"a file", []string{"a1", "afile"}, "afile is a file, not a shard's result set"},
		{"out is a shard", []string{"-out", "a1", "a1", "a2"}, "-out a1 is one of the shard folders"},
		{"out holds other files", []string{"-out", ".", "a1", "a2"}, "-out: . holds afile, "},
		{"unknown flag", []string{"-shard", "1/2", "a1"}, "flag provided but not defined: -shard"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"merge"}, tc.args...)
			if !slices.Contains(tc.args, "-out") {
				args = append([]string{"merge", "-out", "merged"}, tc.args...)
			}
			stdout, stderr, code := u.run(t, args...)
			if code != 2 {
				t.Errorf("exit %d, want 2\nstderr: %s", code, stderr)
			}
			if !strings.HasPrefix(stderr, "mynaconform merge: ") || !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q lacks %q", stderr, tc.want)
			}
			if n := strings.Count(strings.TrimSpace(stderr), "\n"); n != 0 {
				t.Errorf("%d lines on stderr, want one:\n%s", n+1, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout of a refused merge:\n%s", stdout)
			}
			if _, err := os.Stat(u.path("merged")); err == nil {
				t.Error("a refused merge wrote a result set")
			}
		})
	}
	ents, _ := os.ReadDir(u.dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".merged") {
			t.Errorf("a refused merge left %s", e.Name())
		}
	}
	// The two shards of one run merge, and the merged set replaces an earlier one in -out.
	if _, stderr, code := u.run(t, "merge", "-out", "whole", "a2", "a1"); code != 0 {
		t.Fatalf("merge into an earlier result set: exit %d: %s", code, stderr)
	}
	if got := listed(t, u.path("whole")); strings.Join(got, ",") != "apple-iphone-ios13,google-nexus-s,synthetic-max-65279" {
		t.Errorf("merged %v", got)
	}
	if _, err := os.Stat(u.path("whole", "shard.json")); err == nil {
		t.Error("the merged result set carries a shard.json")
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func edit(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s has no %q", path, old)
	}
	if err := os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRunShardBadInputs: a bad -shard is refused before anything runs, with exit 2 and one line.
func TestRunShardBadInputs(t *testing.T) {
	u := newUserRun(t)
	for _, tc := range []struct{ arg, want string }{
		{"0/3", "-shard: shard 0 of 3 is outside 1..3 (shards are numbered from 1)"},
		{"4/3", "-shard: shard 4 of 3 is outside 1..3"},
		{"1/0", "-shard: 0 shards is outside 1..100000"},
		{"two/three", `-shard: "two/three" is not K/N (write the shard's number and the number of shards, e.g. -shard 2/3)`},
		{"3", `-shard: "3" is not K/N`},
		{"", `-shard: "" is not K/N`},
	} {
		stdout, stderr, code := u.run(t, "run", "-shard", tc.arg, "-out", "out")
		if code != 2 || !strings.HasPrefix(stderr, "mynaconform run: "+tc.want) {
			t.Errorf("-shard %q: exit %d, stderr %q; want 2 and %q", tc.arg, code, stderr, tc.want)
		}
		if strings.Count(stderr, "\n") != 1 || stdout != "" {
			t.Errorf("-shard %q: want one line on stderr and nothing on stdout:\n%s%s", tc.arg, stdout, stderr)
		}
		if _, err := os.Stat(u.path("out")); err == nil {
			t.Errorf("-shard %q: a refused run wrote a result set", tc.arg)
		}
	}
}
