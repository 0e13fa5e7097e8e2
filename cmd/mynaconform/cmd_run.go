package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mynaconform/mynaconform/conformance"
	"github.com/mynaconform/mynaconform/reports"
)

func init() {
	register("run", "run the conformance suite and write the supported-device list", runSuite)
}

// runSuite runs the conformance suite in this process (conformance.Run: once per process, every
// input checked before the first spec) and prints the summary table. It needs neither the source
// tree nor a Go toolchain: the device catalogue and expected.yaml are embedded.
func runSuite(ctx context.Context, args []string) int {
	fs := newFlags("run", "usage: mynaconform run [flags]\n\nRuns the conformance suite on every device of the target and writes the supported-device list.\nExit codes: 0 every verdict as required, 1 a device does not conform, 2 bad input or set-up, 3 internal error.\n\nflags:")
	out := fs.String("out", "reports/out", "result `folder`: the list (.md .html .json .csv), junit.xml, ginkgo-report.json, transcripts/; its result set is replaced by each run")
	tgt := fs.String("target", "emulator", "emulator or pcsc (pcsc needs a binary built with -tags pcsc)")
	only := fs.String("only", "", "comma-separated device `IDs` (default: every device; 'mynaconform devices' lists them)")
	devices := fs.String("devices", "", "emulator: a `folder` of *.yaml device profiles instead of the built-in catalogue (docs/profiles.md)")
	generate := fs.Int("generate", 0, fmt.Sprintf("emulator: run `N` generated synthetic profiles instead of the catalogue (1..%d)", conformance.MaxGenerate))
	reader := fs.String("reader", "", "pcsc: the reader's `name` (default: vpcd slot 0)")
	lab := fs.Bool("lab", false, "pcsc: the reader holds a real test card (secrets from MYNACONFORM_LAB_AUTH_PIN, MYNACONFORM_LAB_VERIFICATION_B)")
	verdicts := fs.String("verdicts", "expect", "expect: verdicts must match what each catalogue profile's source implies; strict: any × fails; record: only write the list")
	lang := fs.String("lang", "", "ja or en for the list and this output (default: from LC_ALL, LC_MESSAGES or LANG)")
	parallel := fs.Int("p", 0, fmt.Sprintf("devices run at once, 1..%d (default: the target's figure: the emulator one per CPU, PC/SC one per vpcd slot, a named reader one)", conformance.MaxConcurrency))
	repeat := fs.Int("repeat", 1, fmt.Sprintf("run each device's path `N` times, 1..%d: the list gives each mode's pass rate, and a mode is ◯ only when it passed every time", conformance.MaxRepeat))
	certifyKey := fs.String("certify", "", "sign each device's result with this PEM private `key` (mynaconform keygen) into certificates/<device>.cose of the result set; 'mynaconform verify' checks one")
	slots := fs.Int("slots", 0, fmt.Sprintf("pcsc: vpcd slots to drive, one device each, 1..%d (default 2, the two of Debian's vpcd configuration)", conformance.MaxSlots))
	verbose := fs.Bool("v", false, "also print Ginkgo's report of every spec")
	timeout := fs.Duration("timeout", 24*time.Hour, "give up after this long")
	shard := fs.String("shard", "", "run only shard `K/N` of the devices (one of N machines; 'mynaconform merge' joins the N result sets; docs/ci.md)")
	pos, exit, done := parseFlags(fs, args)
	if done {
		return exit
	}
	// The language of this output: -lang when it is one, else the locale's (a bad -lang is
	// refused below, in the locale's language).
	l := *lang
	if l != reports.LangJA && l != reports.LangEN {
		l = conformance.LangFromEnv()
	}
	bad := func(en, ja string) int { return fail(pick(l, en, ja)) }
	if len(pos) > 0 {
		return bad(fmt.Sprintf("unexpected argument %q: run takes flags only (e.g. -only %s)", pos[0], pos[0]),
			fmt.Sprintf("余分な引数 %q: run にはフラグだけを指定します（例: -only %s）", pos[0], pos[0]))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, z := range []struct {
		name string
		max  int
		bad  bool
	}{
		{"p", conformance.MaxConcurrency, *parallel == 0}, {"repeat", conformance.MaxRepeat, *repeat == 0},
		{"slots", conformance.MaxSlots, *slots == 0}, {"generate", conformance.MaxGenerate, *generate == 0},
	} {
		if set[z.name] && z.bad {
			return bad(fmt.Sprintf("-%s: 0 is outside 1..%d", z.name, z.max), fmt.Sprintf("-%s: 0 は 1〜%d の範囲外です", z.name, z.max))
		}
	}
	if set["certify"] && *certifyKey == "" {
		return bad("-certify: give the private key file (PEM), e.g. -certify key.pem ('mynaconform keygen' makes one)",
			"-certify: 秘密鍵のファイル（PEM）を指定してください。例: -certify key.pem（'mynaconform keygen' で作れます）")
	}
	if *timeout <= 0 {
		return bad("-timeout: must be positive, e.g. 30m", "-timeout: 正の値を指定してください。例: 30m")
	}
	ids, err := conformance.ParseIDList("only", *only)
	if err != nil {
		return fail(conformance.MessageIn(l, err))
	}
	var part conformance.Shard
	if set["shard"] {
		if part, err = conformance.ParseShard(*shard); err != nil {
			return fail(conformance.MessageIn(l, err))
		}
	}
	color := isTerminal(os.Stdout) && os.Getenv("NO_COLOR") == ""
	opts := conformance.Options{
		Target: *tgt, DevicesDir: *devices, Only: ids, Generate: *generate, Reader: *reader, Lab: *lab,
		Out: *out, Verdicts: *verdicts, Lang: *lang, Concurrency: *parallel, Repeat: *repeat, Certify: *certifyKey, Slots: *slots,
		Progress: os.Stdout, Color: color, GinkgoOutput: io.Discard, Verbose: *verbose, Timeout: *timeout,
		Shard: part,
	}
	if *verbose {
		opts.GinkgoOutput = os.Stdout
	}
	if set["only"] && len(ids) == 0 {
		return bad("-only: empty list (give device IDs separated by commas, or leave -only out)",
			"-only: 空のリストです（端末 ID をカンマ区切りで指定するか、-only を外してください）")
	}
	// Ginkgo handles SIGINT and SIGTERM itself during the run: it interrupts the running spec,
	// and a run cut short installs no result set (exit 3).
	_ = ctx
	res, err := conformance.Run(opts)
	code := conformance.ExitCode(res, err)
	if err != nil {
		return fail(conformance.MessageIn(l, err), code)
	}
	if res.Run != nil {
		fmt.Println()
		if err := reports.Summary(os.Stdout, res.Run, color); err != nil {
			return fail(err.Error(), conformance.ExitInternal)
		}
	}
	if !res.Shard.IsZero() {
		fmt.Printf("\n%s\n", pick(l, fmt.Sprintf("shard %s: %d of the %d devices (%s; 'mynaconform merge' joins the shards)", res.Shard, res.Devices, res.Selected, conformance.ShardFile),
			fmt.Sprintf("シャード %s: 全 %d 台のうち %d 台（%s。'mynaconform merge' で結合）", res.Shard, res.Selected, res.Devices, conformance.ShardFile)))
	}
	if res.Out != "" {
		parts := []string{reports.MarkdownFile, reports.HTMLFile, reports.JSONFile, reports.CSVFile, conformance.JUnitFile, conformance.GinkgoFile, conformance.TranscriptsDir + "/"}
		if *certifyKey != "" {
			parts = append(parts, conformance.CertificatesDir+"/")
		}
		fmt.Printf("\n%s %s (%s)\n", pick(l, "result set:", "結果:"), res.Out, strings.Join(parts, ", "))
	}
	for _, s := range res.Internal {
		fmt.Fprintln(os.Stderr, "mynaconform run: internal error:", s)
	}
	if code == conformance.ExitNonConform {
		fmt.Fprintf(os.Stderr, "mynaconform run: does not conform (-verdicts %s): %d specs failed that must pass:\n", *verdicts, len(res.NonConforming))
		for _, s := range res.NonConforming {
			fmt.Fprintln(os.Stderr, "  "+s)
		}
	}
	if code == conformance.ExitInternal && res.Out == "" && *out != "" {
		fmt.Fprintf(os.Stderr, "mynaconform run: no result set written; %s was left as it was\n", *out)
	}
	return code
}

// fail prints one line on stderr and returns the exit code (2 unless given).
func fail(msg string, code ...int) int {
	fmt.Fprintln(os.Stderr, "mynaconform run: "+msg)
	if len(code) > 0 {
		return code[0]
	}
	return conformance.ExitUsage
}

func pick(lang, en, ja string) string {
	if lang == reports.LangJA {
		return ja
	}
	return en
}

// isTerminal reports whether f is a character device (a terminal), not a file or a pipe.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
