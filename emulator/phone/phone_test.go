package phone

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/formats/iso7816"
	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/readers"
	"github.com/mynaconform/mynaconform/readers/readertest"
	"github.com/mynaconform/mynaconform/readers/session"
)

var bg = context.Background()

func TestConformance(t *testing.T) {
	p, _ := persona(t, "adult")
	readertest.RunWith(t, func(t *testing.T) readers.Reader {
		_, c := persona(t, "adult")
		return New(android("test-extended", 65279), c)
	}, readertest.Options{AuthPIN: p.AuthPIN})
}

func TestConformanceShortOnly(t *testing.T) {
	readertest.Run(t, func(t *testing.T) readers.Reader {
		_, c := persona(t, "adult")
		return New(android("test-short", 261), c)
	})
}

// transportErr checks err is a *readers.TransportError matching want, with the profile ID.
func transportErr(t *testing.T, err, want error) *readers.TransportError {
	t.Helper()
	var te *readers.TransportError
	if !errors.As(err, &te) || !errors.Is(err, want) {
		t.Fatalf("error %v, want a *readers.TransportError matching %v", err, want)
	}
	if te.Reader == "" {
		t.Errorf("transport error %v names no reader", err)
	}
	return te
}

func TestConnectRefusals(t *testing.T) {
	noNFC := android("test-no-nfc", 0)
	noNFC.NFC, noNFC.ISODep = false, false
	noISODep := android("test-no-isodep", 0)
	noISODep.ISODep = false
	for _, tc := range []struct {
		p    Profile
		want error
	}{{noNFC, readers.ErrNoNFC}, {noISODep, readers.ErrNoISODep}} {
		_, c := persona(t, "adult")
		cc := &countingCard{Card: c}
		ph := New(tc.p, cc)
		te := transportErr(t, ph.Connect(bg), tc.want)
		if te.Hint == "" || te.Op != "connect" {
			t.Errorf("%s: %+v", tc.p.ID, te)
		}
		_, err := ph.Transmit(bg, []byte{0x00, 0xA4, 0x04, 0x0C, 0x01, 0x01})
		transportErr(t, err, readers.ErrNotConnected)
		if len(cc.cmds) != 0 {
			t.Errorf("%s: %d commands reached the card", tc.p.ID, len(cc.cmds))
		}
	}
	transportErr(t, New(android("test-no-card", 261), nil).Connect(bg), readers.ErrNoCard)
	bad := android("test-bad", 261)
	bad.BitRate = 100
	if err := New(bad, &fileCard{}).Connect(bg); err == nil {
		t.Error("profile with bit rate 100 connected")
	}
}

