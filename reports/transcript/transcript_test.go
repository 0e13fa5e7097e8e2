package transcript

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sample is a small transcript of the shapes the suite records: SELECT by AID, a short READ
// BINARY with data, a VERIFY with a PIN and a wrong-PIN answer, an extended-Lc 80 A2 that the
// transport refused, an extended-Le read and a read of the My Number marked secret.
func sample(t testing.TB) *File {
	cert := bytes.Repeat([]byte{0x5A}, 612)
	extA2 := append(mustHex(t, "80 A2 00 C1 00 02 64"), cert...)
	return &File{
		Version: Version, Target: "emulator", Device: "samsung-galaxy-s3-stock", Mode: "pin", Persona: "taro",
		Exchanges: []Exchange{
			{Step: "PIN-001 select JPKI-AP", Command: mustHex(t, "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"), Response: mustHex(t, "90 00"), Elapsed: 1200 * time.Microsecond},
			{Step: "PIN-001 read auth certificate", Command: mustHex(t, "00 B0 00 00 04"), Response: mustHex(t, "30 82 05 1C 90 00"), Elapsed: 3 * time.Millisecond},
			Mask(Exchange{Step: "PIN-002 VERIFY 0018", Command: mustHex(t, "00 20 00 98 04 31 32 33 35"), Response: mustHex(t, "63 C2"), Elapsed: 40 * time.Millisecond}, true),
			{Step: "VIS-002 terminal certificate (80 A2)", Command: extA2, Err: "transceive length exceeds supported maximum (619 > 261)"},
			{Step: "VIS-004 read card face", Command: mustHex(t, "00 B0 00 00 00 00 00"), Response: mustHex(t, "FF 20 82 1F 40 90 00"), Elapsed: 792 * time.Millisecond},
			Mask(Exchange{Step: "MN-001 read My Number", Command: mustHex(t, "00 B0 00 00 11"), Response: mustHex(t, "FF 10 0C 31 32 33 34 35 36 37 38 39 30 31 32 FF FF 90 00"), Elapsed: 5 * time.Millisecond}, true),
		},
	}
}

func encode(t testing.TB, f *File) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, f); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return b.Bytes()
}

func TestRoundTripAndDeterminism(t *testing.T) {
	f := sample(t)
	a := encode(t, f)
	b := encode(t, sample(t))
	if !bytes.Equal(a, b) {
		t.Fatal("the same transcript encoded to different bytes")
	}
	got, err := Read(bytes.NewReader(a))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if !reflect.DeepEqual(got, f) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, f)
	}
	// Read then Write gives the identical bytes back.
	if c := encode(t, got); !bytes.Equal(a, c) {
		t.Fatal("re-encoding a read transcript changed its bytes")
	}
	// Integer keys: the file starts with a map whose first key is 1 (version), not a name.
	if a[0] != 0xA6 || a[1] != 0x01 {
		t.Fatalf("file starts % X, want a 6-pair map keyed by integers", a[:2])
	}
}

func TestMaskShortAndExtended(t *testing.T) {
	for _, tc := range []struct {
		name, cmd, want string
	}{
		{"short Lc", "00 20 00 80 04 31 32 33 34", "00 20 00 80 04 2A 2A 2A 2A"},
		{"short Lc and Le", "00 20 00 80 04 31 32 33 34 00", "00 20 00 80 04 2A 2A 2A 2A 00"},
		{"extended Lc", "00 20 00 80 00 00 0E 35 35 30 32 31 37 32 30 33 35 32 32 38 35", "00 20 00 80 00 00 0E 2A 2A 2A 2A 2A 2A 2A 2A 2A 2A 2A 2A 2A 2A"},
		{"extended Lc and Le", "00 20 00 80 00 00 04 31 32 33 34 00 00", "00 20 00 80 00 00 04 2A 2A 2A 2A 00 00"},
		{"change reference data", "00 24 01 80 04 39 38 37 36", "00 24 01 80 04 2A 2A 2A 2A"},
		{"retry-counter query has no data", "00 20 00 80", "00 20 00 80"},
		{"malformed: all after the header", "00 20 00 80 00 31", "00 20 00 80 2A 2A"},
		{"Lc longer than the data", "00 20 00 80 08 31 32", "00 20 00 80 2A 2A 2A"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := mustHex(t, tc.cmd)
			orig := bytes.Clone(in)
			ex := Mask(Exchange{Command: in, Response: mustHex(t, "90 00")}, false)
			if want := mustHex(t, tc.want); !bytes.Equal(ex.Command, want) {
				t.Fatalf("masked % X, want % X", ex.Command, want)
			}
			if !bytes.Equal(in, orig) {
				t.Fatal("Mask modified the caller's command")
			}
			if wantMasked := tc.cmd != tc.want; ex.Masked != wantMasked {
				t.Fatalf("Masked = %v, want %v", ex.Masked, wantMasked)
			}
			if !bytes.Equal(ex.Response, mustHex(t, "90 00")) {
				t.Fatal("the status word must never be masked")
			}
			if err := Write(&bytes.Buffer{}, &File{Exchanges: []Exchange{ex}}); err != nil {
				t.Fatalf("Write refused a masked command: %v", err)
			}
		})
	}
}

