// Package conformance is the conformance suite: the envelope stage (the TRN specs: the device's
// APDU envelope measured with a card, envstage.go), then activation -> login -> consent (PIN mode
// and visual mode) -> lookup on every device of a target, producing the supported-device list
// (and, with -certify, one signed result per device, certificate.go). TESTPLAN.md lists every
// spec.
//
// The Ginkgo specs live in this package's ordinary files, so that one package serves both ways
// of running them:
//
//   - Run, in process, once: `mynaconform run` (and `make run`) from any folder, with no checkout
//     and no Go toolchain (the device catalogue and expected.yaml are embedded). Run checks every
//     input before Ginkgo's RunSpecs (a *UsageError names the flag, file or field), calls
//     RunSpecs exactly once (a second Run returns ErrAlreadyRan instead of letting Ginkgo exit
//     the process), reads the outcome from the report rather than from Ginkgo's exit, and
//     ExitCode maps it to 0 ok, 1 a device does not conform, 2 bad input or set-up, 3 internal.
//   - `go test ./conformance -args ...` and the ginkgo CLI (`ginkgo -p ./conformance -- ...`):
//     TestConformance calls the same Run with Options from the test binary's flags.
//
// Devices run concurrently where the target allows (target.Concurrency: the emulator one per
// CPU, PC/SC one per vpcd slot): each device's specs run in order on a worker goroutine with its own
// emulated qualification system, and the Its report what their bodies found, in tree order.
// Ginkgo filters and the ginkgo CLI's -p run one device at a time per process; parallel.sh checks
// that all three give the same list and transcripts.
//
// Test-binary flags (after -args, or after -- with the ginkgo CLI):
//
//	-target emulator|pcsc   where the devices come from (default emulator; pcsc needs -tags pcsc)
//	-devices DIR            emulator: a folder of device profiles instead of the catalogue
//	-only ID,ID             only these device IDs
//	-generate N             emulator: N generated synthetic profiles (scaling runs)
//	-reader NAME            pcsc: one reader (default vpcd slot 0)
//	-lab                    pcsc: the reader holds a real test card (secrets from the environment)
//	-out DIR                install the result set there (default: none written)
//	-verdicts expect|strict|record
//	                        expect (default): a catalogue device's verdicts must match
//	                        expected.yaml (docs/expected.md) and the golden lists; strict: any ×
//	                        fails (certifying one handset); record: write the list only
//	-lang ja|en             the list's language (default from the locale)
//	-concurrency N          devices at once in this process (default: the target's figure)
//	-progress               one line per device as it finishes
//	-repeat N               run each device's path N times (pass rate per mode)
//	-certify KEY            sign each device's result into certificates/ (needs -out)
//	-slots N                pcsc: vpcd slots, one device each (default 2)
//	-update                 rewrite the golden supported-device lists (testdata/)
package conformance