// TestTransceiveLength checks the 261/262 boundary with the virtual card: a 262-byte 80 A2
// (case 3E, 255-byte body) is refused on a 261 handset before reaching the card and carried on
// a 262 handset; a 261-byte case 4S command is carried by both.
func TestTransceiveLength(t *testing.T) {
	short261 := append(append([]byte{0x00, 0xA4, 0x04, 0x0C, 0xFF}, bytes.Repeat([]byte{0xD3}, 255)...), 0x00)
	ext262 := append([]byte{0x80, 0xA2, 0x00, 0x00, 0x00, 0x00, 0xFF}, bytes.Repeat([]byte{0x7F}, 255)...)
	if len(short261) != 261 || len(ext262) != 262 {
		t.Fatal("test commands of the wrong size")
	}
	for _, tc := range []struct {
		max       int
		ext262Err error
	}{{261, readers.ErrTransceiveLength}, {262, nil}} {
		_, c := persona(t, "adult")
		cc := &countingCard{Card: c}
		ph := New(android("test-max", tc.max), cc)
		if err := ph.Connect(bg); err != nil {
			t.Fatal(err)
		}
		if ph.Info().Caps.Extended != (tc.max > 261) {
			t.Errorf("max %d: Extended = %v", tc.max, ph.Info().Caps.Extended)
		}
		s := session.New(ph)
		if err := s.SelectAID(bg, mynumber.AIDJPKI); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Transmit(bg, short261, session.SecretNone); err != nil {
			t.Errorf("max %d: 261-byte command: %v", tc.max, err)
		}
		before := len(cc.cmds)
		_, sw, err := s.Transmit(bg, ext262, session.SecretNone)
		switch {
		case tc.ext262Err != nil:
			te := transportErr(t, err, tc.ext262Err)
			if te.Hint == "" {
				t.Error("no hint")
			}
			if len(cc.cmds) != before {
				t.Errorf("max %d: refused command reached the card", tc.max)
			}
		case err != nil || len(cc.cmds) != before+1 || sw == 0x9000:
			t.Errorf("max %d: 262-byte 80 A2 with a bogus certificate: SW %04X, %v", tc.max, sw, err)
		}
		// the session shapes reads to fit either handset
		if obj, err := s.ReadObject(bg, mynumber.JPKIAuthCert); err != nil || len(obj) < 1000 {
			t.Errorf("max %d: ReadObject: %d bytes, %v", tc.max, len(obj), err)
		}
	}
	// an extended command within the length limit on a handset whose profile says no
	p := android("test-ext-off", 65279)
	p.Extended = boolp(false)
	_, c := persona(t, "adult")
	cc := &countingCard{Card: c}
	ph := New(p, cc)
	_ = ph.Connect(bg)
	_, err := ph.Transmit(bg, []byte{0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x10})
	transportErr(t, err, readers.ErrTransceiveLength)
	if len(cc.cmds) != 0 {
		t.Error("refused extended command reached the card")
	}
	if err := session.New(ph).TerminalCertificate(bg, make([]byte, 10)); !errors.Is(err, readers.ErrTransceiveLength) {
		t.Errorf("80 A2 on a handset without extended APDUs: %v", err)
	}
	// a derived short-only handset (max 261) checks only the length, as Android's IsoDep does:
	// an extended-encoded command of 7 bytes reaches the card
	cc2 := &countingCard{Card: c}
	ph2 := New(android("test-261", 261), cc2)
	_ = ph2.Connect(bg)
	if _, err := ph2.Transmit(bg, []byte{0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x10}); err != nil {
		t.Errorf("7-byte extended READ on a 261-byte handset: %v", err)
	}
	if len(cc2.cmds) != 1 {
		t.Error("an extended command within the length limit did not reach the card")
	}
}

// cardFace verifies 照合番号B on the card-face AP and selects EF 0002 (5.9 KB on "adult").
func cardFace(t *testing.T, s *session.Session, verificationB string) {
	t.Helper()
	if err := s.SelectAID(bg, mynumber.AIDCardFace); err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(bg, mynumber.FaceNumberB, []byte(verificationB), session.SecretVerificationB); err != nil {
		t.Fatal(err)
	}
	if err := s.SelectEF(bg, mynumber.FaceRecordEF); err != nil {
		t.Fatal(err)
	}
}

