// Package hil holds the hardware-in-the-loop tests: the virtual card (emulator/card) served
// into the real PC/SC stack (pcscd + vsmartcard's vpcd, emulator/vpcd) and driven through the
// PC/SC backend (readers/pcsc) and through unmodified OpenSC tools (pkcs15-tool, pkcs11-tool)
// and pcsc_scan. The tests and benchmarks need the build tag "pcsc"; run.sh (make hil) installs
// the Debian packages when missing and runs them:
//
//	go test -tags pcsc -count=1 ./readers/pcsc/... ./emulator/vpcd/... ./conformance/hil/...
//
// The package itself is Floor (build tag "pcsc"): a C loop over SCardTransmit, the floor that
// BenchmarkPCSCFloor holds the Reader to (floor.sh prints the comparison; docs/pcsc.md).
//
// Every test binary holds the machine-wide pcscd lock of package stack for its whole run, so
// packages never share pcscd concurrently. Tests skip, saying why, only when pcscd or the vpcd
// driver is not installed.
package hil
