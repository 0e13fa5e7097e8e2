package onshi_test

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/conformance/app/client"
	"github.com/mynaconform/mynaconform/emulator/onshi"
	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

func activateErr(e *env, inst, user, pw, code string) error {
	_, _, err := e.activateWith(inst, user, pw, code)
	return err
}

func TestActivationCodeRules(t *testing.T) {
	e := newEnv(t, nil)
	a := e.ready()

	early := must(a.IssueActivationCode(e.ctx, "Aのスマホ1"))
	if early.Code == "" || !early.UsableFrom.Equal(early.IssuedAt.Add(10*time.Minute)) || !early.ExpiresAt.Equal(early.IssuedAt.Add(7*24*time.Hour)) {
		t.Fatalf("issued code: %+v", early)
	}
	err := activateErr(e, instA, doctorID, userPW, early.Code)
	wantCode(t, err, api.CodeActivationCodeNotYetValid)
	if !errors.Is(err, api.ErrActivationNotYetValid) || !api.IsCode(err, api.CodeActivationCodeNotYetValid) {
		t.Fatal("errors.Is / IsCode do not match the sentinel")
	}
	e.clock.Advance(9*time.Minute + 59*time.Second)
	wantCode(t, activateErr(e, instA, doctorID, userPW, early.Code), api.CodeActivationCodeNotYetValid)
	e.clock.Advance(time.Second)
	if err := activateErr(e, instA, doctorID, userPW, early.Code); err != nil {
		t.Fatalf("code refused at exactly 10 minutes: %v", err)
	}
	wantCode(t, activateErr(e, instA, doctorID, userPW, early.Code), api.CodeActivationCodeUsed)

	revoked := must(a.IssueActivationCode(e.ctx, "Bのタブレット"))
	e.clock.Advance(10 * time.Minute)
	if err := a.RevokeActivationCode(e.ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, activateErr(e, instA, doctorID, userPW, revoked.Code), api.CodeActivationCodeRevoked)
	wantCode(t, a.RevokeActivationCode(e.ctx, revoked.ID), api.CodeActivationCodeRevoked)
	wantCode(t, a.RevokeActivationCode(e.ctx, early.ID), api.CodeActivationCodeUsed)
	wantCode(t, a.RevokeActivationCode(e.ctx, "ACNOPE"), api.CodeActivationCodeUnknown)

	expired := must(a.IssueActivationCode(e.ctx, "Aのスマホ2"))
	e.clock.Advance(7 * 24 * time.Hour)
	wantCode(t, activateErr(e, instA, doctorID, userPW, expired.Code), api.CodeActivationCodeExpired)
	wantCode(t, activateErr(e, instA, doctorID, userPW, "ABCD-EFGH-JKMN-PQRS"), api.CodeActivationCodeUnknown)
	_, err = a.ActivationCodes(e.ctx)
	wantCode(t, err, api.CodeSessionExpired) // the admin session idled out during the week
	a = e.admin(instA)

	// A code of institution B presented with institution A's code.
	b := e.admin(instB)
	if err := b.EnableHomeVisit(e.ctx); err != nil {
		t.Fatal(err)
	}
	other := e.code(b, "薬局スマホ")
	wantCode(t, activateErr(e, instA, doctorID, userPW, other), api.CodeActivationCodeWrongInstitution)

	codes := must(a.ActivationCodes(e.ctx))
	states := map[string]string{}
	for _, c := range codes {
		if c.Code != "" {
			t.Fatal("listing shows a code")
		}
		states[c.ID] = c.State
	}
	if states[early.ID] != api.CodeStateUsed || states[revoked.ID] != api.CodeStateRevoked || states[expired.ID] != api.CodeStateExpired {
		t.Fatalf("states: %v", states)
	}
	fresh := must(a.IssueActivationCode(e.ctx, "pending"))
	if got := must(a.ActivationCodes(e.ctx)); got[len(got)-1].ID != fresh.ID || got[len(got)-1].State != api.CodeStatePending {
		t.Fatalf("fresh code: %+v", got[len(got)-1])
	}
	wantCode(t, func() error { _, err := a.IssueActivationCode(e.ctx, ""); return err }(), api.CodeMemoInvalid)
	wantCode(t, activateErr(e, "12345", doctorID, userPW, other), api.CodeInstitutionCodeFormat)
	wantCode(t, activateErr(e, "4010100016", doctorID, userPW, other), api.CodeInstitutionUnknown)
	_, _, err = e.c.Activate(e.ctx, api.ActivateRequest{InstitutionCode: instA, UserID: doctorID, Password: userPW, ActivationCode: fresh.Code, TerminalPublicKey: []byte{1, 2, 3}}, nil)
	wantCode(t, err, api.CodeTerminalKeyInvalid)
}

