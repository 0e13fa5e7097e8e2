package onshi_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/conformance/app/client"
	"github.com/mynaconform/mynaconform/emulator/onshi"
	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

// snapshot is everything an institution's admin can see.
func snapshot(t *testing.T, e *env, a *client.Admin) string {
	t.Helper()
	set := must(a.Settings(e.ctx))
	codes := must(a.ActivationCodes(e.ctx))
	accts := must(a.Accounts(e.ctx))
	devs := must(a.Devices(e.ctx))
	return string(must(json.Marshal([]any{set, codes, accts, devs})))
}

// The two-institution matrix: institution B's administrator aims every admin endpoint at
// institution A's objects (its activation code, account, device, settings, password). Each is
// refused as unknown or acts on B only; A's state, sessions and audit trail are unchanged; B's
// audit shows each attempt.
func TestAdminEndpointsAreIsolated(t *testing.T) {
	e := newEnv(t, func(c *onshi.Config) { c.LabEnrollment = true })
	a, act, s := e.device(doctorID)
	pending := must(a.IssueActivationCode(e.ctx, "未使用"))
	b := e.admin(instB)
	must(b.UpdateSettings(e.ctx, api.SettingsRequest{HomeVisitEnabled: false, AcceptTerms: true}))
	before := snapshot(t, e, a)
	auditA := len(must(a.Audit(e.ctx, 0, 1000)))

	acct := "/v1/admin/accounts/" + doctorID
	for _, tc := range []struct {
		method, path, body string
		want               api.Code // "" = accepted, acting on B only
	}{
		{"POST", "/v1/admin/activation-codes/" + pending.ID + "/revoke", "", api.CodeActivationCodeUnknown},
		{"PUT", acct, `{"role":"general","user_name":"乗っ取り","user_name_kana":"ノットリ","start_date":"2026-04-01"}`, api.CodeAccountUnknown},
		{"DELETE", acct, "", api.CodeAccountUnknown},
		{"POST", acct + "/unlock", `{"new_password":"Hijack-2026x"}`, api.CodeAccountUnknown},
		{"POST", acct + "/suspend", "", api.CodeAccountUnknown},
		{"POST", acct + "/resume", "", api.CodeAccountUnknown},
		{"POST", "/v1/admin/devices/" + act.DeviceID + "/revoke", "", api.CodeDeviceUnknown},
		{"PUT", "/v1/admin/settings", `{"home_visit_enabled":false}`, ""},
		{"GET", "/v1/admin/settings", "", ""},
		{"GET", "/v1/admin/activation-codes", "", ""},
		{"POST", "/v1/admin/activation-codes", `{"memo":"B"}`, ""},
		{"GET", "/v1/admin/accounts", "", ""},
		{"POST", "/v1/admin/accounts", `{"role":"medical","user_id":"doc01","user_name":"B","user_name_kana":"ビー","start_date":"2026-04-01","password":"Bpass-2026x"}`, ""},
		{"GET", "/v1/admin/devices", "", ""},
		{"GET", "/v1/admin/audit", "", ""},
		{"POST", "/v1/admin/password", `{"password":"` + adminPW + `","new_password":"Other-2026-pw"}`, ""},
		{"GET", "/v1/admin/crl", "", ""},
	} {
		st, eb := rawRequest(t, e, tc.method, tc.path, b.Token(), "application/json", tc.body)
		if tc.want != "" {
			if eb.Error == nil || eb.Error.Code != tc.want {
				t.Errorf("%s %s by B: status %d %+v, want %s", tc.method, tc.path, st, eb.Error, tc.want)
			}
		} else if st >= 300 {
			t.Errorf("%s %s by B: status %d %+v", tc.method, tc.path, st, eb.Error)
		}
	}
	if after := snapshot(t, e, a); after != before {
		t.Errorf("A's state changed:\nbefore %s\nafter  %s", before, after)
	}
	if _, err := s.Challenge(e.ctx); err != nil {
		t.Errorf("A's app session after B's attempts: %v", err)
	}
	if _, err := e.c.AdminLogin(e.ctx, instA, "admin", adminPW); err != nil {
		t.Errorf("A's admin password changed by B: %v", err)
	}
	writes := map[string]bool{"activation_code.revoke": true, "account.update": true, "account.delete": true, "account.unlock": true,
		"account.suspend": true, "account.resume": true, "device.revoke": true, "settings.update": true, "activation_code.issue": true,
		"account.create": true, "admin.password": true}
	for _, en := range must(a.Audit(e.ctx, 0, 1000))[auditA:] {
		if en.Outcome == "refused" || writes[en.Action] {
			t.Errorf("A's audit shows B's attempt: %+v", en)
		}
	}
	var refusedB int
	for _, en := range must(b.Audit(e.ctx, 0, 1000)) {
		if en.Outcome == "refused" && en.Actor == "admin:admin" {
			refusedB++
		}
	}
	if refusedB < 7 {
		t.Errorf("B's audit shows %d refused attempts, want the 7 aimed at A", refusedB)
	}

	// The app side: B's session cannot read, search or revoke A's consent.
	adult := persona(t, "adult")
	res := must(pinConsent(e, s, adult.AuthCert, adult.AuthKey, allItems))
	bAdmin := b // its password is now Other-2026-pw
	must(bAdmin.UpdateSettings(e.ctx, api.SettingsRequest{HomeVisitEnabled: true}))
	e.account(bAdmin, instB, "doc02", api.RoleMedical)
	_, bs, err := e.activateWith(instB, "doc02", userPW, e.code(bAdmin, "B端末"))
	if err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"search":     func() error { _, err := bs.Search(e.ctx, api.SearchRequest{ConsentID: res.Consent.ID}); return err }(),
		"medication": func() error { _, err := bs.Medication(e.ctx, res.Consent.ID); return err }(),
		"revoke":     bs.RevokeConsent(e.ctx, res.Consent.ID),
	} {
		if !api.IsCode(err, api.CodeConsentUnknown) {
			t.Errorf("B's %s of A's consent: %v", name, err)
		}
	}
	if got := must(bs.Search(e.ctx, api.SearchRequest{From: "2026-04-01", To: "2026-04-01"})); len(got) != 0 {
		t.Errorf("B's date-range search finds A's consents: %d", len(got))
	}
}

