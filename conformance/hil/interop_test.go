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
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/emulator/card"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/formats/iso7816"
	"github.com/mynaconform/mynaconform/formats/mynumber"
)

// OpenSC's PKCS#11 module on Debian amd64 (package opensc-pkcs11).
const pkcs11Module = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"

// recorder is a virtual card served into pcscd that keeps, in order, every command it receives
// (with the card's status word) and every reset and power-off: what OpenSC sends through the real
// stack, as the card sees it. The log stays in memory; failures print command headers only (a
// VERIFY carries a PIN).
type recorder struct {
	*card.Card
	mu  sync.Mutex
	log []event
}

type event struct {
	cmd   []byte // nil for a reset or power event
	sw    iso7816.StatusWord
	reset string
}

func (r *recorder) Transmit(cmd []byte) []byte {
	resp := r.Card.Transmit(cmd)
	r.mu.Lock()
	r.log = append(r.log, event{cmd: bytes.Clone(cmd), sw: iso7816.SWOf(resp)})
	r.mu.Unlock()
	return resp
}

func (r *recorder) mark(what string) {
	r.mu.Lock()
	r.log = append(r.log, event{reset: what})
	r.mu.Unlock()
}

func (r *recorder) Reset() []byte   { r.mark("reset"); return r.Card.Reset() }
func (r *recorder) PowerOn() []byte { r.mark("power-on"); return r.Card.PowerOn() }
func (r *recorder) PowerOff()       { r.mark("power-off"); r.Card.PowerOff() }

// events returns the log from index from on.
func (r *recorder) events(from int) []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event(nil), r.log[from:]...)
}

func (r *recorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.log)
}

// String is the log as headers and status words, PIN data left out.
func dump(evs []event) string {
	var b strings.Builder
	for _, e := range evs {
		if e.cmd == nil {
			fmt.Fprintf(&b, "  -- %s\n", e.reset)
			continue
		}
		fmt.Fprintf(&b, "  % X -> %v\n", e.cmd[:min(len(e.cmd), 7)], e.sw)
	}
	return b.String()
}

var (
	selectJPKIFull = append([]byte{0x00, 0xA4, 0x04, 0x0C, 0x0A}, mynumber.AIDJPKI...)
	readHeader     = []byte{0x00, 0xB0, 0x00, 0x00, 0x04}
)

// readsOf reports whether the log reads EF fid the way card-jpki.c reads a certificate: SELECT
// EF then the 4-byte header read.
func readsOf(evs []event, fid mynumber.FID) bool {
	sel := append([]byte{0x00, 0xA4, 0x02, 0x0C, 0x02}, fid.Bytes()...)
	for i := 0; i+1 < len(evs); i++ {
		if bytes.Equal(evs[i].cmd, sel) && bytes.Equal(evs[i+1].cmd, readHeader) {
			return true
		}
	}
	return false
}

func newRecorder(t testing.TB, id string) (*recorder, card.Profile) {
	t.Helper()
	v, err := fixtures.VariantByID(id)
	if err != nil {
		t.Fatal(err)
	}
	prof, err := v.CardProfile()
	if err != nil {
		t.Fatal(err)
	}
	c, err := card.New(prof)
	if err != nil {
		t.Fatal(err)
	}
	return &recorder{Card: c}, prof
}

// openscEnv is the environment of an OpenSC tool with its own configuration and home: file
// caching as given ("no" or "public") under a cache directory of the test. card.md: the JPKI
// binding fixes the token serial at 00000000, so every JPKI card shares one cache and later runs
// send no APDU for the cached public files; tests must disable it or clear it.
func openscEnv(t *testing.T, caching string) []string {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "opensc.conf")
	body := fmt.Sprintf("app default {\n\tfile_cache_dir = %s;\n\tframework pkcs15 {\n\t\tuse_file_caching = %s;\n\t}\n}\n",
		filepath.Join(dir, "cache"), caching)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return append(os.Environ(), "OPENSC_CONF="+conf, "HOME="+dir, "OPENSC_DEBUG=0")
}

// tool runs an external program with its own deadline and environment and returns its combined
// output. args may hold a PIN: they are never logged.
func tool(t *testing.T, env []string, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (apt-get install opensc pcsc-tools): %v", name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.WaitDelay = time.Second
	cmd.Env = env
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
	c, _ := newRecorder(t, "adult")
	insert(t, c, 0)
	out := tool(t, os.Environ(), 30*time.Second, "pcsc_scan", "-t", "1")
	for _, want := range []string{"Virtual PCD 00 00", "Card inserted", "3B E0 00 FF 81 31 FE 45 14"} {
		if !strings.Contains(out, want) {
			t.Fatalf("pcsc_scan output lacks %q:\n%s", want, out)
		}
	}
}

