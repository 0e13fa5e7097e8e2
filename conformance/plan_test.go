package conformance

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
)

// specDef is one row of the test plan. The suite builds its specs from this table, and
// TestTestPlan checks the table against TESTPLAN.md, so the document and the suite cannot drift.
type specDef struct {
	ID      string
	Stage   string // activation, login, consent, lookup
	Mode    string // "", "pin", "visual"
	Consent bool   // the spec's card steps give the mode's tap time
	Title   string
}

var plan = []specDef{
	{"ACT-001", "activation", "", false, "terminal set-up issues an activation code for the device"},
	{"ACT-002", "activation", "", false, "an activation code used before the delay is refused"},
	{"ACT-003", "login", "", false, "first login after the delay registers the device"},
	{"LOG-001", "login", "", false, "later login with the device credential; reused code refused"},
	{"PIN-001", "consent", "pin", true, "consent in PIN mode"},
	{"PIN-002", "lookup", "pin", false, "資格確認結果検索 of the PIN-mode consent"},
	{"PIN-003", "consent", "pin", false, "wrong PIN reported with tries left"},
	{"PIN-004", "consent", "pin", false, "blocked card refused"},
	{"VIS-001", "consent", "visual", true, "consent in visual mode (目視確認)"},
	{"VIS-002", "lookup", "visual", false, "資格確認結果検索 of the visual-mode consent"},
	{"VIS-003", "consent", "visual", false, "face-authentication card served only by the visual mode"},
	{"LKP-001", "lookup", "", false, "一般利用者 account refused medication data"},
}

func planByID(id string) (specDef, bool) {
	for _, s := range plan {
		if s.ID == id {
			return s, true
		}
	}
	return specDef{}, false
}

// readTestPlan returns the rows of the table in TESTPLAN.md: ID -> (stage, mode).
func readTestPlan(path string) ([][3]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows [][3]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| ID") {
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 5 {
			continue
		}
		id := strings.TrimSpace(cells[1])
		if id == "" || strings.HasPrefix(id, "-") {
			continue
		}
		rows = append(rows, [3]string{id, strings.TrimSpace(cells[2]), strings.TrimSpace(cells[3])})
	}
	return rows, sc.Err()
}

func TestTestPlan(t *testing.T) {
	rows, err := readTestPlan("TESTPLAN.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(plan) {
		t.Errorf("TESTPLAN.md has %d specs, the suite %d", len(rows), len(plan))
	}
	for i, r := range rows {
		if i >= len(plan) {
			t.Errorf("TESTPLAN.md lists %s, which the suite does not run", r[0])
			continue
		}
		s := plan[i]
		if r != [3]string{s.ID, s.Stage, s.Mode} {
			t.Errorf("row %d: TESTPLAN.md says %v, the suite %v (same order, stage and mode required)", i+1, r, [3]string{s.ID, s.Stage, s.Mode})
		}
	}
	for _, s := range plan[len(rows):] {
		t.Errorf("the suite runs %s, which TESTPLAN.md does not list", s.ID)
	}
}

// checkPlanAgainstReport fails the suite when it ran a spec whose ID is not in the plan (an
// ad hoc It the plan does not document).
func checkPlanAgainstReport(rep types.Report) error {
	for _, sr := range rep.SpecReports {
		if sr.LeafNodeType != types.NodeTypeIt {
			continue
		}
		if _, ok := planByID(specID(sr.LeafNodeText)); !ok {
			return fmt.Errorf("spec %q has no ID in the test plan", sr.LeafNodeText)
		}
	}
	return nil
}
