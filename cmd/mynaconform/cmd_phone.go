package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/mynaconform/mynaconform/emulator/card"
	"github.com/mynaconform/mynaconform/emulator/phone"
	"github.com/mynaconform/mynaconform/emulator/vpcd"
	"github.com/mynaconform/mynaconform/fixtures/devices"
	"github.com/mynaconform/mynaconform/formats/iso7816"
	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/reports/transcript"
)

func init() {
	register("phone", "serve a virtual handset into pcscd as vsmartcard's Remote Smart Card Reader app does (phone serve)", runPhone)
}

const phoneUsage = `usage: mynaconform phone serve --profile ID --persona ID [--vpcd ADDR] [-devices DIR] [--retap D] [-q]

Stands in for a handset running vsmartcard's Remote Smart Card Reader app in a lab: the virtual
handset of the device profile (its max transceive, response cap, timeout, as 'mynaconform devices'
lists them) with the persona's virtual card in its field, dialled into pcscd's vpcd as the app
dials it. Power off and reset send SELECT MF to the card; the ATR is the one the app builds from
the card's ATQB; when the handset's NFC stack refuses or loses a command (transceive length, a
response above its cap, a timeout) no status word is sent: the connection closes and pcscd sees
the card removed, and the handset connects and dials again after --retap, as after the user's
next tap. A handset without NFC or ISO-DEP never dials. Every APDU is logged with PINs,
照合番号 and the My Number masked. Runs until SIGINT/SIGTERM; docs/lab.md.`

// runPhone implements `mynaconform phone serve`.
func runPhone(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] != "serve" {
		fmt.Fprintln(os.Stderr, phoneUsage)
		return 2
	}
	fs := newFlags("phone serve", phoneUsage)
	addr := fs.String("vpcd", vpcd.DefaultAddr, "vpcd `address` of the slot to dial (the app's host and port; Debian's slot 0 is port 35963)")
	profileID := fs.String("profile", "", "device profile `ID` of the handset ('mynaconform devices' lists them)")
	personaID := fs.String("persona", "", "persona or card variant `ID` of the card in its field ('mynaconform cards' lists them)")
	dir := fs.String("devices", "", "read the profiles (*.yaml) from `DIR` instead of the built-in catalogue")
	retap := fs.Duration("retap", vpcd.DefaultRetap, "time from a failure of the handset to the next tap")
	quiet := fs.Bool("q", false, "log errors only (no APDUs, no connection events)")
	pos, exit, done := parseFlags(fs, args[1:])
	if done {
		return exit
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "mynaconform phone serve: "+format+"\n", a...)
		return 2
	}
	switch {
	case len(pos) > 0:
		return bad("unexpected arguments %q", pos)
	case *profileID == "":
		return bad("--profile: missing (the handset's device profile ID; 'mynaconform devices' lists them)")
	case *personaID == "":
		return bad("--persona: missing (the card's persona ID, e.g. adult; 'mynaconform cards' lists them)")
	case *retap <= 0:
		return bad("--retap: %v is not a positive duration (e.g. 500ms)", *retap)
	}
	if _, _, err := net.SplitHostPort(*addr); err != nil {
		return bad("--vpcd: %q is not HOST:PORT (e.g. %s)", *addr, vpcd.DefaultAddr)
	}
	prof, err := findProfile(*dir, *profileID)
	if err != nil {
		return bad("%v", err)
	}
	c, err := buildCard(cardSlot{persona: *personaID})
	if err != nil {
		return bad("--persona: %v", err)
	}
	level := slog.LevelInfo
	if *quiet {
		level = slog.LevelError
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("handset", prof.ID, "persona", *personaID, "vpcd", *addr)
	ph := phone.New(prof, c)
	appData, protoInfo := atqbOf(c)
	app := &vpcd.App{
		Handset: ph,
		ATR:     vpcd.TypeBATR(appData, protoInfo, vpcd.AndroidNfcBMaxTransceive),
		Retap:   *retap,
	}
	if !*quiet {
		app.OnAPDU = newAPDULog(log, ph).record
	}
	caps := prof.Caps()
	log.Info("handset in the loop", "max_transceive", caps.MaxCommand, "extended", caps.Extended,
		"max_response", caps.MaxResponse, "timeout", prof.Timeout, "atr", strings.ToUpper(hex.EncodeToString(app.ATR)))
	if err := app.Dial(ctx, *addr, vpcd.WithLogger(log)); err != nil {
		fmt.Fprintln(os.Stderr, "mynaconform phone serve:", err)
		return 2
	}
	log.Info("stopped")
	return 0
}

// findProfile returns the profile with that ID from dir (or the built-in catalogue), or an error
// naming the known IDs.
func findProfile(dir, id string) (phone.Profile, error) {
	var ps []phone.Profile
	var err error
	where := "the built-in catalogue"
	if dir != "" {
		ps, err = devices.LoadDir(os.DirFS(dir))
		where = dir
	} else {
		ps, err = devices.Load()
	}
	if err != nil {
		return phone.Profile{}, fmt.Errorf("-devices: %w", err)
	}
	ids := make([]string, 0, len(ps))
	for _, p := range ps {
		if p.ID == id {
			return p, nil
		}
		ids = append(ids, p.ID)
	}
	return phone.Profile{}, fmt.Errorf("--profile: no profile %q in %s (known: %s)", id, where, strings.Join(ids, ", "))
}