func TestFeatureSwitch(t *testing.T) {
	e := newEnv(t, nil)
	a := e.admin(instA)
	wantCode(t, func() error {
		_, err := a.UpdateSettings(e.ctx, api.SettingsRequest{HomeVisitEnabled: true})
		return err
	}(), api.CodeTermsNotAccepted)
	e.account(a, instA, doctorID, api.RoleMedical)
	code := must(a.IssueActivationCode(e.ctx, "m"))
	e.clock.Advance(10 * time.Minute)
	wantCode(t, activateErr(e, instA, doctorID, userPW, code.Code), api.CodeFeatureDisabled)

	set := must(a.UpdateSettings(e.ctx, api.SettingsRequest{HomeVisitEnabled: true, AcceptTerms: true}))
	if !set.HomeVisitEnabled || set.TermsAcceptedAt == nil {
		t.Fatalf("settings: %+v", set)
	}
	act, s := e.activate(doctorID, code.Code)
	must(s.Challenge(e.ctx))

	// 利用しない stops the app at once: live sessions and new logins.
	must(a.UpdateSettings(e.ctx, api.SettingsRequest{HomeVisitEnabled: false}))
	_, err := s.Challenge(e.ctx)
	wantCode(t, err, api.CodeFeatureDisabled)
	_, err = e.loginReq(api.LoginRequest{DeviceID: act.DeviceID, DeviceCredential: act.DeviceCredential, UserID: doctorID, Password: userPW})
	wantCode(t, err, api.CodeFeatureDisabled)
	// Terms stay accepted: switching back on needs no new acceptance.
	must(a.UpdateSettings(e.ctx, api.SettingsRequest{HomeVisitEnabled: true}))
	must(s.Challenge(e.ctx))
}

