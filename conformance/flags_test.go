package conformance

import (
	"flag"
	"os"
	"testing"
)

// Suite flags of the test binary (go test ./conformance -args ..., or after -- with the ginkgo
// CLI): plain flag variables of this test package only, since with go test ./... every test
// binary must accept its own flags. They fill the same Options as `mynaconform run`.
var (
	flagTarget      = flag.String("target", "emulator", "target: emulator or pcsc")
	flagDevices     = flag.String("devices", "", "emulator: folder of device profiles (default: the built-in catalogue)")
	flagOnly        = flag.String("only", "", "comma-separated device IDs to run (default: all)")
	flagGenerate    = flag.Int("generate", 0, "emulator: run N generated synthetic profiles (scaling runs)")
	flagReader      = flag.String("reader", "", "pcsc: reader name (default: vpcd slot 0)")
	flagLab         = flag.Bool("lab", false, "pcsc: the reader holds a real test card playing the adult persona; secrets from "+envLabPIN+" and "+envLabVerificationB)
	flagOut         = flag.String("out", "", "folder for the result set (default: none written)")
	flagVerdicts    = flag.String("verdicts", "expect", "expect: verdicts must match expected.yaml; strict: any × fails; record: only write the list")
	flagLang        = flag.String("lang", "", "ja or en (default: from the locale)")
	flagConcurrency = flag.Int("concurrency", 0, "devices at once in this process (0: the target's figure)")
	flagUpdate      = flag.Bool("update", false, "rewrite the golden supported-device lists in testdata/")
	flagProgress    = flag.Bool("progress", false, "print one line per device as it finishes")
	flagRepeat      = flag.Int("repeat", 0, "run each device's path N times (0: once)")
	flagCertify     = flag.String("certify", "", "PEM private key: sign each device's result into certificates/ (needs -out)")
	flagSlots       = flag.Int("slots", 0, "pcsc: vpcd slots, one device each (0: 2)")
)

// optionsFromFlags builds the run's Options from the test binary's flags.
func optionsFromFlags(t *testing.T) Options {
	only, err := ParseIDList("only", *flagOnly)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{
		Target: *flagTarget, DevicesDir: *flagDevices, Only: only, Generate: *flagGenerate,
		Reader: *flagReader, Lab: *flagLab, Out: *flagOut, Verdicts: *flagVerdicts, Lang: *flagLang,
		Concurrency: *flagConcurrency, Repeat: *flagRepeat, Certify: *flagCertify, Slots: *flagSlots,
	}
	if *flagProgress {
		o.Progress = os.Stdout
	}
	return o
}