// TestPkcs15Tool: OpenSC's JPKI driver, its file cache disabled, binds (both retry queries SW1
// 63), lists the four certificates and reads the auth certificate byte for byte, reading the card
// on every run; a card with another ATR is found by the JPKI probe. (card.md: OpenSC caches the
// public files of every JPKI card under one token serial, so a cache would hide the second run's
// reads. Debian 12's OpenSC 0.23 wrote no cache for this driver even with use_file_caching = yes;
// the tests disable it all the same, for newer versions.)
func TestPkcs15Tool(t *testing.T) {
	need(t)
	env := openscEnv(t, "no")
	for _, id := range []string{"adult", "adult-atr-03"} {
		t.Run(id, func(t *testing.T) {
			c, prof := newRecorder(t, id)
			insert(t, c, 0)
			for run := range 2 {
				from := c.len()
				out := tool(t, env, 60*time.Second, "pkcs15-tool", "--reader", "0", "--list-certificates")
				for _, want := range []string{"User Authentication Certificate", "Digital Signature Certificate",
					"User Authentication Certificate CA", "Digital Signature Certificate CA"} {
					if !strings.Contains(out, want) {
						t.Fatalf("pkcs15-tool --list-certificates lacks %q:\n%s", want, out)
					}
				}
				evs := c.events(from)
				for _, fid := range []mynumber.FID{mynumber.JPKIAuthCert, mynumber.JPKIAuthCACert, mynumber.JPKISignCACert} {
					if !readsOf(evs, fid) {
						t.Fatalf("run %d: no read of EF %04X with caching disabled:\n%s", run+1, uint16(fid), dump(evs))
					}
				}
				for i, e := range evs { // the binding's queries answer 63Cx
					if bytes.Equal(e.cmd, []byte{0x00, 0x20, 0x00, 0x80}) && e.sw.SW1() != 0x63 {
						t.Fatalf("retry query %d answered %v:\n%s", i, e.sw, dump(evs))
					}
				}
			}
			pemOut := tool(t, env, 60*time.Second, "pkcs15-tool", "--reader", "0", "--read-certificate", "01")
			blk, _ := pem.Decode([]byte(pemOut[strings.Index(pemOut, "-----BEGIN"):]))
			if blk == nil || !bytes.Equal(blk.Bytes, prof.AuthCert) {
				t.Fatalf("certificate read by pkcs15-tool differs from EF 000A:\n%s", pemOut)
			}
		})
	}
}

// TestPkcs11ToolSign: pkcs11-tool, cache disabled, logs in with the auth PIN and signs with the
// auth key (SHA256-RSA-PKCS: the card signs OpenSC's 51-byte DigestInfo under P1 00); the
// signature verifies with EF 000A, and the card saw the login on 0018 and OpenSC's DigestInfo.
func TestPkcs11ToolSign(t *testing.T) {
	need(t)
	if _, err := os.Stat(pkcs11Module); err != nil {
		t.Skipf("OpenSC PKCS#11 module not installed (apt-get install opensc-pkcs11): %v", err)
	}
	env := openscEnv(t, "no")
	c, prof := newRecorder(t, "adult")
	insert(t, c, 0)
	objs := tool(t, env, 60*time.Second, "pkcs11-tool", "--module", pkcs11Module, "--slot-index", "0", "--list-objects")
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
	from := c.len()
	tool(t, env, 60*time.Second, "pkcs11-tool", "--module", pkcs11Module, "--slot-index", "0",
		"--login", "--pin", prof.AuthPIN, "--sign", "--id", "01", "--mechanism", "SHA256-RSA-PKCS",
		"--input-file", in, "--output-file", sigFile)
	sig, err := os.ReadFile(sigFile)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(prof.AuthCert)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(msg)
	if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, h[:], sig); err != nil {
		t.Fatalf("signature from pkcs11-tool does not verify with the auth certificate: %v", err)
	}
	// The APDUs the card received: login on 0018, the signature on 0017 with the DigestInfo.
	evs := c.events(from)
	signAt := -1
	for i, e := range evs {
		if len(e.cmd) == 4+1+51+1 && bytes.HasPrefix(e.cmd, []byte{0x80, 0x2A, 0x00, 0x80, 0x33}) && e.sw == iso7816.SWOK {
			signAt = i
			if !bytes.Equal(e.cmd[5:56], mynumber.DigestInfoSHA256(h[:])) {
				t.Fatalf("OpenSC did not send the SHA-256 DigestInfo:\n%s", dump(evs))
			}
		}
	}
	if signAt < 0 {
		t.Fatalf("no 80 2A 00 80 33 ... 00 answered 9000:\n%s", dump(evs))
	}
}