// TestResponseCap reads the card face with an extended Le giving a response of exactly the
// cap (1693, iOS) and one byte more.
func TestResponseCap(t *testing.T) {
	read := func(le int) []byte { return []byte{0x00, 0xB0, 0x00, 0x00, 0x00, byte(le >> 8), byte(le)} }
	for _, capBytes := range []int{1693, 1694} {
		p, c := persona(t, "adult")
		cc := &countingCard{Card: c}
		ph := New(ios(capBytes), cc)
		if err := ph.Connect(bg); err != nil {
			t.Fatal(err)
		}
		s := session.New(ph)
		cardFace(t, s, p.VerificationB())
		data, sw, err := s.Transmit(bg, read(capBytes-2), session.SecretNone)
		if err != nil || sw != 0x9000 || len(data) != capBytes-2 {
			t.Fatalf("cap %d: response of exactly %d bytes: %d data, %04X, %v", capBytes, capBytes, len(data), sw, err)
		}
		sent, offs := len(cc.cmds), cc.powerOff
		_, _, err = s.Transmit(bg, read(capBytes-1), session.SecretNone)
		te := transportErr(t, err, readers.ErrTagLost)
		if te.Hint == "" {
			t.Error("no hint")
		}
		if len(cc.cmds) != sent+1 || cc.powerOff != offs+1 {
			t.Errorf("cap %d: the card should have processed the command (%d) and lost the field (%d)",
				capBytes, len(cc.cmds)-sent, cc.powerOff-offs)
		}
		_, _, err = s.Transmit(bg, read(16), session.SecretNone)
		transportErr(t, err, readers.ErrNotConnected)
		// after Connect the security status is gone
		if err := ph.Connect(bg); err != nil {
			t.Fatal(err)
		}
		if err := s.SelectAID(bg, mynumber.AIDCardFace); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReadObject(bg, mynumber.FaceRecordEF); !errors.Is(err, iso7816.SWSecurityStatus) {
			t.Errorf("cap %d: card face after the tag loss: %v, want ErrSecurityStatus", capBytes, err)
		}
		// the session keeps under the cap on its own
		cardFace(t, s, p.VerificationB())
		if obj, err := s.ReadObject(bg, mynumber.FaceRecordEF); err != nil || len(obj) < 4000 {
			t.Errorf("cap %d: session ReadObject: %d bytes, %v", capBytes, len(obj), err)
		}
	}
}

// signCommand is 80 2A 00 97 with a SHA-256 DigestInfo (auth key EF 0017).
func signCommand() []byte {
	d := sha256.Sum256([]byte("challenge"))
	di := append([]byte{0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}, d[:]...)
	return append(append([]byte{0x80, 0x2A, 0x00, 0x97, byte(len(di))}, di...), 0x00)
}

// TestTimeout sets the timeout just at and just below the modelled time of an RSA signature.
func TestTimeout(t *testing.T) {
	sign := signCommand()
	proc := Processing{Sign: 500 * time.Millisecond}
	p0 := android("test-timeout", 65279)
	want := p0.AirTime(len(sign), 256+2) + proc.Sign
	for _, tc := range []struct {
		timeout time.Duration
		fail    bool
	}{{want, false}, {want - time.Nanosecond, true}} {
		p := p0
		p.Processing, p.Timeout = proc, tc.timeout
		per, c := persona(t, "adult")
		cc := &countingCard{Card: c}
		ph := New(p, cc)
		if err := ph.Connect(bg); err != nil {
			t.Fatal(err)
		}
		s := session.New(ph)
		if err := s.SelectAID(bg, mynumber.AIDJPKI); err != nil {
			t.Fatal(err)
		}
		if err := s.Verify(bg, mynumber.JPKIAuthPIN, []byte(per.AuthPIN), session.SecretPIN); err != nil {
			t.Fatal(err)
		}
		before, sent := ph.Elapsed(), len(cc.cmds)
		sig, sw, err := s.Transmit(bg, sign, session.SecretNone)
		took := ph.Elapsed() - before
		if !tc.fail {
			if err != nil || sw != 0x9000 || len(sig) != 256 || took != want {
				t.Errorf("timeout %v: %d bytes %04X %v in %v, want success in %v", tc.timeout, len(sig), sw, err, took, want)
			}
			continue
		}
		transportErr(t, err, readers.ErrTimeout)
		if took != tc.timeout || len(cc.cmds) != sent+1 {
			t.Errorf("timed out after %v (want %v); card saw %d commands", took, tc.timeout, len(cc.cmds)-sent)
		}
		if _, _, err := s.Transmit(bg, sign, session.SecretNone); !errors.Is(err, readers.ErrNotConnected) {
			t.Errorf("link after a timeout: %v", err)
		}
		if ex := s.Exchanges(); ex[len(ex)-2].Elapsed != tc.timeout {
			t.Errorf("session recorded %v for the timed-out exchange", ex[len(ex)-2].Elapsed)
		}
	}
}

