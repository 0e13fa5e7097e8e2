//go:build pcsc

// Package pcsc is the PC/SC backend of readers.Reader: a card in a reader managed by pcscd
// (a USB reader, or a virtual card dialled in through vsmartcard's vpcd, see emulator/vpcd).
//
// It talks to pcsc-lite through its own small cgo shim (scard.go), so it is built only with the
// build tag "pcsc" and needs libpcsclite-dev (go build -tags pcsc). Sharp edges of the stack it
// handles (docs/pcsc.md):
//   - SCardTransmit has no timeout, and SCardCancel and SCardDisconnect cannot end it: every call
//     runs on the caller's goroutine under a watchdog (a timer, or context.AfterFunc) that, only
//     if the deadline passes, shuts the context's socket to pcscd down, which makes the pending
//     call return; the Reader is then broken until Close. (Without /proc to find that socket, the
//     call runs on a goroutine of its own and is abandoned at the deadline instead.);
//   - the response lands in one receive buffer per Reader, sized from its capabilities, instead
//     of a fresh 64 KiB buffer per call;
//   - a card killed mid-APDU can make SCardTransmit succeed with 0 bytes: responses shorter than
//     2 bytes are readers.ErrShortResponse;
//   - commands shorter than an APDU header and protocols other than T=0/T=1 are refused first;
//   - PC/SC does not say whether a reader carries extended APDUs: Probe finds out with harmless
//     commands to the JPKI application.
package pcsc
