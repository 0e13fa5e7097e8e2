// Package loop holds the tests of a handset in the loop (docs/lab.md), through the real pcscd and
// vsmartcard's vpcd, with `mynaconform phone serve` standing in for a handset that runs
// vsmartcard's Remote Smart Card Reader app: the virtual phone of a device profile, with its
// limits, dialled into vpcd as the app dials it. The tests (build tag "pcsc") run the binary as
// a lab would:
//
//   - the chain probe -> measured profile -> in-process verdicts = pcsc verdicts, for a 261-byte,
//     a 65279-byte and an iOS-like (response cap 1693) handset;
//   - for every catalogue device, the verdicts of the suite on target pcsc through the stand-in
//     equal the in-process verdicts of the same profile (the stand-in holds one card, the adult
//     persona's, like a lab reader: specs needing other personas are skipped);
//   - a transcript recorded through pcscd replays against the virtual card with no difference,
//     and one edited to carry another status word or layout is reported at that APDU.
//
// The test binary holds the machine-wide pcscd lock of package stack for its whole run and drives
// several vpcd slots at once, each with a stand-in of its own.
package loop
