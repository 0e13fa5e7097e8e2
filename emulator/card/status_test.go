package card_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/emulator/card"
)

// TestStatusWords drives every status word card.md lists (and the few this card adds) from a
// fresh card: setup commands must answer 9000, the last one the given SW.
func TestStatusWords(t *testing.T) {
	tc := terminalCert(t, testPKI(t).TerminalCAKey)
	jpki := selectDF(card.AIDJPKI)
	face := selectDF(card.AIDCardFace)
	cases := []struct {
		name  string
		setup [][]byte
		cmd   []byte
		want  uint16
	}{
		{"9000 select AP", nil, jpki, swOK},
		{"63C2 wrong auth PIN", [][]byte{jpki}, verifySFI(card.EFJPKIAuthPIN, "0000"), 0x63C2},
		{"63C3 retry query", [][]byte{jpki, selectEF(card.EFJPKIAuthPIN)}, hx("00 20 00 80"), 0x63C3},
		{"63C5 signing PIN query by SFI", [][]byte{jpki}, hx("00 20 00 9B"), 0x63C5},
		{"6A82 VERIFY before any DF", nil, hx("00 20 00 98"), swFileNotFound},
		{"6982 protected EF", [][]byte{jpki, selectEF(card.EFJPKISignCert)}, hx("00 B0 00 00 00"), swSecurityStatus},
		{"6982 key without VERIFY", [][]byte{jpki, selectEF(card.EFJPKIAuthKey)}, apdu(0x80, 0x2A, 0, 0x80, make([]byte, 51), 0), swSecurityStatus},
		{"6982 read a key EF", [][]byte{jpki, selectEF(card.EFJPKIAuthKey)}, hx("00 B0 00 00 00"), swSecurityStatus},
		{"6A82 unknown AID", nil, selectDF("\xD3\x92\x00\x00\x00"), swFileNotFound},
		{"6A82 unknown EF", [][]byte{jpki}, selectEF(0x0003), swFileNotFound},
		{"6A82 SELECT 3F00", [][]byte{jpki}, hx("00 A4 02 0C 02 3F 00"), swFileNotFound},
		{"6A82 EF before any DF", nil, selectEF(card.EFJPKIAuthCert), swFileNotFound},
		{"6A86 SELECT MF", nil, hx("00 A4 00 00"), swWrongP1P2},
		{"6A86 SELECT MF by FID", nil, hx("00 A4 00 0C 02 3F 00"), swWrongP1P2},
		{"6A86 SELECT P2", nil, hx("00 A4 04 04 0A D3 92 F0 00 26 01 00 00 00 01"), swWrongP1P2},
		{"6A86 VERIFY P1", [][]byte{jpki}, hx("00 20 01 98 04 31 32 33 34"), swWrongP1P2},
		{"6A86 sign P1 06", [][]byte{jpki}, apdu(0x80, 0x2A, 0x06, 0x97, make([]byte, 32), 0), swWrongP1P2},
		{"6A86 READ SFI 0", [][]byte{jpki}, hx("00 B0 80 00 00"), swWrongP1P2},
		{"6700 SELECT EF Lc 1", [][]byte{jpki}, hx("00 A4 02 0C 01 0A"), swWrongLength},
		{"6700 READ without Le", [][]byte{jpki, selectEF(card.EFJPKIAuthCert)}, hx("00 B0 00 00"), swWrongLength},
		{"6700 Lc mismatch", nil, hx("00 A4 04 0C 0A D3 92"), swWrongLength},
		{"6700 5th byte 00, 6 bytes", nil, hx("00 A4 04 00 00 01"), swWrongLength},
		{"6700 80 A2 short Lc", [][]byte{jpki}, apdu(0x80, 0xA2, 0, 0, tc[:200], -1), swWrongLength},
		{"6700 GET CHALLENGE no Le", nil, hx("00 84 00 00"), swWrongLength},
		{"6B00 offset beyond end", [][]byte{jpki, selectEF(card.EFJPKICertFlags)}, hx("00 B0 00 03 01"), swOffsetBeyondEnd},
		{"6B00 short-EF offset beyond end", [][]byte{jpki}, hx("00 B0 88 05 01"), swOffsetBeyondEnd},
		{"6D00 unknown INS", nil, hx("00 CA 00 00 00"), swINSNotSupported},
		{"6E00 CLA FF", nil, hx("FF A4 04 0C"), swCLANotSupported},
		{"6E00 CLA A0", nil, hx("A0 A4 04 0C 02 00 01"), swCLANotSupported},
		{"6E00 ISO INS with CLA 80", nil, hx("80 B0 00 00 00"), swCLANotSupported},
		{"6E00 sign with CLA 00", [][]byte{jpki}, apdu(0x00, 0x2A, 0, 0x97, make([]byte, 32), 0), swCLANotSupported},
		{"6985 GET CHALLENGE extended Le", nil, hx("00 84 00 00 00 00 08"), swConditions},
		{"6985 80 A2 outside JPKI-AP", [][]byte{face}, extAPDU(0x80, 0xA2, 0, 0, tc, -1), swConditions},
		{"6985 change 照合番号", [][]byte{face}, hx("00 24 01 92 04 31 32 33 34"), swConditions},
		{"6881 logical channel 1", nil, hx("01 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"), swChannelNotSupp},
		{"6881 logical channel 4", nil, hx("40 B0 00 00 00"), swChannelNotSupp},
		{"69FC SM READ", [][]byte{jpki, selectEF(card.EFJPKIAuthCert)}, hx("0C B0 00 00 00"), swSMNotSupported},
		{"69FC SM VERIFY", [][]byte{jpki}, hx("08 20 00 98 04 31 32 33 34"), swSMNotSupported},
		{"6884 command chaining", nil, hx("10 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"), 0x6884},
		{"6986 READ without current EF", [][]byte{jpki}, hx("00 B0 00 00 00"), swNoCurrentEF},
		{"6A80 bad new PIN", [][]byte{jpki, verifySFI(card.EFJPKIAuthPIN, testAuthPIN)}, hx("00 24 01 98 03 31 32 33"), swWrongData},
		{"6A80 80 A2 garbage", [][]byte{jpki}, extAPDU(0x80, 0xA2, 0, 0, bytes.Repeat([]byte{0x55}, 400), -1), swWrongData},
		{"6300 80 A2 wrong signer", [][]byte{jpki}, extAPDU(0x80, 0xA2, 0, 0, terminalCert(t, testPKI(t).RogueCAKey), -1), swVerifyFailed},
		{"9000 80 A2", [][]byte{jpki}, extAPDU(0x80, 0xA2, 0, 0, tc, -1), swOK},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestCard(t, "adult")
			for _, s := range tt.setup {
				exchange(t, c, s, swOK)
			}
			exchange(t, c, tt.cmd, tt.want)
		})
	}
	t.Run("6984 no PIN set", func(t *testing.T) {
		c := newTestCard(t, "face-auth")
		exchange(t, c, jpki, swOK)
		exchange(t, c, hx("00 20 00 98"), swBlocked)
		exchange(t, c, verifySFI(card.EFJPKIAuthPIN, testAuthPIN), swBlocked)
		exchange(t, c, selectDF(card.AIDInputSupport), swOK)
		exchange(t, c, verifySFI(card.KeyInputPIN, testKenhojoPIN), swBlocked)
		// The visual mode still works: 照合番号B opens the card face.
		exchange(t, c, face, swOK)
		exchange(t, c, verifySFI(card.KeyFaceNumberB, persona(t, "face-auth").VerificationB()), swOK)
	})
	t.Run("6984 blocked persona", func(t *testing.T) {
		c := newTestCard(t, "blocked")
		exchange(t, c, jpki, swOK)
		exchange(t, c, hx("00 20 00 98"), 0x63C0)
		exchange(t, c, verifySFI(card.EFJPKIAuthPIN, testAuthPIN), swBlocked)
	})
}

