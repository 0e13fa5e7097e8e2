//go:build pcsc

package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mynaconform/mynaconform/readers/pcsc"
)

func init() {
	register("readers", "list PC/SC readers, their cards and (with -probe) extended-APDU support", runReaders)
}

// readerReport is one line of `mynaconform readers`.
type readerReport struct {
	Name       string            `json:"name"`
	Present    bool              `json:"present"`
	InUse      bool              `json:"in_use,omitempty"`
	ATR        string            `json:"atr,omitempty"`
	Probe      *pcsc.ProbeResult `json:"probe,omitempty"`
	ProbeError string            `json:"probe_error,omitempty"`
}

// runReaders implements `mynaconform readers [-json] [-probe]`.
func runReaders(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("readers", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	probe := fs.Bool("probe", false, "probe each card with harmless commands for extended-APDU support (changes the card's selection)")
	timeout := fs.Duration("timeout", 20*time.Second, "deadline for the whole listing and probing")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: mynaconform readers [-json] [-probe]\n\nLists the readers pcscd knows, card presence and ATR.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	slots, err := pcsc.List(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mynaconform readers:", err)
		return 1
	}
	out := make([]readerReport, 0, len(slots))
	for _, s := range slots {
		rep := readerReport{Name: s.Name, Present: s.Present, InUse: s.InUse, ATR: strings.ToUpper(hex.EncodeToString(s.ATR))}
		if *probe && s.Present {
			res, err := probeReader(ctx, s.Name)
			if err != nil {
				rep.ProbeError = err.Error()
			} else {
				rep.Probe = &res
			}
		}
		out = append(out, rep)
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			fmt.Fprintln(os.Stderr, "mynaconform readers:", err)
			return 1
		}
		return 0
	}
	if len(out) == 0 {
		fmt.Println("no readers (is the reader plugged in, or vpcd configured in /etc/reader.conf.d?)")
	}
	for _, r := range out {
		card := "no card"
		if r.Present {
			atr, _ := hex.DecodeString(r.ATR)
			card = fmt.Sprintf("card, ATR % X", atr)
		}
		fmt.Printf("%s: %s\n", r.Name, card)
		switch {
		case r.Probe != nil:
			c := r.Probe.Caps
			fmt.Printf("  extended APDUs: %v (Lc %v, Le %v), max command %d bytes, largest response seen %d bytes\n",
				c.Extended, r.Probe.ExtendedLc, r.Probe.ExtendedLe, c.MaxCommand, r.Probe.LargestResponse)
		case r.ProbeError != "":
			fmt.Printf("  probe failed: %s\n", r.ProbeError)
		}
	}
	return 0
}

func probeReader(ctx context.Context, name string) (pcsc.ProbeResult, error) {
	r, err := pcsc.Open(name)
	if err != nil {
		return pcsc.ProbeResult{}, err
	}
	defer r.Close()
	if err := r.Connect(ctx); err != nil {
		return pcsc.ProbeResult{}, err
	}
	return r.Probe(ctx)
}