func TestRemoveAfter(t *testing.T) {
	_, c := persona(t, "adult")
	cc := &countingCard{Card: c}
	ph := New(android("test-remove", 65279), cc, WithRemoveAfter(2))
	if err := ph.Connect(bg); err != nil {
		t.Fatal(err)
	}
	s := session.New(ph)
	if err := s.SelectAID(bg, mynumber.AIDJPKI); err != nil {
		t.Fatal(err)
	}
	_, err := s.ReadObject(bg, mynumber.JPKIAuthCert) // SELECT EF is APDU 2, the READ is 3
	transportErr(t, err, readers.ErrCardRemoved)
	if len(cc.cmds) != 2 || ph.APDUs() != 2 || cc.powerOff != 1 {
		t.Errorf("card saw %d commands, %d power-offs", len(cc.cmds), cc.powerOff)
	}
	transportErr(t, ph.Connect(bg), readers.ErrNoCard)
	ph.Insert()
	if err := ph.Connect(bg); err != nil {
		t.Fatal(err)
	}
	if err := s.SelectAID(bg, mynumber.AIDJPKI); err != nil {
		t.Fatalf("after re-insertion: %v", err)
	}
	if _, err := s.ReadObject(bg, mynumber.JPKIAuthCert); err != nil {
		t.Errorf("the fault fired twice: %v", err)
	}
}

func TestRemoveAtStep(t *testing.T) {
	_, c := persona(t, "adult")
	cc := &countingCard{Card: c}
	ph := New(android("test-remove-step", 65279), cc, WithRemoveAtStep("consent/sign"))
	if err := ph.Connect(bg); err != nil {
		t.Fatal(err)
	}
	s := session.New(ph)
	s.Step("login/read-cert")
	if err := s.SelectAID(bg, mynumber.AIDJPKI); err != nil {
		t.Fatal(err)
	}
	s.Step("consent/sign")
	_, err := s.Sign(bg, 0, mynumber.JPKIAuthKey, []byte{1})
	transportErr(t, err, readers.ErrCardRemoved)
	if len(cc.cmds) != 1 || cc.powerOff != 1 {
		t.Errorf("card saw %d commands, %d power-offs", len(cc.cmds), cc.powerOff)
	}
	if ex := s.Exchanges(); ex[len(ex)-1].Step != "consent/sign" || ex[len(ex)-1].Err == "" {
		t.Errorf("last exchange %+v", ex[len(ex)-1])
	}
}

func TestCorruptResponse(t *testing.T) {
	_, c := persona(t, "adult")
	ph := New(android("test-corrupt", 65279), c, WithCorruptResponse(3))
	if err := ph.Connect(bg); err != nil {
		t.Fatal(err)
	}
	s := session.New(ph)
	_ = s.SelectAID(bg, mynumber.AIDJPKI)
	_ = s.SelectEF(bg, mynumber.JPKITokenInfo)
	bad, err := s.ReadBinary(bg, 0, 32) // APDU 3: corrupted
	if err != nil {
		t.Fatal(err)
	}
	good, err := s.ReadBinary(bg, 0, 32)
	if err != nil {
		t.Fatal(err)
	}
	diff := 0
	for i := range good {
		if good[i] != bad[i] {
			diff++
			if i != 16 || bad[i] != good[i]^0xFF {
				t.Errorf("byte %d: %02X vs %02X", i, bad[i], good[i])
			}
		}
	}
	if diff != 1 {
		t.Errorf("%d bytes differ, want 1", diff)
	}
}

func TestLatency(t *testing.T) {
	p := android("test-latency", 65279)
	ph := New(p, &fileCard{}, WithLatency(10*time.Millisecond))
	_ = ph.Connect(bg)
	cmd := []byte{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x06}
	if _, err := ph.Transmit(bg, cmd); err != nil {
		t.Fatal(err)
	}
	if want := p.AirTime(len(cmd), 2) + 10*time.Millisecond; ph.Elapsed() != want {
		t.Errorf("Elapsed %v, want %v", ph.Elapsed(), want)
	}
}