// TestGetChallenge: short Le 1..256 gives that many random bytes.
func TestGetChallenge(t *testing.T) {
	c := newTestCard(t, "adult")
	a := exchange(t, c, hx("00 84 00 00 08"), swOK)
	b := exchange(t, c, hx("00 84 00 00 08"), swOK)
	if len(a) != 8 || bytes.Equal(a, b) {
		t.Fatalf("challenges % X, % X", a, b)
	}
	if n := len(exchange(t, c, hx("00 84 00 00 00"), swOK)); n != 256 {
		t.Fatalf("Le 00 gave %d bytes", n)
	}
}

// TestPINLockout: 63C2, 63C1, 63C0, then 6984 for every VERIFY, the query answering 63C0;
// the counter survives Reset, PowerOff and a restart from the state file.
func TestPINLockout(t *testing.T) {
	state := filepath.Join(t.TempDir(), "card.json")
	c := newTestCard(t, "adult", card.WithStateFile(state))
	exchange(t, c, selectDF(card.AIDJPKI), swOK)
	exchange(t, c, selectEF(card.EFJPKIAuthPIN), swOK)
	exchange(t, c, verifyCur("0000"), 0x63C2)
	exchange(t, c, hx("00 20 00 80"), 0x63C2) // the query consumes nothing
	exchange(t, c, hx("00 20 00 80"), 0x63C2)

	// A restart keeps a partly used counter; a right PIN restores it.
	c = newTestCard(t, "adult", card.WithStateFile(state))
	exchange(t, c, selectDF(card.AIDJPKI), swOK)
	exchange(t, c, hx("00 20 00 98"), 0x63C2)
	exchange(t, c, verifySFI(card.EFJPKIAuthPIN, testAuthPIN), swOK)
	exchange(t, c, hx("00 20 00 98"), 0x63C3)

	exchange(t, c, verifySFI(card.EFJPKIAuthPIN, "9999"), 0x63C2)
	c.Reset()
	exchange(t, c, selectDF(card.AIDJPKI), swOK)
	exchange(t, c, verifySFI(card.EFJPKIAuthPIN, "9999"), 0x63C1)
	c.PowerOff()
	c.PowerOn()
	exchange(t, c, selectDF(card.AIDJPKI), swOK)
	exchange(t, c, verifySFI(card.EFJPKIAuthPIN, "9999"), 0x63C0)
	exchange(t, c, verifySFI(card.EFJPKIAuthPIN, testAuthPIN), swBlocked)
	exchange(t, c, hx("00 20 00 98"), 0x63C0)
	for _, ev := range []func(){func() { c.Reset() }, func() { c.PowerOff(); c.PowerOn() }} {
		ev()
		exchange(t, c, selectDF(card.AIDJPKI), swOK)
		exchange(t, c, verifySFI(card.EFJPKIAuthPIN, testAuthPIN), swBlocked)
	}
	c = newTestCard(t, "adult", card.WithStateFile(state))
	exchange(t, c, selectDF(card.AIDJPKI), swOK)
	exchange(t, c, verifySFI(card.EFJPKIAuthPIN, testAuthPIN), swBlocked)
	exchange(t, c, hx("00 20 00 98"), 0x63C0)
	// Other keys keep their own counters.
	exchange(t, c, verifySFI(card.EFJPKISignPIN, testSignPIN), swOK)

	b, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{testAuthPIN, testSignPIN, testMyNumber, testNumberB} {
		if bytes.Contains(b, []byte(secret)) {
			t.Fatal("state file holds a clear secret")
		}
	}
	// Another card refuses this state file.
	if _, err := card.New(profile(t, "child"), card.WithStateFile(state)); !errors.Is(err, card.ErrStateFile) {
		t.Fatalf("other card's state file: %v", err)
	}
}

