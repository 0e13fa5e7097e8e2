package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/mynaconform/mynaconform/emulator/card"
	"github.com/mynaconform/mynaconform/emulator/vpcd"
	"github.com/mynaconform/mynaconform/fixtures"
)

func init() {
	register("card", "serve virtual My Number cards into pcscd through vpcd (card serve)", runCard)
}

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// cardSlot is one card to serve: a persona dialled into one vpcd address.
type cardSlot struct {
	addr, persona, state string
}

const cardUsage = `usage: mynaconform card serve --persona ID [--vpcd ADDR] [--state FILE] [--persona ID ...]
       mynaconform card serve --slots 127.0.0.1:35963=adult,127.0.0.1:35964=child

Serves virtual My Number cards (fixtures personas) into pcscd through vsmartcard's vpcd
driver until SIGINT/SIGTERM, dialling again whenever pcscd restarts. Needs pcscd with the
vsmartcard-vpcd driver (apt-get install pcscd vsmartcard-vpcd); readers "Virtual PCD 00 00"
(port 35963) and "Virtual PCD 00 01" (port 35964).`

// runCard implements `mynaconform card serve`.
func runCard(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] != "serve" {
		fmt.Fprintln(os.Stderr, "usage: mynaconform card serve --persona ID [--vpcd ADDR] [--state FILE] [--persona ID ...]")
		return 2
	}
	fs := newFlags("card serve", cardUsage)
	var addrs, personas, states listFlag
	fs.Var(&personas, "persona", "fixtures persona or card variant ID (mynaconform cards lists them; repeat for several cards, one per slot)")
	fs.Var(&addrs, "vpcd", "vpcd address of the n-th card's slot (default 127.0.0.1:35963 for the first, 35964 for the second, ...)")
	fs.Var(&states, "state", "state file of the n-th card (retry counters, changed PINs), written on every change")
	slots := fs.String("slots", "", "several cards at once as ADDR=PERSONA[:STATEFILE],... (instead of --vpcd/--persona)")
	noQuickAck := fs.Bool("no-quickack", false, "do not set TCP_QUICKACK (reproduces the ~44 ms stall of Debian's vpcd)")
	quiet := fs.Bool("q", false, "log errors only")
	pos, exit, done := parseFlags(fs, args[1:])
	if done {
		return exit
	}
	cards, err := cardSlots(*slots, addrs, personas, states)
	if err == nil && len(pos) > 0 {
		err = fmt.Errorf("unexpected arguments %q", pos)
	}
	if err != nil {
		return usageError(fs, err.Error()+" ('mynaconform card serve -h' lists the flags)")
	}
	level := slog.LevelInfo
	if *quiet {
		level = slog.LevelError
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	var wg sync.WaitGroup
	for _, s := range cards {
		c, err := buildCard(s)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mynaconform card serve:", err)
			return 1
		}
		l := log.With("persona", s.persona, "vpcd", s.addr)
		l.Info("serving card")
		wg.Go(func() {
			if err := vpcd.Dial(ctx, s.addr, c, vpcd.WithQuickAck(!*noQuickAck), vpcd.WithLogger(l)); err != nil {
				l.Error("serve", "err", err)
			}
		})
	}
	wg.Wait()
	// The card writes its state file on every change, so it is current here.
	log.Info("stopped")
	return 0
}

// cardSlots pairs the flags into the cards to serve.
func cardSlots(slots string, addrs, personas, states []string) ([]cardSlot, error) {
	var out []cardSlot
	if slots != "" {
		if len(addrs)+len(personas)+len(states) > 0 {
			return nil, errors.New("--slots replaces --vpcd, --persona and --state")
		}
		for _, item := range strings.Split(slots, ",") {
			addr, rest, ok := strings.Cut(strings.TrimSpace(item), "=")
			if !ok || addr == "" || rest == "" {
				return nil, fmt.Errorf("--slots item %q: want ADDR=PERSONA[:STATEFILE]", item)
			}
			persona, state, _ := strings.Cut(rest, ":")
			out = append(out, cardSlot{addr: addr, persona: persona, state: state})
		}
	} else {
		if len(personas) == 0 {
			return nil, errors.New("no --persona given")
		}
		if len(addrs) > len(personas) || len(states) > len(personas) {
			return nil, errors.New("more --vpcd or --state flags than --persona flags")
		}
		for i, p := range personas {
			s := cardSlot{persona: p, addr: fmt.Sprintf("127.0.0.1:%d", 35963+i)}
			if i < len(addrs) {
				s.addr = addrs[i]
			}
			if i < len(states) {
				s.state = states[i]
			}
			out = append(out, s)
		}
	}
	seen := map[string]bool{}
	for _, s := range out {
		if seen[s.addr] {
			return nil, fmt.Errorf("two cards for slot %s: one card per slot", s.addr)
		}
		seen[s.addr] = true
		if s.state != "" && seen["state:"+s.state] {
			return nil, fmt.Errorf("two cards share the state file %s", s.state)
		}
		seen["state:"+s.state] = true
	}
	return out, nil
}

func buildCard(s cardSlot) (*card.Card, error) {
	v, err := fixtures.VariantByID(s.persona)
	if err != nil {
		return nil, fmt.Errorf("persona %q: %w", s.persona, err)
	}
	prof, err := v.CardProfile()
	if err != nil {
		return nil, fmt.Errorf("persona %q: %w", s.persona, err)
	}
	var opts []card.Option
	if s.state != "" {
		opts = append(opts, card.WithStateFile(s.state))
	}
	c, err := card.New(prof, opts...)
	if err != nil {
		return nil, fmt.Errorf("card of persona %q: %w", s.persona, err)
	}
	return c, nil
}
