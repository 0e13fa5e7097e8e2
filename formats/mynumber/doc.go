// Package mynumber is the one home of the My Number card's data formats in mynaconform: the AIDs
// of its five applications, their file and key identifiers, the proprietary instructions, the
// ATRs of real cards, and every record and certificate of docs/card.md as an encode + parse pair:
//
//   - JPKI-AP: token info (EF 0006), certificate flags (EF 0008), the signing certificate's
//     subject attributes (subjectAltName, OIDs 1.2.392.200149.8.5.5.1-.6), the signature schemes
//     of COMPUTE DIGITAL SIGNATURE (P1 00-05);
//   - 券面事項確認AP: age record (EF 0001), card face (EF 0002), AP basic data (EF 0003), My Number
//     image (EF 0005);
//   - 券面事項入力補助AP: My Number (EF 0001), basic four (EF 0002), integrity record (EF 0003),
//     AP info (EF 0005), session key (EF 0006), card-key record (EF 0007), and its secure
//     messaging;
//   - 共通カードAP: the card-info record (EF 0001);
//   - card-verifiable certificates with 16-byte key ids (EF 0004, MF 00F8 / 7F21, and this
//     project's model of the 80 A2 terminal certificate), era dates and 照合番号B.
//
// The virtual card builds its files with it; the reference app and the qualification system parse
// and verify what a card (virtual or real) returns with it, so the tester never checks the
// emulator against the emulator's own reading of the card. It imports only formats/tlv and
// formats/iso7816.
//
// Where card.md lists a point as unknown, this package takes no position beyond the layout: the
// values are the caller's (the card's profile). Two layouts here are this project's model, named
// as such where they are defined: the 10 bytes after the key in a terminal certificate
// (TerminalValidity) and the token-info manufacturer id.
package mynumber