// TestStateWriteFailure: when the state file cannot be written the card answers 6581 and the
// counter still goes down in memory.
func TestStateWriteFailure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "eeprom")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	c := newTestCard(t, "adult", card.WithStateFile(filepath.Join(dir, "card.json")))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	exchange(t, c, selectDF(card.AIDJPKI), swOK)
	exchange(t, c, verifySFI(card.EFJPKIAuthPIN, "0000"), 0x6581)
	exchange(t, c, hx("00 20 00 98"), 0x63C2)
}

// TestChangePIN: CHANGE REFERENCE DATA after VERIFY, the format rules, and persistence of the
// new PIN across a restart.
func TestChangePIN(t *testing.T) {
	state := filepath.Join(t.TempDir(), "card.json")
	c := newTestCard(t, "adult", card.WithStateFile(state))
	exchange(t, c, selectDF(card.AIDJPKI), swOK)
	exchange(t, c, selectEF(card.EFJPKIAuthPIN), swOK)
	exchange(t, c, apdu(0x00, 0x24, 0x01, 0x80, []byte("4321"), -1), swSecurityStatus)
	exchange(t, c, verifyCur(testAuthPIN), swOK)
	for _, bad := range []string{"123", "12345", "12a4"} {
		exchange(t, c, apdu(0x00, 0x24, 0x01, 0x80, []byte(bad), -1), swWrongData)
	}
	exchange(t, c, apdu(0x00, 0x24, 0x00, 0x80, []byte("4321"), -1), swWrongP1P2)
	exchange(t, c, apdu(0x00, 0x24, 0x01, 0x80, []byte("4321"), -1), swOK)

	exchange(t, c, verifySFI(card.EFJPKISignPIN, testSignPIN), swOK)
	for _, bad := range []string{"ABCDEF", "123456", "abc123", "AB12", "ABCDEFGH123456789", "ABC-123"} {
		exchange(t, c, apdu(0x00, 0x24, 0x01, 0x9B, []byte(bad), -1), swWrongData)
	}
	exchange(t, c, apdu(0x00, 0x24, 0x01, 0x9B, []byte("Z9Y8X7W6V5U4T3S2"), -1), swOK)

	c = newTestCard(t, "adult", card.WithStateFile(state))
	exchange(t, c, selectDF(card.AIDJPKI), swOK)
	exchange(t, c, verifySFI(card.EFJPKIAuthPIN, testAuthPIN), 0x63C2)
	exchange(t, c, verifySFI(card.EFJPKIAuthPIN, "4321"), swOK)
	exchange(t, c, verifySFI(card.EFJPKISignPIN, "Z9Y8X7W6V5U4T3S2"), swOK)
}

