// Package card is the virtual My Number card (マイナンバーカード): the master file, the JPKI-AP
// (公的個人認証), 券面事項確認AP (card face), 券面事項入力補助AP (input support), 共通カードAP, 住基AP
// and the issuer security domain, answering APDUs as a real card does so that tools written for
// real cards (OpenSC's JPKI driver, jpki/myna, pymyna, AokiApp's mynacard, TRET's reader) work
// unchanged. The facts it follows are in docs/card.md; this comment lists the commands and every
// point card.md leaves open, with the answer this card gives (Quirks makes each configurable).
//
// The card has no format of its own: APDUs are checked by formats/iso7816.ParseLayout, status
// words are iso7816.StatusWord, identifiers, records, certificates, signature schemes and secure
// messaging are formats/mynumber's. A Card is a value built by New from a Profile
// (fixtures.Variant.CardProfile gives one per synthetic card); many cards live side by side.
// Transmit is the one byte entry point: it never panics and always answers at least SW1 SW2.
//
// # Commands
//
//	SELECT           00 A4 04 0C|00|02 name      a DF name or a prefix; the ISD restores the power-on state
//	                 00 A4 00 00                 6A86 after reset; 9000, DF unchanged, with a DF current
//	                 00 A4 02 0C 02 FID          3F00 6A82 in every state
//	READ BINARY      00 B0 off15 Le | 00 B0 80|SFI off8 Le   short or extended Le
//	READ RECORD      00 B2 nn 04 Le | 00 B2 nn SFI<<3|04 Le   共通カードAP, 住基AP
//	VERIFY           00 20 00 80|SFI [Lc value]  no data: the retry query, consumes nothing
//	CHANGE REF. DATA 00 24 01 80|SFI Lc new      JPKI, 券面事項入力補助AP, after VERIFY
//	CHANGE KEY       80 32 00 80|SFI Lc new      共通カードAP, 住基AP, after VERIFY
//	SIGN             80 2A P1(00..05) P2 Lc data Le   P2 80|SFI (JPKI, after its PIN), 00 (card presence)
//	INTERNAL AUTH.   00 88 00 99 Lc challenge Le      共通カードAP EF 0019 only
//	GET CHALLENGE    00 84 00 00 Le              short Le 1..256; extended 6985
//	GET DATA         00 CA tag Le                MF level (power-on state); big objects need extended Le
//	TERMINAL CERT    80 A2 00 C1 Lc(ext) 7F21…   JPKI-AP; key kept
//	SET SESSION KEY  80 AE 00 00 Lc(ext 256)     券面事項入力補助AP after its PIN; then CLA 08
//	LAST COMMAND     80 FC 00 00                 iPhone token 9000; physical cards 6700
//	issuer commands  80 8A/06/50/52/54, 00 82    Quirks.AdminSW (6982); never 6D00
//
// # Where card.md is silent (docs/card.md section 13; the default in brackets, Quirks to change)
//
//   - 80 A2: the meaning of P1 P2, the certificate body, what it unlocks, its SW on success [P1 P2
//     00 C1 (Quirks.TerminalCertP1P2) with a 7F21 certificate (formats/mynumber.CVCertificate with
//     the project's 10-byte TerminalValidity after the key) issued by the key of EF 0016 under its
//     key id; the key it carries is kept; 9000 (Quirks.TerminalCertOK)]. Data that is not a CV
//     certificate 6700, another issuer id 6A88, a bad signature 6300; with WithClock a date outside
//     the validity 6300. What it unlocks: nothing by default; WithRequireTerminalAuth makes
//     kenkaku EF 0002 need it (the project's model of the visual mode).
//   - CLA 10 command chaining [6884; Quirks.Chaining joins a chain's data and runs its last command].
//   - SELECT by a prefix matching several applications [the first in mynumber.Applications order];
//     P2 02 next occurrence [6A82; Quirks.SelectNext]; data for P2 00 [none; Quirks.SelectFCI];
//     unknown name [6A82].
//   - Re-SELECT of the current DF [clears the security status, as OpenSC's logout assumes;
//     Quirks.KeepStatusOnReselect].
//   - Empty VERIFY on a key never set and after a successful VERIFY [63Cx with the counter, which
//     OpenSC's binding needs; Quirks.VerifiedQuery9000 answers 9000 after a success]. VERIFY with a
//     value on a never-set key: 6984.
//   - READ refused for a missing credential [6982; Quirks.ReadDenied]. READ past the end 6B00.
//   - Tries [kenhojo 0011, 共通/住基 001C: 3; kenkaku 0011, 0013, kenhojo 0014: 10]: the table of
//     formats/mynumber.Keys, overridden per key by Profile.Tries.
//   - Letter and digit mix in the signing password [not enforced; Quirks.SignPINLetterAndDigit].
//   - Sizes [from the profile]: kenkaku EF 0002 and 0005 are the object with FF filler to the next
//     multiple of 256 (at least one byte), as are the JPKI certificates; kenhojo EF 0002 is the
//     object with no filler (104 bytes on the test card); kenhojo EF 0005 256 bytes
//     (Profile.InputInfoSize). GET DATA 0045 and 0066 are the profile's bytes.
//   - JPKI EF 0008 without a signing certificate [00 8F 00]. EF 0009 [protected: no credential
//     opens it, READ 6982]; EF 0016 [internal, READ 6981].
//   - Contents of JPKI 0005 0010 0019 001C 001E, kenkaku 001C 001E, kenhojo 0010 001C 001E, and
//     kenhojo 0008 [selectable; READ 6981].
//   - Token info other than label and versions [mynumber.DefaultTokenInfo: soltia48's example
//     values, manufacturer id padded].
//   - MANAGE ATTRIBUTES (P1 22/24; others 6A86), ERASE ALL RECORDS, LOCK/UNLOCK DF, UNLOCK KEY,
//     EXTERNAL AUTHENTICATE [6982, Quirks.AdminSW]; READ RECORD mode 05 [6A81,
//     Quirks.MultiRecordSW].
//   - Which ATR, and where 5F51 and 7F21 answer [per profile: Profile.ATR, MFData.ATRAt,
//     MFData.CV].
//
// # Further decisions of this card (not settled by card.md either)
//
//   - CLA: 0x and 8x classes only; logical channel other than 0 6881; ISO instructions need CLA
//     0x and the proprietary ones CLA 8x, else 6E00; an instruction the card does not know 6D00;
//     CLA FF 6E00. A length structure outside ISO/IEC 7816-4 5.1 6700.
//   - Secure-messaging CLA: SELECT EF, VERIFY and READ BINARY take it; every other instruction,
//     and SELECT by name, answer 6882. A CLA 08 SELECT EF or VERIFY with data other than one DO 86,
//     or a READ BINARY other than one DO 96, answers 6988 and keeps the session (card.md: a wrong
//     counter, which shows as a cryptogram that does not decrypt, destroys it). Responses without
//     data carry no DO.
//   - SET SESSION KEY on 住基AP and at MF level 6982; INTERNAL AUTHENTICATE at MF level and on
//     住基AP 6985; 80 A2 outside the JPKI-AP 6985.
//   - CHANGE REFERENCE DATA of a key changed with CHANGE KEY (and the reverse), or of a key never
//     changeable (照合番号, birth date), 6985.
//   - Signatures: an input length the scheme does not take 6700; a short Le below the key size
//     6700; no Le is tolerated. PSS uses SHA-256, MGF1-SHA-256 and a 32-byte salt.
//   - GET DATA: an object longer than Ne answers 6700 (so a big one under a short Le does).
//   - READ RECORD: Le below the record's length answers the first Le bytes.
//   - The terminal authentication of 80 A2 is card-wide: it survives SELECT of another DF (the
//     visual mode sends 80 A2 on the JPKI-AP and reads the card face after) and ends at reset.
//   - Smartphone tokens (Profile.Token label JPKIAPGPSETOKEN or JPKIAPIOSTOKEN) answer as the
//     JPKI-AP of a physical card except: Android opens EF 000A only after VERIFY 0018, iPhone
//     accepts 80 FC 00 00; fixtures give them the JPKI-AP alone (Profile.Applications).
//   - A state-file write failure answers 6581; the counter is still changed in memory, the safe
//     direction.
//
// # Non-volatile state
//
// Retry counters survive Reset, PowerOff and, with WithStateFile, process restarts: the file
// keeps the counters and the salted HMAC-SHA-256 of changed PINs, bound to the card by a
// fingerprint of its public keys, written atomically (temp file, fsync, rename, directory fsync)
// on every change, as EEPROM. Security status, the current DF and EF, secure messaging and
// terminal authentication are volatile. PINs are held only as salted hashes; no PIN, 照合番号 or My
// Number appears in an error.
package card