func TestAccountRules(t *testing.T) {
	e := newEnv(t, nil)
	a := e.admin(instA)
	must(a.UpdateSettings(e.ctx, api.SettingsRequest{HomeVisitEnabled: true, AcceptTerms: true}))
	create := func(mod func(*api.CreateAccountRequest)) error {
		r := api.CreateAccountRequest{Role: api.RoleGeneral, UserID: "u1", UserName: "試験", UserNameKana: "シケン",
			StartDate: "2026-04-01", Password: initPW}
		mod(&r)
		_, err := a.CreateAccount(e.ctx, r)
		return err
	}
	for _, id := range []string{"a", "abcdefghi", "ab-c", "ＡＢＣ", "ab c", ""} {
		wantCode(t, create(func(r *api.CreateAccountRequest) { r.UserID = id }), api.CodeUserIDFormat)
	}
	wantCode(t, create(func(r *api.CreateAccountRequest) { r.UserNameKana = "しけん" }), api.CodeUserNameKanaFormat)
	wantCode(t, create(func(r *api.CreateAccountRequest) { r.Role = "admin" }), api.CodeRoleInvalid)
	wantCode(t, create(func(r *api.CreateAccountRequest) { r.StartDate = "2026/04/01" }), api.CodeStartDateInvalid)
	wantCode(t, create(func(r *api.CreateAccountRequest) { r.Password = "short1" }), api.CodePasswordPolicy)
	wantCode(t, create(func(r *api.CreateAccountRequest) { r.UserName = "" }), api.CodeUserNameInvalid)
	for _, id := range []string{"ab", "A1b2C3d4"} {
		if err := create(func(r *api.CreateAccountRequest) { r.UserID = id }); err != nil {
			t.Fatalf("user ID %q refused: %v", id, err)
		}
	}
	wantCode(t, create(func(r *api.CreateAccountRequest) { r.UserID = "ab" }), api.CodeUserIDTaken)
	// Unique per institution, not globally.
	b := e.admin(instB)
	if _, err := b.CreateAccount(e.ctx, api.CreateAccountRequest{Role: api.RoleGeneral, UserID: "ab", UserName: "試験",
		UserNameKana: "シケン", StartDate: "2026-04-01", Password: initPW}); err != nil {
		t.Fatal(err)
	}

	code := e.code(a, "m")
	// Never logged in on the terminal.
	wantCode(t, activateErr(e, instA, "ab", initPW, code), api.CodeTerminalLoginRequired)
	// First terminal login must change the password.
	_, err := e.c.TerminalLogin(e.ctx, api.TerminalLoginRequest{InstitutionCode: instA, UserID: "ab", Password: initPW})
	wantCode(t, err, api.CodePasswordChangeRequired)
	_, err = e.c.TerminalLogin(e.ctx, api.TerminalLoginRequest{InstitutionCode: instA, UserID: "ab", Password: initPW, NewPassword: initPW})
	wantCode(t, err, api.CodePasswordPolicy)
	tl := must(e.c.TerminalLogin(e.ctx, api.TerminalLoginRequest{InstitutionCode: instA, UserID: "ab", Password: initPW, NewPassword: userPW}))
	if !tl.PasswordChanged {
		t.Fatal("password not changed")
	}
	must(e.c.TerminalLogin(e.ctx, api.TerminalLoginRequest{InstitutionCode: instA, UserID: "ab", Password: userPW}))
	wantCode(t, activateErr(e, instA, "ab", initPW, code), api.CodeWrongPassword)
	wantCode(t, activateErr(e, instA, "nobody", userPW, code), api.CodeAccountUnknown)
	wantCode(t, activateErr(e, instA, "a", userPW, code), api.CodeUserIDFormat)

	// Before 利用開始年月日.
	if err := create(func(r *api.CreateAccountRequest) { r.UserID = "later"; r.StartDate = "2026-04-02" }); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.TerminalLogin(e.ctx, api.TerminalLoginRequest{InstitutionCode: instA, UserID: "later", Password: initPW, NewPassword: userPW})
	wantCode(t, err, api.CodeAccountNotYetStarted)
	e.clock.Set(time.Date(2026, 4, 2, 0, 0, 0, 0, start.Location()))
	must(e.c.TerminalLogin(e.ctx, api.TerminalLoginRequest{InstitutionCode: instA, UserID: "later", Password: initPW, NewPassword: userPW}))

	// A correct password does not consume the code when another check fails; now it works.
	if err := activateErr(e, instA, "ab", userPW, code); err != nil {
		t.Fatal(err)
	}

	accts := must(e.admin(instA).Accounts(e.ctx))
	if len(accts) != 3 || accts[0].UserID != "A1b2C3d4" || accts[0].TerminalLoggedIn || !accts[1].TerminalLoggedIn {
		t.Fatalf("accounts: %+v", accts)
	}
}

func TestStartDateGatesTheApp(t *testing.T) {
	e := newEnv(t, nil)
	a := e.ready()
	code := e.code(a, "m")
	// The account logged in on the terminal; the app refuses it before its start date.
	e.clock.Set(start.Add(-24 * time.Hour))
	err := activateErr(e, instA, doctorID, userPW, code)
	wantCode(t, err, api.CodeAccountNotYetStarted)
}

func TestLockout(t *testing.T) {
	e := newEnv(t, nil)
	a, act, _ := e.device(doctorID)
	login := func(pw string) error {
		_, err := e.loginReq(api.LoginRequest{DeviceID: act.DeviceID, DeviceCredential: act.DeviceCredential, UserID: doctorID, Password: pw})
		return err
	}
	for i := 0; i < 4; i++ {
		wantCode(t, login("Wrong0000"), api.CodeWrongPassword)
	}
	if err := login(userPW); err != nil { // a success resets the counter
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		wantCode(t, login("Wrong0000"), api.CodeWrongPassword)
	}
	wantCode(t, login(userPW), api.CodeAccountLocked)
	_, err := e.c.TerminalLogin(e.ctx, api.TerminalLoginRequest{InstitutionCode: instA, UserID: doctorID, Password: userPW})
	wantCode(t, err, api.CodeAccountLocked)
	if accts := must(a.Accounts(e.ctx)); !accts[0].Locked {
		t.Fatalf("not shown locked: %+v", accts[0])
	}
	if err := a.UnlockAccount(e.ctx, doctorID, ""); err != nil {
		t.Fatal(err)
	}
	if err := login(userPW); err != nil {
		t.Fatal(err)
	}
	// Admin lockout too.
	for i := 0; i < 5; i++ {
		_, err := e.c.AdminLogin(e.ctx, instA, "admin", "nope1234")
		wantCode(t, err, api.CodeWrongPassword)
	}
	_, err = e.c.AdminLogin(e.ctx, instA, "admin", adminPW)
	wantCode(t, err, api.CodeAccountLocked)
}

