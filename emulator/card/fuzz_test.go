package card_test

import (
	"crypto/rand"
	"testing"

	"github.com/mynaconform/mynaconform/emulator/card"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/formats/iso7816"
	m "github.com/mynaconform/mynaconform/formats/mynumber"
)

// FuzzTransmit: no byte string makes the card panic (a recovered panic answers 6F00), answer
// fewer than two bytes or more than one response can carry, from each of the card's states: the
// power-on state (MF-level GET DATA), every application, the JPKI-AP with the auth PIN verified,
// the card face with 照合番号B verified, the input-support AP with a secure-messaging session
// open (counter 1), and after an accepted terminal certificate. The corpus seeds the edge cases
// of the length structure (skythen/apdu's panic input 00 A4 04 00 00 01 among them).
func FuzzTransmit(f *testing.F) {
	for _, s := range []string{
		"", "00", "00 A4", "00 A4 04", "00 A4 04 00", "00 A4 04 00 00", "00 A4 04 00 00 01",
		"00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01", "00 A4 02 0C 02 00 0A", "00 B0 00 00 00",
		"00 B0 7F FF 00", "00 B0 9F 00 00", "00 B0 00 00 00 00 00", "00 B0 00 00 00 FF FF",
		"00 20 00 80", "00 20 00 98 04 31 32 33 34", "00 24 01 98 04 31 32 33 34",
		"80 2A 00 97 02 00 00 00", "80 2A 05 80 01 00 00 00 00", "80 A2 00 C1 00 00 03 7F 21 00",
		"00 84 00 00 00", "00 84 00 00 00 00 00", "FF FF FF FF FF", "0C B0 00 00 00", "03 A4 04 0C",
		"00 A4 04 0C FF", "00 A4 04 0C 00 FF FF", "00 CA 00 F8 00 00 00", "00 CA 7F 21 00", "00 CA 5F 51 00",
		"00 B2 01 0C 00", "00 B2 01 04 00", "00 88 00 99 04 01 02 03 04 00", "80 AE 00 00 00 01 00 00",
		"08 20 00 91 13 86 11 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
		"08 B0 00 00 05 96 03 00 00 00 00 00", "08 A4 02 0C 13 86 11 01 00", "10 A4 04 0C 01 D3",
		"80 FC 00 00", "80 32 00 9C 04 31 32 33 34", "80 8A 22 00", "00 A4 04 0C 07 A0 00 00 01 51 00 00",
	} {
		for st := range byte(9) {
			f.Add(hx(s), st)
		}
	}
	c := newTestCard(f, "adult")
	ct, err := m.EncryptSessionKey(rand.Reader, &profile(f, "adult").SMKey.PublicKey, make([]byte, m.SMSeedLen))
	if err != nil {
		f.Fatal(err)
	}
	tc := terminalCert(f, testPKI(f).TerminalCAKey, fixtures.TerminalCAKeyID)
	states := []func(){
		func() {},
		func() { c.Transmit(selectDF(m.AIDJPKI)) },
		func() { c.Transmit(selectDF(m.AIDJPKI)); c.Transmit(verifySFI(m.JPKIAuthPIN, testAuthPIN)) },
		func() { c.Transmit(selectDF(m.AIDCardFace)); c.Transmit(verifySFI(m.FaceNumberB, testNumberB)) },
		func() { c.Transmit(selectDF(m.AIDInputSupport)) },
		func() {
			c.Transmit(selectDF(m.AIDInputSupport))
			c.Transmit(verifySFI(m.InputPIN, testKenhojoPIN))
			c.Transmit(ext(0x80, 0xAE, 0, 0, ct, 0))
		},
		func() { c.Transmit(selectDF(m.AIDCommon)) },
		func() { c.Transmit(selectDF(m.AIDJuki)) },
		func() { c.Transmit(selectDF(m.AIDJPKI)); c.Transmit(ext(0x80, 0xA2, 0x00, 0xC1, tc, 0)) },
	}
	f.Fuzz(func(t *testing.T, cmd []byte, state byte) {
		c.Reset()
		states[int(state)%len(states)]()
		r := c.Transmit(cmd)
		if len(r) < 2 || len(r) > card.MaxResponseData+2 {
			t.Fatalf("% X: %d-byte response", cmd[:min(len(cmd), 4)], len(r))
		}
		if iso7816.SWOf(r) == iso7816.SWNoPreciseDiagnosis && !(len(cmd) > 1 && cmd[1] == 0xAE) { // 6F00 is SET SESSION KEY's range error only
			t.Fatalf("% X: recovered panic (6F00)", cmd[:min(len(cmd), 4)])
		}
	})
}
