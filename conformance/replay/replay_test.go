package replay_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/mynaconform/mynaconform/conformance/replay"
	"github.com/mynaconform/mynaconform/conformance/target"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/readers"
	"github.com/mynaconform/mynaconform/readers/session"
	"github.com/mynaconform/mynaconform/reports/transcript"
)

func persona(t *testing.T, id string) *fixtures.Persona {
	t.Helper()
	p, err := fixtures.PersonaByID(id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func card(t *testing.T, p *fixtures.Persona) readers.Reader {
	t.Helper()
	r, err := target.VirtualCard(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// record runs a session of real-client shape on the persona's card: the PIN-mode steps, the
// input-support AP's My Number and basic four, the card face with its presence signature, a
// challenge, a wrong PIN's 63Cx and a missing file's 6A82.
func record(t *testing.T, p *fixtures.Persona) *transcript.File {
	t.Helper()
	ctx := context.Background()
	r := card(t, p)
	if err := r.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	s := session.New(r)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	h := sha256.Sum256([]byte("challenge"))
	s.Step("jpki")
	must(s.SelectAID(ctx, mynumber.AIDJPKI))
	_, err := s.ReadObject(ctx, mynumber.JPKIAuthCert)
	must(err)
	_, err = s.Retries(ctx, mynumber.JPKIAuthPIN)
	must(err)
	must(s.Verify(ctx, mynumber.JPKIAuthPIN, []byte(p.AuthPIN), session.SecretPIN))
	_, err = s.Sign(ctx, mynumber.SigPKCS1Raw, mynumber.JPKIAuthKey, mynumber.DigestInfoSHA256(h[:]))
	must(err)
	_, err = s.GetChallenge(ctx, 8)
	must(err)
	s.Step("kenhojo")
	must(s.SelectAID(ctx, mynumber.AIDInputSupport))
	must(s.Verify(ctx, mynumber.InputPIN, []byte(p.KenhojoPIN), session.SecretPIN))
	must(s.SelectEF(ctx, mynumber.InputMyNumber))
	_, err = s.ReadBinary(ctx, 0, 17)
	must(err)
	_, err = s.ReadObject(ctx, mynumber.InputBasicFour)
	must(err)
	s.Step("kenkaku")
	must(s.SelectAID(ctx, mynumber.AIDCardFace))
	must(s.Verify(ctx, mynumber.FaceNumberB, []byte(p.VerificationB()), session.SecretVerificationB))
	_, err = s.ReadObject(ctx, mynumber.FaceRecordEF)
	must(err)
	_, err = s.Sign(ctx, mynumber.SigPKCS1Raw, 0, mynumber.DigestInfoSHA256(h[:]))
	must(err)
	s.Step("errors")
	if err := s.Verify(ctx, mynumber.FaceNumberB, []byte("00000000000000"), session.SecretVerificationB); err == nil {
		t.Fatal("a wrong 照合番号B verified")
	}
	if err := s.SelectEF(ctx, 0x001D); err == nil {
		t.Fatal("EF 001D selected")
	}
	return &transcript.File{Version: transcript.Version, Target: "emulator", Device: "virtual card", Mode: "replay-test",
		Persona: p.ID, Exchanges: transcript.FromSession(s.Exchanges())}
}

func run(t *testing.T, f *transcript.File, p *fixtures.Persona) *replay.Report {
	t.Helper()
	rep, err := replay.Run(context.Background(), card(t, p), f, replay.Options{Secrets: replay.PersonaSecrets(p), Persona: p.ID})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// A recording replays on a fresh card of the same persona with no difference, and on another
// persona's card with only the differences two genuine cards have.
func TestReplayNoDifference(t *testing.T) {
	adult := persona(t, "adult")
	f := record(t, adult)
	for _, p := range []*fixtures.Persona{adult, persona(t, "elderly")} {
		rep := run(t, f, p)
		var out bytes.Buffer
		_ = rep.Print(&out, true)
		if rep.Differences != 0 {
			t.Fatalf("%s: %d differences:\n%s", p.ID, rep.Differences, out.String())
		}
		verdicts := map[replay.Verdict]int{}
		for _, r := range rep.Results {
			verdicts[r.Verdict]++
		}
		// The challenge and the masked My Number differ on every replay; on another persona's card
		// the signatures (its own keys) and the files (its own data, same layouts) do too.
		want := []string{"random challenge", "masked secret data"}
		if p != adult {
			want = append(want, "signature by the card's own key", "layout matches")
		}
		for _, w := range want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s: report does not say %q:\n%s", p.ID, w, out.String())
			}
		}
	}
}

func edited(f *transcript.File, pick func(i int, ex transcript.Exchange) bool, edit func(resp []byte)) (*transcript.File, int) {
	g := *f
	g.Exchanges = append([]transcript.Exchange(nil), f.Exchanges...)
	for i, ex := range g.Exchanges {
		if pick(i, ex) {
			ex.Response = bytes.Clone(ex.Response)
			edit(ex.Response)
			g.Exchanges[i] = ex
			return &g, i + 1
		}
	}
	return nil, 0
}

// A recording that carries another status word, or another layout, is reported at that APDU.
func TestReplayReportsDifferences(t *testing.T) {
	adult := persona(t, "adult")
	f := record(t, adult)
	selectKenkaku := append([]byte{0x00, 0xA4, 0x04, 0x0C, 0x0A}, mynumber.AIDCardFace...)
	g, at := edited(f, func(_ int, ex transcript.Exchange) bool { return bytes.Equal(ex.Command, selectKenkaku) },
		func(resp []byte) { resp[0], resp[1] = 0x6A, 0x82 })
	rep := run(t, g, adult)
	if rep.Differences != 1 || rep.Results[at-1].Verdict != replay.Different || !strings.Contains(rep.Results[at-1].Why, "status word 9000") {
		var out bytes.Buffer
		_ = rep.Print(&out, false)
		t.Fatalf("SW edit at #%d: %d differences\n%s", at, rep.Differences, out.String())
	}
	// The basic four recorded with another tag in its layout (DF25 -> DF26).
	g, at = edited(f, func(_ int, ex transcript.Exchange) bool {
		return ex.Step == "kenhojo" && bytes.Contains(ex.Response, []byte{0xDF, 0x25, 0x01})
	}, func(resp []byte) {
		i := bytes.LastIndex(resp[:len(resp)-2], []byte{0xDF, 0x25, 0x01})
		resp[i+1] = 0x26
	})
	if g == nil {
		t.Fatal("no whole read of the basic four in the recording")
	}
	rep = run(t, g, adult)
	var out bytes.Buffer
	_ = rep.Print(&out, false)
	if rep.Differences != 1 || rep.Results[at-1].Verdict != replay.Different || !strings.Contains(rep.Results[at-1].Why, "layout") {
		t.Fatalf("layout edit at #%d: %d differences\n%s", at, rep.Differences, out.String())
	}
}
