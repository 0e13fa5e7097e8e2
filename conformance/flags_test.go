package conformance

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/mynaconform/mynaconform/conformance/target"
)

// Suite flags: plain flag variables of this test package only (libraries.md: with go test ./...
// every test binary must accept its own flags).
var (
	flagTarget   = flag.String("target", "emulator", "target: emulator or pcsc")
	flagDevices  = flag.String("devices", "", "emulator: directory of device profiles (default: the built-in catalogue)")
	flagOnly     = flag.String("only", "", "comma-separated device IDs to run (default: all)")
	flagGenerate = flag.Int("generate", 0, "emulator: run N generated synthetic profiles (scaling runs)")
	flagReader   = flag.String("reader", "", "pcsc: reader name (default: all readers)")
	flagOut      = flag.String("out", "", "directory for the reports and transcripts (default: none written)")
	flagVerdicts = flag.String("verdicts", "expect", "expect: verdicts must match conformance/expected.yaml; strict: any × fails; record: only write the list")
	flagUpdate   = flag.Bool("update", false, "rewrite the golden supported-device list in testdata/")
	flagProgress = flag.Bool("progress", false, "print one line per device as it finishes (mynaconform run)")
)

func targetOptions() target.Options {
	var only []string
	if *flagOnly != "" {
		only = strings.Split(*flagOnly, ",")
	}
	return target.Options{DevicesDir: *flagDevices, Only: only, Generate: *flagGenerate, Reader: *flagReader}
}

var (
	devsOnce sync.Once
	tgt      target.Target
	devs     []target.Device
	devsErr  error
)

// suiteDevices opens the target once per process (every parallel process builds the same tree).
func suiteDevices() ([]target.Device, error) {
	devsOnce.Do(func() {
		switch *flagVerdicts {
		case "expect", "strict", "record":
		default:
			devsErr = fmt.Errorf("-verdicts must be expect, strict or record, not %q", *flagVerdicts)
			return
		}
		tgt, devsErr = target.Open(*flagTarget, targetOptions())
		if devsErr != nil {
			return
		}
		devs, devsErr = tgt.Devices()
	})
	return devs, devsErr
}

// fullCatalogueRun reports whether this run covered the whole built-in catalogue with no
// filter: only then is the golden list comparable.
func fullCatalogueRun() bool {
	return *flagDevices == "" && *flagOnly == "" && *flagGenerate == 0 && !filtered()
}

// expectation is what a device's source implies for each mode (conformance/expected.yaml).
type expectation struct {
	PIN    bool   `yaml:"pin"`
	Visual bool   `yaml:"visual"`
	Why    string `yaml:"why"`
}

var (
	expOnce sync.Once
	exps    map[string]expectation
	expErr  error
)

func expectations() (map[string]expectation, error) {
	expOnce.Do(func() {
		b, err := os.ReadFile("expected.yaml")
		if err != nil {
			expErr = err
			return
		}
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		expErr = dec.Decode(&exps)
	})
	return exps, expErr
}

// mustPass tells whether a spec's failure on this device is a test failure: always in strict
// mode, never in record mode, and in expect mode when the device's expectation says the mode
// (or, for shared specs, everything) works. Devices without an expectation (a user's own
// profiles, generated ones) are held to strict verdicts in expect mode.
func mustPass(device, mode string) bool {
	switch *flagVerdicts {
	case "strict":
		return true
	case "record":
		return false
	}
	e, ok := exps[device]
	if !ok {
		return *flagGenerate == 0
	}
	switch mode {
	case "pin":
		return e.PIN
	case "visual":
		return e.Visual
	}
	return true
}