// TestSecurityStatusCleared: a VERIFY is forgotten on Reset, PowerOff and SELECT of another DF.
func TestSecurityStatusCleared(t *testing.T) {
	c := newTestCard(t, "adult")
	sign := apdu(0x80, 0x2A, 0x02, 0x97, make([]byte, 32), 0)
	login := func() {
		t.Helper()
		exchange(t, c, selectDF(card.AIDJPKI), swOK)
		exchange(t, c, verifySFI(card.EFJPKIAuthPIN, testAuthPIN), swOK)
		exchange(t, c, sign, swOK)
	}
	events := map[string]func(){
		"reset":        func() { c.Reset(); exchange(t, c, selectDF(card.AIDJPKI), swOK) },
		"power-off":    func() { c.PowerOff(); c.PowerOn(); exchange(t, c, selectDF(card.AIDJPKI), swOK) },
		"select DF":    func() { exchange(t, c, selectDF(card.AIDCardFace), swOK); exchange(t, c, selectDF(card.AIDJPKI), swOK) },
		"wrong VERIFY": func() { exchange(t, c, verifySFI(card.EFJPKIAuthPIN, "0000"), 0x63C2) },
	}
	for name, ev := range events {
		login()
		ev()
		r := c.Transmit(sign)
		if !bytes.Equal(r, sw(swSecurityStatus)) {
			t.Errorf("after %s: % X, want 6982", name, r)
		}
		if name == "wrong VERIFY" {
			exchange(t, c, verifySFI(card.EFJPKIAuthPIN, testAuthPIN), swOK)
		}
	}
	// Re-selecting the same DF keeps the security status (documented choice).
	login()
	exchange(t, c, selectDF(card.AIDJPKI), swOK)
	exchange(t, c, sign, swOK)
	// After a reset nothing is selected.
	c.Reset()
	exchange(t, c, hx("00 B0 00 00 01"), swNoCurrentEF)
}

