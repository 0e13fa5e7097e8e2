package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/conformance/target"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/readers/session"
	"github.com/mynaconform/mynaconform/reports/certify"
	"github.com/mynaconform/mynaconform/reports/transcript"
)

// keygen, then verify a result signed with the key: valid; a flipped byte, another key and a
// changed transcript each exit 1 with the reason.
func TestVerifySignedResult(t *testing.T) {
	dir := t.TempDir()
	key, pub := filepath.Join(dir, "key.pem"), filepath.Join(dir, "pub.pem")
	if out, errs, code := run(t, "keygen", "-key", key, "-pub", pub); code != 0 || !strings.Contains(out, "pub.pem") {
		t.Fatalf("keygen: exit %d %s", code, errs)
	}
	if _, errs, code := run(t, "keygen", "-key", key, "-pub", pub); code != 2 || !strings.Contains(errs, "exists") {
		t.Fatalf("keygen over an existing key: exit %d %s", code, errs)
	}
	tdir := filepath.Join(dir, "transcripts")
	os.MkdirAll(tdir, 0o755)
	os.WriteFile(filepath.Join(tdir, "PIN-001.cbor"), []byte("recorded"), 0o644)
	ts, err := certify.HashTranscripts(tdir, []string{"PIN-001.cbor"})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := certify.LoadPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := certify.Sign(&certify.Result{Tool: certify.ToolInfo(), Target: "emulator", Device: certify.Device{ID: "google-pixel-8"},
		Specs: []certify.Spec{{ID: "PIN-001", Passed: true}}, Transcripts: ts, Date: certify.Now(time.Now()),
		Verdicts: []certify.Verdict{{Mode: "pin", Supported: true}}}, signer)
	if err != nil {
		t.Fatal(err)
	}
	res := filepath.Join(dir, "google-pixel-8.cose")
	os.WriteFile(res, signed, 0o644)
	if out, errs, code := run(t, "verify", res, "-key", pub, "-transcripts", tdir); code != 0 || !strings.Contains(out, "signature valid") || !strings.Contains(out, "1 transcripts match") {
		t.Fatalf("verify: exit %d\n%s%s", code, out, errs)
	}
	bad := append([]byte(nil), signed...)
	bad[len(bad)-3] ^= 1
	os.WriteFile(res+".bad", bad, 0o644)
	if _, errs, code := run(t, "verify", "-key", pub, res+".bad"); code != 1 || !strings.Contains(errs, "signature does not verify") {
		t.Errorf("flipped byte: exit %d %s", code, errs)
	}
	other, otherPub := filepath.Join(dir, "o.pem"), filepath.Join(dir, "opub.pem")
	run(t, "keygen", "-key", other, "-pub", otherPub)
	if _, errs, code := run(t, "verify", res, "-key", otherPub); code != 1 || !strings.Contains(errs, "not by this key") {
		t.Errorf("other key: exit %d %s", code, errs)
	}
	os.WriteFile(filepath.Join(tdir, "PIN-001.cbor"), []byte("edited"), 0o644)
	if _, errs, code := run(t, "verify", res, "-key", pub, "-transcripts", tdir); code != 1 || !strings.Contains(errs, "PIN-001.cbor: SHA-256 differs") {
		t.Errorf("edited transcript: exit %d %s", code, errs)
	}
	if _, errs, code := run(t, "verify", res, "-key", key); code != 2 || !strings.Contains(errs, "-key") {
		t.Errorf("private key given as -key: exit %d %s", code, errs)
	}
}

// replay of a recorded session: 0 with no difference; 1 once the recording is edited; 2 for a
// persona that does not exist, naming the known ones.
func TestReplayCommand(t *testing.T) {
	per, err := fixtures.PersonaByID("adult")
	if err != nil {
		t.Fatal(err)
	}
	r, err := target.VirtualCard(per)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r.Connect(ctx)
	s := session.New(r)
	s.Step("PIN-001 read auth certificate")
	if err := s.SelectAID(ctx, mynumber.AIDJPKI); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadObject(ctx, mynumber.JPKIAuthCert); err != nil {
		t.Fatal(err)
	}
	s.Step("PIN-001 VERIFY auth PIN")
	if err := s.Verify(ctx, mynumber.JPKIAuthPIN, []byte(per.AuthPIN), session.SecretPIN); err != nil {
		t.Fatal(err)
	}
	f := &transcript.File{Version: transcript.Version, Target: "pcsc", Device: "lab reader", Mode: "pin", Persona: "adult", Exchanges: transcript.FromSession(s.Exchanges())}
	dir := t.TempDir()
	write := func(name string, f *transcript.File) string {
		p := filepath.Join(dir, name)
		out, _ := os.Create(p)
		if err := transcript.Write(out, f); err != nil {
			t.Fatal(err)
		}
		out.Close()
		return p
	}
	good := write("good.cbor", f)
	if out, errs, code := run(t, "replay", good); code != 0 || !strings.Contains(out, "0 DIFFERENT") {
		t.Fatalf("replay: exit %d\n%s%s", code, out, errs)
	}
	last := len(f.Exchanges) - 1
	f.Exchanges[last].Response = []byte{0x69, 0x85} // the recorded card refused the VERIFY otherwise
	if out, _, code := run(t, "replay", write("edited.cbor", f), "-json"); code != 1 || !strings.Contains(out, `"verdict": "DIFFERENT"`) {
		t.Errorf("edited recording: exit %d\n%s", code, out)
	}
	if _, errs, code := run(t, "replay", "-persona", "nobody", good); code != 2 || !strings.Contains(errs, "adult") {
		t.Errorf("unknown persona: exit %d %s", code, errs)
	}
}
