package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"log/slog"
	"strings"
	"testing"

	"github.com/mynaconform/mynaconform/emulator/phone"
	"github.com/mynaconform/mynaconform/emulator/vpcd"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/fixtures/devices"
	"github.com/mynaconform/mynaconform/formats/mynumber"
)

// The stand-in's APDU log masks what transcripts mask: PINs and 照合番号 in VERIFY, and the data of
// the My Number files (followed from the selections, also by short EF), keeping status words and
// the rest.
func TestPhoneLogMasksSecrets(t *testing.T) {
	per, err := fixtures.PersonaByID("adult")
	if err != nil {
		t.Fatal(err)
	}
	c, err := buildCard(cardSlot{persona: "adult"})
	if err != nil {
		t.Fatal(err)
	}
	prof, err := devices.ByID("synthetic-max-65279")
	if err != nil {
		t.Fatal(err)
	}
	ph := phone.New(prof, c)
	ctx := context.Background()
	if err := ph.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	l := newAPDULog(slog.New(slog.NewTextHandler(&out, nil)), ph)
	send := func(cmd []byte) {
		resp, err := ph.Transmit(ctx, cmd)
		l.record(cmd, resp, err)
		if err != nil || len(resp) < 2 {
			t.Fatalf("% X: %v", cmd, err)
		}
	}
	sel := func(aid mynumber.AID) []byte {
		return append([]byte{0x00, 0xA4, 0x04, 0x0C, byte(len(aid))}, aid...)
	}
	verify := func(fid mynumber.FID, v string) []byte {
		return append([]byte{0x00, 0x20, 0x00, 0x80 | byte(fid), byte(len(v))}, v...)
	}
	send(sel(mynumber.AIDInputSupport))
	send(verify(mynumber.InputPIN, per.KenhojoPIN))
	send([]byte{0x00, 0xB0, 0x80 | byte(mynumber.InputMyNumber), 0x00, 0x00}) // short EF: selects EF 0001
	send(sel(mynumber.AIDCardFace))
	send(verify(mynumber.FaceNumberB, per.VerificationB()))
	send(sel(mynumber.AIDJPKI))
	send([]byte{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x0A})
	send([]byte{0x00, 0xB0, 0x00, 0x00, 0x10}) // the auth certificate: not secret

	log := strings.ToUpper(out.String())
	for name, secret := range map[string]string{"the PIN": per.KenhojoPIN, "照合番号B": per.VerificationB(), "the My Number": per.MyNumber} {
		if h := strings.ToUpper(hex.EncodeToString([]byte(secret))); strings.Contains(log, h) {
			t.Errorf("%s (%s) is in the log:\n%s", name, h, out.String())
		}
	}
	if n := strings.Count(out.String(), "masked=true"); n != 3 {
		t.Errorf("%d lines masked, want 3 (two VERIFYs, the My Number read):\n%s", n, out.String())
	}
	if !strings.Contains(log, "C=00B0000010 ") || !strings.Contains(log, "R=3082") {
		t.Errorf("the certificate read is not logged as it is:\n%s", out.String())
	}
	if !strings.Contains(log, "R=9000") {
		t.Errorf("status words are not logged:\n%s", out.String())
	}
}

// The stand-in's ATR is the app's Type B ATR of the card's ATQB: ATR 06's application data and
// protocol info (the virtual card answers a contact ATR) with MBLI 1 from the NCI stack.
func TestPhoneATR(t *testing.T) {
	c, err := buildCard(cardSlot{persona: "adult"})
	if err != nil {
		t.Fatal(err)
	}
	a, p := atqbOf(c)
	got := vpcd.TypeBATR(a, p, vpcd.AndroidNfcBMaxTransceive)
	want := []byte{0x3B, 0x88, 0x80, 0x01, 0x00, 0x00, 0x05, 0xE0, 0xB3, 0x81, 0xA1, 0x10, 0x6F}
	if !bytes.Equal(got, want) {
		t.Errorf("ATR % X, want % X", got, want)
	}
}
