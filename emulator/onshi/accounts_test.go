package onshi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/emulator/onshi"
	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

func createErr(e *env, user, kana, pw string) error {
	e.mu.Lock()
	if e.adminA == nil {
		e.adminA = must(e.c.AdminLogin(e.ctx, instA, "admin", adminPW))
	}
	a := e.adminA
	e.mu.Unlock()
	_, err := a.CreateAccount(e.ctx, api.CreateAccountRequest{Role: api.RoleGeneral, UserID: user, UserName: "試験",
		UserNameKana: kana, StartDate: "2026-04-01", Password: pw})
	return err
}

// ユーザ名(カナ) is full-width katakana: half-width kana and ・ alone are refused; the search by
// kana matches regardless of width.
func TestKanaIsFullWidthKatakana(t *testing.T) {
	e := newEnv(t, nil)
	for _, bad := range []string{"ｼｹﾝ", "・・", "ー", "シケン　", "　シケン", "シケン　　タロウ", "しけん", "シケンA", "シケン\u3099"} {
		wantCode(t, createErr(e, "k1", bad, initPW), api.CodeUserNameKanaFormat)
	}
	for i, good := range []string{"シケン", "シケン　タロウ", "ヴァン・デル", "シケン ヂロー"} {
		if err := createErr(e, "ok"+string(rune('a'+i)), good, initPW); err != nil {
			t.Errorf("%q refused: %v", good, err)
		}
	}
	_, _, s := e.device(doctorID)
	adult := persona(t, "adult")
	must(pinConsent(e, s, adult.AuthCert, adult.AuthKey, allItems))
	for _, q := range []string{"シケンタロウ", "ｼｹﾝ ﾀﾛｳ", "ｼｹﾝﾀﾛ", "タロウ"} {
		if got := must(s.Search(e.ctx, api.SearchRequest{NameKana: q})); len(got) != 1 {
			t.Errorf("kana search %q: %d results", q, len(got))
		}
	}
}

// doc01 and DOC01 cannot coexist; the account is found whatever the case typed, and recorded
// under its registered ID.
func TestUserIDsUniqueRegardlessOfCase(t *testing.T) {
	e := newEnv(t, nil)
	a, act, _ := e.device(doctorID)
	wantCode(t, createErr(e, "DOC01", "シケン", initPW), api.CodeUserIDTaken)
	s := must(e.login(act, "DoC01"))
	must(s.Challenge(e.ctx))
	entries := must(a.Audit(e.ctx, 0, 1000))
	last := entries[len(entries)-1]
	if last.Action != "challenge.issue" || last.Actor != "user:"+doctorID {
		t.Fatalf("audit: %+v", last)
	}
	// A deleted account's ID is not given again.
	if err := a.DeleteAccount(e.ctx, "GEN01"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, createErr(e, clerkID, "シケン", initPW), api.CodeUserIDTaken)
}

// The password policy (length, classes, not the user ID, not a common password, half-width only)
// applies to every account, the administrator's too.
func TestPasswordPolicy(t *testing.T) {
	e := newEnv(t, nil)
	for _, pw := range []string{"password1", "Password1", "P@ssw0rd2026", "Welcome2026!", "Qwerty123", "short1A",
		"alllowercase1", "ALLUPPER123", "Passwörd123", "Ｐａｓｓ１２３ｘ", "Pass word123", "pp01pp01", "Pp01!!!!", "PP01pp01", strings.Repeat("Aa1", 22)} {
		err := createErr(e, "pp01", "シケン", pw)
		if !api.IsCode(err, api.CodePasswordPolicy) {
			t.Errorf("%q: %v", pw, err)
		}
	}
	if err := createErr(e, "pp01", "シケン", "Kango-2026-x"); err != nil {
		t.Fatal(err)
	}
	// Admin: at start, and when changing it.
	bad := baseConfig(t, onshi.NewFakeClock(start))
	bad.Institutions[0].AdminPassword = "Admin2026!"
	if _, err := onshi.Open(t.TempDir(), bad); err == nil || !strings.Contains(err.Error(), "policy") {
		t.Fatalf("admin password equal to the user ID accepted at start: %v", err)
	}
	a := e.admin(instA)
	wantCode(t, a.ChangePassword(e.ctx, adminPW, "password123"), api.CodePasswordPolicy)
	wantCode(t, a.ChangePassword(e.ctx, adminPW, adminPW), api.CodePasswordPolicy)
	wantCode(t, a.ChangePassword(e.ctx, "Wrong-pass-9", "Kanri-2026-y"), api.CodeWrongPassword)
	other := e.admin(instA)
	if err := a.ChangePassword(e.ctx, adminPW, "Kanri-2026-y"); err != nil {
		t.Fatal(err)
	}
	_, err := other.Settings(e.ctx)
	wantCode(t, err, api.CodeUnauthenticated) // the admin's other sessions ended
	must(a.Settings(e.ctx))
	must(e.c.AdminLogin(e.ctx, instA, "admin", "Kanri-2026-y"))
}

