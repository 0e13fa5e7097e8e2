// Package vpcd plugs a virtual card into the real PC/SC stack through vsmartcard's vpcd driver
// (libifdvpcd.so inside pcscd). vpcd listens on TCP (35963 for slot "Virtual PCD 00 00", 35964
// for "00 01"); the card dials in as a client and answers vpcd's messages:
//
//   - every message is a 2-byte big-endian length and the payload, both ways (so at most
//     65535 bytes);
//   - a 1-byte payload is a control code: 00 power off, 01 power on, 02 reset, 04 get ATR (only
//     get ATR is answered);
//   - any longer payload is a command APDU, answered with the response APDU.
//
// Debian 12's vpcd writes the length and the payload in two writes without TCP_NODELAY, so the
// card's delayed ACK stalls each APDU by ~44 ms; Serve sets TCP_QUICKACK before each read and
// after the 2-byte header (Linux), which brings a round trip through pcscd down to ~0.1 ms
// (docs/pcsc.md, "Quick ACK").
//
// The package knows nothing about the card's contents: any value with the Card methods can be
// served (emulator/card.Card is one). Many cards can be served side by side, one per slot, and a
// Changer exchanges the card in a slot at its next power cycle, without the removal and
// insertion pcscd would notice only at its ~0.4 s presence poll.
//
// App is the other kind of peer vpcd has: a handset running vsmartcard's Remote Smart Card Reader
// app, which carries vpcd's APDUs over its own NFC stack (any readers.Reader, e.g. the virtual
// phone of emulator/phone) and answers as the app does: power off and reset become SELECT MF,
// the ATR is built from the card's ATQB, and a failure of the handset closes the connection
// instead of answering a status word (docs/lab.md).
package vpcd