func TestLockoutThresholdConfigurable(t *testing.T) {
	e := newEnv(t, func(c *onshi.Config) { c.LockoutThreshold = 2 })
	e.ready()
	for i := 0; i < 2; i++ {
		_, err := e.c.TerminalLogin(e.ctx, api.TerminalLoginRequest{InstitutionCode: instA, UserID: clerkID, Password: "Wrong0000"})
		wantCode(t, err, api.CodeWrongPassword)
	}
	_, err := e.c.TerminalLogin(e.ctx, api.TerminalLoginRequest{InstitutionCode: instA, UserID: clerkID, Password: userPW})
	wantCode(t, err, api.CodeAccountLocked)
}

func TestSessionsAndDevices(t *testing.T) {
	e := newEnv(t, nil)
	_, act, s := e.device(doctorID)
	e.clock.Advance(29 * time.Minute)
	must(s.Challenge(e.ctx)) // activity refreshes the idle timer
	e.clock.Advance(29 * time.Minute)
	must(s.Challenge(e.ctx))
	e.clock.Advance(30*time.Minute + time.Second)
	_, err := s.Challenge(e.ctx)
	wantCode(t, err, api.CodeSessionExpired)
	_, err = s.Challenge(e.ctx)
	wantCode(t, err, api.CodeUnauthenticated)

	login := api.LoginRequest{DeviceID: act.DeviceID, DeviceCredential: act.DeviceCredential, UserID: doctorID, Password: userPW}
	s2 := must(e.loginReq(login))
	if s2.Role != api.RoleMedical {
		t.Fatalf("role %q", s2.Role)
	}
	bad := login
	bad.DeviceCredential = otherCredential(login.DeviceCredential)
	_, err = e.loginReq(bad)
	wantCode(t, err, api.CodeDeviceCredentialInvalid)
	bad = login
	bad.DeviceID = "DVNOPE"
	_, err = e.loginReq(bad)
	wantCode(t, err, api.CodeDeviceUnknown)
	// Another account of the institution may use the device.
	must(e.loginReq(api.LoginRequest{DeviceID: act.DeviceID, DeviceCredential: act.DeviceCredential, UserID: clerkID, Password: userPW}))

	if err := s2.Logout(e.ctx); err != nil {
		t.Fatal(err)
	}
	_, err = s2.Challenge(e.ctx)
	wantCode(t, err, api.CodeUnauthenticated)

	s3 := must(e.loginReq(login))
	a := e.admin(instA) // the first admin session idled out
	if err := a.RevokeDevice(e.ctx, act.DeviceID); err != nil {
		t.Fatal(err)
	}
	_, err = s3.Challenge(e.ctx)
	wantCode(t, err, api.CodeUnauthenticated)
	_, err = e.loginReq(login)
	wantCode(t, err, api.CodeDeviceRevoked)
	wantCode(t, a.RevokeDevice(e.ctx, act.DeviceID), api.CodeDeviceRevoked)
	// An app token is not an admin token.
	if st, body := rawRequest(t, e, "GET", "/v1/admin/settings", s3.Token(), "", ""); st != 401 || body.Error.Code != api.CodeUnauthenticated {
		t.Fatalf("app token on admin endpoint: %d %+v", st, body.Error)
	}
}

