// Package certify writes and checks signed conformance results: a COSE_Sign1 (RFC 9052) whose
// payload is deterministic CBOR binding one device's run (the device profile by hash and fields,
// or the PC/SC reader by name, ATR and measured envelope), the suite's version (module version and
// VCS revision from the build info), every spec's verdict, the SHA-256 of every transcript, and
// the date. Anyone with the public key can check a result with `mynaconform verify`, or with any
// COSE library: the structure is plain RFC 9052 with the algorithm and key id in the protected
// header.
//
// Keys are standard PEM: a PKCS#8 (or SEC 1 / PKCS#1) private key for signing, an SPKI public key
// or an X.509 certificate for verifying. Ed25519 signs with EdDSA, ECDSA P-256 with ES256, RSA
// (2048 bits or more) with PS256.
package certify

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha256" // go-cose finds SHA-256 through crypto.Hash (libraries.md)
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/veraison/go-cose"
)

// FormatVersion is the version of the payload layout.
const FormatVersion = 1

// ContentType names the payload in the protected header.
const ContentType = "application/vnd.mynaconform.result+cbor"

// Result is the signed payload: one device's (or reader's) run of the suite.
type Result struct {
	Version     int          `cbor:"1,keyasint"`
	Tool        Tool         `cbor:"2,keyasint"`
	Target      string       `cbor:"3,keyasint"` // "emulator" or "pcsc"
	Device      Device       `cbor:"4,keyasint"`
	Specs       []Spec       `cbor:"5,keyasint"`
	Transcripts []Transcript `cbor:"6,keyasint,omitempty"`
	Date        string       `cbor:"7,keyasint"`           // RFC 3339, UTC
	Verdicts    []Verdict    `cbor:"8,keyasint,omitempty"` // per mode: pin, visual
}

// Tool is the suite that produced the result, from the binary's build info.
type Tool struct {
	Module   string `cbor:"1,keyasint"`
	Version  string `cbor:"2,keyasint"`
	Revision string `cbor:"3,keyasint,omitempty"` // vcs.revision
	Time     string `cbor:"4,keyasint,omitempty"` // vcs.time
	Modified bool   `cbor:"5,keyasint,omitempty"` // vcs.modified: built from a dirty tree
	Go       string `cbor:"6,keyasint,omitempty"`
}

// Device is what the run was about: a device profile (emulator target) or a reader (pcsc).
type Device struct {
	ID string `cbor:"1,keyasint"`
	// ProfileSHA256 is the hex SHA-256 of the profile file as loaded (emulator target).
	ProfileSHA256 string `cbor:"2,keyasint,omitempty"`
	// Fields are the profile's or the reader's facts that decide verdicts, as strings
	// ("max_transceive": "65279", "atr": "3BE000FF8131FE4514", "envelope.longest_command": ...).
	Fields map[string]string `cbor:"3,keyasint,omitempty"`
}

// Spec is one spec's verdict.
type Spec struct {
	ID      string `cbor:"1,keyasint"`
	Passed  bool   `cbor:"2,keyasint"`
	Skipped bool   `cbor:"3,keyasint,omitempty"`
	Reason  string `cbor:"4,keyasint,omitempty"`
	// Run is which run of a -repeat run the verdict is of (1..N); 0 in a run without -repeat.
	Run int `cbor:"5,keyasint,omitempty"`
}

// Verdict is a mode's verdict (◯/×): ◯ only when the mode passed in every run.
type Verdict struct {
	Mode      string `cbor:"1,keyasint"` // "pin" or "visual"
	Supported bool   `cbor:"2,keyasint"`
	Reason    string `cbor:"3,keyasint,omitempty"`
	// Runs and PassedRuns give the pass rate of a -repeat run (omitted without -repeat).
	Runs       int `cbor:"4,keyasint,omitempty"`
	PassedRuns int `cbor:"5,keyasint,omitempty"`
}

// Transcript binds one transcript file by the path relative to the transcript folder.
type Transcript struct {
	Path   string `cbor:"1,keyasint"` // slash-separated, relative
	SHA256 string `cbor:"2,keyasint"` // hex
}

