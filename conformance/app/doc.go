// Package app is the reference client of the マイナ資格確認アプリ（居宅同意取得型）: the flows the
// official app runs, modelled from docs/card.md and docs/onshi.md, so the conformance suite
// can drive the whole path on any reader.
//
// It talks to the card only through readers/session over a readers.Reader, and to the
// qualification system only over HTTP (conformance/app/client, wire types in formats/onshi/api).
//
// The card steps, as modelled (the official sequence is not public; each step is named, and the
// visual-mode steps can be switched by VisualConfig so the model can follow the real app):
//
//	PIN mode:    SELECT JPKI-AP, read EF 000A (auth certificate, free)
//	             -> VERIFY EF 0018 (4-digit auth PIN)
//	             -> COMPUTE DIGITAL SIGNATURE with EF 0017 over DigestInfo(SHA-256(challenge))
//	             -> register consent (certificate + signature)
//	Visual mode: SELECT JPKI-AP, read EF 000A
//	             -> 80 A2 terminal certificate (extended Lc: the step a short-only handset cannot do)
//	             -> SELECT 券面事項確認AP, VERIFY EF 0012 (照合番号B)
//	             -> read EF 0002 (card face; extended Le where the handset allows)
//	             -> check the face record's issuer signature
//	             -> card-presence signature (80 2A 00 00) over DigestInfo(SHA-256(challenge))
//	             -> staff compare the face photo with the patient
//	             -> register consent (certificate, face record, card signature, confirmation)
package app
