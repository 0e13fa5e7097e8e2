package session

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/formats/iso7816"
	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/readers"
)

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func newFake(caps readers.Capabilities, c *fakeCard) (*fakeReader, *Session) {
	r := &fakeReader{caps: caps, handle: c.transmit, per: time.Millisecond}
	return r, New(r)
}

func jpkiCard(cert []byte) *fakeCard {
	myNumber := append(h("FF100C"), []byte("123456789012")...)
	return &fakeCard{
		files: map[string]map[uint16][]byte{
			string(mynumber.AIDJPKI):         {0x000A: cert, 0x0018: nil},
			string(mynumber.AIDInputSupport): {0x0001: append(myNumber, 0xFF, 0xFF)},
		},
		pin: []byte("1234"), tries: 3,
	}
}

var (
	capsShort = readers.Capabilities{MaxCommand: 261}
	capsExt   = readers.Capabilities{MaxCommand: 65279, Extended: true}
	capsIOS   = readers.Capabilities{MaxCommand: 65544, MaxResponse: 1693, Extended: true}
)

// TestReadObjectDecisions checks how many READs and of what form the session sends per caps.
func TestReadObjectDecisions(t *testing.T) {
	ctx := context.Background()
	cert := certFile(2000, 300)
	for _, tc := range []struct {
		name string
		caps readers.Capabilities
		// commands after SELECT AID, SELECT EF and the 4-byte header read
		reads []string
	}{
		{"short", capsShort, []string{
			"00B0000400", "00B0010400", "00B0020400", "00B0030400", "00B0040400", "00B0050400", "00B0060400",
			"00B00704CC"}},
		{"extended", capsExt, []string{"00B0000400 07CC"}},
		{"ios-1693", capsIOS, []string{"00B0000400 069B", "00B0069F00 0131"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, s := newFake(tc.caps, jpkiCard(cert))
			if err := s.SelectAID(ctx, mynumber.AIDJPKI); err != nil {
				t.Fatal(err)
			}
			got, err := s.ReadObject(ctx, 0x000A)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, cert[:2000]) {
				t.Fatalf("ReadObject returned %d bytes, not the 2000-byte object", len(got))
			}
			want := append([]string{"00A4040C0AD392F000260100000001", "00A4020C02000A", "00B0000004"}, tc.reads...)
			if len(r.sent) != len(want) {
				t.Fatalf("sent %d commands, want %d: % X", len(r.sent), len(want), r.sent)
			}
			for i, w := range want {
				if !bytes.Equal(r.sent[i], h(w)) {
					t.Errorf("command %d = % X, want %s", i, r.sent[i], w)
				}
			}
			for i, e := range s.Exchanges() {
				if e.Extended != iso7816.IsExtended(e.Command) || (e.Extended && tc.caps.Extended == false) {
					t.Errorf("exchange %d: Extended %v for % X", i, e.Extended, e.Command)
				}
			}
		})
	}
}

func TestReadObjectTwoByteTag(t *testing.T) {
	ctx := context.Background()
	body := bytes.Repeat([]byte{0x5A}, 300)
	obj := append(h("FF2082012C"), body...)
	c := &fakeCard{files: map[string]map[uint16][]byte{string(mynumber.AIDCardFace): {0x0002: append(obj, 0xFF, 0xFF, 0xFF)}}}
	r, s := newFake(capsExt, c)
	if err := s.SelectAID(ctx, mynumber.AIDCardFace); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadObject(ctx, 0x0002)
	if err != nil || !bytes.Equal(got, obj) {
		t.Fatalf("ReadObject = %d bytes, %v; want the %d-byte object", len(got), err, len(obj))
	}
	// header of 5 bytes: 4 then 1, then the rest in one extended READ
	want := []string{"00B0000004", "00B0000401", "00B0000500 012C"}
	for i, w := range want {
		if c := r.sent[2+i]; !bytes.Equal(c, h(w)) {
			t.Errorf("read %d = % X, want %s", i, c, w)
		}
	}
}