func TestAirTime(t *testing.T) {
	const byte106 = 94.395280e-6 // 10 etu at 106 kbit/s, seconds
	p := android("test", 261)
	for _, tc := range []struct {
		cmd, resp, fsd int
		chars          int
	}{
		{5, 258, 256, 8 + 258 + 2*3 + 3}, // short READ of 256: response in 2 blocks + 1 R(ACK)
		{7, 8194, 256, 10 + 8194 + 33*3 + 32*3},
		{7, 2, 16, 10 + 5},
		{20, 2, 16, 20 + 2*3 + 3 + 5}, // 13 bytes per 16-byte frame
	} {
		p.FSD = tc.fsd
		for _, rate := range BitRates {
			p.BitRate = rate
			got := p.AirTime(tc.cmd, tc.resp).Seconds()
			want := float64(tc.chars) * byte106 * 106 / float64(rate)
			if math.Abs(got-want) > 1e-9 {
				t.Errorf("AirTime(%d, %d) FSD %d at %d: %v s, want %v s", tc.cmd, tc.resp, tc.fsd, rate, got, want)
			}
		}
	}
}

// within checks got is within 5% of want (devices.md's figures).
func within(t *testing.T, what string, got, want time.Duration) {
	t.Helper()
	if d := math.Abs(float64(got-want)) / float64(want); d > 0.05 {
		t.Errorf("%s: modelled %v, devices.md %v (%.1f%% off)", what, got, want, 100*d)
	} else {
		t.Logf("%s: modelled %v, devices.md %v (%.1f%% off)", what, got.Round(100*time.Microsecond), want, 100*d)
	}
}

// TestTimingCalibration reproduces devices.md's air-time lower bounds (no card processing).
func TestTimingCalibration(t *testing.T) {
	file8K := make([]byte, 8192)
	for _, tc := range []struct {
		name     string
		max      int
		apdus    int
		expected time.Duration
	}{
		{"8 KiB in 32 short APDUs", 261, 32, 845 * time.Millisecond},
		{"8 KiB in one extended APDU", 65279, 1, 792 * time.Millisecond},
	} {
		ph := New(android("test-cal", tc.max), &fileCard{file: file8K})
		_ = ph.Connect(bg)
		s := session.New(ph)
		data, err := s.ReadBinary(bg, 0, len(file8K))
		if err != nil || len(data) != len(file8K) || ph.APDUs() != tc.apdus {
			t.Fatalf("%s: %d bytes in %d APDUs, %v", tc.name, len(data), ph.APDUs(), err)
		}
		within(t, tc.name, ph.Elapsed(), tc.expected)
		if s.Elapsed() != ph.Elapsed() {
			t.Errorf("session %v, phone %v", s.Elapsed(), ph.Elapsed())
		}
	}
	// a 1.3 KiB certificate (30 82 05 2F: 1331 bytes) read as OpenSC does: SELECT EF, 4-byte
	// header, 256-byte chunks
	cert := make([]byte, 1331+200)
	copy(cert, []byte{0x30, 0x82, 0x05, 0x2F})
	for _, tc := range []struct {
		rate     int
		expected time.Duration
	}{{106, 139 * time.Millisecond}, {848, 17 * time.Millisecond}} {
		p := android("test-cal", 261)
		p.BitRate = tc.rate
		ph := New(p, &fileCard{file: cert})
		_ = ph.Connect(bg)
		obj, err := session.New(ph).ReadObject(bg, mynumber.JPKIAuthCACert)
		if err != nil || len(obj) != 1331 {
			t.Fatalf("ReadObject: %d bytes, %v", len(obj), err)
		}
		within(t, fmt.Sprintf("1.3 KiB certificate at %d kbit/s", tc.rate), ph.Elapsed(), tc.expected)
	}
}

