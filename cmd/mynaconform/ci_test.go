package main

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The CI definitions users copy: the GitHub Actions workflow in the repository and the GitLab CI
// pipeline in docs/ci.md. Their commands must be the README's, and each mynaconform command's
// flags must be ones the binary takes.

type ghWorkflow struct {
	Name string
	On   yaml.Node `yaml:"on"`
	Jobs map[string]ghJob
}

type ghJob struct {
	Name     string
	RunsOn   yaml.Node `yaml:"runs-on"`
	Needs    yaml.Node
	If       string
	Strategy struct {
		FailFast *bool `yaml:"fail-fast"`
		Matrix   map[string][]int
	}
	Env   map[string]string
	Steps []ghStep
}

type ghStep struct {
	Name, Uses, Run, If string
	With                map[string]string
	Env                 map[string]string
}

// strings of a YAML scalar or sequence of scalars.
func yamlStrings(t *testing.T, n yaml.Node) []string {
	t.Helper()
	switch n.Kind {
	case 0:
		return nil
	case yaml.ScalarNode:
		return []string{n.Value}
	}
	var out []string
	if err := n.Decode(&out); err != nil {
		t.Fatalf("line %d: %v", n.Line, err)
	}
	return out
}

func readRepoFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// runLines are the non-empty, non-comment lines of a run: block.
func runLines(run string) []string {
	var out []string
	for _, l := range strings.Split(run, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// shellWords splits a command as sh would for the simple commands of the CI files (words,
// double quotes, $VAR from vars), without globbing.
func shellWords(cmd string, vars map[string]string) []string {
	var words []string
	var cur strings.Builder
	in, quoted := false, false
	for _, r := range os.Expand(cmd, func(k string) string { return vars[k] }) {
		switch {
		case r == '"':
			quoted, in = !quoted, true
		case r == ' ' && !quoted:
			if in {
				words = append(words, cur.String())
				cur.Reset()
			}
			in = false
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}

// checkCommands asserts that each command is in the README and that a mynaconform command's
// flags parse (the command with -h appended prints its usage and exits 0 only if every flag
// before it is known).
func checkCommands(t *testing.T, where string, cmds []string) {
	t.Helper()
	readme := string(readRepoFile(t, "README.md"))
	for _, c := range cmds {
		if !strings.Contains(readme, c) {
			t.Errorf("%s: command %q is not the README's", where, c)
		}
		w := shellWords(c, map[string]string{"K": "1", "N": "4", "READER": "Lab Reader 00 00"})
		if len(w) < 2 || w[0] != "mynaconform" {
			continue
		}
		if _, stderr, code := run(t, append(w[1:], "-h")...); code != 0 || !strings.Contains(stderr, "usage: mynaconform "+w[1]) {
			t.Errorf("%s: %q: its flags do not parse (exit %d):\n%s", where, c, code, stderr)
		}
	}
}

func step(steps []ghStep, pred func(ghStep) bool) *ghStep {
	for i := range steps {
		if pred(steps[i]) {
			return &steps[i]
		}
	}
	return nil
}

func runs(s ghStep, sub string) bool { return strings.Contains(s.Run, sub) }

func TestWorkflow(t *testing.T) {
	var wf ghWorkflow
	if err := yaml.Unmarshal(readRepoFile(t, ".github/workflows/conformance.yml"), &wf); err != nil {
		t.Fatalf("the workflow is not valid YAML: %v", err)
	}
	var on map[string]yaml.Node
	if err := wf.On.Decode(&on); err != nil || len(on) == 0 {
		t.Errorf("workflow triggers (on:): %v", err)
	}
	for _, ev := range []string{"push", "pull_request"} {
		if _, ok := on[ev]; !ok {
			t.Errorf("the workflow does not run on %s", ev)
		}
	}
	var names []string
	for n := range wf.Jobs {
		names = append(names, n)
	}
	slices.Sort(names)
	if strings.Join(names, ",") != "emulator,lab,merge" {
		t.Fatalf("jobs %v, want emulator, merge, lab", names)
	}
	var cmds []string
	for _, n := range names {
		j := wf.Jobs[n]
		if len(j.Steps) == 0 || step(j.Steps, func(s ghStep) bool { return strings.HasPrefix(s.Uses, "actions/checkout@") }) == nil {
			t.Errorf("job %s checks nothing out", n)
		}
		for _, s := range j.Steps {
			if (s.Run == "") == (s.Uses == "") {
				t.Errorf("job %s: step %q must have either run or uses", n, s.Name)
			}
			cmds = append(cmds, runLines(s.Run)...)
		}
	}

	em := wf.Jobs["emulator"]
	if got := yamlStrings(t, em.RunsOn); !slices.Equal(got, []string{"ubuntu-latest"}) {
		t.Errorf("emulator runs on %v", got)
	}
	shards := em.Strategy.Matrix["shard"]
	if len(shards) < 2 {
		t.Errorf("emulator matrix.shard %v: want two or more shards", shards)
	}
	for i, k := range shards {
		if k != i+1 {
			t.Errorf("emulator matrix.shard %v: want 1..N", shards)
			break
		}
	}
	if em.Strategy.FailFast == nil || *em.Strategy.FailFast {
		t.Error("emulator: fail-fast must be false, so every shard runs and the merge covers every device")
	}
	if em.Env["K"] != "${{ matrix.shard }}" || em.Env["N"] != strconv.Itoa(len(shards)) {
		t.Errorf("emulator env K=%q N=%q, want the matrix entry and %d", em.Env["K"], em.Env["N"], len(shards))
	}
	if step(em.Steps, func(s ghStep) bool { return runs(s, `mynaconform run -shard "$K/$N" -out "shard-$K"`) }) == nil {
		t.Error("emulator does not run its shard")
	}
	up := step(em.Steps, func(s ghStep) bool { return strings.HasPrefix(s.Uses, "actions/upload-artifact@") })
	if up == nil || up.With["name"] != "shard-${{ matrix.shard }}" || !strings.HasPrefix(up.With["path"], "shard-${{ matrix.shard }}") || up.If != "${{ !cancelled() }}" {
		t.Errorf("emulator's upload of the shard: %+v (want artifact shard-K of shard-K/, also when a device does not conform)", up)
	}

	mg := wf.Jobs["merge"]
	if got := yamlStrings(t, mg.Needs); !slices.Equal(got, []string{"emulator"}) {
		t.Errorf("merge needs %v, want emulator", got)
	}
	if mg.If != "${{ !cancelled() }}" {
		t.Errorf("merge if: %q, want it to run also when a shard's device does not conform", mg.If)
	}
	down := step(mg.Steps, func(s ghStep) bool { return strings.HasPrefix(s.Uses, "actions/download-artifact@") })
	if down == nil || down.With["pattern"] != "shard-*" || down.With["merge-multiple"] == "true" || down.With["path"] != "" {
		t.Errorf("merge's download: %+v (want each artifact shard-* in its own folder shard-K/)", down)
	}
	iDown := slices.IndexFunc(mg.Steps, func(s ghStep) bool { return strings.HasPrefix(s.Uses, "actions/download-artifact@") })
	iMerge := slices.IndexFunc(mg.Steps, func(s ghStep) bool { return runs(s, "mynaconform merge -out reports/out shard-*") })
	if iMerge < 0 || iMerge < iDown {
		t.Error("merge does not merge the downloaded shards")
	}
	if up := step(mg.Steps, func(s ghStep) bool { return strings.HasPrefix(s.Uses, "actions/upload-artifact@") }); up == nil || up.With["path"] != "reports/out/" {
		t.Error("merge does not upload the merged result set")
	}

	lab := wf.Jobs["lab"]
	if got := yamlStrings(t, lab.RunsOn); !slices.Equal(got, []string{"self-hosted", "pcsc"}) {
		t.Errorf("lab runs on %v, want [self-hosted, pcsc]", got)
	}
	if step(lab.Steps, func(s ghStep) bool { return runs(s, "go install -tags pcsc ./cmd/mynaconform") }) == nil ||
		step(lab.Steps, func(s ghStep) bool { return runs(s, "mynaconform run -target pcsc ") }) == nil {
		t.Error("lab does not build with -tags pcsc and run the suite on target pcsc")
	}
	if !strings.Contains(lab.If, "vars.MYNACONFORM_LAB_RUNNER") {
		t.Errorf("lab if: %q: without a registered lab runner the job would wait for one", lab.If)
	}
	if len(cmds) < 6 {
		t.Errorf("%d commands in the workflow", len(cmds))
	}
	checkCommands(t, "workflow", cmds)
}

type glJob struct {
	Stage     string
	Image     string
	Parallel  int
	Needs     []string
	When      string
	Tags      []string
	Rules     []map[string]string
	Script    []string
	Artifacts struct {
		When     string
		Paths    []string
		ExpireIn string `yaml:"expire_in"`
	}
}

// TestGitLabSnippet parses the .gitlab-ci.yml of docs/ci.md and checks it as TestWorkflow checks
// the GitHub workflow: the same commands, parallel shards numbered by CI_NODE_INDEX/TOTAL, a
// merge that needs them all, a job for the lab runner.
func TestGitLabSnippet(t *testing.T) {
	doc := string(readRepoFile(t, "docs/ci.md"))
	_, rest, ok := strings.Cut(doc, "## GitLab CI")
	if !ok {
		t.Fatal("docs/ci.md has no GitLab CI section")
	}
	_, rest, ok = strings.Cut(rest, "```yaml\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/ci.md's GitLab CI section has no ```yaml block")
	}
	var top map[string]yaml.Node
	if err := yaml.Unmarshal([]byte(block), &top); err != nil {
		t.Fatalf("the GitLab snippet is not valid YAML: %v", err)
	}
	var stages []string
	if n, ok := top["stages"]; !ok || n.Decode(&stages) != nil {
		t.Fatal("the GitLab snippet has no stages")
	}
	jobs := map[string]glJob{}
	var cmds []string
	for name, n := range top {
		if name == "stages" {
			continue
		}
		var j glJob
		if err := n.Decode(&j); err != nil {
			t.Fatalf("job %s: %v", name, err)
		}
		if !slices.Contains(stages, j.Stage) {
			t.Errorf("job %s: stage %q is not in stages %v", name, j.Stage, stages)
		}
		if len(j.Script) == 0 {
			t.Errorf("job %s has no script", name)
		}
		for _, c := range j.Script {
			if !strings.HasPrefix(c, "export ") {
				cmds = append(cmds, c)
			}
		}
		jobs[name] = j
	}
	em, mg, lab := jobs["emulator"], jobs["merge"], jobs["lab"]
	if len(jobs) != 3 || em.Parallel < 2 {
		t.Fatalf("jobs %v; emulator parallel: %d, want >= 2", jobs, em.Parallel)
	}
	if !slices.Contains(em.Script, `export K="$CI_NODE_INDEX" N="$CI_NODE_TOTAL"`) || !slices.Contains(em.Script, `mynaconform run -shard "$K/$N" -out "shard-$K"`) {
		t.Errorf("emulator's script does not run shard CI_NODE_INDEX of CI_NODE_TOTAL: %q", em.Script)
	}
	if em.Artifacts.When != "always" || !slices.Contains(em.Artifacts.Paths, "shard-*/") {
		t.Errorf("emulator's artifacts: %+v (want shard-*/, also when a device does not conform)", em.Artifacts)
	}
	if !slices.Equal(mg.Needs, []string{"emulator"}) || mg.When != "always" || !slices.Contains(mg.Script, "mynaconform merge -out reports/out shard-*") ||
		slices.Index(stages, mg.Stage) <= slices.Index(stages, em.Stage) {
		t.Errorf("merge: %+v (want a later stage, needs emulator, when always, the merge command)", mg)
	}
	if !slices.Contains(lab.Tags, "pcsc") || !slices.Contains(lab.Script, "go install -tags pcsc ./cmd/mynaconform") ||
		!slices.ContainsFunc(lab.Script, func(s string) bool { return strings.HasPrefix(s, "mynaconform run -target pcsc ") }) {
		t.Errorf("lab: %+v (want tag pcsc, a pcsc build and a run on target pcsc)", lab)
	}
	if len(lab.Rules) == 0 || !strings.Contains(lab.Rules[0]["if"], "MYNACONFORM_LAB_RUNNER") {
		t.Errorf("lab rules %v: without a lab runner the job would wait for one", lab.Rules)
	}
	checkCommands(t, "docs/ci.md GitLab", cmds)
}
