package onshi_test

import (
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

// The whole path of onshi.md over HTTP: set-up, activation, PIN consent, lookup, medical data.
func TestPathPINModeAndLookup(t *testing.T) {
	e := newEnv(t, nil)
	a, act, s := e.device(doctorID)

	// The terminal certificate is what the app sends with 80 A2: a card.md v2 CV certificate by
	// the terminal CA for the device's key, naming the device's terminal ID, valid from today.
	cv := must(mynumber.ParseCV(act.TerminalCertificate))
	v := must(mynumber.ParseTerminalValidity(cv.Extra))
	if err := cv.Verify(&pki(t).TerminalCAKey.PublicKey); err != nil || cv.SubjectID.String() != act.TerminalID ||
		cv.IssuerID.String() != "6000016/001" || !mynumber.SameKey(cv.PublicKey, &e.devKey(act.DeviceID).PublicKey) ||
		!v.ValidAt(e.clock.Now()) || v.ValidAt(e.clock.Now().AddDate(1, 0, 0)) || v.Role != mynumber.RoleVisual || len(cv.Body) != 307 {
		t.Fatalf("terminal certificate: %v, subject %s (device %s), issuer %s, validity %+v", err, cv.SubjectID, act.TerminalID, cv.IssuerID, v)
	}
	if act.Role != api.RoleMedical || s.Role != api.RoleMedical {
		t.Fatalf("role %q / %q", act.Role, s.Role)
	}
	devs := must(a.Devices(e.ctx))
	if len(devs) != 1 || devs[0].ID != act.DeviceID || devs[0].Memo != "Aのスマホ1" || devs[0].TerminalID != act.TerminalID {
		t.Fatalf("devices: %+v", devs)
	}

	adult := persona(t, "adult")
	res := must(pinConsent(e, s, adult.AuthCert, adult.AuthKey, allItems))
	r := res.Result
	if r.Validity != 1 || r.ValidityLabel != "有効" || r.Name != adult.Name || r.NameKana != adult.Kana || r.Sex != 1 ||
		r.BirthDate != "1980-02-17" || r.Address != adult.Address || r.IdentifiedBy != api.ModePIN {
		t.Fatalf("result: %+v", r)
	}
	q := r.Qualifications[0]
	if q.InsurerNumber != "06139901" || q.InsurerName == "" || q.Symbol == "" || q.Number != "1001" || q.Branch != "00" ||
		q.Relationship != "本人" || q.ContributionRatio != "030" || q.QualificationDate == "" || q.CardValidFrom == "" ||
		q.CardClass.Code != "01" || q.CardClass.Label != "被保険者証（一般）" || r.PostalCode != "100-0001" {
		t.Fatalf("qualification: %+v", q)
	}
	if !r.Consent.Medication.Consented || !r.Consent.Clinical.Consented || !r.Consent.Checkup.Consented ||
		r.Consent.Medication.ValidUntil != "" || res.Consent.ValidUntil != "" {
		t.Fatalf("consent flags (居宅同意取得型: until revoked): %+v", r.Consent)
	}

	id := res.Consent.ID
	byID := must(s.Search(e.ctx, api.SearchRequest{ConsentID: id}))
	day := start.Format(time.DateOnly)
	byRange := must(s.Search(e.ctx, api.SearchRequest{From: day, To: day}))
	byKana := must(s.Search(e.ctx, api.SearchRequest{NameKana: "シケンタロ"}))
	for name, got := range map[string][]api.QualificationResult{"id": byID, "range": byRange, "kana": byKana} {
		if len(got) != 1 || got[0].ConsentID != id {
			t.Errorf("search by %s: %+v", name, got)
		}
	}
	if got := must(s.Search(e.ctx, api.SearchRequest{From: "2026-03-01", To: "2026-03-31"})); len(got) != 0 {
		t.Errorf("range before the consent found %d", len(got))
	}
	if got := must(s.Search(e.ctx, api.SearchRequest{NameKana: "シケンハナコ"})); len(got) != 0 {
		t.Errorf("kana of someone without consent found %d", len(got))
	}
	wantCode(t, func() error { _, err := s.Search(e.ctx, api.SearchRequest{}); return err }(), api.CodeSearchCriteria)
	wantCode(t, func() error {
		_, err := s.Search(e.ctx, api.SearchRequest{ConsentID: id, NameKana: "シケン"})
		return err
	}(), api.CodeSearchCriteria)

	med := must(s.Medication(e.ctx, id))
	cli := must(s.Clinical(e.ctx, id))
	chk := must(s.Checkups(e.ctx, id))
	if len(med.Entries) != 3 || len(cli.Entries) != 2 || len(chk.Entries) != 3 {
		t.Fatalf("medical data: %d medication, %d clinical, %d check-up", len(med.Entries), len(cli.Entries), len(chk.Entries))
	}
	var surgery bool
	for _, c := range cli.Entries {
		surgery = surgery || c.Kind == "手術"
	}
	if !surgery {
		t.Error("診療情報 lacks 手術情報")
	}
}

func TestVisualMode(t *testing.T) {
	e := newEnv(t, nil)
	_, _, s := e.device(doctorID)
	fa := persona(t, "face-auth")

	// The virtual card's own EF 0004: the face CA's certificate of the records' signer.
	ch0 := must(s.Challenge(e.ctx))
	own := visualCard(t, fa, ch0.Challenge)
	if cv, err := mynumber.ParseCV(own.cert); err != nil || cv.Verify(&pki(t).FaceCAKey.PublicKey) != nil || cv.IssuerID != fixtures.FaceCAID {
		t.Fatalf("the card's EF 0004 is not the fixtures' certificate: %v", err)
	}
	res, err := visualConsent(e, s, fa, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Result.Validity != 1 || res.Result.IdentifiedBy != api.ModeVisual || res.Consent.Mode != api.ModeVisual ||
		!res.Result.Consent.Medication.Consented || res.Result.Consent.Clinical.Consented {
		t.Fatalf("visual consent: %+v", res)
	}

	_, err = visualConsent(e, s, fa, nil, false)
	wantCode(t, err, api.CodeStaffNotConfirmed)

	// A byte of the photo (DF27, covered by the issuer signature) changed.
	_, err = visualConsent(e, s, fa, func(f *cardFace) {
		r := must(mynumber.ParseFaceRecord(f.record))
		f.record[r.Offsets[5]+20] ^= 0x01
	}, true)
	wantCode(t, err, api.CodeFaceRecordTampered)

	_, err = visualConsent(e, s, fa, func(f *cardFace) { f.sig[7] ^= 0x80 }, true)
	wantCode(t, err, api.CodeCardSignatureInvalid)

	_, err = visualConsent(e, s, fa, func(f *cardFace) {
		for i := range f.record {
			f.record[i] = 0xFF
		}
	}, true)
	wantCode(t, err, api.CodeFaceRecordMalformed)

	// EF 0004 missing, or by a CA nobody trusts.
	_, err = visualConsent(e, s, fa, func(f *cardFace) { f.cert = nil }, true)
	wantCode(t, err, api.CodeFaceCertificateUntrusted)
	_, err = visualConsent(e, s, fa, func(f *cardFace) {
		rogue := pki(t).RogueCAKey
		f.cert = must(mynumber.IssueCV(mynumber.RSASigner(rogue), &mynumber.CVCertificate{IssuerID: mynumber.MustKeyID("6000023/001"),
			SubjectID: mynumber.MustKeyID("6000021/000"), PublicKey: &pki(t).FaceIssuerKey.PublicKey}))
	}, true)
	wantCode(t, err, api.CodeFaceCertificateUntrusted)
}

func TestValidityCodesAndInsuredData(t *testing.T) {
	e := newEnv(t, nil)
	_, _, s := e.device(clerkID)
	for id, want := range map[string]int{"adult": 1, "family": 1, "child": 1, "blocked": 1, "elderly": 1,
		"lapsed": 2, "moved": 3, "uninsured": 4, "multi": 5} {
		p := persona(t, id)
		res, err := pinConsent(e, s, p.AuthCert, p.AuthKey, api.ConsentItems{})
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		r := res.Result
		if r.Validity != want || r.ValidityLabel != api.ValidityLabel(want) {
			t.Errorf("%s: validity %d %s, want %d", id, r.Validity, r.ValidityLabel, want)
		}
		switch id {
		case "family":
			if r.Qualifications[0].Relationship != "家族" {
				t.Errorf("family: %+v", r.Qualifications)
			}
		case "elderly":
			if er := r.Qualifications[0].ElderlyRecipient; er == nil || er.ContributionRatio != "020" {
				t.Errorf("elderly: %+v", r.Qualifications)
			}
		case "uninsured":
			if len(r.Qualifications) != 0 {
				t.Errorf("uninsured: %+v", r.Qualifications)
			}
		case "multi", "moved":
			if len(r.Qualifications) != 2 {
				t.Errorf("%s: %+v", id, r.Qualifications)
			}
		}
	}
}
