// Package transcript is the evidence file of a conformance run: every APDU exchange of one
// device in one mode, with the step that sent it, in deterministic CBOR (RFC 8949 core
// deterministic encoding, integer map keys), so the same exchanges always give the same bytes
// and the same hash.
//
// Secrets never reach a file: Mask replaces the data field of a command carrying a PIN or a
// 照合番号 (and, for an exchange marked secret, the data of the response, e.g. the My Number)
// with 0x2A bytes of the same length, and Write refuses a file with an unmasked VERIFY or CHANGE
// REFERENCE DATA. Read treats its input as untrusted: bounded size, nesting and lengths, no
// duplicate or unknown keys.
package transcript