func TestChallengeRules(t *testing.T) {
	e := newEnv(t, nil)
	a, act, s := e.device(doctorID)
	adult := persona(t, "adult")
	consent := func(ch *api.Challenge, sess *client.Session) error {
		_, err := sess.RegisterConsent(e.ctx, api.ConsentRequest{ChallengeID: ch.ID, Mode: api.ModePIN, AuthCertificate: adult.AuthCert,
			Signature: signChallenge(t, adult.AuthKey, ch.Challenge)})
		return err
	}
	ch := must(s.Challenge(e.ctx))
	if len(ch.Challenge) != 32 || !ch.ExpiresAt.Equal(e.clock.Now().Add(5*time.Minute)) {
		t.Fatalf("challenge: %+v", ch)
	}
	if err := consent(ch, s); err != nil {
		t.Fatal(err)
	}
	wantCode(t, consent(ch, s), api.CodeChallengeReplayed)

	stale := must(s.Challenge(e.ctx))
	e.clock.Advance(5*time.Minute + time.Second)
	wantCode(t, consent(stale, s), api.CodeChallengeExpired)
	wantCode(t, consent(stale, s), api.CodeChallengeReplayed)
	wantCode(t, consent(&api.Challenge{ID: "CHNOPE", Challenge: ch.Challenge}, s), api.CodeChallengeUnknown)

	// Bound to the session and device that asked for it.
	other := must(e.loginReq(api.LoginRequest{DeviceID: act.DeviceID, DeviceCredential: act.DeviceCredential, UserID: clerkID, Password: userPW}))
	mine := must(s.Challenge(e.ctx))
	wantCode(t, consent(mine, other), api.CodeChallengeNotBound)
	if err := consent(mine, s); err != nil {
		t.Fatalf("not-bound attempt consumed the challenge: %v", err)
	}
	_, s2 := e.activate(doctorID, e.code(a, "2台目"))
	theirs := must(s2.Challenge(e.ctx))
	wantCode(t, consent(theirs, s), api.CodeChallengeNotBound)
}

func TestCertificateRules(t *testing.T) {
	e := newEnv(t, func(c *onshi.Config) { c.LabEnrollment = true })
	a, act, s := e.device(doctorID)
	p := pki(t)
	login := api.LoginRequest{DeviceID: act.DeviceID, DeviceCredential: act.DeviceCredential, UserID: doctorID, Password: userPW}
	adult := persona(t, "adult")

	_, err := pinConsent(e, s, p.AuthCertUntrusted, p.AuthKeyUntrusted, allItems)
	wantCode(t, err, api.CodeCertUntrusted)
	_, err = pinConsent(e, s, p.AuthCertExpired, p.AuthKeyExpired, allItems)
	wantCode(t, err, api.CodeCertExpired)
	_, err = pinConsent(e, s, adult.AuthCert, persona(t, "family").AuthKey, allItems)
	wantCode(t, err, api.CodeSignatureInvalid)
	_, err = pinConsent(e, s, []byte("not a certificate"), adult.AuthKey, allItems)
	wantCode(t, err, api.CodeCertMalformed)

	// Validity follows the clock, also for a certificate verified (and cached) before.
	must(pinConsent(e, s, adult.AuthCert, adult.AuthKey, allItems))
	e.clock.Set(time.Date(2029, 4, 1, 12, 0, 0, 0, start.Location()))
	s = must(e.loginReq(login))
	_, err = pinConsent(e, s, adult.AuthCert, adult.AuthKey, allItems)
	wantCode(t, err, api.CodeCertExpired)
	e.clock.Set(start)

	// Lab hook: a trusted certificate nobody enrolled, then enrolled to a synthetic record.
	key := adult.CardKey // any RSA key will do for a fresh certificate
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(777), Subject: pkix.Name{CommonName: "LAB TEST CARD"},
		NotBefore: start.Add(-time.Hour), NotAfter: start.AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature}
	der := must(x509.CreateCertificate(rand.Reader, tmpl, p.AuthCA, &key.PublicKey, p.AuthCAKey))
	s = must(e.loginReq(login))
	_, err = pinConsent(e, s, der, key, allItems)
	wantCode(t, err, api.CodePersonNotEnrolled)
	_, err = a.Enroll(e.ctx, der, "nobody")
	wantCode(t, err, api.CodePersonUnknown)
	_, err = a.Enroll(e.ctx, []byte{0x30, 0x00}, "multi")
	wantCode(t, err, api.CodeCertMalformed)
	must(a.Enroll(e.ctx, der, "multi"))
	res := must(pinConsent(e, s, der, key, allItems))
	if res.Result.Validity != 5 {
		t.Fatalf("enrolled certificate: %+v", res.Result)
	}
}