// The enrollment hook is off unless the service runs with --lab-enrollment.
func TestLabEnrollmentOffByDefault(t *testing.T) {
	e := newEnv(t, nil)
	a := e.admin(instA)
	_, err := a.Enroll(e.ctx, persona(t, "adult").AuthCert, "multi")
	wantCode(t, err, api.CodeLabEnrollmentDisabled)
	entries := must(a.Audit(e.ctx, 0, 100))
	last := entries[len(entries)-1]
	if last.Action != "enrollment.create" || last.Outcome != "refused" || last.Code != api.CodeLabEnrollmentDisabled {
		t.Fatalf("refusal not audited: %+v", last)
	}
}

// The attack of the issue: institution A's admin remaps a certificate so that institution B's
// next PIN consent shows the wrong person. With the hook on, a certificate that identifies
// someone cannot be remapped, and a lab card's enrollment applies to its institution only,
// also after a restart; every attempt is in the enrolling institution's audit.
func TestLabEnrollmentIsScopedAndAudited(t *testing.T) {
	e := newEnv(t, func(c *onshi.Config) { c.LabEnrollment = true })
	a, _, sa := e.device(doctorID)
	adult := persona(t, "adult")

	_, err := a.Enroll(e.ctx, adult.AuthCert, "multi")
	wantCode(t, err, api.CodeEnrollmentConflict)
	// Asking for the mapping it already has changes nothing and is no conflict (make hil's
	// lab rehearsal plays a lab card with the fixture adult's card).
	if same := must(a.Enroll(e.ctx, adult.AuthCert, "adult")); same.PersonID != "adult" || same.Institution != instA {
		t.Fatalf("re-enrolling adult as adult: %+v", same)
	}

	lab := labCert(t, 901)
	en := must(a.Enroll(e.ctx, lab.der, "multi"))
	if en.Institution != instA || en.PersonID != "multi" {
		t.Fatalf("enrollment: %+v", en)
	}
	if r := must(pinConsent(e, sa, lab.der, lab.key, allItems)); r.Result.Name != persona(t, "multi").Name {
		t.Fatalf("A's consent with the lab card: %+v", r.Result)
	}

	b := e.admin(instB)
	must(b.UpdateSettings(e.ctx, api.SettingsRequest{HomeVisitEnabled: true, AcceptTerms: true}))
	e.account(b, instB, "doc02", api.RoleMedical)
	_, sb, err := e.activateWith(instB, "doc02", userPW, e.code(b, "B端末"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = pinConsent(e, sb, lab.der, lab.key, allItems)
	wantCode(t, err, api.CodePersonNotEnrolled)
	if r := must(pinConsent(e, sb, adult.AuthCert, adult.AuthKey, allItems)); r.Result.Name != adult.Name {
		t.Fatalf("B's consent for adult shows %q", r.Result.Name)
	}

	var audited []string
	for _, en := range must(a.Audit(e.ctx, 0, 1000)) {
		if en.Action == "enrollment.create" {
			audited = append(audited, en.Outcome+":"+string(en.Code))
		}
	}
	if len(audited) != 3 || audited[0] != "refused:"+string(api.CodeEnrollmentConflict) || audited[1] != "ok:" || audited[2] != "ok:" {
		t.Fatalf("A's audit of enrollments: %v", audited)
	}
	for _, en := range must(b.Audit(e.ctx, 0, 1000)) {
		if en.Action == "enrollment.create" {
			t.Fatalf("B's audit shows A's enrollment: %+v", en)
		}
	}

	// Durable, and still scoped, after a restart.
	e.hs.Close()
	e.srv.Close()
	e2 := reopen(t, e, func(c *onshi.Config) { c.LabEnrollment = true })
	sa2 := must(e2.login(e.firstDevice(), doctorID))
	if r := must(pinConsent(e2, sa2, lab.der, lab.key, allItems)); r.Result.Name != persona(t, "multi").Name {
		t.Fatalf("after restart: %+v", r.Result)
	}
	e2.clock.Advance(time.Minute)
}