func TestReadObjectErrors(t *testing.T) {
	ctx := context.Background()
	c := &fakeCard{files: map[string]map[uint16][]byte{string(mynumber.AIDJPKI): {
		0x0001: certFile(600, 0)[:300], // header promises 600 bytes, file holds 300
		0x0002: h("30"),                // no header
	}}}
	_, s := newFake(capsShort, c)
	if err := s.SelectAID(ctx, mynumber.AIDJPKI); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadObject(ctx, 0x0001); err == nil {
		t.Error("truncated file read without error")
	}
	if _, err := s.ReadObject(ctx, 0x0002); err == nil {
		t.Error("1-byte file read without error")
	}
	if _, err := s.ReadObject(ctx, 0x0009); !errors.Is(err, iso7816.SWFileNotFound) {
		t.Errorf("missing EF: %v, want iso7816.SWFileNotFound", err)
	}
}

// TestReadObjectCardCap: a card that answers at most 1000 bytes per READ (with 9000) on an
// extended reader; the session reads on from where the card stopped.
func TestReadObjectCardCap(t *testing.T) {
	ctx := context.Background()
	cert := certFile(2500, 100)
	c := jpkiCard(cert)
	c.maxRead = 1000
	r, s := newFake(capsExt, c)
	_ = s.SelectAID(ctx, mynumber.AIDJPKI)
	got, err := s.ReadObject(ctx, 0x000A)
	if err != nil || !bytes.Equal(got, cert[:2500]) {
		t.Fatalf("ReadObject = %d bytes, %v", len(got), err)
	}
	want := []string{"00B0000400 09C0", "00B003EC00 05D8", "00B007D400 01F0"}
	for i, w := range want {
		if c := r.sent[3+i]; !bytes.Equal(c, h(w)) {
			t.Errorf("read %d = % X, want %s", i, c, w)
		}
	}
	if len(r.sent) != 6 {
		t.Errorf("%d commands", len(r.sent))
	}
}

func TestReadBinaryEndOfFile(t *testing.T) {
	ctx := context.Background()
	f := certFile(300, 0)
	c := &fakeCard{files: map[string]map[uint16][]byte{string(mynumber.AIDJPKI): {0x0001: f}}}
	_, s := newFake(capsShort, c)
	_ = s.SelectAID(ctx, mynumber.AIDJPKI)
	_ = s.SelectEF(ctx, 1)
	got, err := s.ReadBinary(ctx, 0, 1000)
	if err != nil || !bytes.Equal(got, f) {
		t.Fatalf("ReadBinary past EOF = %d bytes, %v", len(got), err)
	}
	// exactly at the end: 6B00 after data ends the read cleanly
	c.files[string(mynumber.AIDJPKI)][1] = f[:256]
	got, err = s.ReadBinary(ctx, 0, 512)
	if err != nil || len(got) != 256 {
		t.Fatalf("ReadBinary of a 256-byte file = %d bytes, %v", len(got), err)
	}
	if _, err := s.ReadBinary(ctx, 300, 1); !errors.Is(err, iso7816.SWWrongOffset) {
		t.Errorf("offset beyond the end: %v, want iso7816.SWWrongOffset", err)
	}
	if _, err := s.ReadBinary(ctx, 0x8000, 1); err == nil {
		t.Error("16-bit offset accepted")
	}
}

