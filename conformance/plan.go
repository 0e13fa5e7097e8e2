package conformance

import (
	"fmt"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/mynaconform/mynaconform/conformance/envelope"
)

// specDef is one row of the test plan. The suite builds its specs from this table, and
// TestTestPlan checks the table against TESTPLAN.md, so the document and the suite cannot drift.
type specDef struct {
	ID      string
	Stage   string // envelope, activation, login, consent, lookup
	Mode    string // "", "pin", "visual"
	Consent bool   // the spec's card steps give the mode's tap time
	Title   string
}

// stageEnvelope is the stage of the TRN specs: one per boundary case of conformance/envelope,
// all answered by one measurement of the device's envelope, before the app's path.
const stageEnvelope = "envelope"

var plan = append(envelopePlan(), appPlan...)

func envelopePlan() []specDef {
	var out []specDef
	for _, c := range envelope.Cases() {
		out = append(out, specDef{ID: c.ID, Stage: stageEnvelope, Title: c.Title})
	}
	return out
}

var appPlan = []specDef{
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
