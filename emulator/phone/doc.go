// Package phone is the virtual NFC handset: a readers.Reader (and readers.Clocked) driven
// entirely by a device Profile, carrying APDUs to a Card in the same process.
//
// It behaves as the handsets' NFC stacks do (docs/handsets.md):
//
//   - Connect fails with readers.ErrNoNFC or readers.ErrNoISODep for handsets without NFC or
//     without ISO-DEP, and with readers.ErrNoCard while the card is out of the field; otherwise
//     it powers the card on (field on).
//   - A command longer than MaxTransceive fails with readers.ErrTransceiveLength (Android's
//     IOException "Transceive length exceeds supported maximum") before anything reaches the
//     card (Android checks only the length); an extended-length command also fails on a profile
//     that declares extended: false explicitly.
//   - A response longer than MaxResponse (iOS: 1693 bytes) fails with readers.ErrTagLost ("Tag
//     connection lost"). The card has processed the command (counters are consumed); the link
//     is then dead until Connect, and the card sees a field loss (PowerOff: security status gone).
//   - A transceive whose modelled time exceeds Timeout fails with readers.ErrTimeout. The card
//     has processed the command, as a real card does while the reader gives up; the phone then
//     drops the link like a tag loss (field off, Connect again). The clock advances by Timeout.
//
// # Timing model
//
// A virtual clock (Elapsed) advances by the modelled time of every transceive; nothing sleeps.
// The modelled time of one command/response pair is
//
//	T = air(len(cmd)) + air(len(resp)) + processing(kind) + latency
//	air(n) = (n + 3·f + 3·(f-1)) · 10 etu,  f = max(1, ceil(n / (FSD-3)))
//	1 etu = (128 / (BitRate/106)) / fc,  fc = 13.56 MHz
//
// ISO/IEC 14443-4: an I-block carries FSD minus the PCB byte and the two CRC_B bytes; an APDU
// longer than that is chained in f blocks, each but the last acknowledged by an R(ACK) block
// (PCB + CRC, 3 bytes) from the other side. A character is 10 etu (start, 8 data, stop bits;
// ISO/IEC 14443-3 Type B), so one byte takes 94.4 µs at 106 kbit/s and 11.8 µs at 848 kbit/s.
// The same frame size is used in both directions (FSC = FSD, an assumption). Not modelled:
// SOF/EOF, extra guard time, frame delay time, S(WTX) requests: the air time is a lower bound.
// With FSD 256 at 106 kbit/s this gives 792.8 ms for an 8 KiB file in one extended READ and
// 830.7 ms in 32 short READs, and 138.5 ms for a 1.3 KiB certificate read as OpenSC does
// (SELECT, 4-byte header, 256-byte chunks); 17.3 ms at 848 kbit/s (devices.md: ~792, ~845,
// ~139, ~17 ms).
//
// processing(kind) is the card's time from the Profile's Processing: per command kind (SELECT,
// READ BINARY base + per byte, VERIFY, signature, GET CHALLENGE, terminal certificate, other).
// A signature or terminal certificate that the card refuses (status other than 9000/61xx) costs
// Other: the card answers before doing the RSA work.
//
// # Fault injection
//
// Options inject deterministic faults: the card removed after N APDUs (WithRemoveAfter) or when
// a named step begins (WithRemoveAtStep; the session forwards step names through SetStep),
// added latency per APDU (WithLatency), a response with one flipped data byte
// (WithCorruptResponse). Remove and Insert move the card out of and back into the field.
//
// Like every readers.Reader, a Phone is not safe for concurrent use: one goroutine drives it.
package phone