// Locking an account ends its open sessions at once, app and admin alike.
func TestLockingEndsSessions(t *testing.T) {
	e := newEnv(t, nil)
	_, act, s := e.device(doctorID)
	for range 5 {
		_, err := e.c.TerminalLogin(e.ctx, api.TerminalLoginRequest{InstitutionCode: instA, UserID: doctorID, Password: "Wrong-pw-01"})
		wantCode(t, err, api.CodeWrongPassword)
	}
	_, err := s.Challenge(e.ctx)
	wantCode(t, err, api.CodeUnauthenticated)
	_, err = e.login(act, doctorID)
	wantCode(t, err, api.CodeAccountLocked)

	a := e.admin(instA)
	for range 5 {
		_, err := e.c.AdminLogin(e.ctx, instA, "admin", "Wrong-pw-01")
		wantCode(t, err, api.CodeWrongPassword)
	}
	_, err = a.Settings(e.ctx)
	wantCode(t, err, api.CodeUnauthenticated)
}

// A session ends after its absolute lifetime however active it is.
func TestAbsoluteSessionLifetime(t *testing.T) {
	e := newEnv(t, func(c *onshi.Config) { c.SessionMax = 2 * time.Hour })
	_, _, s := e.device(doctorID)
	for range 7 {
		e.clock.Advance(17 * time.Minute)
		must(s.Challenge(e.ctx))
	}
	e.clock.Advance(2 * time.Minute) // 2h01 after login, never idle more than 17 minutes
	_, err := s.Challenge(e.ctx)
	wantCode(t, err, api.CodeSessionExpired)
	if !strings.Contains(err.(*api.Error).Detail, "lifetime") {
		t.Errorf("detail %q", err.(*api.Error).Detail)
	}
}

// Lockouts survive a restart (before, a restart cleared the admin's); --reset-admin is the
// documented recovery, and it is audited.
func TestLockoutsAreDurable(t *testing.T) {
	e := newEnv(t, nil)
	e.ready()
	for range 5 {
		e.c.AdminLogin(e.ctx, instA, "admin", "Wrong-pw-01")
		e.c.TerminalLogin(e.ctx, api.TerminalLoginRequest{InstitutionCode: instA, UserID: clerkID, Password: "Wrong-pw-01"})
	}
	e.hs.Close()
	e.srv.Close()
	e2 := reopen(t, e, nil)
	_, err := e2.c.AdminLogin(e2.ctx, instA, "admin", adminPW)
	wantCode(t, err, api.CodeAccountLocked)
	_, err = e2.c.TerminalLogin(e2.ctx, api.TerminalLoginRequest{InstitutionCode: instA, UserID: clerkID, Password: userPW})
	wantCode(t, err, api.CodeAccountLocked)
	e2.hs.Close()
	e2.srv.Close()
	e3 := reopen(t, e, func(c *onshi.Config) { c.ResetAdmins = true })
	a := must(e3.c.AdminLogin(e3.ctx, instA, "admin", adminPW))
	var reset bool
	for _, en := range must(a.Audit(e3.ctx, 0, 1000)) {
		reset = reset || en.Action == "institution.bootstrap.reset_admin"
	}
	if !reset {
		t.Error("the admin reset is not audited")
	}
	_, err = e3.c.TerminalLogin(e3.ctx, api.TerminalLoginRequest{InstitutionCode: instA, UserID: clerkID, Password: userPW})
	wantCode(t, err, api.CodeAccountLocked) // accounts stay locked: the admin unlocks them
}