func TestMaskSecretResponse(t *testing.T) {
	ex := Mask(Exchange{Command: mustHex(t, "00 B0 00 00 11"), Response: mustHex(t, "FF 10 0C 31 32 33 90 00")}, true)
	if want := mustHex(t, "2A 2A 2A 2A 2A 2A 90 00"); !bytes.Equal(ex.Response, want) || !ex.Masked {
		t.Fatalf("response % X masked=%v, want % X", ex.Response, ex.Masked, want)
	}
	if !bytes.Equal(ex.Command, mustHex(t, "00 B0 00 00 11")) {
		t.Fatal("a command without data must stay as it was")
	}
	// Not secret and not a VERIFY: untouched.
	plain := Exchange{Command: mustHex(t, "00 A4 04 0C 02 D3 92"), Response: mustHex(t, "01 02 90 00")}
	if got := Mask(plain, false); !reflect.DeepEqual(got, plain) {
		t.Fatalf("Mask changed a non-secret exchange: %+v", got)
	}
}

func TestWriteRefusesUnmaskedSecrets(t *testing.T) {
	for _, cmd := range []string{
		"00 20 00 98 04 31 32 33 34",       // VERIFY, short
		"00 20 00 80 00 00 04 31 32 33 34", // VERIFY, extended
		"00 24 01 80 04 31 32 33 34",       // CHANGE REFERENCE DATA
		"00 20 00 80 04 2A 2A 2A 34",       // partly masked
		"00 20 00 80 00 31",                // malformed VERIFY
	} {
		f := &File{Exchanges: []Exchange{{Step: "x", Command: mustHex(t, cmd), Masked: true}}}
		var b bytes.Buffer
		if err := Write(&b, f); !errors.Is(err, ErrUnmaskedSecret) {
			t.Errorf("Write(% s) = %v, want ErrUnmaskedSecret", cmd, err)
		}
		if b.Len() != 0 {
			t.Errorf("Write(% s) wrote %d bytes despite refusing", cmd, b.Len())
		}
		if strings.Contains(errString(Write(&b, f)), "31 32") {
			t.Error("the error repeats the secret")
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestReadRejects(t *testing.T) {
	good := encode(t, sample(t))
	// A hand-made file with an unmasked VERIFY, encoded around Write's check.
	bad := *sample(t)
	bad.Exchanges = []Exchange{{Step: "x", Command: mustHex(t, "00 20 00 80 04 31 32 33 34")}}
	unmasked, err := encMode.Marshal(&bad)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"empty":          {},
		"truncated":      good[:len(good)-3],
		"trailing data":  append(bytes.Clone(good), 0x00),
		"unknown field":  mustHex(t, "A2 01 01 18 63 00"), // {1: 1, 99: 0}
		"duplicate key":  mustHex(t, "A2 01 01 01 01"),    // {1: 1, 1: 1}
		"indefinite map": mustHex(t, "BF 01 01 FF"),       // {_ 1: 1}
		"tag":            mustHex(t, "C1 A1 01 01"),       // 1({1: 1})
		"wrong version":  mustHex(t, "A1 01 02"),          // {1: 2}
		"unmasked":       unmasked,
		"deep nesting":   bytes.Repeat([]byte{0x81}, 100),
		"string as key":  mustHex(t, "A1 67 76 65 72 73 69 6F 6E 01"), // {"version": 1}
	} {
		if _, err := Read(bytes.NewReader(data)); err == nil {
			t.Errorf("%s: Read accepted it", name)
		}
	}
	if _, err := Read(bytes.NewReader(mustHex(t, "A1 01 01"))); err != nil {
		t.Errorf("Read of a minimal file {1: 1}: %v", err)
	}
	// A malformed command a robustness spec sent is evidence too: kept and printed.
	f, err := Read(bytes.NewReader(mustHex(t, "A2 01 01 06 81 A2 02 42 00 A4 03 42 67 00"))) // {1: 1, 6: [{2: h'00A4', 3: h'6700'}]}
	if err != nil {
		t.Fatalf("Read of a 2-byte command: %v", err)
	}
	var b bytes.Buffer
	if err := Print(&b, f); err != nil || !strings.Contains(b.String(), "malformed command") || !strings.Contains(b.String(), "67 00  (wrong length (Lc or Le))") {
		t.Errorf("Print of a 2-byte command: %v\n%s", err, b.String())
	}
}

func TestReadSizeLimit(t *testing.T) {
	big := bytes.Repeat([]byte{0}, MaxFileSize+1)
	if _, err := Read(bytes.NewReader(big)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("Read of %d bytes: %v", len(big), err)
	}
}

func TestPrintGolden(t *testing.T) {
	var b bytes.Buffer
	if err := Print(&b, sample(t)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "print.golden")
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update once to create it)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Fatalf("Print output drifted from %s:\n%s", path, b.String())
	}
	// The PIN and the My Number of the sample never show.
	for _, secret := range []string{"31 32 33 35", "31 32 33 34 35 36"} {
		if strings.Contains(b.String(), secret) {
			t.Errorf("printed transcript contains % s", secret)
		}
	}
}