func TestMedicalInformationAccess(t *testing.T) {
	e := newEnv(t, nil)
	a := e.ready()
	code := e.code(a, "m")
	act, doc := e.activate(doctorID, code)
	clerk := must(e.loginReq(api.LoginRequest{DeviceID: act.DeviceID, DeviceCredential: act.DeviceCredential, UserID: clerkID, Password: userPW}))
	adult := persona(t, "adult")
	res := must(pinConsent(e, doc, adult.AuthCert, adult.AuthKey, api.ConsentItems{Medication: true}))
	id := res.Consent.ID

	// 一般 sees the qualification, never medical data.
	if got := must(clerk.Search(e.ctx, api.SearchRequest{ConsentID: id})); len(got) != 1 || got[0].Qualifications[0].InsurerNumber == "" {
		t.Fatalf("general account search: %+v", got)
	}
	_, err := clerk.Medication(e.ctx, id)
	wantCode(t, err, api.CodeMedicalInfoNotPermitted)
	if !errors.Is(err, api.ErrMedicalInfoNotPermitted) {
		t.Fatal("sentinel mismatch")
	}
	_, err = clerk.Clinical(e.ctx, id)
	wantCode(t, err, api.CodeMedicalInfoNotPermitted)

	must(doc.Medication(e.ctx, id))
	_, err = doc.Clinical(e.ctx, id)
	wantCode(t, err, api.CodeConsentItemNotGranted)
	_, err = doc.Checkups(e.ctx, id)
	wantCode(t, err, api.CodeConsentItemNotGranted)
	_, err = doc.Medication(e.ctx, "CNNOPE")
	wantCode(t, err, api.CodeConsentUnknown)

	// Another institution cannot see it.
	b := e.admin(instB)
	must(b.UpdateSettings(e.ctx, api.SettingsRequest{HomeVisitEnabled: true, AcceptTerms: true}))
	e.account(b, instB, doctorID, api.RoleMedical)
	_, bs, err := e.activateWith(instB, doctorID, userPW, e.code(b, "b"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = bs.Medication(e.ctx, id)
	wantCode(t, err, api.CodeConsentUnknown)
	_, err = bs.Search(e.ctx, api.SearchRequest{ConsentID: id})
	wantCode(t, err, api.CodeConsentUnknown)

	if err := doc.RevokeConsent(e.ctx, id); err != nil {
		t.Fatal(err)
	}
	_, err = doc.Medication(e.ctx, id)
	wantCode(t, err, api.CodeConsentRevoked)
	_, err = doc.Search(e.ctx, api.SearchRequest{ConsentID: id})
	wantCode(t, err, api.CodeConsentRevoked)
	wantCode(t, doc.RevokeConsent(e.ctx, id), api.CodeConsentRevoked)

	// An end date: in force through that day, expired after.
	ch := must(doc.Challenge(e.ctx))
	_, err = doc.RegisterConsent(e.ctx, api.ConsentRequest{ChallengeID: ch.ID, Mode: api.ModePIN, AuthCertificate: adult.AuthCert,
		Signature: signChallenge(t, adult.AuthKey, ch.Challenge), ValidUntil: "2026-04-01"})
	wantCode(t, err, api.CodeValidUntilInvalid)
	ch = must(doc.Challenge(e.ctx))
	res = must(doc.RegisterConsent(e.ctx, api.ConsentRequest{ChallengeID: ch.ID, Mode: api.ModePIN, AuthCertificate: adult.AuthCert,
		Signature: signChallenge(t, adult.AuthKey, ch.Challenge), ValidUntil: "2026-04-02", Items: allItems}))
	if res.Result.Consent.Checkup.ValidUntil != "2026-04-02" {
		t.Fatalf("item validity: %+v", res.Result.Consent)
	}
	e.clock.Set(time.Date(2026, 4, 2, 23, 0, 0, 0, start.Location()))
	doc = must(e.loginReq(api.LoginRequest{DeviceID: act.DeviceID, DeviceCredential: act.DeviceCredential, UserID: doctorID, Password: userPW}))
	must(doc.Checkups(e.ctx, res.Consent.ID))
	e.clock.Set(time.Date(2026, 4, 3, 0, 0, 1, 0, start.Location()))
	doc = must(e.loginReq(api.LoginRequest{DeviceID: act.DeviceID, DeviceCredential: act.DeviceCredential, UserID: doctorID, Password: userPW}))
	_, err = doc.Checkups(e.ctx, res.Consent.ID)
	wantCode(t, err, api.CodeConsentExpired)
}

func TestConsentValidityConfigurable(t *testing.T) {
	e := newEnv(t, func(c *onshi.Config) { c.ConsentValidity = 24 * time.Hour })
	_, _, s := e.device(doctorID)
	adult := persona(t, "adult")
	res := must(pinConsent(e, s, adult.AuthCert, adult.AuthKey, allItems))
	if res.Consent.ValidUntil != "2026-04-02" {
		t.Fatalf("valid until %q", res.Consent.ValidUntil)
	}
}