// TestTerminalAuth: with card.WithRequireTerminalAuth the card face needs an accepted 80 A2 (extended
// Lc), which survives the switch to the card-face AP and is cleared by reset.
func TestTerminalAuth(t *testing.T) {
	good := terminalCert(t, testPKI(t).TerminalCAKey)
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	c := newTestCard(t, "adult", card.WithRequireTerminalAuth(true), card.WithClock(func() time.Time { return now }))
	readFace := func(want uint16) {
		t.Helper()
		exchange(t, c, selectDF(card.AIDCardFace), swOK)
		exchange(t, c, verifySFI(card.KeyFaceNumberB, testNumberB), swOK)
		exchange(t, c, hx("00 B0 82 00 00"), want)
	}
	readFace(swSecurityStatus)
	exchange(t, c, selectDF(card.AIDJPKI), swOK)
	exchange(t, c, extAPDU(0x80, 0xA2, 0, 0, good, -1), swOK)
	readFace(swOK)
	c.Reset()
	readFace(swSecurityStatus)
	// A failed 80 A2 clears an earlier success; an expired certificate fails with a clock.
	exchange(t, c, selectDF(card.AIDJPKI), swOK)
	exchange(t, c, extAPDU(0x80, 0xA2, 0, 0, good, -1), swOK)
	now = now.AddDate(5, 0, 0)
	exchange(t, c, extAPDU(0x80, 0xA2, 0, 0, good, 0), swVerifyFailed)
	readFace(swSecurityStatus)
	// The default model reads the face without 80 A2.
	d := newTestCard(t, "adult")
	exchange(t, d, selectDF(card.AIDCardFace), swOK)
	exchange(t, d, verifySFI(card.KeyFaceNumberB, testNumberB), swOK)
	exchange(t, d, hx("00 B0 82 00 00"), swOK)
}

// TestChildCard: no signing certificate; EF 0008 says so.
func TestChildCard(t *testing.T) {
	c := newTestCard(t, "child")
	exchange(t, c, selectDF(card.AIDJPKI), swOK)
	exchange(t, c, selectEF(card.EFJPKISignCert), swFileNotFound)
	exchange(t, c, selectEF(card.EFJPKISignKey), swFileNotFound)
	exchange(t, c, hx("00 20 00 9B"), swBlocked) // no signing PIN set
	exchange(t, c, selectEF(card.EFJPKICertFlags), swOK)
	if f := exchange(t, c, hx("00 B0 00 00 00"), swOK); !bytes.Equal(f, hx("00 8F 00")) {
		t.Fatalf("EF 0008 % X", f)
	}
	a := newTestCard(t, "adult")
	exchange(t, a, selectDF(card.AIDJPKI), swOK)
	if f := exchange(t, a, hx("00 B0 88 00 00"), swOK); !bytes.Equal(f, hx("8F 8F 00")) {
		t.Fatalf("adult EF 0008 % X", f)
	}
}

