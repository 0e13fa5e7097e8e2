package onshi_test

import (
	"crypto/rsa"
	"crypto/sha256"
	"testing"

	"github.com/mynaconform/mynaconform/conformance/app/client"
	"github.com/mynaconform/mynaconform/emulator/onshi"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

// genuineCard is another real card: a face record signed by the real record signer (so it
// verifies to the trusted card-face CA) for the given birth date and sex, with its own card-face
// key, and its card-presence signature over the challenge.
func genuineCard(t testing.TB, birth string, sex int, cardKey *rsa.PrivateKey, nonce []byte) cardFace {
	p := persona(t, "adult")
	rec := &mynumber.FaceRecord{BirthDate: birth, Sex: sex, CardKey: &cardKey.PublicKey, NamePNG: p.NamePNG, AddressPNG: p.AddressPNG,
		Photo: p.Photo, Expiry: "20350217", SecurityCodePNG: p.SecurityCodePNG}
	b := must(rec.Encode(mynumber.RSASigner(pki(t).FaceIssuerKey)))
	h := sha256.Sum256(nonce)
	sig := must(rsa.SignPKCS1v15(nil, cardKey, 0, mynumber.DigestInfoSHA256(h[:])))
	return cardFace{record: b, cert: pki(t).FaceIssuerCV, sig: sig} // EF 0004 of every test card: the signer's certificate
}

// The two-card attack of the issue: the staff compare the photo of a genuine card that is on the
// phone (its face record verifies, it signs the fresh challenge), but the app sends the auth
// certificate of someone else with the same birth date and sex, read earlier from their card
// without a PIN. Before, the consent registered (201) and the result showed the other person's
// 薬剤情報. Now the card that signed is not the card the certificate was issued on: refused with
// CARD_MISMATCH, and audited.
func TestTwoCardAttackIsRefused(t *testing.T) {
	e := newEnv(t, nil)
	a, _, s := e.device(doctorID)
	adult := persona(t, "adult") // the victim: 1980-02-17, male

	ch := must(s.Challenge(e.ctx))
	present := genuineCard(t, adult.BirthDate, adult.Sex, poolKey(3), ch.Challenge) // the card on the phone
	_, err := s.RegisterConsent(e.ctx, api.ConsentRequest{ChallengeID: ch.ID, Mode: api.ModeVisual, AuthCertificate: adult.AuthCert,
		FaceRecord: present.record, FaceCertificate: present.cert, CardSignature: present.sig, StaffConfirmed: true, Items: allItems})
	wantCode(t, err, api.CodeCardMismatch)
	if last := lastAudit(t, e, a); last.Action != "consent.register" || last.Code != api.CodeCardMismatch || last.Target != "person:adult" {
		t.Fatalf("audit: %+v", last)
	}

	// The genuine virtual card of another persona with adult's certificate: the same refusal
	// (before, only a birth-date or sex difference was caught).
	ch = must(s.Challenge(e.ctx))
	fam := visualCard(t, persona(t, "family"), ch.Challenge)
	_, err = s.RegisterConsent(e.ctx, api.ConsentRequest{ChallengeID: ch.ID, Mode: api.ModeVisual, AuthCertificate: adult.AuthCert,
		FaceRecord: fam.record, FaceCertificate: fam.cert, CardSignature: fam.sig, StaffConfirmed: true})
	wantCode(t, err, api.CodeCardMismatch)

	// The victim's own card, read on the phone: accepted.
	res := must(visualConsent(e, s, adult, nil, true))
	if res.Result.Name != adult.Name || res.Result.IdentifiedBy != api.ModeVisual {
		t.Fatalf("own card: %+v", res.Result)
	}
}

func lastAudit(t *testing.T, e *env, a *client.Admin) api.AuditEntry {
	t.Helper()
	entries := must(a.Audit(e.ctx, 0, 1000))
	return entries[len(entries)-1]
}

// A certificate enrolled without its card's face key (a lab card enrolled for PIN mode) cannot
// give visual consent: visual mode cannot prove one card for it. Enrolled with its card's face
// record and certificate, it can, from that card only.
func TestVisualNeedsTheEnrolledCardKey(t *testing.T) {
	e := newEnv(t, func(c *onshi.Config) { c.LabEnrollment = true })
	a, _, s := e.device(doctorID)
	multi := persona(t, "multi")
	lab := labCert(t, 77)
	must(a.Enroll(e.ctx, lab.der, "multi"))
	labCardKey := poolKey(4)
	consent := func(f cardFace, ch *api.Challenge) error {
		_, err := s.RegisterConsent(e.ctx, api.ConsentRequest{ChallengeID: ch.ID, Mode: api.ModeVisual, AuthCertificate: lab.der,
			FaceRecord: f.record, FaceCertificate: f.cert, CardSignature: f.sig, StaffConfirmed: true})
		return err
	}
	ch := must(s.Challenge(e.ctx))
	wantCode(t, consent(genuineCard(t, multi.BirthDate, multi.Sex, labCardKey, ch.Challenge), ch), api.CodeCardKeyNotEnrolled)

	// Enrolling the face: it must verify and describe the record's person.
	ch = must(s.Challenge(e.ctx))
	face := genuineCard(t, multi.BirthDate, multi.Sex, labCardKey, ch.Challenge)
	_, err := a.EnrollCard(e.ctx, api.EnrollRequest{AuthCertificate: lab.der, PersonID: "multi", FaceRecord: face.record})
	wantCode(t, err, api.CodeFaceCertificateUntrusted)
	wrong := genuineCard(t, "19990101", 2, labCardKey, ch.Challenge)
	_, err = a.EnrollCard(e.ctx, api.EnrollRequest{AuthCertificate: lab.der, PersonID: "multi", FaceRecord: wrong.record, FaceCertificate: wrong.cert})
	wantCode(t, err, api.CodeFaceRecordMismatch)
	en := must(a.EnrollCard(e.ctx, api.EnrollRequest{AuthCertificate: lab.der, PersonID: "multi", FaceRecord: face.record, FaceCertificate: face.cert}))
	if en.CardKeySHA256 != mynumber.KeyFingerprint(&labCardKey.PublicKey) {
		t.Fatalf("enrolled card key %q", en.CardKeySHA256)
	}
	if err := consent(face, ch); err != nil {
		t.Fatalf("the lab card itself: %v", err)
	}
	ch = must(s.Challenge(e.ctx))
	wantCode(t, consent(genuineCard(t, multi.BirthDate, multi.Sex, poolKey(5), ch.Challenge), ch), api.CodeCardMismatch)
}

// inputSupport builds 券面事項入力補助AP records in card.md v2 form, signed as the test cards' are:
// EF 0002 (基本4情報), EF 0003 (H1 over EF 0001, H2 over EF 0002, signed by the key EF 0004
// certifies) and EF 0004.
func inputSupport(t testing.TB, name, birth string, sex int, my string) *api.InputSupport {
	k := pki(t).InputIssuerKey
	bf := must((&mynumber.BasicFour{Name: name, Address: "東京都千代田区試験町１丁目２番３号", BirthDate: birth, Sex: sex}).Encode())
	ef1 := must(mynumber.EncodeMyNumberRecord(my))
	g := must(mynumber.NewIntegrity(ef1, bf))
	ef3 := must(g.Encode(mynumber.RSASigner(k)))
	return &api.InputSupport{BasicFour: bf, Integrity: ef3, Certificate: pki(t).InputIssuerCV}
}

// A visual consent may carry the input-support records read with 照合番号B: verified in the
// card's formats (EF 0004 to a trusted CA, DF33, H2) and compared with the insured record,
// whose name the card face only shows as an image.
func TestVisualInputSupport(t *testing.T) {
	e := newEnv(t, nil)
	_, _, s := e.device(doctorID)
	adult := persona(t, "adult")
	send := func(in *api.InputSupport) error {
		_, err := visualConsentWith(e, s, adult, in)
		return err
	}
	// As the virtual card answers them.
	ch := must(s.Challenge(e.ctx))
	f, in := visualCardInput(t, adult, ch.Challenge, true)
	if _, err := s.RegisterConsent(e.ctx, api.ConsentRequest{ChallengeID: ch.ID, Mode: api.ModeVisual, AuthCertificate: adult.AuthCert,
		FaceRecord: f.record, FaceCertificate: f.cert, CardSignature: f.sig, StaffConfirmed: true, InputSupport: in}); err != nil {
		t.Fatalf("the card's own input-support records: %v", err)
	}
	if err := send(inputSupport(t, adult.Name, adult.BirthDate, adult.Sex, adult.MyNumber)); err != nil {
		t.Fatal(err)
	}
	wantCode(t, send(inputSupport(t, "試験　次郎", adult.BirthDate, adult.Sex, adult.MyNumber)), api.CodeInputSupportMismatch)
	swapped := inputSupport(t, adult.Name, adult.BirthDate, adult.Sex, adult.MyNumber)
	swapped.BasicFour = inputSupport(t, "試験　次郎", adult.BirthDate, adult.Sex, adult.MyNumber).BasicFour // not what H2 covers
	wantCode(t, send(swapped), api.CodeInputSupportInvalid)
	forged := inputSupport(t, adult.Name, adult.BirthDate, adult.Sex, adult.MyNumber)
	forged.Integrity[len(forged.Integrity)-1] ^= 1
	wantCode(t, send(forged), api.CodeInputSupportInvalid)
	noCert := inputSupport(t, adult.Name, adult.BirthDate, adult.Sex, adult.MyNumber)
	noCert.Certificate = nil
	wantCode(t, send(noCert), api.CodeInputSupportInvalid)
}

func visualConsentWith(e *env, s *client.Session, p *fixtures.Persona, in *api.InputSupport) (*api.ConsentResponse, error) {
	ch := must(s.Challenge(e.ctx))
	f := visualCard(e.t, p, ch.Challenge)
	return s.RegisterConsent(e.ctx, api.ConsentRequest{ChallengeID: ch.ID, Mode: api.ModeVisual, AuthCertificate: p.AuthCert,
		FaceRecord: f.record, FaceCertificate: f.cert, CardSignature: f.sig, StaffConfirmed: true, InputSupport: in})
}
