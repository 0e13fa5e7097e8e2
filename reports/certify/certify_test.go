package certify

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

func sample(t *testing.T, dir string) *Result {
	t.Helper()
	for name, body := range map[string]string{"PIN-001.cbor": "pin transcript", "VIS-001.cbor": "visual transcript"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ts, err := HashTranscripts(dir, []string{"VIS-001.cbor", "PIN-001.cbor"})
	if err != nil {
		t.Fatal(err)
	}
	return &Result{
		Tool:   ToolInfo(),
		Target: "emulator",
		Device: Device{ID: "google-pixel-8", ProfileSHA256: SHA256Hex([]byte("profile yaml")),
			Fields: map[string]string{"max_transceive": "65279", "extended": "true"}},
		Specs:       []Spec{{ID: "PIN-001", Passed: true}, {ID: "VIS-001", Passed: false, Reason: "80 A2: transceive length exceeds supported maximum"}},
		Transcripts: ts,
		Date:        Now(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)),
		Verdicts:    []Verdict{{Mode: "pin", Supported: true}, {Mode: "visual", Supported: false, Reason: "no extended APDUs"}},
	}
}

func keys(t *testing.T) map[string]crypto.Signer {
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rs, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]crypto.Signer{"ed25519": ed, "p256": ec, "rsa": rs}
}

func TestSignVerify(t *testing.T) {
	dir := t.TempDir()
	r := sample(t, dir)
	ks := keys(t)
	for name, k := range ks {
		t.Run(name, func(t *testing.T) {
			signed, err := Sign(r, k)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Verify(signed, k.Public())
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !Equal(got, r) {
				t.Fatalf("payload changed: %+v", got)
			}
			if err := CheckTranscripts(got, dir); err != nil {
				t.Fatalf("CheckTranscripts: %v", err)
			}
			// Independently of go-cose: the standard library verifies the signature.
			stdlibVerify(t, signed, k.Public())

			// A flipped byte anywhere in the file fails with a reason.
			for _, at := range []int{len(signed) / 2, len(signed) - 1, 20} {
				bad := append([]byte(nil), signed...)
				bad[at] ^= 0x01
				if _, err := Verify(bad, k.Public()); !errors.Is(err, ErrSignature) && !errors.Is(err, ErrMalformed) {
					t.Errorf("byte %d flipped: %v", at, err)
				}
			}
			// Another key of the same kind fails, naming the key.
			other := keys(t)[name]
			if _, err := Verify(signed, other.Public()); !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "not by this key") {
				t.Errorf("other key: %v", err)
			}
		})
	}
	// A key of another kind: the algorithm in the header does not match.
	signed, _ := Sign(r, ks["ed25519"])
	if _, err := Verify(signed, ks["p256"].Public()); !errors.Is(err, ErrSignature) {
		t.Errorf("P-256 key on an EdDSA result: %v", err)
	}
}

func TestTranscriptsTampered(t *testing.T) {
	dir := t.TempDir()
	r := sample(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "PIN-001.cbor"), []byte("pin transcript, edited"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "VIS-001.cbor"))
	err := CheckTranscripts(r, dir)
	var te *TranscriptError
	if !errors.As(err, &te) || len(te.Problems) != 2 || !strings.Contains(err.Error(), "PIN-001.cbor: SHA-256 differs") || !strings.Contains(err.Error(), "VIS-001.cbor: missing") {
		t.Fatalf("CheckTranscripts: %v", err)
	}
	r.Transcripts = append(r.Transcripts, Transcript{Path: "../etc/passwd", SHA256: "00"})
	if err := CheckTranscripts(r, dir); !strings.Contains(err.Error(), "leaves the transcript folder") {
		t.Errorf("escaping path: %v", err)
	}
}

func TestKeysFromFiles(t *testing.T) {
	dir := t.TempDir()
	priv, pub := filepath.Join(dir, "key.pem"), filepath.Join(dir, "pub.pem")
	if err := GenerateKey(priv, pub); err != nil {
		t.Fatal(err)
	}
	if err := GenerateKey(priv, pub); err == nil {
		t.Fatal("GenerateKey overwrote an existing key")
	}
	if st, _ := os.Stat(priv); st.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v", st.Mode().Perm())
	}
	k, err := LoadPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := LoadPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := Sign(sample(t, dir), k)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(signed, p); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPublicKey(priv); !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), "key.pem") {
		t.Errorf("a private key as public key: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "junk.pem"), []byte("not pem"), 0o644)
	if _, err := LoadPrivateKey(filepath.Join(dir, "junk.pem")); !errors.Is(err, ErrKey) {
		t.Errorf("junk: %v", err)
	}
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	if _, err := Sign(sample(t, dir), small); !errors.Is(err, ErrKey) {
		t.Errorf("RSA-1024: %v", err)
	}
}

func TestVerifyRejectsOtherCOSE(t *testing.T) {
	for _, b := range [][]byte{nil, {0xD2, 0x84}, []byte("hello")} {
		if _, err := Verify(b, ed25519.PublicKey(make([]byte, 32))); !errors.Is(err, ErrMalformed) {
			t.Errorf("% X: %v", b, err)
		}
	}
}

// stdlibVerify decodes the COSE_Sign1 with fxamacker/cbor and checks the signature over the
// Sig_structure of RFC 9052 section 4.4 with the standard library only.
func stdlibVerify(t *testing.T, signed []byte, pub crypto.PublicKey) {
	t.Helper()
	var tag cbor.RawTag
	if err := cbor.Unmarshal(signed, &tag); err != nil || tag.Number != 18 {
		t.Fatalf("not a COSE_Sign1 tag 18: %v", err)
	}
	var parts struct {
		_           struct{} `cbor:",toarray"`
		Protected   []byte
		Unprotected map[any]any
		Payload     []byte
		Signature   []byte
	}
	if err := cbor.Unmarshal(tag.Content, &parts); err != nil {
		t.Fatalf("COSE_Sign1 array: %v", err)
	}
	var hdr map[int64]any
	if err := cbor.Unmarshal(parts.Protected, &hdr); err != nil {
		t.Fatalf("protected header: %v", err)
	}
	if hdr[3] != ContentType || hdr[4] == nil {
		t.Errorf("protected header %v", hdr)
	}
	tbs, err := cbor.Marshal([]any{"Signature1", parts.Protected, []byte{}, parts.Payload})
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(tbs)
	ok := false
	switch k := pub.(type) {
	case ed25519.PublicKey:
		ok = hdr[1] == int64(-8) && ed25519.Verify(k, tbs, parts.Signature)
	case *ecdsa.PublicKey:
		r, s := new(big.Int).SetBytes(parts.Signature[:32]), new(big.Int).SetBytes(parts.Signature[32:])
		ok = hdr[1] == int64(-7) && len(parts.Signature) == 64 && ecdsa.Verify(k, digest[:], r, s)
	case *rsa.PublicKey:
		ok = hdr[1] == int64(-37) && rsa.VerifyPSS(k, crypto.SHA256, digest[:], parts.Signature, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
	}
	if !ok {
		t.Fatalf("standard library does not verify the %T signature", pub)
	}
	// The payload is the deterministic CBOR of the result.
	var r Result
	if err := decMode.Unmarshal(parts.Payload, &r); err != nil || r.Version != FormatVersion {
		t.Fatalf("payload: %v", err)
	}
}