// ToolInfo reads the running binary's build info.
func ToolInfo() Tool {
	t := Tool{Module: "github.com/mynaconform/mynaconform", Version: "(devel)"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return t
	}
	t.Go = bi.GoVersion
	if bi.Main.Path != "" {
		t.Module = bi.Main.Path
	}
	if bi.Main.Version != "" {
		t.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			t.Revision = s.Value
		case "vcs.time":
			t.Time = s.Value
		case "vcs.modified":
			t.Modified = s.Value == "true"
		}
	}
	return t
}

// HashTranscripts lists the SHA-256 of the files named by rel (paths relative to dir), sorted.
func HashTranscripts(dir string, rel []string) ([]Transcript, error) {
	out := make([]Transcript, 0, len(rel))
	for _, r := range rel {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(r)))
		if err != nil {
			return nil, fmt.Errorf("certify: transcript %s: %w", r, err)
		}
		out = append(out, Transcript{Path: filepath.ToSlash(r), SHA256: sha256Hex(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func sha256Hex(b []byte) string {
	h := crypto.SHA256.New()
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// SHA256Hex is the hex SHA-256 of b (a profile file's bytes, for Device.ProfileSHA256).
func SHA256Hex(b []byte) string { return sha256Hex(b) }

var encMode = func() cbor.EncMode {
	m, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return m
}()

var decMode = func() cbor.DecMode {
	m, err := cbor.DecOptions{
		MaxNestedLevels: 8, MaxArrayElements: 100000, MaxMapPairs: 10000,
		DupMapKey: cbor.DupMapKeyEnforcedAPF, IndefLength: cbor.IndefLengthForbidden,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}()

// Errors of Verify; each wraps one of these.
var (
	ErrMalformed = errors.New("not a mynaconform signed result")
	ErrSignature = errors.New("signature does not verify")
	ErrKey       = errors.New("unusable key")
)

func algorithmOf(pub crypto.PublicKey) (cose.Algorithm, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return cose.AlgorithmEdDSA, nil
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return cose.AlgorithmES256, nil
		}
		return 0, fmt.Errorf("%w: ECDSA curve %s (use P-256)", ErrKey, k.Curve.Params().Name)
	case *rsa.PublicKey:
		if k.Size() < 256 {
			return 0, fmt.Errorf("%w: RSA key of %d bits (use 2048 or more)", ErrKey, k.Size()*8)
		}
		return cose.AlgorithmPS256, nil
	}
	return 0, fmt.Errorf("%w: %T (use Ed25519, ECDSA P-256 or RSA)", ErrKey, pub)
}

// KeyID is the key id the protected header carries: hex SHA-256 of the public key's SPKI DER.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrKey, err)
	}
	return sha256Hex(der), nil
}

// Sign encodes r and signs it into a tagged COSE_Sign1.
func Sign(r *Result, key crypto.Signer) ([]byte, error) {
	if r.Version == 0 {
		r.Version = FormatVersion
	}
	payload, err := encMode.Marshal(r)
	if err != nil {
		return nil, err
	}
	alg, err := algorithmOf(key.Public())
	if err != nil {
		return nil, err
	}
	signer, err := cose.NewSigner(alg, key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	kid, err := KeyID(key.Public())
	if err != nil {
		return nil, err
	}
	msg := cose.NewSign1Message()
	msg.Headers.Protected.SetAlgorithm(alg)
	msg.Headers.Protected[cose.HeaderLabelContentType] = ContentType
	msg.Headers.Protected[cose.HeaderLabelKeyID] = []byte(kid)
	msg.Payload = payload
	if err := msg.Sign(rand.Reader, nil, signer); err != nil {
		return nil, err
	}
	return msg.MarshalCBOR()
}

// Verify checks the signature of a signed result with pub and decodes the payload.
func Verify(data []byte, pub crypto.PublicKey) (*Result, error) {
	var msg cose.Sign1Message
	if err := msg.UnmarshalCBOR(data); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if ct, _ := msg.Headers.Protected[cose.HeaderLabelContentType].(string); ct != ContentType {
		return nil, fmt.Errorf("%w: content type %q", ErrMalformed, ct)
	}
	alg, err := algorithmOf(pub)
	if err != nil {
		return nil, err
	}
	got, err := msg.Headers.Protected.Algorithm()
	if err != nil || got != alg {
		return nil, fmt.Errorf("%w: signed with %v, the key is for %v", ErrSignature, got, alg)
	}
	if kid, _ := msg.Headers.Protected[cose.HeaderLabelKeyID].([]byte); kid != nil {
		if want, err := KeyID(pub); err == nil && string(kid) != want {
			return nil, fmt.Errorf("%w: signed by key %.16s…, not by this key (%.16s…)", ErrSignature, kid, want)
		}
	}
	verifier, err := cose.NewVerifier(alg, pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	if err := msg.Verify(nil, verifier); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	var r Result
	if err := decMode.Unmarshal(msg.Payload, &r); err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	if r.Version != FormatVersion {
		return nil, fmt.Errorf("%w: payload version %d (this tool reads %d)", ErrMalformed, r.Version, FormatVersion)
	}
	return &r, nil
}

// TranscriptError reports transcripts that do not match the signed result.
type TranscriptError struct {
	Problems []string // one line each: "PIN-001.cbor: SHA-256 differs from the signed one"
}

func (e *TranscriptError) Error() string {
	return "transcripts do not match the signed result: " + strings.Join(e.Problems, "; ")
}

// CheckTranscripts recomputes the SHA-256 of every transcript the result names, in dir, and
// reports each one missing or changed.
func CheckTranscripts(r *Result, dir string) error {
	var bad []string
	for _, t := range r.Transcripts {
		if strings.Contains(t.Path, "..") || filepath.IsAbs(t.Path) {
			bad = append(bad, t.Path+": path leaves the transcript folder")
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(t.Path)))
		switch {
		case errors.Is(err, os.ErrNotExist):
			bad = append(bad, t.Path+": missing")
		case err != nil:
			bad = append(bad, t.Path+": "+err.Error())
		case sha256Hex(b) != t.SHA256:
			bad = append(bad, t.Path+": SHA-256 differs from the signed one")
		}
	}
	if bad != nil {
		return &TranscriptError{Problems: bad}
	}
	return nil
}

// LoadPrivateKey reads a PEM private key: PKCS#8 ("PRIVATE KEY"), SEC 1 ("EC PRIVATE KEY") or
// PKCS#1 ("RSA PRIVATE KEY").
func LoadPrivateKey(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: %w: no PEM block (want a PKCS#8 private key)", path, ErrKey)
	}
	var k any
	switch blk.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(blk.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	default:
		return nil, fmt.Errorf("%s: %w: PEM block %q (want PRIVATE KEY)", path, ErrKey, blk.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", path, ErrKey, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: %w: %T cannot sign", path, ErrKey, k)
	}
	if _, err := algorithmOf(s.Public()); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// LoadPublicKey reads a PEM public key ("PUBLIC KEY", SPKI) or certificate ("CERTIFICATE").
func LoadPublicKey(path string) (crypto.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: %w: no PEM block (want a PUBLIC KEY)", path, ErrKey)
	}
	switch blk.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %v", path, ErrKey, err)
		}
		return k, nil
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %v", path, ErrKey, err)
		}
		return c.PublicKey, nil
	}
	return nil, fmt.Errorf("%s: %w: PEM block %q (want PUBLIC KEY or CERTIFICATE)", path, ErrKey, blk.Type)
}

// GenerateKey writes a new Ed25519 key pair as PEM: PKCS#8 private key (mode 0600) and SPKI
// public key, refusing to overwrite either file.
func GenerateKey(privPath, pubPath string) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	p8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return err
	}
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return err
	}
	if err := writeNew(privPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), 0o600); err != nil {
		return err
	}
	return writeNew(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}), 0o644)
}

func writeNew(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Now is the date a result carries (RFC 3339, UTC, seconds).
func Now(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

// Equal reports whether two results carry the same facts (for tests and merges).
func Equal(a, b *Result) bool {
	x, err1 := encMode.Marshal(a)
	y, err2 := encMode.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
