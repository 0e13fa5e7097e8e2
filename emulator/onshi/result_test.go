package onshi_test

import (
	"testing"

	"github.com/mynaconform/mynaconform/emulator/onshi"
	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

// The real result's fields (API.md, Qualification result: each with its public source): the
// clinic sees 被保険者証区分, 郵便番号, 被保険者氏名 of a dependant, 未就学, 公費, 資格喪失事由; 限度額適用
// and 特定疾病 only when the patient consented to those items; the 処方箋 issue method recorded
// with the consent; 薬剤情報 by 診療年月.
func TestRealResultFields(t *testing.T) {
	e := newEnv(t, nil)
	_, _, s := e.device(doctorID)
	consent := func(id string, items api.ConsentItems, prescription string) (*api.ConsentResponse, error) {
		p := persona(t, id)
		ch := must(s.Challenge(e.ctx))
		return s.RegisterConsent(e.ctx, api.ConsentRequest{ChallengeID: ch.ID, Mode: api.ModePIN, AuthCertificate: p.AuthCert,
			Signature: signChallenge(t, p.AuthKey, ch.Challenge), Items: items, PrescriptionIssue: prescription})
	}

	// 限度額適用: its own consent item.
	plain := must(consent("adult", api.ConsentItems{Medication: true}, ""))
	if q := plain.Result.Qualifications[0]; q.LimitCertificate != nil || plain.Result.Consent.LimitCertificate.Consented || plain.Result.PrescriptionIssue != nil {
		t.Fatalf("限度額 shown without its consent: %+v", plain.Result)
	}
	with := must(consent("adult", api.ConsentItems{LimitCertificate: true}, api.PrescriptionElectronic))
	l := with.Result.Qualifications[0].LimitCertificate
	if l == nil || l.Classification.Code != "01" || l.Category.Code != "A03" || l.Category.Label != "ウ" || l.ValidUntil != "2027-07-31" ||
		!with.Result.Consent.LimitCertificate.Consented || with.Consent.PrescriptionIssue != api.PrescriptionElectronic ||
		with.Result.PrescriptionIssue == nil || with.Result.PrescriptionIssue.Code != "1" || with.Result.PrescriptionIssue.Label != "電子処方箋" {
		t.Fatalf("限度額 with its consent: %+v %+v", l, with.Result)
	}
	// Recorded: the lookup shows the same.
	got := must(s.Search(e.ctx, api.SearchRequest{ConsentID: with.Consent.ID}))[0]
	if got.PrescriptionIssue == nil || got.PrescriptionIssue.Code != "1" || got.Qualifications[0].LimitCertificate == nil {
		t.Fatalf("lookup: %+v", got)
	}
	_, err := consent("adult", allItems, "fax")
	wantCode(t, err, api.CodePrescriptionIssueInvalid)

	// 特定疾病: its own consent item (blocked has 人工透析).
	d := must(consent("blocked", api.ConsentItems{SpecificDisease: true}, api.PrescriptionPaper)).Result
	if sd := d.Qualifications[0].SpecificDiseases; len(sd) != 1 || sd[0].Category.Code != "1" || sd[0].SelfPay != 10000 ||
		d.PrescriptionIssue.Label != "紙の処方箋" || d.PostalCode != "060-0001" {
		t.Fatalf("特定疾病: %+v", d)
	}
	if nd := must(consent("blocked", allItems, "")).Result; len(nd.Qualifications[0].SpecificDiseases) != 0 {
		t.Fatalf("特定疾病 shown without its consent: %+v", nd)
	}

	// A dependant, preschool, with a 公費.
	c := must(consent("child", allItems, "")).Result
	if q := c.Qualifications[0]; q.InsuredName != "試験　太郎" || !q.Preschool || len(c.PublicExpenses) != 1 ||
		c.PublicExpenses[0].PayerNumber != "88131019" || c.PublicExpenses[0].RecipientNumber != "1234566" {
		t.Fatalf("child: %+v", c)
	}
	// 資格喪失事由.
	m := must(consent("moved", allItems, "")).Result
	if lr := m.Qualifications[0].LossReason; lr == nil || lr.Code != "03" || lr.Label != "医療保険等の資格取得" {
		t.Fatalf("moved: %+v", m.Qualifications[0])
	}

	// 薬剤情報 by 診療年月 (adult: 2026-03-02 twice, 2026-03-30).
	for _, tc := range []struct {
		from, to string
		n        int
	}{{"", "", 3}, {"2026-03", "2026-03", 3}, {"2026-02", "2026-02", 0}, {"2025-01", "2026-12", 3}} {
		q := ""
		if tc.from != "" {
			q = "?from=" + tc.from + "&to=" + tc.to
		}
		var out api.MedicationResponse
		st, _, eb := sendGet(t, e, "/v1/app/consents/"+plain.Consent.ID+"/medication"+q, s.Token(), &out)
		if st != 200 || len(out.Entries) != tc.n {
			t.Errorf("%s..%s: %d, %d entries, %+v", tc.from, tc.to, st, len(out.Entries), eb)
		}
	}
	for _, q := range []string{"?from=2026-03", "?from=2026-04&to=2026-03", "?from=2020-01&to=2026-03", "?from=2026-3&to=2026-04"} {
		st, _, eb := sendGet(t, e, "/v1/app/consents/"+plain.Consent.ID+"/medication"+q, s.Token(), nil)
		if st != 400 || eb.Code != api.CodeMonthRangeInvalid {
			t.Errorf("%s: %d %+v", q, st, eb)
		}
	}
}

// Check digits (検証番号): a 医療機関コード or 保険者番号 with a wrong one is refused, as a request
// field and in the configuration.
func TestCheckDigits(t *testing.T) {
	for code, ok := range map[string]bool{"1310123458": true, "2710500014": true, "0110113719": true, "1310123459": false,
		"4810123451": false, "131012345": false, "13101234589": false, "13101a3458": false} {
		if onshi.ValidInstitutionCode(code) != ok {
			t.Errorf("医療機関コード %s: valid %t", code, !ok)
		}
	}
	for n, ok := range map[string]bool{"06139901": true, "33120015": true, "138057": true, "01269901": true, "06139902": false,
		"3312001": false, "138058": false, "0613990a": false} {
		if onshi.ValidInsurerNumber(n) != ok {
			t.Errorf("保険者番号 %s: valid %t", n, !ok)
		}
	}
	e := newEnv(t, nil)
	_, err := e.c.AdminLogin(e.ctx, "1310123459", "admin", adminPW)
	wantCode(t, err, api.CodeInstitutionCodeFormat)
	cfg := baseConfig(t, onshi.NewFakeClock(start))
	cfg.Institutions[0].Code = "1310123459"
	if _, err := onshi.Open(t.TempDir(), cfg); err == nil {
		t.Fatal("an institution code with a wrong check digit configured")
	}
	cfg = baseConfig(t, onshi.NewFakeClock(start))
	cfg.People[0].Qualifications[0].InsurerNumber = "06139902"
	if _, err := onshi.Open(t.TempDir(), cfg); err == nil {
		t.Fatal("an insurer number with a wrong check digit configured")
	}
}
