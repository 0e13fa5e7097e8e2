package conformance

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mynaconform/mynaconform/conformance/target"
	"github.com/mynaconform/mynaconform/reports"
)

// Options are the inputs of one run: what `mynaconform run` takes as flags, and what the test
// package fills from its own flags for `go test` and the ginkgo CLI.
type Options struct {
	Target     string   // "emulator" (default) or "pcsc"
	DevicesDir string   // emulator: a directory of *.yaml profiles instead of the embedded catalogue
	Only       []string // device IDs to keep (empty: every device of the target); see ParseIDList
	Generate   int      // emulator: N generated synthetic profiles instead of the catalogue
	Reader     string   // pcsc: one reader by name (default: vpcd slot 0)
	Lab        bool     // pcsc: the reader holds a real test card playing the adult persona
	Out        string   // result folder (empty: nothing written)
	Verdicts   string   // "expect" (default), "strict" or "record"
	Lang       string   // "ja" or "en" for the list and the terminal (empty: from the locale)
	Slots      int      // pcsc without Reader: vpcd slots, one device each (0: the target's default, 2)

	// Repeat runs each device's path this many times (0: once); the list gives each mode's pass
	// rate, and a mode is ◯ only when it passed in every run.
	Repeat int
	// Certify is a PEM private key file: each device's result is signed (COSE_Sign1) into the
	// result set's certificates/<device>.cose (needs Out).
	Certify string

	// Shard runs only the K-th of N parts of the selected devices and marks the result set as
	// that shard's, for MergeShards (shard.go has the rule). The zero Shard runs them all.
	Shard Shard

	// Concurrency is how many devices run at once in this process: 0 takes the target's figure
	// (target.Concurrency: the emulator one per CPU, PC/SC one per vpcd slot). Ginkgo filters
	// (label, focus) and the ginkgo CLI's -p run devices one at a time per process.
	Concurrency int

	// Progress, when set, gets one line per device as it finishes, with a count and the time
	// left; Color adds ANSI colour to the marks (only for a terminal).
	Progress io.Writer
	Color    bool

	// GinkgoOutput, when set, takes Ginkgo's own reporter output (mynaconform run: the terminal
	// with -v, else nowhere); Verbose makes it list every spec. Nil leaves Ginkgo's output and
	// flags as go test and the ginkgo CLI set them.
	GinkgoOutput io.Writer
	Verbose      bool
	// Timeout bounds the whole run (0: Ginkgo's default of one hour).
	Timeout time.Duration
}

// Limits of the numeric inputs.
const (
	MaxGenerate    = 100000
	MaxConcurrency = 256
	MaxRepeat      = 100
	MaxSlots       = 64
)

// UsageError is a bad input or set-up (exit code 2): one line naming the flag, file or field
// and what is allowed. Msg is English; JA is the same in Japanese where it is written (the
// inputs of 'run'), else empty.
type UsageError struct{ Msg, JA string }

func (e *UsageError) Error() string { return e.Msg }

// In is the message in lang (English where no Japanese is written).
func (e *UsageError) In(lang string) string {
	if lang == reports.LangJA && e.JA != "" {
		return e.JA
	}
	return e.Msg
}

// MessageIn is err's message in lang: a UsageError's in that language, any other error's own.
func MessageIn(lang string, err error) string {
	var ue *UsageError
	if errors.As(err, &ue) {
		return ue.In(lang)
	}
	return err.Error()
}

func usagef(format string, a ...any) error { return &UsageError{Msg: fmt.Sprintf(format, a...)} }

// usagej is usagef with the message in Japanese too, from the same arguments (%[n]v where the
// Japanese needs another order).
func usagej(en, ja string, a ...any) error {
	return &UsageError{Msg: fmt.Sprintf(en, a...), JA: fmt.Sprintf(ja, a...)}
}

// Exit codes of a run (docs/exit-codes.md).
const (
	ExitOK         = 0 // every verdict as required by -verdicts
	ExitNonConform = 1 // a device does not conform
	ExitUsage      = 2 // bad input or set-up
	ExitInternal   = 3 // the suite itself failed
)

// ExitCode maps the result of Run to the process exit code.
func ExitCode(res *Result, err error) int {
	var ue *UsageError
	switch {
	case errors.As(err, &ue):
		return ExitUsage
	case err != nil:
		return ExitInternal
	case res == nil:
		return ExitInternal
	case len(res.Internal) > 0:
		return ExitInternal
	case len(res.NonConforming) > 0:
		return ExitNonConform
	}
	return ExitOK
}