// atqbOf is the ATQB the card answers in the field, from which the app builds the ATR: the
// application data and protocol info of the card's own ATR when that is a contactless one built
// from an ATQB (ATRs 06-09 of docs/card.md); otherwise (a card whose variant names a contact
// ATR) those of ATR 06, the first contactless ATR of real cards.
func atqbOf(c *card.Card) (appData, protocolInfo []byte) {
	if a, p, ok := atqbIn(c.ATR()); ok {
		return a, p
	}
	for _, a := range mynumber.ATRs {
		if a.Contactless {
			if ad, p, ok := atqbIn(a.Bytes); ok {
				return ad, p
			}
		}
	}
	return nil, nil
}

// atqbIn reads the ATQB parts of a PC/SC part 3 Type B ATR: 3B 88 80 01, application data (4),
// protocol info (3), MBLI, TCK.
func atqbIn(atr []byte) (appData, protocolInfo []byte, ok bool) {
	if len(atr) != 13 || !bytes.Equal(atr[:4], []byte{0x3B, 0x88, 0x80, 0x01}) {
		return nil, nil, false
	}
	return slices.Clone(atr[4:8]), slices.Clone(atr[8:11]), true
}

// apduLog logs every APDU the stand-in carries with the secrets masked as transcripts mask them
// (transcript.Mask): the data of VERIFY, CHANGE REFERENCE DATA and the like (PINs, passwords,
// 照合番号), and the data read from the files that hold the My Number (mynumber.SecretFiles), which
// it follows from the selections the card accepted.
type apduLog struct {
	log     *slog.Logger
	ph      *phone.Phone
	n       int
	last    time.Duration
	aid     mynumber.AID
	ef      mynumber.FID
	masking bool
}

func newAPDULog(log *slog.Logger, ph *phone.Phone) *apduLog { return &apduLog{log: log, ph: ph} }

// logBytes is how much of an APDU a log line shows.
const logBytes = 32

func (l *apduLog) record(cmd, resp []byte, err error) {
	l.n++
	modelled := l.ph.Elapsed() - l.last
	l.last = l.ph.Elapsed()
	ex := transcript.Mask(transcript.Exchange{Command: cmd, Response: resp}, l.track(cmd, resp, err))
	attrs := []any{"n", l.n, "apdu", mynumber.CommandName(cmd), "c", shortHex(ex.Command), "modelled", modelled.Round(time.Microsecond)}
	if ex.Masked {
		attrs = append(attrs, "masked", true)
	}
	if err != nil {
		l.log.Info("C-APDU failed in the handset: no status word, the connection closes", append(attrs, "err", err)...)
		return
	}
	l.log.Info("APDU", append(attrs, "r", shortHex(ex.Response))...)
}

// track follows the selection and reports whether resp's data is secret.
func (l *apduLog) track(cmd, resp []byte, err error) bool {
	prev := l.masking
	l.masking = false
	if err != nil || len(cmd) < 4 || len(resp) < 2 {
		l.aid, l.ef = "", 0 // the link dropped: the card starts over
		return false
	}
	sw := iso7816.SWOf(resp)
	lay, ok := iso7816.ParseLayout(cmd)
	ins, p1 := cmd[1], cmd[2]
	switch {
	case ins == iso7816.InsSelect && ok && sw == iso7816.SWOK:
		data := cmd[lay.DataOffset : lay.DataOffset+lay.DataLen]
		switch {
		case p1 == iso7816.SelectByName:
			l.aid, l.ef = mynumber.AID(data), 0
		case p1 == iso7816.SelectEF && len(data) == 2:
			l.ef = mynumber.FID(data[0])<<8 | mynumber.FID(data[1])
		case p1 == iso7816.SelectMF:
			l.aid, l.ef = "", 0
		}
	case ins == iso7816.InsReadBinary || ins == iso7816.InsReadBinary|1:
		if ins == iso7816.InsReadBinary && p1&0x80 != 0 && sw.SW1() != 0x6A {
			l.ef = mynumber.FID(p1 & 0x1F) // the short-EF form selects the EF
		}
		l.masking = slices.ContainsFunc(mynumber.SecretFiles, func(f mynumber.FileRef) bool {
			return f.FID == l.ef && f.AID == l.aid
		})
	case ins == iso7816.InsGetResponse:
		l.masking = prev
	}
	return l.masking
}

func shortHex(b []byte) string {
	if len(b) <= logBytes {
		return strings.ToUpper(hex.EncodeToString(b))
	}
	return fmt.Sprintf("%s... (%d bytes)", strings.ToUpper(hex.EncodeToString(b[:logBytes])), len(b))
}
