package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// TestRunCertify: run -certify writes one signed result per device into certificates/, which
// verify accepts with its transcripts; the result binds the profile file's SHA-256 and fields, the
// measured envelope, every spec's verdict and every transcript of the device. A flipped byte in
// the result, a changed transcript and another key each fail with a clear reason (exit 1); the
// COSE_Sign1 is also checked without go-cose: decoded with fxamacker/cbor, its Ed25519 signature
// verified by the standard library.
func TestRunCertify(t *testing.T) {
	u := newUserRun(t)
	if _, errs, code := u.run(t, "keygen", "-key", "key.pem", "-pub", "pub.pem"); code != 0 {
		t.Fatalf("keygen: exit %d %s", code, errs)
	}
	stdout, stderr, code := u.run(t, "run", "-only", "google-nexus-s,synthetic-no-nfc", "-out", "out", "-certify", "key.pem")
	if code != 0 {
		t.Fatalf("run -certify: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "certificates/") {
		t.Errorf("the result set line does not name certificates/:\n%s", stdout)
	}
	for _, dev := range []string{"google-nexus-s", "synthetic-no-nfc"} {
		cert := u.path("out", "certificates", dev+".cose")
		n := len(files(t, u.path("out", "transcripts", dev)))
		out, errs, code := u.run(t, "verify", cert, "-key", "pub.pem", "-transcripts", u.path("out", "transcripts"))
		if code != 0 || !strings.Contains(out, "signature valid") || !strings.Contains(out, strconv.Itoa(n)+" transcripts match") {
			t.Errorf("verify %s: exit %d (want 0, %d transcripts)\n%s%s", dev, code, n, out, errs)
		}
	}

	// What the result of google-nexus-s binds.
	out, errs, code := u.run(t, "verify", "-json", u.path("out", "certificates", "google-nexus-s.cose"), "-key", "pub.pem")
	if code != 0 {
		t.Fatalf("verify -json: exit %d %s", code, errs)
	}
	var res struct {
		Tool   struct{ Module, Version string }
		Target string
		Device struct {
			ID, ProfileSHA256 string
			Fields            map[string]string
		}
		Specs []struct {
			ID, Reason      string
			Passed, Skipped bool
		}
		Transcripts []struct{ Path, SHA256 string }
		Date        string
		Verdicts    []struct {
			Mode      string
			Supported bool
			Reason    string
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	profile, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "devices", "google-nexus-s.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(profile)
	if res.Device.ProfileSHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("profile SHA-256 %s, want that of fixtures/devices/google-nexus-s.yaml", res.Device.ProfileSHA256)
	}
	for k, v := range map[string]string{
		"max_transceive": "261", "timeout": "618ms", "processing.sign": "500ms", "envelope.longest_command": "261",
		"envelope.first_failed_command": "262", "envelope.command_failed_by": "TRN-C262", "envelope.command_cause": "transceive-length",
	} {
		if res.Device.Fields[k] != v {
			t.Errorf("field %s = %q, want %q", k, res.Device.Fields[k], v)
		}
	}
	if res.Tool.Module != "github.com/mynaconform/mynaconform" || res.Target != "emulator" || res.Tool.Version == "" {
		t.Errorf("tool %+v, target %s", res.Tool, res.Target)
	}
	if d, err := time.Parse(time.RFC3339, res.Date); err != nil || time.Since(d) > time.Hour {
		t.Errorf("date %q: %v", res.Date, err)
	}
	verdict := map[string]bool{}
	for _, s := range res.Specs {
		verdict[s.ID] = s.Passed
		if !s.Passed && s.Reason == "" {
			t.Errorf("%s failed without a reason", s.ID)
		}
	}
	if len(res.Specs) != 30 || !verdict["TRN-C262"] || !verdict["PIN-001"] || verdict["VIS-001"] {
		t.Errorf("%d specs (want 30: 18 TRN and 12 of the path); TRN-C262 %v PIN-001 %v VIS-001 %v", len(res.Specs), verdict["TRN-C262"], verdict["PIN-001"], verdict["VIS-001"])
	}
	if len(res.Verdicts) != 2 || !res.Verdicts[0].Supported || res.Verdicts[1].Supported || !strings.Contains(res.Verdicts[1].Reason, "VIS-001") {
		t.Errorf("verdicts %+v", res.Verdicts)
	}
	for _, tr := range res.Transcripts {
		b, err := os.ReadFile(u.path("out", "transcripts", filepath.FromSlash(tr.Path)))
		sum := sha256.Sum256(b)
		if err != nil || !strings.HasPrefix(tr.Path, "google-nexus-s/") || hex.EncodeToString(sum[:]) != tr.SHA256 {
			t.Errorf("transcript %s: %v", tr.Path, err)
		}
	}

	// The structure, without go-cose: tag 18, [protected, unprotected, payload, signature],
	// the signature over Sig_structure ["Signature1", protected, h'', payload] (RFC 9052 4.4).
	signed, err := os.ReadFile(u.path("out", "certificates", "google-nexus-s.cose"))
	if err != nil {
		t.Fatal(err)
	}
	var tag cbor.RawTag
	if err := cbor.Unmarshal(signed, &tag); err != nil || tag.Number != 18 {
		t.Fatalf("not a tagged COSE_Sign1: tag %d, %v", tag.Number, err)
	}
	var msg struct {
		_           struct{} `cbor:",toarray"`
		Protected   []byte
		Unprotected map[any]any
		Payload     []byte
		Signature   []byte
	}
	if err := cbor.Unmarshal(tag.Content, &msg); err != nil {
		t.Fatal(err)
	}
	toBeSigned, err := cbor.Marshal([]any{"Signature1", msg.Protected, []byte{}, msg.Payload})
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, _ := os.ReadFile(u.path("pub.pem"))
	blk, _ := pem.Decode(pubPEM)
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(pub.(ed25519.PublicKey), toBeSigned, msg.Signature) {
		t.Error("the standard library does not verify the signature run wrote")
	}

	// A flipped byte in the result, another key, a changed transcript: exit 1 with the reason.
	bad := append([]byte(nil), signed...)
	bad[len(bad)/2] ^= 0x01 // inside the payload, the bulk of the file
	if err := os.WriteFile(u.path("flipped.cose"), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := u.run(t, "verify", "flipped.cose", "-key", "pub.pem"); code != 1 || !strings.Contains(errs, "flipped.cose: signature does not verify") {
		t.Errorf("flipped byte: exit %d %s", code, errs)
	}
	if _, errs, code := u.run(t, "keygen", "-key", "other.pem", "-pub", "otherpub.pem"); code != 0 {
		t.Fatal(errs)
	}
	if _, errs, code := u.run(t, "verify", u.path("out", "certificates", "google-nexus-s.cose"), "-key", "otherpub.pem"); code != 1 || !strings.Contains(errs, "not by this key") {
		t.Errorf("another key: exit %d %s", code, errs)
	}
	tr := u.path("out", "transcripts", "google-nexus-s", "TRN-C262.cbor")
	b, err := os.ReadFile(tr)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 0x01
	if err := os.WriteFile(tr, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := u.run(t, "verify", u.path("out", "certificates", "google-nexus-s.cose"), "-key", "pub.pem", "-transcripts", u.path("out", "transcripts")); code != 1 || !strings.Contains(errs, "google-nexus-s/TRN-C262.cbor: SHA-256 differs from the signed one") {
		t.Errorf("changed transcript: exit %d %s", code, errs)
	}

	// A bad KEYFILE is refused before anything runs: exit 2, one line naming the flag.
	if err := os.WriteFile(u.path("notakey.pem"), []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ key, want string }{
		{"missing.pem", "-certify: open missing.pem"},
		{"notakey.pem", "-certify: notakey.pem: unusable key: no PEM block"},
		{"pub.pem", `-certify: pub.pem: unusable key: PEM block "PUBLIC KEY"`},
		{"", "-certify: give the private key file"},
	} {
		_, errs, code := u.run(t, "run", "-only", "google-nexus-s", "-out", "out2", "-certify", tc.key)
		if code != 2 || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("-certify %q: exit %d, stderr %q (want one line with %q)", tc.key, code, errs, tc.want)
		}
	}
	if _, err := os.Stat(u.path("out2")); err == nil {
		t.Error("a refused run wrote a result set")
	}
	if _, errs, code := u.run(t, "run", "-only", "google-nexus-s", "-out", "", "-certify", "key.pem"); code != 2 || !strings.Contains(errs, "-certify needs -out") {
		t.Errorf("-certify without -out: exit %d %s", code, errs)
	}
}
