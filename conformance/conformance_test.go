package conformance

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"

	"github.com/mynaconform/mynaconform/reports"
)

// TestConformance runs the suite through Run, exactly as `mynaconform run` does, with the
// options from the test binary's flags and Ginkgo's configuration from its own.
func TestConformance(t *testing.T) {
	opts := optionsFromFlags(t)
	res, err := Run(opts)
	if err != nil {
		t.Fatal(err)
	}
	// RunSpecs cannot run twice in a process: a second Run must say so, not exit.
	if _, err := Run(opts); !errors.Is(err, ErrAlreadyRan) {
		t.Errorf("second Run: %v, want ErrAlreadyRan", err)
	}
	for _, s := range res.Internal {
		t.Errorf("internal failure: %s", s)
	}
	for _, s := range res.NonConforming {
		t.Errorf("does not conform (-verdicts %s): %s", *flagVerdicts, s)
	}
	if !res.Passed {
		t.Error("the suite failed")
	}
	sc, _ := GinkgoConfiguration()
	fullCatalogue := *flagTarget == "emulator" && *flagDevices == "" && *flagOnly == "" && *flagGenerate == 0 && !filtered(sc)
	if res.Run != nil && fullCatalogue && (*flagVerdicts == "expect") {
		for _, lang := range []string{reports.LangEN, reports.LangJA} {
			if err := checkGolden(res.Run, lang); err != nil {
				t.Error(err)
			}
		}
	}
}

// checkGolden compares the Markdown list of the built-in catalogue in lang with the checked-in
// one (or rewrites it with -update).
func checkGolden(run *reports.Run, lang string) error {
	var buf bytes.Buffer
	if err := reports.WriteMarkdown(&buf, reports.Localize(run, lang)); err != nil {
		return err
	}
	name := "supported-devices.md"
	if lang == reports.LangJA {
		name = "supported-devices.ja.md"
	}
	path := filepath.Join("testdata", name)
	if *flagUpdate {
		return os.WriteFile(path, buf.Bytes(), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		return errors.New(path + ": " + err.Error() + " (go test ./conformance -args -update creates it)")
	}
	if !bytes.Equal(want, buf.Bytes()) {
		got := filepath.Join(os.TempDir(), "got."+name)
		_ = os.WriteFile(got, buf.Bytes(), 0o644)
		return errors.New("the supported-device list drifted from " + path + " (new list in " + got + "; 'go test ./conformance -args -update' accepts it)")
	}
	return nil
}