// The seed's menu: アカウント管理(更新), パスワード変更, deletion and suspension.
func TestAccountManagement(t *testing.T) {
	e := newEnv(t, nil)
	a, act, doc := e.device(doctorID)
	clerk := must(e.login(act, clerkID))

	// 更新: a new role ends the account's sessions (they carry the role).
	up := must(a.UpdateAccount(e.ctx, "GEN01", api.UpdateAccountRequest{Role: api.RoleMedical, UserName: "試験 看護師",
		UserNameKana: "シケン　カンゴシ", StartDate: "2026-04-01"}))
	if up.UserID != clerkID || up.Role != api.RoleMedical || up.UserNameKana != "シケン　カンゴシ" {
		t.Fatalf("updated: %+v", up)
	}
	_, err := clerk.Challenge(e.ctx)
	wantCode(t, err, api.CodeUnauthenticated)
	clerk = must(e.login(act, clerkID))
	if clerk.Role != api.RoleMedical {
		t.Fatalf("role after update %q", clerk.Role)
	}
	_, err = a.UpdateAccount(e.ctx, "nobody", api.UpdateAccountRequest{Role: api.RoleGeneral, UserName: "x", UserNameKana: "シ", StartDate: "2026-04-01"})
	wantCode(t, err, api.CodeAccountUnknown)
	_, err = a.UpdateAccount(e.ctx, clerkID, api.UpdateAccountRequest{Role: api.RoleGeneral, UserName: "x", UserNameKana: "ｼ", StartDate: "2026-04-01"})
	wantCode(t, err, api.CodeUserNameKanaFormat)

	// パスワード変更 on the terminal: the app sessions end; the old password no longer works.
	wantCode(t, e.c.ChangePassword(e.ctx, api.PasswordChangeRequest{InstitutionCode: instA, UserID: clerkID, Password: userPW, NewPassword: "Gen01!!!"}), api.CodePasswordPolicy)
	if err := e.c.ChangePassword(e.ctx, api.PasswordChangeRequest{InstitutionCode: instA, UserID: clerkID, Password: userPW, NewPassword: "Kango-2026-z"}); err != nil {
		t.Fatal(err)
	}
	_, err = clerk.Challenge(e.ctx)
	wantCode(t, err, api.CodeUnauthenticated)
	_, err = e.login(act, clerkID)
	wantCode(t, err, api.CodeWrongPassword)

	// Suspension: sessions end, logins refused until resumed.
	if err := a.SuspendAccount(e.ctx, doctorID, true); err != nil {
		t.Fatal(err)
	}
	_, err = doc.Challenge(e.ctx)
	wantCode(t, err, api.CodeUnauthenticated)
	_, err = e.login(act, doctorID)
	wantCode(t, err, api.CodeAccountSuspended)
	if accts := must(a.Accounts(e.ctx)); !accts[0].Suspended {
		t.Fatalf("not shown suspended: %+v", accts[0])
	}
	if err := a.SuspendAccount(e.ctx, doctorID, false); err != nil {
		t.Fatal(err)
	}
	doc = must(e.login(act, doctorID))

	// Deletion: gone from the list, sessions end, logins refused as unknown.
	if err := a.DeleteAccount(e.ctx, doctorID); err != nil {
		t.Fatal(err)
	}
	_, err = doc.Challenge(e.ctx)
	wantCode(t, err, api.CodeUnauthenticated)
	_, err = e.login(act, doctorID)
	wantCode(t, err, api.CodeAccountUnknown)
	wantCode(t, a.DeleteAccount(e.ctx, doctorID), api.CodeAccountUnknown)
	for _, ac := range must(a.Accounts(e.ctx)) {
		if ac.UserID == doctorID {
			t.Fatal("deleted account listed")
		}
	}
	var audited []string
	for _, en := range must(a.Audit(e.ctx, 0, 1000)) {
		if strings.HasPrefix(en.Action, "account.") && en.Action != "account.list" && en.Outcome == "ok" {
			audited = append(audited, en.Action+" "+en.Target)
		}
	}
	want := []string{"account.create doc01", "account.create gen01", "account.update gen01", "account.suspend doc01", "account.resume doc01", "account.delete doc01"}
	if strings.Join(audited, ",") != strings.Join(want, ",") {
		t.Errorf("audit: %v, want %v", audited, want)
	}
}