// ParseIDList splits a comma-separated list of device IDs: spaces around each ID are trimmed,
// an empty entry is an error, duplicates are dropped.
func ParseIDList(flagName, s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []string
	for i, part := range strings.Split(s, ",") {
		id := strings.TrimSpace(part)
		if id == "" {
			return nil, usagej("-%s: entry %d of %q is empty (write IDs separated by commas, e.g. google-nexus-s,apple-iphone-ios13)",
				"-%[1]s: %[3]q の %[2]d 番目が空です（ID はカンマ区切りで書いてください。例: google-nexus-s,apple-iphone-ios13）", flagName, i+1, s)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// LangFromEnv is the language of the locale: "ja" when LC_ALL, LC_MESSAGES or LANG (the first
// one set) starts with "ja", otherwise "en".
func LangFromEnv() string {
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := os.Getenv(k); v != "" {
			if strings.HasPrefix(strings.ToLower(v), "ja") {
				return reports.LangJA
			}
			return reports.LangEN
		}
	}
	return reports.LangEN
}

// normalize checks every input that needs no target and fills the defaults.
func (o *Options) normalize() error {
	if o.Target == "" {
		o.Target = "emulator"
	}
	if o.Verdicts == "" {
		o.Verdicts = "expect"
	}
	if o.Lang == "" {
		o.Lang = LangFromEnv()
	}
	switch o.Target {
	case "emulator", "pcsc":
	default:
		return usagej("-target: %q is not a target (allowed: emulator, pcsc)", "-target: %q は対象ではありません（指定できるもの: emulator, pcsc）", o.Target)
	}
	switch o.Verdicts {
	case "expect", "strict", "record":
	default:
		return usagej("-verdicts: %q is not allowed (allowed: expect, strict, record)", "-verdicts: %q は指定できません（指定できるもの: expect, strict, record）", o.Verdicts)
	}
	if o.Lang != reports.LangJA && o.Lang != reports.LangEN {
		return usagej("-lang: %q is not allowed (allowed: ja, en)", "-lang: %q は指定できません（指定できるもの: ja, en）", o.Lang)
	}
	if o.Generate < 0 || o.Generate > MaxGenerate {
		return usagej("-generate: %d is outside 1..%d", "-generate: %d は 1〜%d の範囲外です", o.Generate, MaxGenerate)
	}
	if o.Repeat == 0 {
		o.Repeat = 1
	}
	if o.Repeat < 1 || o.Repeat > MaxRepeat {
		return usagej("-repeat: %d is outside 1..%d", "-repeat: %d は 1〜%d の範囲外です", o.Repeat, MaxRepeat)
	}
	if o.Slots < 0 || o.Slots > MaxSlots {
		return usagej("-slots: %d is outside 1..%d", "-slots: %d は 1〜%d の範囲外です", o.Slots, MaxSlots)
	}
	if o.Slots > 0 && (o.Target != "pcsc" || o.Reader != "") {
		return usagej("-slots is for -target pcsc without -reader (one device per vpcd slot)", "-slots は -reader を付けない -target pcsc 用です（vpcd のスロットごとに 1 台）")
	}
	if o.Certify != "" && o.Out == "" {
		return usagej("-certify needs -out: the signed results are written into the result set (certificates/)", "-certify には -out が必要です: 署名付きの結果は結果セット（certificates/）に書き込まれます")
	}
	if o.Concurrency < 0 || o.Concurrency > MaxConcurrency {
		return usagej("-p: %d is outside 1..%d (0: the target's figure)", "-p: %d は 1〜%d の範囲外です（0 は対象ごとの既定値）", o.Concurrency, MaxConcurrency)
	}
	if err := o.Shard.check(); err != nil {
		return err
	}
	if o.Generate > 0 && o.DevicesDir != "" {
		return usagej("-generate and -devices exclude each other (generated profiles replace the catalogue)", "-generate と -devices は同時に指定できません（生成したプロファイルが端末カタログの代わりになります）")
	}
	if o.Target == "pcsc" && (o.Generate > 0 || o.DevicesDir != "") {
		return usagej("-devices and -generate are for -target emulator; -target pcsc uses the readers pcscd knows", "-devices と -generate は -target emulator 用です。-target pcsc では pcscd が認識しているリーダーを使います")
	}
	if o.Target != "pcsc" && (o.Reader != "" || o.Lab) {
		return usagej("-reader and -lab need -target pcsc", "-reader と -lab には -target pcsc が必要です")
	}
	if o.DevicesDir != "" {
		if err := checkDevicesDir(o.DevicesDir); err != nil {
			return err
		}
	}
	if o.Out != "" {
		if err := checkOut(o.Out); err != nil {
			return err
		}
	}
	return checkLabEnv(o)
}

// checkDevicesDir refuses a -devices folder that is missing, not a folder, or holds profiles
// the loader would not read (*.yml).
func checkDevicesDir(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return usagej("-devices: %s does not exist", "-devices: %s がありません", dir)
	}
	if !st.IsDir() {
		return usagej("-devices: %s is not a folder (give the folder that holds the *.yaml profiles)", "-devices: %s はフォルダではありません（*.yaml のプロファイルがあるフォルダを指定してください）", dir)
	}
	yml, _ := filepath.Glob(filepath.Join(dir, "*.yml"))
	if len(yml) > 0 {
		base := filepath.Base(yml[0])
		return usagej("-devices: %s: profiles end in .yaml, not .yml (rename it to %s.yaml)", "-devices: %s: プロファイルの拡張子は .yml ではなく .yaml です（%s.yaml に名前を変えてください）",
			filepath.Join(dir, base), strings.TrimSuffix(base, ".yml"))
	}
	yaml, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(yaml) == 0 {
		return usagej("-devices: %s holds no *.yaml profile (docs/profiles.md shows one)", "-devices: %s に *.yaml のプロファイルがありません（例は docs/profiles.md）", dir)
	}
	return nil
}

// defaultConcurrency is how many devices run at once by default: the target's figure
// (target.Concurrency), and one per CPU where the target sets no limit (the emulator).
func defaultConcurrency(t target.Target) int {
	if n := target.Concurrency(t); n > 0 {
		return n
	}
	return runtime.GOMAXPROCS(0)
}

// place names where the devices come from, in both languages ("the built-in catalogue").
type place struct{ en, ja string }

// selectDevices keeps the devices named by only (all when empty), refusing an ID the target
// does not have with the closest known one and the list.
func selectDevices(ds []target.Device, only []string, where place) ([]target.Device, error) {
	if len(ds) == 0 {
		return nil, usagej("%[1]s: no device", "%[2]s: 端末がありません", where.en, where.ja)
	}
	if len(only) == 0 {
		return ds, nil
	}
	byID := map[string]target.Device{}
	ids := make([]string, 0, len(ds))
	for _, d := range ds {
		byID[d.ID] = d
		ids = append(ids, d.ID)
	}
	sort.Strings(ids)
	var out []target.Device
	for _, id := range only {
		d, ok := byID[id]
		if !ok {
			en := fmt.Sprintf("-only: no device %q in %s", id, where.en)
			ja := fmt.Sprintf("-only: %sに端末 %q はありません", where.ja, id)
			if c := closest(id, ids); c != "" {
				en += fmt.Sprintf(" (did you mean %s?)", c)
				ja += fmt.Sprintf("（%s のことですか？）", c)
			}
			if len(ids) <= 30 {
				en += "; known: " + strings.Join(ids, ", ")
				ja += "。指定できる ID: " + strings.Join(ids, ", ")
			} else {
				en += fmt.Sprintf("; %d known, listed by 'mynaconform devices'", len(ids))
				ja += fmt.Sprintf("。指定できる ID は %d 個（'mynaconform devices' で一覧）", len(ids))
			}
			return nil, &UsageError{Msg: en, JA: ja}
		}
		out = append(out, d)
	}
	// Keep the target's order: the list and the tree do not depend on the order of -only.
	slices.SortStableFunc(out, func(a, b target.Device) int {
		return slices.Index(ids, a.ID) - slices.Index(ids, b.ID)
	})
	return out, nil
}

// closest is the first known ID containing id, or the known ID at the smallest edit distance
// from id if that distance is at most a third of id's length (a typo, not another word).
func closest(id string, known []string) string {
	for _, k := range known {
		if len(id) >= 4 && strings.Contains(k, id) {
			return k
		}
	}
	best, bestD := "", len(id)/3+1
	for _, k := range known {
		if d := editDistance(id, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
