package main

import (
	"context"
	"fmt"
	"os"

	"github.com/mynaconform/mynaconform/conformance/replay"
	"github.com/mynaconform/mynaconform/conformance/target"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/reports/transcript"
)

func init() {
	register("replay", "send a recorded session to the virtual card and report where the answers differ", runReplay)
}

const replayUsage = `usage: mynaconform replay [-persona ID] [-json] [-all] TRANSCRIPT

Sends the commands of a recorded session (a .cbor transcript, e.g. recorded in lab mode on a real
test card) to a virtual card of the persona and reports, APDU by APDU, where the answers differ.
Signatures, challenges, masked secrets and per-card data are compared by length and layout;
status words and record layouts must match. Masked PINs and 照合番号 are replaced by the persona's.
Exit 0: no difference; 1: a real difference; 2: bad input.`

// runReplay implements `mynaconform replay [-persona ID] [-json] [-all] TRANSCRIPT`.
// Exit codes: 0 no difference, 1 a real difference, 2 bad input, 3 internal error.
func runReplay(ctx context.Context, args []string) int {
	fs := newFlags("replay", replayUsage)
	personaID := fs.String("persona", "", "persona whose virtual card answers (default: the transcript's persona)")
	asJSON := fs.Bool("json", false, "write the report as JSON")
	all := fs.Bool("all", false, "list every APDU, also those answered the same")
	pos, exit, done := parseFlags(fs, args)
	if done {
		return exit
	}
	if len(pos) != 1 {
		fmt.Fprintln(os.Stderr, "mynaconform replay: want exactly one TRANSCRIPT file")
		return 2
	}
	in, err := os.Open(pos[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "mynaconform replay:", err)
		return 2
	}
	defer in.Close()
	f, err := transcript.Read(in)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mynaconform replay: %s: %v\n", pos[0], err)
		return 2
	}
	id := *personaID
	if id == "" {
		id = f.Persona
	}
	per, err := fixtures.PersonaByID(id)
	if err != nil {
		ids := []string{}
		if all, err := fixtures.Personas(); err == nil {
			for _, p := range all {
				ids = append(ids, p.ID)
			}
		}
		fmt.Fprintf(os.Stderr, "mynaconform replay: -persona %q is no persona (known: %v)\n", id, ids)
		return 2
	}
	r, err := target.VirtualCard(per)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mynaconform replay: virtual card:", err)
		return 3
	}
	rep, err := replay.Run(ctx, r, f, replay.Options{Secrets: replay.PersonaSecrets(per), Persona: per.ID})
	if err != nil {
		fmt.Fprintln(os.Stderr, "mynaconform replay:", err)
		return 3
	}
	rep.Transcript = pos[0]
	if *asJSON {
		err = rep.WriteJSON(os.Stdout)
	} else {
		fmt.Printf("replay of %s (recorded on %s, %s; persona %s) against the virtual card\n", pos[0], f.Device, f.Target, per.ID)
		err = rep.Print(os.Stdout, *all)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mynaconform replay:", err)
		return 3
	}
	if rep.Differences > 0 {
		return 1
	}
	return 0
}