func TestProcessingKinds(t *testing.T) {
	pr := Processing{Select: 1, Read: 10, ReadPerByte: 1, Verify: 100, Sign: 1000, Challenge: 10000, TerminalCert: 100000, Other: 1000000}

	for _, tc := range []struct {
		cmd, resp []byte
		want      time.Duration
	}{
		{[]byte{0, 0xA4, 4, 0x0C}, []byte{0x90, 0}, 1},
		{[]byte{0, 0xB0, 0, 0, 4}, []byte{1, 2, 3, 4, 0x90, 0}, 14},
		{[]byte{0, 0xC0, 0, 0, 1}, []byte{1, 0x90, 0}, 11},
		{[]byte{0, 0x20, 0, 0x98, 1, 1}, []byte{0x63, 0xC2}, 100},
		{[]byte{0x80, 0x2A, 0, 0x97, 1, 1, 0}, []byte{0x90, 0}, 1000},
		{[]byte{0x80, 0x2A, 0, 0x97, 1, 1, 0}, []byte{0x69, 0x82}, 1000000}, // refused: no RSA work
		{[]byte{0, 0x84, 0, 0, 8}, []byte{0x90, 0}, 10000},
		{[]byte{0x80, 0xA2, 0, 0, 0, 0, 1, 1}, []byte{0x90, 0}, 100000},
		{[]byte{0, 0xCA, 0, 0}, []byte{0x6D, 0}, 1000000},
		{[]byte{0}, []byte{0x67, 0}, 1000000},
	} {
		if got := pr.of(tc.cmd, tc.resp); got != tc.want {
			t.Errorf("processing(% X) = %v, want %v", tc.cmd, got, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	good := android("ok", 261)
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		field string
		mod   func(*Profile)
	}{
		{"id", func(p *Profile) { p.ID = "" }},
		{"source", func(p *Profile) { p.Source = "" }},
		{"platform", func(p *Profile) { p.Platform = "symbian" }},
		{"iso_dep", func(p *Profile) { p.NFC = false }},
		{"max_transceive", func(p *Profile) { p.MaxTransceive = -1 }},
		{"max_transceive", func(p *Profile) { p.MaxTransceive = MaxCommandAPDU + 1 }},
		{"max_transceive", func(p *Profile) { p.ISODep = false }},
		{"max_response", func(p *Profile) { p.MaxResponse = 1 }},
		{"timeout", func(p *Profile) { p.Timeout = 0 }},
		{"bit_rate", func(p *Profile) { p.BitRate = 100 }},
		{"fsd", func(p *Profile) { p.FSD = 200 }},
		{"extended", func(p *Profile) { p.MaxTransceive = 5; p.Extended = boolp(true) }},
		{"processing.sign", func(p *Profile) { p.Processing.Sign = -1 }},
	} {
		p := good
		tc.mod(&p)
		err := p.Validate()
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tc.field+":")) {
			t.Errorf("%s: %v", tc.field, err)
		}
	}
}

func TestRemoveInsert(t *testing.T) {
	_, c := persona(t, "adult")
	p := android("test-remove-now", 261)
	p.Build = "build 1"
	ph := New(p, c)
	if info := ph.Info(); info.OS != "Android 14 (build 1)" || info.Kind != readers.KindPhone || ph.Profile().ID != p.ID {
		t.Errorf("Info %+v", info)
	}
	if err := ph.Connect(bg); err != nil {
		t.Fatal(err)
	}
	ph.Remove()
	transportErr(t, ph.Reset(bg, true), readers.ErrCardRemoved)
	_, err := ph.Transmit(bg, []byte{0x00, 0xA4, 0x04, 0x0C, 0x01, 0x01})
	transportErr(t, err, readers.ErrCardRemoved)
	transportErr(t, ph.Connect(bg), readers.ErrNoCard)
	ph.Insert()
	if err := ph.Connect(bg); err != nil {
		t.Fatal(err)
	}
	if err := ph.Reset(bg, true); err != nil {
		t.Fatal(err)
	}
}
