package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// `mynaconform cards` lists every virtual card with what a user picks it by.
func TestCardsJSON(t *testing.T) {
	stdout, stderr, code := run(t, "cards", "-json", "-at", "2026-06-01")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rows []cardRow
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatalf("cards -json: %v\n%s", err, stdout)
	}
	by := map[string]cardRow{}
	for _, r := range rows {
		by[r.ID] = r
	}
	for _, id := range []string{"adult", "face-auth", "child", "blocked", "elderly", "lapsed", "moved", "multi", "uninsured", "family"} {
		if by[id].Persona != id || by[id].For == "" {
			t.Errorf("persona %s: %+v", id, by[id])
		}
	}
	checks := map[string]func(cardRow) bool{
		"adult": func(r cardRow) bool {
			return r.ATR == "01" && r.Token == "JPKIAPICCTOKEN2" && r.AuthCert == "valid" && r.SignCert == "valid" && len(r.PINs) == 5 && r.MF7F21
		},
		"adult-expired":   func(r cardRow) bool { return r.AuthCert == "expired" && r.Persona == "adult" },
		"adult-revoked":   func(r cardRow) bool { return r.AuthCert == "revoked" },
		"adult-untrusted": func(r cardRow) bool { return r.AuthCert == "untrusted" },
		"adult-android": func(r cardRow) bool {
			return r.Token == "JPKIAPGPSETOKEN" && slices.Equal(r.Applications, []string{"jpki"})
		},
		"adult-iphone": func(r cardRow) bool { return r.Token == "JPKIAPIOSTOKEN" },
		"adult-atr-06": func(r cardRow) bool { return r.Contactless && strings.HasPrefix(r.ATRBytes, "3B888001") },
		"adult-atr-02": func(r cardRow) bool { return !r.Contactless && r.ATRBytes == "3BDA13FF8131FB468012392F31C173C601C03B" },
		"blocked":      func(r cardRow) bool { return slices.Equal(r.Blocked, []string{"jpki/0018"}) },
		"face-auth":    func(r cardRow) bool { return len(r.PINs) == 0 && r.SignCert == "none" },
		"child":        func(r cardRow) bool { return r.SignCert == "none" && !slices.Contains(r.PINs, "sign") },
		"elderly":      func(r cardRow) bool { return !r.MF7F21 },
	}
	for id, ok := range checks {
		if r, found := by[id]; !found || !ok(r) {
			t.Errorf("%s: %+v", id, r)
		}
	}
	// Secrets are not listed: no PIN value appears.
	for _, secret := range []string{"1234", "ABC123", "999900000011", "55021720352285"} {
		if strings.Contains(stdout, secret) {
			t.Errorf("cards -json prints %q", secret)
		}
	}
}

func TestCardsTable(t *testing.T) {
	stdout, _, code := run(t, "cards", "-at", "2030-01-01")
	if code != 0 || !strings.Contains(stdout, "PINS SET") || !strings.Contains(stdout, "06 contactless") {
		t.Fatalf("exit %d:\n%s", code, stdout)
	}
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(l, "adult ") && !strings.Contains(l, "expired") { // the adult's certificates end 2029-03-31
			t.Errorf("adult in 2030: %s", l)
		}
	}
	if _, stderr, code := run(t, "cards", "-at", "tomorrow"); code != 2 || !strings.Contains(stderr, "-at") {
		t.Errorf("bad -at: exit %d %s", code, stderr)
	}
	if _, _, code := run(t, "cards", "extra"); code != 2 {
		t.Errorf("extra argument: exit %d", code)
	}
	if _, stderr, _ := run(t); !strings.Contains(stderr, "cards") {
		t.Error("usage does not list cards")
	}
}