func TestGetResponseAndWrongLe(t *testing.T) {
	ctx := context.Background()
	payload := bytes.Repeat([]byte{0xAB}, 300)
	r := &fakeReader{caps: capsShort}
	r.handle = func(cmd []byte) ([]byte, error) {
		switch {
		case bytes.Equal(cmd, h("80 2A 00 97 01 AA 00")):
			return h("6100"), nil // 256 bytes waiting
		case bytes.Equal(cmd, h("00 C0 00 00 00")):
			return sw(payload[:256], 0x612C), nil
		case bytes.Equal(cmd, h("00 C0 00 00 2C")):
			return sw(payload[256:], 0x9000), nil
		case bytes.Equal(cmd, h("00 84 00 00 08")):
			return h("6C04"), nil
		case bytes.Equal(cmd, h("00 84 00 00 04")):
			return sw(payload[:4], 0x9000), nil
		}
		return h("6D00"), nil
	}
	s := New(r)
	sig, err := s.Sign(ctx, 0, 0x0017, h("AA"))
	if err != nil || !bytes.Equal(sig, payload) {
		t.Fatalf("Sign through 61xx = %d bytes, %v", len(sig), err)
	}
	data, code, err := s.Transmit(ctx, h("00 84 00 00 08"), SecretNone)
	if err != nil || code != 0x9000 || len(data) != 4 {
		t.Fatalf("6Cxx re-send: % X %04X %v", data, code, err)
	}
	if _, err := s.GetChallenge(ctx, 8); err == nil {
		t.Error("challenge of 4 bytes accepted for 8")
	}
	want := []string{"802A009701AA00", "00C0000000", "00C000002C", "0084000008", "0084000004"}
	ex := s.Exchanges()
	for i, w := range want {
		if !bytes.Equal(ex[i].Command, h(w)) {
			t.Errorf("exchange %d = % X, want %s", i, ex[i].Command, w)
		}
	}
}

func TestEndlessGetResponse(t *testing.T) {
	r := &fakeReader{handle: func([]byte) ([]byte, error) { return h("6110"), nil }}
	s := New(r)
	if _, _, err := s.Transmit(context.Background(), h("00 84 00 00 08"), SecretNone); err == nil {
		t.Fatal("endless 61xx accepted")
	}
	if n := len(r.sent); n < 2 || n > 300 {
		t.Errorf("%d commands sent", n)
	}
}

func TestWrongLeExtended(t *testing.T) {
	r := &fakeReader{caps: capsExt}
	r.handle = func(cmd []byte) ([]byte, error) {
		if bytes.Equal(cmd, h("00B00000 000400")) {
			return h("6C10"), nil
		}
		if bytes.Equal(cmd, h("00B00000 000010")) {
			return sw(make([]byte, 16), 0x9000), nil
		}
		return h("6700"), nil
	}
	data, code, err := New(r).Transmit(context.Background(), h("00B00000 000400"), SecretNone)
	if err != nil || code != 0x9000 || len(data) != 16 {
		t.Fatalf("extended 6Cxx re-send: %d bytes %04X %v", len(data), code, err)
	}
}

// Every status word reaches the caller as itself: errors.Is matches the iso7816 value, the
// message names the word and its meaning. The words no table of the session could match before
// (6300, 6986, 6884, 6581, issue 9) are among them.
func TestTypedErrors(t *testing.T) {
	ctx := context.Background()
	for _, code := range []iso7816.StatusWord{
		iso7816.SWBlocked, iso7816.SWSecurityStatus, iso7816.SWFileNotFound, iso7816.SWWrongP1P2, iso7816.SWWrongLength,
		iso7816.SWWrongOffset, iso7816.SWINSNotSupported, iso7816.SWCLANotSupported, iso7816.SWConditions, iso7816.SWWrongData,
		iso7816.SWChannelNotSupported, iso7816.SWSMNoSession, iso7816.SWSMNotSupported, iso7816.SWVerifyFailed,
		iso7816.SWNoCurrentEF, iso7816.SWChainingNotSupported, iso7816.SWMemoryFailure, iso7816.SWFileStructure,
		iso7816.SWNoSecurityEnv, iso7816.SWDataNotFound, iso7816.SWNoPreciseDiagnosis,
	} {
		r := &fakeReader{handle: func([]byte) ([]byte, error) { return sw(nil, uint16(code)), nil }}
		err := New(r).SelectEF(ctx, 0x0006)
		var se *StatusError
		if !errors.Is(err, code) || !errors.As(err, &se) || se.SW != code {
			t.Errorf("%v: %v", code, err)
		}
		if !strings.Contains(err.Error(), code.String()) || !strings.Contains(err.Error(), code.Meaning()) {
			t.Errorf("%v: message %q does not name the SW and its meaning", code, err)
		}
		if errors.Is(err, iso7816.SWSecurityStatus) != (code == iso7816.SWSecurityStatus) {
			t.Errorf("%v matches 6982", code)
		}
	}
}

