//go:build pcsc && linux

package loop_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mynaconform/mynaconform/conformance/hil/stack"
	"github.com/mynaconform/mynaconform/reports/transcript"
)

// replayResult is one APDU of `mynaconform replay -json`.
type replayResult struct {
	Index   int    `json:"index"`
	Verdict string `json:"verdict"`
	Why     string `json:"why"`
}

func replayJSON(t *testing.T, file string) ([]replayResult, int, string) {
	t.Helper()
	stdout, stderr, code := run(t, "replay", "-json", file)
	var rep struct {
		Results     []replayResult `json:"results"`
		Differences int            `json:"differences"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("replay -json %s: exit %d, %v\n%s\n%s", file, code, err, stdout, stderr)
	}
	return rep.Results, code, stdout + stderr
}

func readTranscript(t *testing.T, file string) *transcript.File {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	f, err := transcript.Read(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return f
}

func writeTranscript(t *testing.T, f *transcript.File, file string) {
	t.Helper()
	var b bytes.Buffer
	if err := transcript.Write(&b, f); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A transcript recorded through pcscd (the suite on target pcsc, through the stand-in of an
// extended-length handset) replays against the virtual card with no difference, exit 0; the same
// transcript edited to carry another status word, or a record of another layout, is reported at
// that APDU, exit 1.
func TestReplayOfATranscriptRecordedThroughPCSC(t *testing.T) {
	need(t)
	n := slot(t)
	s := serve(t, "synthetic-max-65279", n)
	s.present(t)
	rows, out := suite(t, "-target", "pcsc", "-reader", stack.ReaderName(n))
	row := onlyRow(t, rows)
	if !row.PIN.Supported || !row.Visual.Supported {
		t.Fatalf("the recording run: %+v", row)
	}
	dir := filepath.Join(out, "transcripts", row.ID)
	for _, spec := range []string{"PIN-001", "VIS-001"} {
		file := filepath.Join(dir, spec+".cbor")
		f := readTranscript(t, file)
		if f.Target != "pcsc" {
			t.Errorf("%s: target %q", file, f.Target)
		}
		results, code, text := replayJSON(t, file)
		if code != 0 || len(results) != len(f.Exchanges) {
			t.Errorf("replay of %s: exit %d, %d of %d APDUs\n%s", spec, code, len(results), len(f.Exchanges), text)
		}
		for _, r := range results {
			if r.Verdict == "DIFFERENT" {
				t.Errorf("replay of %s: APDU %d differs: %s", spec, r.Index, r.Why)
			}
		}
	}

	// Another status word: the SELECT of the auth certificate's EF answered 6A82.
	f := readTranscript(t, filepath.Join(dir, "PIN-001.cbor"))
	at := -1
	for i, e := range f.Exchanges {
		if len(e.Command) >= 7 && e.Command[1] == 0xA4 && e.Command[2] == 0x02 && bytes.Equal(e.Command[5:7], []byte{0x00, 0x0A}) {
			at = i
			break
		}
	}
	if at < 0 {
		t.Fatal("PIN-001 has no SELECT EF 000A")
	}
	f.Exchanges[at].Response = []byte{0x6A, 0x82}
	edited := filepath.Join(t.TempDir(), "PIN-001-sw.cbor")
	writeTranscript(t, f, edited)
	wantDifferenceAt(t, edited, at+1, "status word")

	// Another layout: the card face record (EF 0002) with another tag inside, in the READ that
	// completes the object.
	f = readTranscript(t, filepath.Join(dir, "VIS-001.cbor"))
	at = -1
	for i, e := range f.Exchanges {
		if strings.Contains(e.Step, "card face") && len(e.Command) > 2 && e.Command[1] == 0xB0 && len(e.Response) > 64 {
			at = i
		}
	}
	if at < 0 {
		t.Fatal("VIS-001 has no READ of the card face")
	}
	resp := bytes.Clone(f.Exchanges[at].Response)
	resp[0] ^= 0x01 // the first inner tag of the record
	f.Exchanges[at].Response = resp
	edited = filepath.Join(t.TempDir(), "VIS-001-layout.cbor")
	writeTranscript(t, f, edited)
	wantDifferenceAt(t, edited, at+1, "layout")
}

// wantDifferenceAt checks that replaying file exits 1 and reports exactly APDU index (1-based) as
// different, for a reason mentioning why.
func wantDifferenceAt(t *testing.T, file string, index int, why string) {
	t.Helper()
	results, code, text := replayJSON(t, file)
	if code != 1 {
		t.Errorf("replay of %s: exit %d, want 1\n%s", filepath.Base(file), code, text)
	}
	var diff []replayResult
	for _, r := range results {
		if r.Verdict == "DIFFERENT" {
			diff = append(diff, r)
		}
	}
	if len(diff) != 1 || diff[0].Index != index || !strings.Contains(diff[0].Why, why) {
		t.Errorf("replay of %s: differences %+v, want APDU %d (%s)\n%s", filepath.Base(file), diff, index, why, text)
	}
}
