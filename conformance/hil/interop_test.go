//go:build pcsc

package hil_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// OpenSC's PKCS#11 module on Debian amd64 (package opensc-pkcs11).
const pkcs11Module = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"

// tool runs an external program with its own deadline and returns its combined output. args
// may hold a PIN: they are never logged.
func tool(t *testing.T, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (apt-get install opensc pcsc-tools): %v", name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.WaitDelay = time.Second
	cmd.Env = append(os.Environ(), "OPENSC_DEBUG=0")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish in %v", name, timeout)
	}
	if err != nil {
		t.Fatalf("%s failed: %v\n%s", name, err, out)
	}
	return string(out)
}

// TestPcscScan: pcsc_scan (bounded with -t) sees the virtual card and its ATR.
func TestPcscScan(t *testing.T) {
	need(t)
	c, _ := newCard(t, "adult")
	insert(t, c, 0)
	out := tool(t, 30*time.Second, "pcsc_scan", "-t", "1")
	for _, want := range []string{"Virtual PCD 00 00", "Card inserted", "3B E0 00 FF 81 31 FE 45 14"} {
		if !strings.Contains(out, want) {
			t.Fatalf("pcsc_scan output lacks %q:\n%s", want, out)
		}
	}
}

// TestPkcs15Tool: OpenSC's JPKI driver (picked by the ATR) lists the four certificates and
// reads the user-authentication certificate byte for byte.
func TestPkcs15Tool(t *testing.T) {
	need(t)
	c, p := newCard(t, "adult")
	insert(t, c, 0)
	out := tool(t, 60*time.Second, "pkcs15-tool", "--reader", "0", "--list-certificates")
	for _, want := range []string{
		"User Authentication Certificate", "Digital Signature Certificate",
		"User Authentication Certificate CA", "Digital Signature Certificate CA",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("pkcs15-tool --list-certificates lacks %q:\n%s", want, out)
		}
	}
	pemOut := tool(t, 60*time.Second, "pkcs15-tool", "--reader", "0", "--read-certificate", "01")
	blk, _ := pem.Decode([]byte(pemOut[strings.Index(pemOut, "-----BEGIN"):]))
	if blk == nil {
		t.Fatalf("no PEM certificate in:\n%s", pemOut)
	}
	if !bytes.Equal(blk.Bytes, p.AuthCert) {
		t.Fatal("certificate read by pkcs15-tool differs from the persona's EF 000A certificate")
	}
}

// TestPkcs11ToolSign: pkcs11-tool lists the objects, logs in with the auth PIN and signs with
// the auth key; the signature verifies with the certificate's public key.
func TestPkcs11ToolSign(t *testing.T) {
	need(t)
	if _, err := os.Stat(pkcs11Module); err != nil {
		t.Skipf("OpenSC PKCS#11 module not installed (apt-get install opensc-pkcs11): %v", err)
	}
	c, p := newCard(t, "adult")
	insert(t, c, 0)
	objs := tool(t, 60*time.Second, "pkcs11-tool", "--module", pkcs11Module, "--slot-index", "0", "--list-objects")
	for _, want := range []string{"User Authentication Certificate", "ID:         01"} {
		if !strings.Contains(objs, want) {
			t.Fatalf("pkcs11-tool --list-objects lacks %q:\n%s", want, objs)
		}
	}
	dir := t.TempDir()
	in, sigFile := filepath.Join(dir, "in"), filepath.Join(dir, "sig")
	msg := []byte("mynaconform interoperability check")
	if err := os.WriteFile(in, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	tool(t, 60*time.Second, "pkcs11-tool", "--module", pkcs11Module, "--slot-index", "0",
		"--login", "--pin", p.AuthPIN, "--sign", "--id", "01", "--mechanism", "SHA256-RSA-PKCS",
		"--input-file", in, "--output-file", sigFile)
	sig, err := os.ReadFile(sigFile)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(p.AuthCert)
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		t.Fatalf("auth certificate key is %T", cert.PublicKey)
	}
	h := sha256.Sum256(msg)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig); err != nil {
		t.Fatalf("signature from pkcs11-tool does not verify with the auth certificate: %v", err)
	}
}
