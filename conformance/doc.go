// Package conformance holds the Ginkgo conformance suite (in its _test files): activation ->
// login -> consent (PIN mode and visual mode) -> lookup on every device of a target, producing
// the supported-device list. TESTPLAN.md lists every spec.
//
// Run it with `make run` (mynaconform run), `go test ./conformance -args -ginkgo.v ...`, or the
// ginkgo CLI (`go run github.com/onsi/ginkgo/v2/ginkgo -p ./conformance -- -out DIR`).
//
// Flags (after -args, or after -- with the ginkgo CLI):
//
//	-target emulator|pcsc   where the devices come from (default emulator)
//	-devices DIR            emulator: a directory of device profiles instead of the catalogue
//	-only ID,ID             only these device IDs
//	-generate N             emulator: N generated synthetic profiles (scaling runs)
//	-reader NAME            pcsc: one reader (default all)
//	-out DIR                write the reports and transcripts there (default: none)
//	-verdicts expect|strict|record
//	                        expect (default): a device's verdicts must match conformance/expected.yaml
//	                        and the golden list; strict: any × fails (certifying one handset);
//	                        record: write the list, fail only on broken specs
//	-update                 rewrite the golden supported-device list
package conformance
