package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mynaconform/mynaconform/emulator/card"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/formats/mynumber"
)

func init() {
	register("cards", "list the virtual cards (personas and card variants): ATR, token, PINs, blocked keys, certificates", runCards)
}

// cardRow is one card of `mynaconform cards`: what a user needs to pick one (for `card serve
// --persona ID`, a test or a lab rehearsal).
type cardRow struct {
	ID           string   `json:"id"`
	Persona      string   `json:"persona"`
	For          string   `json:"for"`
	ATR          string   `json:"atr"`       // id in card.md's ATR list, "01".."09"
	ATRBytes     string   `json:"atr_bytes"` // hex
	Contactless  bool     `json:"contactless"`
	Token        string   `json:"token"` // JPKI EF 0006 label
	Applications []string `json:"applications"`
	PINs         []string `json:"pins_set"` // auth, sign, kenhojo, common, juki
	Blocked      []string `json:"blocked"`  // keys whose counter starts at 0 (kenhojo 0012, blocked on every card, left out)
	AuthCert     string   `json:"auth_cert"`
	SignCert     string   `json:"sign_cert"`
	MF7F21       bool     `json:"mf_7f21"` // GET DATA 7F21 answers at MF level (newer cards)
}

const cardsUsage = `usage: mynaconform cards [-json] [-at YYYY-MM-DD]

Lists the virtual My Number cards (マイナンバーカード) of the fixtures: each persona's own card and
the card variants (other ATRs, スマホ用電子証明書 tokens, expired / revoked / untrusted auth
certificates), with their ATR, JPKI token label, which PINs (暗証番号) are set, blocked keys,
the status of the auth (利用者証明用) and signing (署名用) certificates, and what each is for.
Serve one into pcscd with: mynaconform card serve --persona ID`

// runCards implements `mynaconform cards [-json] [-at YYYY-MM-DD]`.
func runCards(_ context.Context, args []string) int {
	fs := newFlags("cards", cardsUsage)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	at := fs.String("at", "", "certificate status at this date `YYYY-MM-DD` (default today)")
	if exit, done := parseNoArgs(fs, args); done {
		return exit
	}
	when := time.Now()
	if *at != "" {
		t, err := time.Parse(time.DateOnly, *at)
		if err != nil {
			fmt.Fprintf(os.Stderr, "mynaconform cards: -at %q: want YYYY-MM-DD\n", *at)
			return 2
		}
		when = t
	}
	rows, err := cardRows(when)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mynaconform cards:", err)
		return 3
	}
	if *asJSON {
		err = writeCardsJSON(os.Stdout, rows)
	} else {
		err = writeCardsTable(os.Stdout, rows)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mynaconform cards:", err)
		return 3
	}
	return 0
}

func cardRows(at time.Time) ([]cardRow, error) {
	vs, err := fixtures.Variants()
	if err != nil {
		return nil, err
	}
	var rows []cardRow
	for _, v := range vs {
		prof, err := v.CardProfile()
		if err != nil {
			return nil, fmt.Errorf("card %s: %w", v.ID, err)
		}
		a, _ := mynumber.ATRByID(v.ATR)
		r := cardRow{ID: v.ID, Persona: v.PersonaID, For: v.Title, ATR: v.ATR, ATRBytes: strings.ToUpper(hex.EncodeToString(a.Bytes)),
			Contactless: a.Contactless, Token: v.Token, AuthCert: string(v.AuthCertStatus(at)), SignCert: string(v.SignCertStatus(at)),
			MF7F21: len(prof.MF.CV) > 0, PINs: []string{}, Blocked: []string{}}
		apps := prof.Applications
		if apps == nil {
			apps = mynumber.Applications[:]
		}
		for _, a := range apps {
			r.Applications = append(r.Applications, a.Short())
		}
		for _, p := range []struct {
			name, v string
			aid     mynumber.AID
		}{{"auth", prof.AuthPIN, mynumber.AIDJPKI}, {"sign", prof.SignPIN, mynumber.AIDJPKI}, {"kenhojo", prof.KenhojoPIN, mynumber.AIDInputSupport},
			{"common", prof.CommonPIN, mynumber.AIDCommon}, {"juki", prof.JukiPIN, mynumber.AIDJuki}} {
			if p.v != "" && slices.Contains(apps, p.aid) {
				r.PINs = append(r.PINs, p.name)
			}
		}
		blocked := append([]card.KeyRef(nil), prof.Blocked...)
		if prof.AuthBlocked {
			blocked = append(blocked, card.KeyRef{AID: mynumber.AIDJPKI, FID: mynumber.JPKIAuthPIN})
		}
		for _, k := range blocked {
			r.Blocked = append(r.Blocked, fmt.Sprintf("%s/%04X", k.AID.Short(), uint16(k.FID)))
		}
		rows = append(rows, r)
	}
	return rows, nil
}

func writeCardsJSON(w io.Writer, rows []cardRow) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(rows)
}

func writeCardsTable(w io.Writer, rows []cardRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPERSONA\tATR\tTOKEN\tPINS SET (暗証番号)\tBLOCKED\tAUTH CERT\tSIGN CERT\tFOR")
	list := func(s []string) string {
		if len(s) == 0 {
			return "-"
		}
		return strings.Join(s, ",")
	}
	for _, r := range rows {
		kind := "contact"
		if r.Contactless {
			kind = "contactless"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s %s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Persona, r.ATR, kind, r.Token, list(r.PINs), list(r.Blocked),
			r.AuthCert, r.SignCert, r.For)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "\nkenhojo/0012 is blocked on every card, as on every real card examined. Certificate status is at the date of -at (today by default).")
	return err
}
