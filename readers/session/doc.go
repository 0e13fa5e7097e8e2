// Package session is the one APDU session layer of mynaconform. Every client (the reference app,
// the conformance suite, the CLI) talks to a card through a Session over a readers.Reader.
//
// A Session is the only place that
//   - decides short vs extended vs chunked commands from the reader's readers.Capabilities
//     (ReadBinary, ReadObject);
//   - handles 61xx (GET RESPONSE, ISO 7816-4 5.3.3 / 11.1.6 of T=0) and 6Cxx (re-send with
//     Le = xx, ISO 7816-3 / 7816-4 table 6);
//   - turns status words into typed errors (StatusError, PINError) that unwrap to the
//     iso7816.StatusWord, matched with errors.Is(err, iso7816.SWSecurityStatus) / errors.As;
//   - keeps the exact bytes of every exchange (Exchange), labelled with the current step.
//
// Secrets: an Exchange keeps the exact bytes sent, secrets included, so that a transcript can
// be replayed in memory. Anything written out (logs, transcripts, reports) must go through
// Exchange.Masked or Session.Transcript, which replace secret command data (PIN, 照合番号A/B,
// passwords) and secret response data (the My Number of 券面事項入力補助AP EF 0001 and the
// My Number image of 券面事項確認AP EF 0005, see SecretFile) with 0x2A ('*') bytes.
// Exchange's String method prints the masked form.
//
// A Session is not safe for concurrent use: one goroutine drives one card.
package session
