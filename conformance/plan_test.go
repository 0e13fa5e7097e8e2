package conformance

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

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
