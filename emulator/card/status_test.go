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
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/formats/iso7816"
	m "github.com/mynaconform/mynaconform/formats/mynumber"
)

// TestStatusWords drives the status words card.md gives (and the defaults of its section 13)
// from a fresh card: setup commands must answer 9000, the last one the given SW.
func TestStatusWords(t *testing.T) {
	pki := testPKI(t)
	tc := terminalCert(t, pki.TerminalCAKey, fixtures.TerminalCAKeyID)
	jpki, face, hojo, common, juki := selectDF(m.AIDJPKI), selectDF(m.AIDCardFace), selectDF(m.AIDInputSupport), selectDF(m.AIDCommon), selectDF(m.AIDJuki)
	cases := []struct {
		name  string
		setup [][]byte
		cmd   []byte
		want  iso7816.StatusWord
	}{
		{"9000 select AP", nil, jpki, swOK},
		{"9000 select AP with FCI asked (aoki)", nil, hx("00 A4 04 00 0A D3 92 F0 00 26 01 00 00 00 01 00"), swOK},
		{"63C2 wrong auth PIN", [][]byte{jpki}, verifySFI(m.JPKIAuthPIN, "0000"), 0x63C2},
		{"63C3 retry query", [][]byte{jpki, selectEF(m.JPKIAuthPIN)}, hx("00 20 00 80"), 0x63C3},
		{"63C3 retry query after VERIFY", [][]byte{jpki, verifySFI(m.JPKIAuthPIN, testAuthPIN)}, query(m.JPKIAuthPIN), 0x63C3},
		{"63C5 signing password query by SFI", [][]byte{jpki}, hx("00 20 00 9B"), 0x63C5},
		{"63C0 kenhojo 0012 query", [][]byte{hojo}, query(m.InputBlocked), 0x63C0},
		{"6984 kenhojo 0012 VERIFY", [][]byte{hojo}, verifySFI(m.InputBlocked, "1234"), swBlocked},
		{"6A82 VERIFY at MF level", nil, hx("00 20 00 98"), swFileNotFound},
		{"6A88 VERIFY of a data EF", [][]byte{jpki}, hx("00 20 00 8A"), swDataNotFound},
		{"6986 VERIFY P2 80 without current EF", [][]byte{jpki}, hx("00 20 00 80"), swNoCurrentEF},
		{"6700 VERIFY 17 bytes", [][]byte{jpki}, verifySFI(m.JPKISignPIN, "ABCDEFGHIJ1234567"), swWrongLength},
		{"6982 signing certificate without the password", [][]byte{jpki, selectEF(m.JPKISignCert)}, hx("00 B0 00 00 04"), swSecurity},
		{"6982 EF 0009 with both PINs", [][]byte{jpki, verifySFI(m.JPKIAuthPIN, testAuthPIN), verifySFI(m.JPKISignPIN, testSignPIN), selectEF(m.JPKIProtected)}, hx("00 B0 00 00 00"), swSecurity},
		{"6982 key without VERIFY", [][]byte{jpki, selectEF(m.JPKIAuthKey)}, signCmd(0, 0x80, make([]byte, 51)), swSecurity},
		{"6981 READ of a key EF", [][]byte{jpki, selectEF(m.JPKIAuthKey)}, hx("00 B0 00 00 00"), swFileStructure},
		{"6981 READ of a PIN EF", [][]byte{jpki}, hx("00 B0 98 00 00"), swFileStructure},
		{"6981 READ of MF 001E", [][]byte{selectEF(m.MFInternal)}, hx("00 B0 00 00 00"), swFileStructure},
		{"6981 READ of JPKI 0016", [][]byte{jpki, selectEF(m.JPKITerminalCA)}, hx("00 B0 00 00 00"), swFileStructure},
		{"6981 READ of kenhojo 0008", [][]byte{hojo}, hx("00 B0 88 00 00"), swFileStructure},
		{"6981 READ BINARY of a record EF", [][]byte{common, selectEF(m.CommonCardInfo)}, hx("00 B0 00 00 00"), swFileStructure},
		{"6981 READ RECORD of a binary EF", [][]byte{jpki, selectEF(m.JPKITokenInfo)}, hx("00 B2 01 04 00"), swFileStructure},
		{"6A82 unknown AID", nil, selectDF("\xD3\x92\x00\x00\x00"), swFileNotFound},
		{"6A82 unknown EF", [][]byte{jpki}, selectEF(0x0003), swFileNotFound},
		{"6A82 SELECT 3F00 in a DF", [][]byte{jpki}, hx("00 A4 02 0C 02 3F 00"), swFileNotFound},
		{"6A82 SELECT 3F00 after reset", nil, hx("00 A4 02 0C 02 3F 00"), swFileNotFound},
		{"6A82 SELECT 2F10 at MF level", nil, selectEF(0x2F10), swFileNotFound},
		{"6A82 MF EF 0001 after reset", nil, selectEF(0x0001), swFileNotFound},
		{"6A82 SELECT next occurrence", nil, hx("00 A4 04 02 02 D3 92"), swFileNotFound},
		{"6A86 SELECT MF after reset", nil, hx("00 A4 00 00"), swWrongP1P2},
		{"9000 SELECT MF with a DF current", [][]byte{jpki}, hx("00 A4 00 00"), swOK},
		{"6A86 SELECT P2 04", nil, hx("00 A4 04 04 0A D3 92 F0 00 26 01 00 00 00 01"), swWrongP1P2},
		{"6A86 VERIFY P1", [][]byte{jpki}, hx("00 20 01 98 04 31 32 33 34"), swWrongP1P2},
		{"6A86 sign P1 06", [][]byte{jpki}, signCmd(6, 0x97, make([]byte, 32)), swWrongP1P2},
		{"6A86 JPKI sign P2 00 (no default key)", [][]byte{jpki}, signCmd(0, 0x00, make([]byte, 32)), swWrongP1P2},
		{"6A86 READ SFI 0", [][]byte{jpki}, hx("00 B0 80 00 00"), swWrongP1P2},
		{"6A86 80 A2 00 00", [][]byte{jpki}, ext(0x80, 0xA2, 0x00, 0x00, tc, 0), swWrongP1P2},
		{"6A86 80 A2 00 AE", [][]byte{jpki}, ext(0x80, 0xA2, 0x00, 0xAE, tc, 0), swWrongP1P2},
		{"6A86 80 A2 80 00", [][]byte{jpki}, ext(0x80, 0xA2, 0x80, 0x00, tc, 0), swWrongP1P2},
		{"6A86 80 A2 00 B6", [][]byte{jpki}, ext(0x80, 0xA2, 0x00, 0xB6, tc, 0), swWrongP1P2},
		{"6700 80 A2 00 C1, 256 zero bytes (aoki)", [][]byte{jpki}, ext(0x80, 0xA2, 0x00, 0xC1, make([]byte, 256), 65536), swWrongLength},
		{"6700 SELECT EF Lc 1", [][]byte{jpki}, hx("00 A4 02 0C 01 0A"), swWrongLength},
		{"6700 READ without Le", [][]byte{jpki, selectEF(m.JPKIAuthCert)}, hx("00 B0 00 00"), swWrongLength},
		{"6700 Lc mismatch", nil, hx("00 A4 04 0C 0A D3 92"), swWrongLength},
		{"6700 5th byte 00, 6 bytes (skythen's panic)", nil, hx("00 A4 04 00 00 01"), swWrongLength},
		{"6700 GET CHALLENGE without Le", nil, hx("00 84 00 00"), swWrongLength},
		{"6700 80 FC on a physical card", nil, hx("80 FC 00 00"), swWrongLength},
		{"6700 sign 246 bytes P1 00", [][]byte{jpki, verifySFI(m.JPKIAuthPIN, testAuthPIN)}, signCmd(0, 0x97, make([]byte, 246)), swWrongLength},
		{"6700 sign 31 bytes P1 02", [][]byte{jpki, verifySFI(m.JPKIAuthPIN, testAuthPIN)}, signCmd(2, 0x97, make([]byte, 31)), swWrongLength},
		{"6700 GET DATA 00F8 short Le", nil, hx("00 CA 00 F8 00"), swWrongLength},
		{"6B00 offset beyond end", [][]byte{jpki, selectEF(m.JPKICertFlags)}, hx("00 B0 00 03 01"), swWrongOffset},
		{"6B00 short-EF offset beyond end", [][]byte{jpki}, hx("00 B0 88 05 01"), swWrongOffset},
		{"6D00 unknown INS", nil, hx("00 D6 00 00 01 00"), swINS},
		{"6E00 CLA FF", nil, hx("FF A4 04 0C"), swCLA},
		{"6E00 CLA A0", nil, hx("A0 A4 04 0C 02 00 01"), swCLA},
		{"6E00 ISO INS with CLA 80", nil, hx("80 B0 00 00 00"), swCLA},
		{"6E00 sign with CLA 00", [][]byte{jpki}, cmd(0x00, 0x2A, 0, 0x97, make([]byte, 32), 256), swCLA},
		{"6985 GET CHALLENGE extended Le", nil, hx("00 84 00 00 00 00 08"), swConditions},
		{"6985 80 A2 outside JPKI-AP", [][]byte{face}, ext(0x80, 0xA2, 0x00, 0xC1, tc, 0), swConditions},
		{"6985 change 照合番号", [][]byte{face}, hx("00 24 01 92 04 31 32 33 34"), swConditions},
		{"6985 CHANGE KEY of a JPKI PIN", [][]byte{jpki, verifySFI(m.JPKIAuthPIN, testAuthPIN)}, cmd(0x80, 0x32, 0x00, 0x98, []byte("4321"), 0), swConditions},
		{"6985 CHANGE REFERENCE DATA of the 共通 PIN", [][]byte{common, verifySFI(m.CommonPIN, testCommonPIN)}, cmd(0x00, 0x24, 0x01, 0x9C, []byte("4321"), 0), swConditions},
		{"6985 kenkaku INTERNAL AUTHENTICATE", [][]byte{face}, cmd(0x00, 0x88, 0x00, 0x9A, make([]byte, 16), 256), swConditions},
		{"6985 kenhojo INTERNAL AUTHENTICATE", [][]byte{hojo}, cmd(0x00, 0x88, 0x00, 0x93, make([]byte, 16), 256), swConditions},
		{"6982 JPKI INTERNAL AUTHENTICATE", [][]byte{jpki}, cmd(0x00, 0x88, 0x00, 0x97, make([]byte, 16), 256), swSecurity},
		{"6982 JPKI INTERNAL AUTHENTICATE 9A with both PINs", [][]byte{jpki, verifySFI(m.JPKIAuthPIN, testAuthPIN), verifySFI(m.JPKISignPIN, testSignPIN)}, cmd(0x00, 0x88, 0x00, 0x9A, make([]byte, 16), 256), swSecurity},
		{"6982 JPKI SET SESSION KEY with both PINs", [][]byte{jpki, verifySFI(m.JPKIAuthPIN, testAuthPIN), verifySFI(m.JPKISignPIN, testSignPIN)}, ext(0x80, 0xAE, 0, 0, make([]byte, 256), 0), swSecurity},
		{"66F1 kenkaku SET SESSION KEY", [][]byte{face}, ext(0x80, 0xAE, 0, 0, make([]byte, 256), 0), iso7816.SWNoSecurityEnv},
		{"66F1 共通カードAP SET SESSION KEY", [][]byte{common}, ext(0x80, 0xAE, 0, 0, make([]byte, 256), 0), iso7816.SWNoSecurityEnv},
		{"6982 住基AP SET SESSION KEY with the PIN", [][]byte{juki, verifySFI(m.JukiPIN, testCommonPIN)}, ext(0x80, 0xAE, 0, 0, make([]byte, 256), 0), swSecurity},
		{"6982 kenhojo SET SESSION KEY with nothing", [][]byte{hojo}, ext(0x80, 0xAE, 0, 0, make([]byte, 256), 0), swSecurity},
		{"6982 kenhojo SET SESSION KEY with 照合番号A only", [][]byte{hojo, verifySFI(m.InputNumberA, testMyNumber)}, ext(0x80, 0xAE, 0, 0, make([]byte, 256), 0), swSecurity},
		{"6F00 kenhojo SET SESSION KEY not below the modulus", [][]byte{hojo, verifySFI(m.InputPIN, testKenhojoPIN)}, ext(0x80, 0xAE, 0, 0, bytes.Repeat([]byte{0xFF}, 256), 0), iso7816.SWNoPreciseDiagnosis},
		{"6A80 kenhojo SET SESSION KEY garbage", [][]byte{hojo, verifySFI(m.InputPIN, testKenhojoPIN)}, ext(0x80, 0xAE, 0, 0, append([]byte{0x01}, make([]byte, 255)...), 0), swWrongData},
		{"6982 MANAGE ATTRIBUTES 22", [][]byte{jpki}, hx("80 8A 22 00"), swSecurity},
		{"6A86 MANAGE ATTRIBUTES 20", [][]byte{jpki}, hx("80 8A 20 00"), swWrongP1P2},
		{"6982 ERASE ALL RECORDS", [][]byte{common}, hx("80 06 00 00"), swSecurity},
		{"6982 LOCK DF", [][]byte{jpki}, hx("80 50 00 00"), swSecurity},
		{"6982 UNLOCK DF", [][]byte{jpki}, hx("80 52 00 00"), swSecurity},
		{"6982 UNLOCK KEY", [][]byte{jpki}, hx("80 54 00 98"), swSecurity},
		{"6982 EXTERNAL AUTHENTICATE", [][]byte{jpki}, hx("00 82 00 00 08 01 02 03 04 05 06 07 08"), swSecurity},
		{"6A81 READ RECORD P2 05", [][]byte{common, selectEF(m.CommonCardInfo)}, hx("00 B2 01 05 00"), iso7816.SWFuncNotSupported},
		{"6A83 READ RECORD 2", [][]byte{common, selectEF(m.CommonCardInfo)}, hx("00 B2 02 04 00"), iso7816.SWRecordNotFound},
		{"6A88 GET DATA in an AP", [][]byte{jpki}, hx("00 CA 00 F0 00"), swDataNotFound},
		{"6A88 GET DATA unknown tag", nil, hx("00 CA 01 01 00"), swDataNotFound},
		{"6881 logical channel 1", nil, hx("01 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"), swChannel},
		{"6881 logical channel 4", nil, hx("40 B0 00 00 00"), swChannel},
		{"6882 SM SELECT without a session", [][]byte{jpki}, hx("08 A4 02 0C 02 00 0A"), swSMNotSupported},
		{"6882 SM SELECT 0C without a session", nil, hx("0C A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"), swSMNotSupported},
		{"69FC SM READ", [][]byte{jpki, selectEF(m.JPKIAuthCert)}, hx("0C B0 00 00 00"), swSMNoSession},
		{"69FC SM READ 08", [][]byte{jpki, selectEF(m.JPKIAuthCert)}, hx("08 B0 00 00 00"), swSMNoSession},
		{"69FC SM VERIFY", [][]byte{jpki}, hx("08 20 00 98 04 31 32 33 34"), swSMNoSession},
		{"69FC SM VERIFY in kenhojo before SET SESSION KEY", [][]byte{hojo}, hx("08 20 00 91 04 31 32 33 34"), swSMNoSession},
		{"6884 command chaining", nil, hx("10 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"), iso7816.SWChainingNotSupported},
		{"6986 READ without current EF", [][]byte{jpki}, hx("00 B0 00 00 00"), swNoCurrentEF},
		{"6A80 bad new PIN", [][]byte{jpki, verifySFI(m.JPKIAuthPIN, testAuthPIN)}, hx("00 24 01 98 03 31 32 33"), swWrongData},
		{"6300 80 A2 wrong signer", [][]byte{jpki}, ext(0x80, 0xA2, 0x00, 0xC1, terminalCert(t, pki.RogueCAKey, fixtures.TerminalCAKeyID), 0), swVerifyFailed},
		{"6A88 80 A2 other issuer id", [][]byte{jpki}, ext(0x80, 0xA2, 0x00, 0xC1, terminalCert(t, pki.TerminalCAKey, fixtures.FaceCAID), 0), swDataNotFound},
		{"9000 80 A2 00 C1", [][]byte{jpki}, ext(0x80, 0xA2, 0x00, 0xC1, tc, 0), swOK},
		{"9000 GET CHALLENGE at MF level", nil, hx("00 84 00 00 08"), swOK},
		{"9000 kenkaku card presence without credential", [][]byte{face}, signCmd(0, 0x00, make([]byte, 51)), swOK},
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
	t.Run("no PIN set (face-auth)", func(t *testing.T) {
		c := newTestCard(t, "face-auth")
		exchange(t, c, jpki, swOK)
		exchange(t, c, hx("00 20 00 98"), 0x63C3) // the query still reports the counter: OpenSC binds
		exchange(t, c, verifySFI(m.JPKIAuthPIN, testAuthPIN), swBlocked)
		exchange(t, c, hojo, swOK)
		exchange(t, c, verifySFI(m.InputPIN, testKenhojoPIN), swBlocked)
		// The visual mode still works: 照合番号B opens the card face.
		exchange(t, c, face, swOK)
		exchange(t, c, verifySFI(m.FaceNumberB, persona(t, "face-auth").VerificationB()), swOK)
	})
	t.Run("blocked persona", func(t *testing.T) {
		c := newTestCard(t, "blocked")
		exchange(t, c, jpki, swOK)
		exchange(t, c, hx("00 20 00 98"), 0x63C0)
		exchange(t, c, verifySFI(m.JPKIAuthPIN, persona(t, "blocked").AuthPIN), swBlocked)
	})
}

// No application answers 6D00 to an instruction the card knows (card.md section 2): every
// instruction of the card, in every DF and at MF level.
func TestKnownInstructions(t *testing.T) {
	known := []struct{ cla, ins byte }{
		{0x00, 0xA4}, {0x00, 0xB0}, {0x00, 0xB2}, {0x00, 0x20}, {0x00, 0x24}, {0x00, 0x84}, {0x00, 0x88}, {0x00, 0x82},
		{0x00, 0xCA}, {0x80, 0x2A}, {0x80, 0x32}, {0x80, 0xA2}, {0x80, 0xAE}, {0x80, 0xFC}, {0x80, 0x06}, {0x80, 0x50},
		{0x80, 0x52}, {0x80, 0x54}, {0x80, 0x8A},
	}
	for _, df := range append([]m.AID{""}, m.Applications[:]...) {
		for _, k := range known {
			c := newTestCard(t, "adult")
			if df != "" {
				exchange(t, c, selectDF(df), swOK)
			}
			for _, b := range [][]byte{{k.cla, k.ins, 0x00, 0x00}, {k.cla, k.ins, 0x00, 0x00, 0x00}, {k.cla, k.ins, 0x00, 0x80, 0x01, 0x00}} {
				if sw := iso7816.SWOf(c.Transmit(b)); sw == swINS || sw == swCLA {
					t.Errorf("%s: % X answers %v", df.Short(), b, sw)
				}
			}
		}
	}
}

// TestGetChallenge: short Le 1..256 gives that many random bytes, at MF level and in every AP.
func TestGetChallenge(t *testing.T) {
	c := newTestCard(t, "adult")
	a := exchange(t, c, hx("00 84 00 00 08"), swOK)
	b := exchange(t, c, hx("00 84 00 00 08"), swOK)
	if len(a) != 8 || bytes.Equal(a, b) {
		t.Fatalf("challenges % X, % X", a, b)
	}
	for _, df := range m.Applications {
		exchange(t, c, selectDF(df), swOK)
		if n := len(exchange(t, c, hx("00 84 00 00 00"), swOK)); n != 256 {
			t.Fatalf("%s: Le 00 gave %d bytes", df.Short(), n)
		}
		if n := len(exchange(t, c, hx("00 84 00 00 01"), swOK)); n != 1 {
			t.Fatalf("%s: Le 01 gave %d bytes", df.Short(), n)
		}
	}
	exchange(t, c, hx("00 84 00 01 08"), swWrongP1P2)
}

// TestPINLockout: 63C2, 63C1, 63C0, then 6984 for every VERIFY, the query answering 63C0;
// the counter survives Reset, PowerOff and a restart from the state file.
func TestPINLockout(t *testing.T) {
	state := filepath.Join(t.TempDir(), "card.json")
	c := newTestCard(t, "adult", card.WithStateFile(state))
	exchange(t, c, selectDF(m.AIDJPKI), swOK)
	exchange(t, c, selectEF(m.JPKIAuthPIN), swOK)
	exchange(t, c, verifyCur("0000"), 0x63C2)
	exchange(t, c, hx("00 20 00 80"), 0x63C2) // the query consumes nothing
	exchange(t, c, hx("00 20 00 80"), 0x63C2)

	// A restart keeps a partly used counter; a right PIN restores it.
	c = newTestCard(t, "adult", card.WithStateFile(state))
	exchange(t, c, selectDF(m.AIDJPKI), swOK)
	exchange(t, c, hx("00 20 00 98"), 0x63C2)
	exchange(t, c, verifySFI(m.JPKIAuthPIN, testAuthPIN), swOK)
	exchange(t, c, hx("00 20 00 98"), 0x63C3)

	exchange(t, c, verifySFI(m.JPKIAuthPIN, "9999"), 0x63C2)
	c.Reset()
	exchange(t, c, selectDF(m.AIDJPKI), swOK)
	exchange(t, c, verifySFI(m.JPKIAuthPIN, "9999"), 0x63C1)
	c.PowerOff()
	c.PowerOn()
	exchange(t, c, selectDF(m.AIDJPKI), swOK)
	exchange(t, c, verifySFI(m.JPKIAuthPIN, "9999"), 0x63C0)
	exchange(t, c, verifySFI(m.JPKIAuthPIN, testAuthPIN), swBlocked)
	exchange(t, c, hx("00 20 00 98"), 0x63C0)
	for _, ev := range []func(){func() { c.Reset() }, func() { c.PowerOff(); c.PowerOn() }} {
		ev()
		exchange(t, c, selectDF(m.AIDJPKI), swOK)
		exchange(t, c, verifySFI(m.JPKIAuthPIN, testAuthPIN), swBlocked)
	}
	c = newTestCard(t, "adult", card.WithStateFile(state))
	exchange(t, c, selectDF(m.AIDJPKI), swOK)
	exchange(t, c, verifySFI(m.JPKIAuthPIN, testAuthPIN), swBlocked)
	exchange(t, c, hx("00 20 00 98"), 0x63C0)
	// Other keys keep their own counters; 照合番号 counters persist too.
	exchange(t, c, verifySFI(m.JPKISignPIN, testSignPIN), swOK)
	exchange(t, c, selectDF(m.AIDCardFace), swOK)
	exchange(t, c, verifySFI(m.FaceNumberA, "000000000000"), 0x63C9)
	c = newTestCard(t, "adult", card.WithStateFile(state))
	exchange(t, c, selectDF(m.AIDCardFace), swOK)
	exchange(t, c, query(m.FaceNumberA), 0x63C9)

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
	exchange(t, c, selectDF(m.AIDJPKI), swOK)
	exchange(t, c, verifySFI(m.JPKIAuthPIN, "0000"), iso7816.SWMemoryFailure)
	exchange(t, c, hx("00 20 00 98"), 0x63C2)
}

// TestChangePIN: CHANGE REFERENCE DATA after VERIFY, the format rules, and persistence of the
// new PIN across a restart.
func TestChangePIN(t *testing.T) {
	state := filepath.Join(t.TempDir(), "card.json")
	c := newTestCard(t, "adult", card.WithStateFile(state))
	exchange(t, c, selectDF(m.AIDJPKI), swOK)
	exchange(t, c, selectEF(m.JPKIAuthPIN), swOK)
	exchange(t, c, cmd(0x00, 0x24, 0x01, 0x80, []byte("4321"), 0), swSecurity)
	exchange(t, c, verifyCur(testAuthPIN), swOK)
	for _, bad := range []string{"123", "12345", "12a4"} {
		exchange(t, c, cmd(0x00, 0x24, 0x01, 0x80, []byte(bad), 0), swWrongData)
	}
	exchange(t, c, cmd(0x00, 0x24, 0x00, 0x80, []byte("4321"), 0), swWrongP1P2)
	exchange(t, c, cmd(0x00, 0x24, 0x01, 0x80, []byte("4321"), 0), swOK)

	exchange(t, c, verifySFI(m.JPKISignPIN, testSignPIN), swOK)
	for _, bad := range []string{"abc123", "AB12", "ABC-123"} {
		exchange(t, c, cmd(0x00, 0x24, 0x01, 0x9B, []byte(bad), 0), swWrongData)
	}
	exchange(t, c, cmd(0x00, 0x24, 0x01, 0x9B, []byte("ABCDEFGH123456789"), 0), swWrongLength) // over 16 bytes
	// card.md: no letter+digit mix is enforced by default.
	exchange(t, c, cmd(0x00, 0x24, 0x01, 0x9B, []byte("ABCDEF"), 0), swOK)
	exchange(t, c, verifySFI(m.JPKISignPIN, "ABCDEF"), swOK)
	exchange(t, c, cmd(0x00, 0x24, 0x01, 0x9B, []byte("Z9Y8X7W6V5U4T3S2"), 0), swOK)

	c = newTestCard(t, "adult", card.WithStateFile(state))
	exchange(t, c, selectDF(m.AIDJPKI), swOK)
	exchange(t, c, verifySFI(m.JPKIAuthPIN, testAuthPIN), 0x63C2)
	exchange(t, c, verifySFI(m.JPKIAuthPIN, "4321"), swOK)
	exchange(t, c, verifySFI(m.JPKISignPIN, "Z9Y8X7W6V5U4T3S2"), swOK)

	// The quirk enforces the mix.
	q := card.DefaultQuirks()
	q.SignPINLetterAndDigit = true
	pr := profile(t, "adult")
	pr.Quirks = &q
	d, err := card.New(pr)
	if err != nil {
		t.Fatal(err)
	}
	exchange(t, d, selectDF(m.AIDJPKI), swOK)
	exchange(t, d, verifySFI(m.JPKISignPIN, testSignPIN), swOK)
	exchange(t, d, cmd(0x00, 0x24, 0x01, 0x9B, []byte("ABCDEF"), 0), swWrongData)
}

// Profile.Tries sets a key's retry limit; the query reports it.
func TestTriesOverride(t *testing.T) {
	pr := profile(t, "adult")
	pr.Tries = map[card.KeyRef]int{{AID: m.AIDInputSupport, FID: m.InputPIN}: 5, {AID: m.AIDCardFace, FID: m.FaceBirthKey}: 7}
	c, err := card.New(pr)
	if err != nil {
		t.Fatal(err)
	}
	exchange(t, c, selectDF(m.AIDInputSupport), swOK)
	exchange(t, c, query(m.InputPIN), 0x63C5)
	exchange(t, c, selectDF(m.AIDCardFace), swOK)
	exchange(t, c, query(m.FaceBirthKey), 0x63C7)
	exchange(t, c, query(m.FaceNumberB), 0x63CA)
}

// TestChangeKey: the 共通カードAP and 住基AP PINs change with CHANGE KEY 80 32 00 80 after VERIFY,
// each its own key (UIs merge them as 個人番号カード用暗証番号).
func TestChangeKey(t *testing.T) {
	state := filepath.Join(t.TempDir(), "card.json")
	c := newTestCard(t, "adult", card.WithStateFile(state))
	for _, k := range []struct {
		aid m.AID
		fid m.FID
	}{{m.AIDCommon, m.CommonPIN}, {m.AIDJuki, m.JukiPIN}} {
		exchange(t, c, selectDF(k.aid), swOK)
		exchange(t, c, selectEF(k.fid), swOK)
		exchange(t, c, query(k.fid), 0x63C3)
		exchange(t, c, cmd(0x80, 0x32, 0x00, 0x80, []byte("7777"), 0), swSecurity)
		exchange(t, c, verifyCur(testCommonPIN), swOK)
		exchange(t, c, cmd(0x80, 0x32, 0x00, 0x80, []byte("77a7"), 0), swWrongData)
		exchange(t, c, cmd(0x80, 0x32, 0x01, 0x80, []byte("7777"), 0), swWrongP1P2)
		exchange(t, c, cmd(0x80, 0x32, 0x00, 0x80, []byte("7777"), 0), swOK)
	}
	c = newTestCard(t, "adult", card.WithStateFile(state))
	exchange(t, c, selectDF(m.AIDCommon), swOK)
	exchange(t, c, verifySFI(m.CommonPIN, testCommonPIN), 0x63C2)
	exchange(t, c, verifySFI(m.CommonPIN, "7777"), swOK)
	exchange(t, c, selectDF(m.AIDJuki), swOK)
	exchange(t, c, verifySFI(m.JukiPIN, "7777"), swOK)
	// The kenhojo PIN changes with CHANGE REFERENCE DATA.
	exchange(t, c, selectDF(m.AIDInputSupport), swOK)
	exchange(t, c, verifySFI(m.InputPIN, testKenhojoPIN), swOK)
	exchange(t, c, cmd(0x00, 0x24, 0x01, 0x91, []byte("8888"), 0), swOK)
	exchange(t, c, verifySFI(m.InputPIN, "8888"), swOK)
}

// TestSecurityStatusVolatile: a VERIFY is forgotten on Reset, PowerOff, SELECT of another DF and
// a failed VERIFY; re-SELECT of the same DF clears it too (card.md's default, as OpenSC's logout
// assumes) unless Quirks.KeepStatusOnReselect.
func TestSecurityStatusVolatile(t *testing.T) {
	c := newTestCard(t, "adult")
	sign := signCmd(2, 0x97, make([]byte, 32))
	login := func() {
		t.Helper()
		exchange(t, c, selectDF(m.AIDJPKI), swOK)
		exchange(t, c, verifySFI(m.JPKIAuthPIN, testAuthPIN), swOK)
		exchange(t, c, sign, swOK)
	}
	events := map[string]func(){
		"reset":        func() { c.Reset(); exchange(t, c, selectDF(m.AIDJPKI), swOK) },
		"power-off":    func() { c.PowerOff(); c.PowerOn(); exchange(t, c, selectDF(m.AIDJPKI), swOK) },
		"select DF":    func() { exchange(t, c, selectDF(m.AIDCardFace), swOK); exchange(t, c, selectDF(m.AIDJPKI), swOK) },
		"re-select DF": func() { exchange(t, c, selectDF(m.AIDJPKI), swOK) },
		"select ISD":   func() { exchange(t, c, selectDF(m.AIDISD), swOK); exchange(t, c, selectDF(m.AIDJPKI), swOK) },
		"wrong VERIFY": func() { exchange(t, c, verifySFI(m.JPKIAuthPIN, "0000"), 0x63C2) },
	}
	for name, ev := range events {
		login()
		ev()
		if sw := iso7816.SWOf(c.Transmit(sign)); sw != swSecurity {
			t.Errorf("after %s: %v, want 6982", name, sw)
		}
		if name == "wrong VERIFY" {
			exchange(t, c, verifySFI(m.JPKIAuthPIN, testAuthPIN), swOK)
		}
	}
	// SELECT MF keeps the DF and its status; a failed SELECT keeps them too.
	login()
	exchange(t, c, hx("00 A4 00 00"), swOK)
	exchange(t, c, selectDF("\xD3\x92\x00"), swFileNotFound)
	exchange(t, c, sign, swOK)
	// After a reset nothing is selected.
	c.Reset()
	exchange(t, c, hx("00 B0 00 00 01"), swNoCurrentEF)

	q := card.DefaultQuirks()
	q.KeepStatusOnReselect = true
	pr := profile(t, "adult")
	pr.Quirks = &q
	c, _ = card.New(pr)
	login()
	exchange(t, c, selectDF(m.AIDJPKI), swOK)
	exchange(t, c, sign, swOK)
}

// TestTerminalAuth: the 80 A2 00 C1 certificate is accepted with its key kept; with
// card.WithRequireTerminalAuth the card face needs it, which survives the switch to the
// card-face AP and is cleared by reset.
func TestTerminalAuth(t *testing.T) {
	good := terminalCert(t, testPKI(t).TerminalCAKey, fixtures.TerminalCAKeyID)
	if cv, err := m.ParseCV(good); err != nil || len(cv.Body) != 307 {
		t.Fatalf("terminal certificate body: %v", err) // card.md: 307 bytes, hence extended Lc
	}
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	c := newTestCard(t, "adult", card.WithRequireTerminalAuth(true), card.WithClock(func() time.Time { return now }))
	readFace := func(want iso7816.StatusWord) {
		t.Helper()
		exchange(t, c, selectDF(m.AIDCardFace), swOK)
		exchange(t, c, verifySFI(m.FaceNumberB, testNumberB), swOK)
		exchange(t, c, hx("00 B0 82 00 00"), want)
	}
	readFace(swSecurity)
	exchange(t, c, selectDF(m.AIDJPKI), swOK)
	exchange(t, c, ext(0x80, 0xA2, 0x00, 0xC1, good, 0), swOK)
	readFace(swOK)
	c.Reset()
	readFace(swSecurity)
	// A failed 80 A2 clears an earlier success; an expired certificate fails with a clock.
	exchange(t, c, selectDF(m.AIDJPKI), swOK)
	exchange(t, c, ext(0x80, 0xA2, 0x00, 0xC1, good, 0), swOK)
	now = now.AddDate(5, 0, 0)
	exchange(t, c, ext(0x80, 0xA2, 0x00, 0xC1, good, 65536), swVerifyFailed)
	readFace(swSecurity)
	// The default model reads the face without 80 A2 (on the test card 照合番号B alone opens it).
	d := newTestCard(t, "adult")
	exchange(t, d, selectDF(m.AIDCardFace), swOK)
	exchange(t, d, verifySFI(m.FaceNumberB, testNumberB), swOK)
	exchange(t, d, hx("00 B0 82 00 00"), swOK)
	// Another P1 P2 and another success word are configurable.
	q := card.DefaultQuirks()
	q.TerminalCertP1P2, q.TerminalCertOK = 0x0000, 0x6283
	pr := profile(t, "adult")
	pr.Quirks = &q
	e, _ := card.New(pr)
	exchange(t, e, selectDF(m.AIDJPKI), swOK)
	exchange(t, e, ext(0x80, 0xA2, 0x00, 0xC1, good, 0), swWrongP1P2)
	exchange(t, e, ext(0x80, 0xA2, 0x00, 0x00, good, 0), 0x6283)
}

// TestChildCard: no signing certificate; EF 0008 says so.
func TestChildCard(t *testing.T) {
	c := newTestCard(t, "child")
	exchange(t, c, selectDF(m.AIDJPKI), swOK)
	exchange(t, c, selectEF(m.JPKISignCert), swFileNotFound)
	exchange(t, c, selectEF(m.JPKISignKey), swFileNotFound)
	exchange(t, c, hx("00 20 00 9B"), 0x63C5) // the query answers; VERIFY cannot succeed
	exchange(t, c, verifySFI(m.JPKISignPIN, "ABC123"), swBlocked)
	exchange(t, c, selectEF(m.JPKICertFlags), swOK)
	f, err := m.ParseCertFlags(exchange(t, c, hx("00 B0 00 00 00"), swOK))
	if err != nil || f.Sign || !f.Auth {
		t.Fatalf("EF 0008 %+v %v", f, err)
	}
	a := newTestCard(t, "adult")
	exchange(t, a, selectDF(m.AIDJPKI), swOK)
	if f := exchange(t, a, hx("00 B0 88 00 00"), swOK); !bytes.Equal(f, hx("8F 8F 00")) {
		t.Fatalf("adult EF 0008 % X", f)
	}
}

// TestNewRejects: malformed profiles are refused without quoting secrets.
func TestNewRejects(t *testing.T) {
	for name, mod := range map[string]func(*card.Profile){
		"auth PIN 5 digits":   func(p *card.Profile) { p.AuthPIN = "12345" },
		"sign PIN lower case": func(p *card.Profile) { p.SignPIN = "abc123" },
		"common PIN letters":  func(p *card.Profile) { p.CommonPIN = "abcd" },
		"My Number 11":        func(p *card.Profile) { p.MyNumber = "12345678901" },
		"no card key":         func(p *card.Profile) { p.CardKey = nil },
		"bad birth date":      func(p *card.Profile) { p.BirthDate = "19801317" },
		"cert header":         func(p *card.Profile) { p.AuthCert = append(bytes.Clone(p.AuthCert), 0) },
		"municipality":        func(p *card.Profile) { p.Municipality = "1310" },
		"CV certificate":      func(p *card.Profile) { p.FaceIssuerCV = p.FaceIssuerCV[:100] },
		"unknown application": func(p *card.Profile) { p.Applications = []m.AID{"\x01\x02"} },
		"kenhojo EF 0005":     func(p *card.Profile) { p.InputInfoSize = 200 },
		"tries of a non-key":  func(p *card.Profile) { p.Tries = map[card.KeyRef]int{{AID: m.AIDJPKI, FID: m.JPKIAuthCert}: 3} },
		"tries 16":            func(p *card.Profile) { p.Tries = map[card.KeyRef]int{{AID: m.AIDJPKI, FID: m.JPKIAuthPIN}: 16} },
	} {
		p := profile(t, "adult")
		mod(&p)
		_, err := card.New(p)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		for _, s := range []string{"12345", "abc123", "abcd", "12345678901"} {
			if bytes.Contains([]byte(err.Error()), []byte(s)) {
				t.Errorf("%s: error quotes a secret: %v", name, err)
			}
		}
	}
}

// TestConcurrentTransmit drives one card from several goroutines (vpcd socket and tests); run
// with -race. Every answer is a whole response of this card.
func TestConcurrentTransmit(t *testing.T) {
	c := newTestCard(t, "adult")
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for range 4 {
		wg.Go(func() {
			for i := range 200 {
				if sw := iso7816.SWOf(c.Transmit(selectDF(m.AIDJPKI))); sw != swOK {
					errs <- "SELECT DF " + sw.String()
					return
				}
				r := c.Transmit(hx("00 B0 86 00 20"))
				if len(r) != 34 && iso7816.SWOf(r) != swFileNotFound { // another goroutine may reset
					errs <- "READ BINARY"
					return
				}
				if i%50 == 0 {
					c.Reset()
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
