// Package card is the virtual My Number card (マイナンバーカード): the JPKI-AP (公的個人認証),
// the 券面事項確認AP (card-face AP) and the 券面事項入力補助AP (input-support AP), answering
// APDUs as a real card does so that tools written for real cards (OpenSC's JPKI driver,
// jpki/myna) work unchanged. The spec is docs/card.md; this comment lists what it leaves open
// and what this card does there.
//
// A Card is a value built by New from a Profile (fixtures.Persona.CardProfile gives one per
// persona); many cards live side by side. Transmit is the one byte entry point: it never
// panics and always answers at least SW1 SW2. The card is mutex-protected.
//
// # Commands
//
//	SELECT DF      00 A4 04 0C|00 Lc AID    P2 00 is accepted too (no FCI is returned)
//	SELECT EF      00 A4 02 0C|00 02 FID    MF: P1 00 -> 6A86, FID 3F00 -> 6A82
//	READ BINARY    00 B0 off15 Le | 00 B0 80|SFI off8 Le   short or extended Le
//	VERIFY         00 20 00 80|SFI Lc ref   no data: retry query, consumes no try
//	CHANGE REF.    00 24 01 80|SFI Lc new   after VERIFY of the same key
//	SIGN           80 2A P1(00..05) 80|SFI Lc data Le   (card-face APs: P2 00, card key)
//	GET CHALLENGE  00 84 00 00 Le           short Le only (extended: 6985)
//	TERMINAL CERT  80 A2 00 00 Lc(ext) CV   checked against JPKI EF 0016
//
// # Decisions where card.md is silent (the real card's behaviour is not public)
//
//   - APDU parsing follows ISO/IEC 7816-4 clause 5.1 (cases 1, 2S/2E, 3S/3E, 4S/4E); any other
//     length structure (e.g. 00 A4 04 00 00 01, extended Lc 0) answers 6700.
//   - CLA: 0x or 8x classes only; logical channel != 0 gives 6881, secure messaging (08/0C)
//     69FC for every INS, command chaining (10) 6884, other classes 6E00. ISO instructions
//     need CLA 00 and 2A/A2 CLA 80, else 6E00; unknown INS 6D00.
//   - Security status is per DF: SELECT of another DF clears it, re-SELECT of the same DF and a
//     failed SELECT keep it. A failed VERIFY clears that key's status. The terminal-authenticated
//     flag of 80 A2 is card-wide (it survives SELECT of another DF, since the visual mode sends
//     80 A2 in JPKI-AP and reads the card-face AP after) and is cleared by reset and power-off.
//   - The retry query answers 63Cx even when the key is verified (OpenSC's GET_INFO expects
//     SW1 63); with no PIN set (顔認証マイナンバーカード) VERIFY and the query answer 6984; a
//     blocked key answers 63C0 to the query and 6984 to VERIFY and CHANGE REFERENCE DATA.
//   - Retry limits: auth PIN 3, signing PIN 5, input-support PIN 3, and 10 for each of the
//     card-face keys (birth date, 照合番号A/B in both card-face APs), each with its own counter;
//     Profile.*Retries configure them. A successful VERIFY restores the counter.
//   - CHANGE REFERENCE DATA: a new PIN breaking its format gives 6A80; the birth date and the
//     照合番号 cannot be changed (6985); P1 other than 01 gives 6A86.
//   - READ BINARY: Le beyond the end answers the bytes there with 9000; offset at or past the
//     end 6B00; no current EF 6986; key and PIN EFs are not readable (6982). One response
//     carries at most 65533 data bytes (vpcd's 65535-byte limit with SW, hil.md).
//   - Access in the input-support AP: EF 0003 (integrity) opens with any of the PIN, 照合番号A
//     or B. Card-face EF 0006 (content not public) is not modelled.
//   - Signatures: P1 00 accepts 1..k-11 bytes; P1 02/04 exactly 32; a short Le below the key
//     size gives 6700; a missing Le is tolerated. PSS uses SHA-256, MGF1-SHA-256 and a 32-byte
//     salt. The card-presence signature (80 2A 00 00 in both card-face APs) needs no credential.
//   - 80 A2: P1 P2 00 00, extended Lc only (short Lc 6700); outside JPKI-AP or without an EF
//     0016 key 6985; a malformed certificate 6A80; a bad signature, or with WithClock a date
//     outside the validity period, 6300. A failed 80 A2 clears an earlier success.
//     WithRequireTerminalAuth makes card-face EF 0002 need it (default off).
//   - A state-file write failure answers 6581 (memory failure); the counter is still changed
//     in memory, the safe direction.
//
// # File contents (layouts of card.md; values it does not give are this project's model)
//
//   - Data EFs carry FF filler up to the next multiple of 256 bytes (at least one byte), except
//     the fixed sizes: JPKI EF 0006 (160 bytes: label, then "mynaconform", "virtual card" and a
//     key fingerprint space-padded like CK_TOKEN_INFO, then FF), EF 0008 (3 bytes) and
//     input-support EF 0001 (17 bytes: FF 10 0C, 12 digits, FF FF).
//   - JPKI EF 0008: 8F 8F 00 with both certificates; 00 8F 00 without the signing certificate
//     (children). EF 0016 holds 7F49 { 81 n, 82 e } and is readable.
//   - Card-face EF 0002: DF28 = PKCS#1 v1.5 by the issuer over DigestInfo(sha256, SHA-256
//     [DF22..DF24] || SHA-256 [DF25..DF26] || SHA-256 [DF27]), each segment the encoded TLVs.
//     EF 0001 DF13 and EF 0005 DF43 sign SHA-256 of the encoded DF11..DF12 and DF41..DF42.
//     EF 0003 (and input-support EF 0005) is FF30 { DF31 last four AID bytes, DF32 16-byte key
//     id (SHA-256 of the card key modulus), DF33 01, DF34 municipality code }.
//   - Input-support EF 0003: F0 { F1 SHA-256 of the 17 physical bytes of EF 0001, F2 SHA-256 of
//     EF 0002 from the DF22 tag to the end of the FF20 object, F3 PKCS#1 v1.5 SHA-256 by the
//     issuer over F1 || F2 }. card.md's F0/F1/F2/F3 tags are kept; AokiApp's schema reads the
//     real card as FF30 { DF31, DF32, DF33 } and hashes EF 0001 without its FF FF: follow it if
//     a real card confirms.
//
// # Non-volatile state
//
// WithStateFile keeps the retry counters and the salted HMAC-SHA-256 of changed PINs in a JSON
// file bound to the card by a fingerprint of its public keys; it is written atomically
// (temp file, fsync, rename, directory fsync) on every change, as EEPROM. PINs are held only
// as salted hashes in memory too; no PIN, 照合番号 or My Number appears in an error.
package card