func TestStatusMeaning(t *testing.T) {
	for sw, want := range map[[2]byte]string{
		{0x90, 0x00}: "normal processing",
		{0x63, 0xC2}: "wrong reference data, 2 tries left",
		{0x63, 0xC0}: "wrong reference data, no tries left: blocked",
		{0x69, 0x84}: "reference data not usable (blocked)",
		{0x69, 0x82}: "security status not satisfied",
		{0x61, 0x10}: "16 more bytes available (GET RESPONSE)",
		{0x6C, 0x00}: "wrong Le: 256 bytes available",
		{0x12, 0x34}: "unknown status",
	} {
		if got := statusMeaning(sw[0], sw[1]); got != want {
			t.Errorf("%02X%02X: %q, want %q", sw[0], sw[1], got, want)
		}
	}
}

func FuzzRead(f *testing.F) {
	f.Add(encode(f, sample(f)))
	f.Add(mustHex(f, "A1 01 01"))
	f.Add(mustHex(f, "A2 01 01 06 81 A2 02 46 00 A4 04 00 00 01 03 42 90 00"))
	f.Add(mustHex(f, "A2 01 01 06 81 A1 02 47 00 20 00 80 00 00 00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Whatever Read accepts prints, re-encodes, and reads back the same.
		if err := Print(&bytes.Buffer{}, file); err != nil {
			t.Fatalf("Print: %v", err)
		}
		enc := encode(t, file)
		again, err := Read(bytes.NewReader(enc))
		if err != nil {
			t.Fatalf("Read of re-encoded file: %v", err)
		}
		if !bytes.Equal(enc, encode(t, again)) {
			t.Fatal("encoding is not stable")
		}
	})
}

func TestJSONForm(t *testing.T) {
	f := sample(t)
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"command":"00A4040C0AD392F000260100000001"`, `"status":"wrong reference data, 2 tries left"`, `"name":"VERIFY"`, `"masked":true`, `"elapsed_ns":792000000`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s", want)
		}
	}
	var back File
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, f) {
		t.Fatalf("JSON round trip differs:\n got %+v\nwant %+v", back, f)
	}
}