// pkcs11Logout is a PKCS#11 client of OpenSC's module (PyKCS11, Debian python3-pykcs11) that
// logs in, signs with the auth key, logs out (C_Logout) and tries to sign again; pkcs11-tool has
// no logout. The PIN comes from the environment, never the command line.
const pkcs11Logout = `import os, sys, PyKCS11
lib = PyKCS11.PyKCS11Lib()
lib.load(sys.argv[1])
s = lib.openSession(lib.getSlotList(tokenPresent=True)[0], PyKCS11.CKF_SERIAL_SESSION)
s.login(os.environ["P11_PIN"])
key = s.findObjects([(PyKCS11.CKA_CLASS, PyKCS11.CKO_PRIVATE_KEY), (PyKCS11.CKA_ID, (1,))])[0]
mech = PyKCS11.Mechanism(PyKCS11.CKM_SHA256_RSA_PKCS, None)
s.sign(key, b"before logout", mech)
print("signed")
s.logout()
print("logged out")
try:
    s.sign(key, b"after logout", mech)
    print("signed after logout")
except PyKCS11.PyKCS11Error as e:
    print("refused after logout:", e)
s.closeSession()
`

// TestOpenSCLogout: OpenSC's logout re-selects the JPKI-AP (card-jpki.c jpki_logout), and from
// then on the card refuses the auth key until the PIN is verified again: re-SELECT of the DF
// clears the security status (card.md section 2; section 13's default). A PKCS#11 client logs in,
// signs, logs out and signs again through OpenSC and the real pcscd. Debian 12's OpenSC 0.23 has
// no logout for this driver and sends no APDU on C_Logout (its second signature then succeeds, as
// on a real card: a VERIFY stays in effect while the card is powered); the test then sends the
// logout's SELECT JPKI itself through pcscd, in the state OpenSC left.
func TestOpenSCLogout(t *testing.T) {
	need(t)
	py := "/usr/bin/python3"
	if out, err := exec.Command(py, "-c", "import PyKCS11").CombinedOutput(); err != nil {
		t.Skipf("PyKCS11 not installed (apt-get install python3-pykcs11): %v %s", err, out)
	}
	if _, err := os.Stat(pkcs11Module); err != nil {
		t.Skipf("OpenSC PKCS#11 module not installed (apt-get install opensc-pkcs11): %v", err)
	}
	c, prof := newRecorder(t, "adult")
	insert(t, c, 0)
	script := filepath.Join(t.TempDir(), "logout.py")
	if err := os.WriteFile(script, []byte(pkcs11Logout), 0o600); err != nil {
		t.Fatal(err)
	}
	out := tool(t, append(openscEnv(t, "no"), "P11_PIN="+prof.AuthPIN), 60*time.Second, py, script, pkcs11Module)
	if !strings.Contains(out, "signed\n") || !strings.Contains(out, "logged out") {
		t.Fatalf("PKCS#11 client:\n%s\n%s", out, dump(c.events(0)))
	}
	evs := c.events(0)
	signAt := -1
	for i, e := range evs {
		if bytes.HasPrefix(e.cmd, []byte{0x80, 0x2A}) && e.sw == iso7816.SWOK {
			signAt = i
			break
		}
	}
	if signAt < 0 {
		t.Fatalf("no signature answered 9000:\n%s", dump(evs))
	}
	logout := -1
	for i := signAt + 1; i < len(evs) && evs[i].cmd != nil; i++ {
		if bytes.Equal(evs[i].cmd, selectJPKIFull) {
			logout = i
			break
		}
	}
	sfi, _ := mynumber.JPKIAuthKey.SFI()
	d := mynumber.DigestInfoSHA256(make([]byte, 32))
	signAuth := append(append([]byte{0x80, 0x2A, 0x00, sfi, byte(len(d))}, d...), 0x00)
	if logout >= 0 {
		// This OpenSC logs out on the card: no signature after it succeeds without a new VERIFY.
		for _, e := range evs[logout+1:] {
			if e.cmd == nil || (bytes.HasPrefix(e.cmd, []byte{0x00, 0x20, 0x00, 0x80}) && len(e.cmd) > 4) {
				break
			}
			if bytes.HasPrefix(e.cmd, []byte{0x80, 0x2A}) && e.sw == iso7816.SWOK {
				t.Fatalf("a signature after the logout succeeded without VERIFY:\n%s", dump(evs[logout:]))
			}
		}
		return
	}
	t.Logf("this OpenSC sent no APDU on C_Logout (%q); sending its logout, SELECT JPKI, through pcscd", strings.TrimSpace(out))
	if e := evs[len(evs)-1]; e.cmd == nil {
		t.Fatalf("the card was reset after the client (%s): the state OpenSC left is gone", e.reset)
	}
	r := open(t, 0)
	transmit(t, r, signAuth, 0x9000) // still verified: nothing logged out
	transmit(t, r, selectJPKIFull, 0x9000)
	transmit(t, r, signAuth, 0x6982) // re-SELECT of the JPKI-AP cleared the security status
	pin, _ := mynumber.JPKIAuthPIN.SFI()
	transmit(t, r, append([]byte{0x00, 0x20, 0x00, pin, byte(len(prof.AuthPIN))}, prof.AuthPIN...), 0x9000)
	transmit(t, r, signAuth, 0x9000)
}