// TestFileLayouts checks fixed layouts: token info, filler after BER objects, ATR.
func TestFileLayouts(t *testing.T) {
	c := newTestCard(t, "adult")
	if !bytes.Equal(c.PowerOn(), hx("3B E0 00 FF 81 31 FE 45 14")) {
		t.Fatalf("ATR % X", c.ATR())
	}
	exchange(t, c, selectDF(card.AIDJPKI), swOK)
	tok := exchange(t, c, hx("00 B0 86 00 00"), swOK)
	if len(tok) != 160 || string(tok[:32]) != "JPKIAPICCTOKEN2                 " {
		t.Fatalf("token info %d bytes, label %q", len(tok), tok[:32])
	}
	exchange(t, c, selectEF(card.EFJPKIAuthCert), swOK)
	f := readAll(t, c)
	n := int(f[2])<<8 | int(f[3]) + 4
	if len(f) <= n || !bytes.Equal(f[n:], bytes.Repeat([]byte{0xFF}, len(f)-n)) {
		t.Fatalf("EF 000A: %d bytes, certificate %d, want FF filler after it", len(f), n)
	}
	// Offset form reaches into the middle; short-EF form reads from an 8-bit offset.
	mid := exchange(t, c, hx("00 B0 01 00 10"), swOK)
	if !bytes.Equal(mid, f[0x100:0x110]) {
		t.Fatal("READ BINARY at 0100")
	}
	if r := exchange(t, c, hx("00 B0 8A 10 04"), swOK); !bytes.Equal(r, f[0x10:0x14]) {
		t.Fatal("short-EF READ BINARY")
	}
	// Le beyond the end answers what is there.
	if r := exchange(t, c, apdu(0, 0xB0, byte((len(f)-3)>>8), byte(len(f)-3), nil, 0), swOK); len(r) != 3 {
		t.Fatalf("tail read %d bytes", len(r))
	}
	pr := profile(t, "adult")
	pr.ATR = hx("3B 88 80 01 00 00 00 00 00 00 00 00 09")
	if d, err := card.New(pr); err != nil || !bytes.Equal(d.Reset(), pr.ATR) {
		t.Fatalf("configured ATR: %v", err)
	}
}

// TestNewRejects: malformed profiles are refused without quoting secrets.
func TestNewRejects(t *testing.T) {
	for name, mod := range map[string]func(*card.Profile){
		"auth PIN 5 digits":   func(p *card.Profile) { p.AuthPIN = "12345" },
		"sign PIN lower case": func(p *card.Profile) { p.SignPIN = "abc123" },
		"My Number 11":        func(p *card.Profile) { p.MyNumber = "12345678901" },
		"no card key":         func(p *card.Profile) { p.CardKey = nil },
		"bad birth date":      func(p *card.Profile) { p.BirthDate = "19801317" },
		"cert header":         func(p *card.Profile) { p.AuthCert = append(bytes.Clone(p.AuthCert), 0) },
	} {
		p := profile(t, "adult")
		mod(&p)
		_, err := card.New(p)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		for _, s := range []string{"12345", "abc123", "12345678901"} {
			if bytes.Contains([]byte(err.Error()), []byte(s)) {
				t.Errorf("%s: error quotes a secret: %v", name, err)
			}
		}
	}
}

// TestEraDate checks the Japanese era conversion at era boundaries.
func TestEraDate(t *testing.T) {
	for in, want := range map[string]string{
		"19800217": "550217", "19890107": "640107", "19890108": "010108",
		"20190430": "310430", "20190501": "010501", "19261225": "011225", "19261224": "151224",
	} {
		if got, err := card.EraDate(in); err != nil || got != want {
			t.Errorf("EraDate(%s) = %s, %v; want %s", in, got, err, want)
		}
	}
}

// TestConcurrentTransmit drives one card from several goroutines (vpcd socket and tests); run
// with -race. Every answer is a whole response of this card.
func TestConcurrentTransmit(t *testing.T) {
	c := newTestCard(t, "adult")
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				r := c.Transmit(selectDF(card.AIDJPKI))
				if !bytes.Equal(r, sw(swOK)) {
					errs <- "SELECT DF"
					return
				}
				r = c.Transmit(hx("00 B0 86 00 20"))
				if len(r) != 34 && !bytes.Equal(r, sw(swFileNotFound)) { // another goroutine may reset
					errs <- "READ BINARY"
					return
				}
				if i%50 == 0 {
					c.Reset()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
