//go:build pcsc

// Package pcsc is the PC/SC backend of readers.Reader: a card in a reader managed by pcscd
// (a USB reader, or a virtual card dialled in through vsmartcard's vpcd, see emulator/vpcd).
//
// It is built only with the build tag "pcsc" because github.com/ebfe/scard needs cgo and
// libpcsclite-dev (go build -tags pcsc). Sharp edges of the stack it handles
// (shared/docs/hil.md):
//   - SCardTransmit has no timeout: Transmit runs it in a goroutine and gives up at the context
//     deadline, marking the Reader broken until Close;
//   - a card killed mid-APDU can make SCardTransmit succeed with 0 bytes: responses shorter than
//     2 bytes are readers.ErrShortResponse;
//   - ebfe/scard panics on an empty command and on a protocol other than T=0/T=1: both are
//     checked first, and panics are recovered;
//   - PC/SC does not say whether a reader carries extended APDUs: Probe finds out with harmless
//     commands to the JPKI application.
package pcsc