func TestVerifyAndRetries(t *testing.T) {
	ctx := context.Background()
	c := jpkiCard(nil)
	_, s := newFake(capsShort, c)
	_ = s.SelectAID(ctx, mynumber.AIDJPKI)
	if n, err := s.Retries(ctx, 0x0018); n != 3 || err != nil {
		t.Fatalf("Retries = %d, %v", n, err)
	}
	err := s.Verify(ctx, 0x0018, []byte("0000"), SecretPIN)
	var pe *PINError
	if !errors.As(err, &pe) || pe.Retries != 2 || errors.Is(err, iso7816.SWBlocked) {
		t.Fatalf("wrong PIN: %v", err)
	}
	if strings.Contains(err.Error(), "0000") {
		t.Errorf("error %q shows the secret", err)
	}
	if err := s.Verify(ctx, 0x0018, []byte("1234"), SecretPIN); err != nil {
		t.Fatalf("right PIN: %v", err)
	}
	_ = s.Verify(ctx, 0x0018, []byte("0000"), SecretPIN)
	err = s.Verify(ctx, 0x0018, []byte("0000"), SecretPIN)
	if !errors.As(err, &pe) || pe.Retries != 0 || !errors.Is(err, iso7816.SWBlocked) {
		t.Fatalf("exhausting try: %v", err)
	}
	if err := s.Verify(ctx, 0x0018, []byte("1234"), SecretPIN); !errors.Is(err, iso7816.SWBlocked) {
		t.Fatalf("after blocking: %v", err)
	}
	if n, err := s.Retries(ctx, 0x0018); n != 0 || !errors.Is(err, iso7816.SWBlocked) {
		t.Fatalf("Retries when blocked = %d, %v", n, err)
	}
	if err := s.Verify(ctx, 0x0100, []byte("1"), SecretPIN); err == nil {
		t.Error("EF 0100 has no short EF identifier")
	}
	if err := s.Verify(ctx, 0x0018, nil, SecretPIN); err == nil {
		t.Error("empty secret sent (that would be a retry query)")
	}
	if got := s.Exchanges()[2].Command; !bytes.Equal(got, h("00 20 00 98 04 30303030")) {
		t.Errorf("VERIFY by short EF = % X", got)
	}
}

func TestTransportErrors(t *testing.T) {
	ctx := context.Background()
	lost := &readers.TransportError{Reader: "fake", Op: "transmit", Err: readers.ErrTagLost}
	r := &fakeReader{handle: func([]byte) ([]byte, error) { return nil, lost }}
	s := New(r)
	_, err := s.ReadObject(ctx, 0x000A)
	var te *readers.TransportError
	if !errors.Is(err, readers.ErrTagLost) || !errors.As(err, &te) {
		t.Fatalf("tag lost: %v", err)
	}
	if e := s.Exchanges()[0]; e.Response != nil || e.Err != lost.Error() {
		t.Errorf("recorded %+v", e)
	}
	for _, resp := range [][]byte{nil, {0x90}} {
		r.handle = func([]byte) ([]byte, error) { return resp, nil }
		if _, _, err := s.Transmit(ctx, h("00A4020C020006"), SecretNone); !errors.Is(err, readers.ErrShortResponse) || !errors.As(err, &te) {
			t.Errorf("response % X: %v", resp, err)
		}
	}
}

