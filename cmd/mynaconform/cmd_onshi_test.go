package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Configuration the service refuses is bad input (exit 2) with the reason: a revocation list
// that is not a CRL, an admin password that does not meet the policy, an institution code with
// a wrong check digit.
func TestOnshiServeRefusesBadConfiguration(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("Serve-Test-2026\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	weak := filepath.Join(dir, "weak")
	if err := os.WriteFile(weak, []byte("password1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	notCRL := filepath.Join(dir, "list.crl")
	if err := os.WriteFile(notCRL, []byte("not a revocation list"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--admin-password-file", pw, "--crl", notCRL}, "revocation list"},
		{[]string{"--admin-password-file", pw, "--crl", filepath.Join(dir, "missing.crl")}, "--crl"},
		{[]string{"--admin-password-file", weak}, "policy"},
		{[]string{"--admin-password-file", pw, "--institution", "1310123459"}, "check digit"},
	} {
		args := append([]string{"onshi", "serve", "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "data")}, tc.args...)
		_, stderr, code := run(t, args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q (want 2 and %q)", tc.args, code, stderr, tc.want)
		}
	}
}