func TestTranscript(t *testing.T) {
	ctx := context.Background()
	r, s := newFake(capsExt, jpkiCard(certFile(100, 10)))
	s.Step("login/select")
	_ = s.SelectAID(ctx, mynumber.AIDJPKI)
	s.Step("login/verify")
	_ = s.Verify(ctx, 0x0018, []byte("1234"), SecretPIN)
	s.Step("kenhojo/my-number")
	_ = s.SelectAID(ctx, mynumber.AIDInputSupport)
	mn, err := s.ReadObject(ctx, 0x0001)
	if err != nil || !bytes.Contains(mn, []byte("123456789012")) {
		t.Fatalf("my number read: %q %v", mn, err)
	}
	if got := strings.Join(r.steps, ","); got != "login/select,login/verify,kenhojo/my-number" {
		t.Errorf("steps forwarded: %s", got)
	}
	ex := s.Exchanges()
	if len(ex) != len(r.sent) {
		t.Fatalf("%d exchanges for %d commands", len(ex), len(r.sent))
	}
	var total time.Duration
	for i, e := range ex {
		if !bytes.Equal(e.Command, r.sent[i]) || e.Elapsed != time.Millisecond || len(e.Response) < 2 {
			t.Errorf("exchange %d: %+v", i, e)
		}
		total += e.Elapsed
	}
	if s.Elapsed() != total || total != r.elapsed {
		t.Errorf("Elapsed %v, sum %v, reader %v", s.Elapsed(), total, r.elapsed)
	}
	if ex[0].Step != "login/select" || ex[1].Step != "login/verify" || ex[1].Secret != SecretPIN {
		t.Errorf("labels: %+v %+v", ex[0], ex[1])
	}
	// the exact bytes are kept, the masked copy hides the PIN and the My Number
	if !bytes.Equal(ex[1].Command, h("00 20 00 98 04 31323334")) {
		t.Errorf("VERIFY kept as % X", ex[1].Command)
	}
	tr := s.Transcript()
	if !bytes.Equal(tr[1].Command, h("00 20 00 98 04 2A2A2A2A")) {
		t.Errorf("masked VERIFY % X", tr[1].Command)
	}
	var dump strings.Builder
	for i, e := range tr {
		fmt.Fprintln(&dump, e)
		fmt.Fprintf(&dump, "%v %#v\n", ex[i], ex[i])
		if ex[i].SecretResponse != (ex[i].Step == "kenhojo/my-number" && ex[i].Command[1] == iso7816.InsReadBinary) {
			t.Errorf("exchange %d (% X): SecretResponse %v", i, ex[i].Command, ex[i].SecretResponse)
		}
	}
	for _, secret := range []string{"31323334", "3132333435363738", "123456789012", "12345678"} {
		if strings.Contains(strings.ToLower(dump.String()), secret) {
			t.Errorf("transcript shows %s:\n%s", secret, dump.String())
		}
	}
	if !bytes.Equal(ex[1].Command, h("00 20 00 98 04 31323334")) {
		t.Error("Masked modified the original exchange")
	}
	// short-EF read form also counts as selecting the secret file
	s.SecretFile(mynumber.AIDJPKI, 0x000A)
	_ = s.SelectAID(ctx, mynumber.AIDJPKI)
	_, _, _ = s.Transmit(ctx, h("00B08A0004"), SecretNone)
	if last := s.Exchanges()[len(s.Exchanges())-1]; !last.SecretResponse {
		t.Error("short-EF READ of a secret file not marked")
	}
}

func TestTerminalCertificateExtended(t *testing.T) {
	r := &fakeReader{caps: capsShort, handle: func([]byte) ([]byte, error) { return h("9000"), nil }}
	s := New(r)
	if err := s.TerminalCertificate(context.Background(), h("7F21 01 00")); err != nil {
		t.Fatal(err)
	}
	if got := r.sent[0]; !bytes.Equal(got, h("80A200C1 000004 7F210100")) {
		t.Errorf("80 A2 sent as % X", got)
	}
	if !s.Exchanges()[0].Extended {
		t.Error("not marked extended")
	}
}

func TestWallClock(t *testing.T) {
	// a reader that is not Clocked: Elapsed is measured, and never negative
	r := struct{ readers.Reader }{&fakeReader{handle: func([]byte) ([]byte, error) { return h("9000"), nil }}}
	s := New(r)
	if err := s.SelectEF(context.Background(), 6); err != nil {
		t.Fatal(err)
	}
	if e := s.Exchanges()[0]; e.Elapsed < 0 || s.Elapsed() != e.Elapsed {
		t.Errorf("wall time %v, session %v", e.Elapsed, s.Elapsed())
	}
}
