package conformance

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/formatter"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/mynaconform/mynaconform/conformance/target"
	"github.com/mynaconform/mynaconform/reports"
	"github.com/mynaconform/mynaconform/reports/certify"
)

// Result is what a run found.
type Result struct {
	// Passed is Ginkgo's verdict: every spec passed or failed only where -verdicts allows.
	Passed bool
	// Run is the supported-device list (nil on the ginkgo CLI's processes other than the first,
	// which builds the merged list).
	Run *reports.Run
	// Out is where the result set was installed ("" without -out, or when none was).
	Out string
	// NonConforming lists each required verdict that failed: "device spec: step: reason".
	NonConforming []string
	// Internal lists failures of the suite itself (a panic, a set-up or report failure).
	Internal []string
	// Devices is the number of devices run; Concurrency how many ran at once.
	Devices, Concurrency int
	// Selected is the number of devices selected before -shard; Shard is the run's shard (zero
	// for a whole run).
	Selected int
	Shard    Shard
}

// ErrAlreadyRan is returned by a second Run in one process: Ginkgo's RunSpecs runs once per
// process (a second call would exit the process).
var ErrAlreadyRan = errors.New("conformance: the suite runs once per process")

var ran atomic.Bool

// suite is one run's state: its inputs, the devices, the worlds and what the specs found.
type suite struct {
	opts    Options
	tgt     target.Target
	devs    []target.Device
	where   place // what the devices were selected from, for messages
	exps    map[string]expectation
	staging string
	signer  crypto.Signer // -certify: signs each device's result
	ahead   bool          // devices run on worker goroutines ahead of the Its
	workers int
	worlds  []*world
	runs    []*deviceRun
	started time.Time

	// devs is the selection (all) or, with -shard, its shard's part; index gives each of devs'
	// position in all.
	all   []target.Device
	index []int

	mu       sync.Mutex
	found    map[string][]outcome // device -> outcomes recorded in this process
	internal []string
	done     int
	result   *Result
}

// Run runs the conformance suite in this process, once: it checks every input before any spec
// runs (a *UsageError names the flag, file or field), runs the Ginkgo specs, and installs the
// result set in opts.Out. Under `go test` and the ginkgo CLI the Ginkgo configuration comes
// from their flags; ExitCode maps the outcome to the command's exit code.
func Run(opts Options) (*Result, error) {
	if ran.Swap(true) {
		return nil, ErrAlreadyRan
	}
	s := &suite{opts: opts, found: map[string][]outcome{}}
	if err := s.prepare(); err != nil {
		if s.tgt != nil {
			closeTarget(s.tgt)
		}
		return nil, err
	}
	defer closeTarget(s.tgt)
	labRun.Store(s.opts.Lab)
	suiteCfg, repCfg := GinkgoConfiguration()
	if opts.Timeout > 0 {
		suiteCfg.Timeout = opts.Timeout
	}
	if opts.GinkgoOutput != nil {
		repCfg.NoColor = !opts.Color
		repCfg.Verbose = opts.Verbose
		prev := formatter.ColorableStdOut
		formatter.ColorableStdOut = opts.GinkgoOutput
		defer func() { formatter.ColorableStdOut = prev }()
	}
	if opts.Out != "" {
		host := ""
		if suiteCfg.ParallelTotal > 1 {
			host = suiteCfg.ParallelHost
		}
		st, err := stagingName(opts.Out, suiteCfg.RandomSeed, host)
		if err != nil {
			return nil, err
		}
		if err := makeStaging(st); err != nil {
			return nil, err
		}
		s.staging = st
	}
	s.workers = s.opts.Concurrency
	if s.workers == 0 {
		s.workers = defaultConcurrency(s.tgt)
	}
	s.workers = max(1, min(s.workers, len(s.devs)))
	s.ahead = s.workers > 1 && !filtered(suiteCfg) && suiteCfg.ParallelTotal == 1
	if !s.ahead {
		s.workers = 1
	}
	s.tree()
	s.started = time.Now()
	passed := RunSpecs(quietT{}, "mynaconform conformance", suiteCfg, repCfg)

	res := s.result
	if res == nil { // not the process that built the list, or building it failed
		res = &Result{}
	}
	s.mu.Lock()
	res.Internal = append(res.Internal, s.internal...)
	s.mu.Unlock()
	res.Passed = passed
	res.Devices, res.Concurrency = len(s.devs), s.workers
	res.Selected, res.Shard = len(s.all), s.opts.Shard
	if !passed && len(res.NonConforming) == 0 && len(res.Internal) == 0 && res.Run != nil {
		res.Internal = append(res.Internal, "the suite failed without a failing spec (see the Ginkgo report)")
	}
	return res, nil
}

// quietT is the GinkgoTestingT of Run: the outcome is read from the report, not from t.
type quietT struct{}

func (quietT) Fail() {}

func closeTarget(t target.Target) {
	if c, ok := t.(io.Closer); ok {
		_ = c.Close() // e.g. the pcsc target's pcscd
	}
}

// filtered reports whether the run is narrowed by label, focus or skip.
func filtered(sc types.SuiteConfig) bool {
	return sc.LabelFilter != "" || len(sc.FocusStrings) > 0 || len(sc.SkipStrings) > 0 ||
		len(sc.FocusFiles) > 0 || len(sc.SkipFiles) > 0
}

// prepare checks the inputs, opens the target and selects the devices.
func (s *suite) prepare() error {
	if err := s.opts.normalize(); err != nil {
		return err
	}
	if s.opts.Certify != "" {
		k, err := certify.LoadPrivateKey(s.opts.Certify)
		if err != nil {
			return usagef("-certify: %v", err)
		}
		s.signer = k
	}
	topts := target.Options{DevicesDir: s.opts.DevicesDir, Generate: s.opts.Generate, Reader: s.opts.Reader, Slots: s.opts.Slots}
	if s.opts.Lab {
		topts.VerificationB = []byte(os.Getenv(envLabVerificationB)) // the target measures the reader with the lab card
	}
	t, err := target.Open(s.opts.Target, topts)
	if err != nil && s.opts.DevicesDir != "" {
		return usagef("-devices %s: %s", s.opts.DevicesDir, strings.TrimPrefix(err.Error(), "devices: "))
	}
	if err != nil {
		return usagef("-target %s: %v", s.opts.Target, err)
	}
	s.tgt = t
	ds, err := t.Devices()
	if err != nil {
		return usagef("-target %s: %v", s.opts.Target, err)
	}
	switch {
	case s.opts.Generate > 0:
		s.where = place{fmt.Sprintf("the %d generated profiles (gen-0000..)", s.opts.Generate), fmt.Sprintf("生成した %d 個のプロファイル（gen-0000..）", s.opts.Generate)}
	case s.opts.DevicesDir != "":
		s.where = place{s.opts.DevicesDir, s.opts.DevicesDir}
	case s.opts.Target == "pcsc":
		s.where = place{"the PC/SC readers", "PC/SC リーダー"}
	default:
		s.where = place{"the built-in catalogue", "内蔵の端末カタログ"}
	}
	if s.all, err = selectDevices(ds, s.opts.Only, s.where); err != nil {
		return err
	}
	s.devs, s.index = pickShard(s.all, s.opts.Shard)
	if s.exps, err = expectations(); err != nil {
		return fmt.Errorf("conformance: expected.yaml: %w", err)
	}
	return nil
}

// tree declares the suite: the worlds, one Ordered container per device, and the list.
func (s *suite) tree() {
	BeforeSuite(func(ctx SpecContext) {
		n := 1
		if s.ahead {
			n = s.workers
		}
		for range n {
			w, err := newWorld(ctx)
			if err != nil {
				Fail("starting the emulated qualification system: " + err.Error())
			}
			s.worlds = append(s.worlds, w)
		}
		DeferCleanup(func() {
			for _, w := range s.worlds {
				w.Close()
			}
		})
		if s.ahead {
			s.startWorkers()
		}
	})
	Describe("device", func() {
		for i, d := range s.devs {
			for run := 1; run <= s.opts.Repeat; run++ {
				s.deviceSpecs(s.index[i], run, d) // a shard's device is set up as in the whole run
			}
		}
	})
	ReportAfterSuite("supported-device list", func(rep types.Report) {
		if err := s.finish(rep); err != nil {
			s.noteInternal("", "ReportAfterSuite", err.Error())
			if s.staging != "" {
				_ = os.RemoveAll(s.staging)
			}
			Fail(err.Error())
		}
	})
}

// startWorkers runs the devices' specs on s.workers goroutines, each with its own world (its own
// clock: one device's activation delay must not move another's), in tree order. The runs of one
// device (-repeat) go to one worker, one after the other, as a lab runs one handset again.
func (s *suite) startWorkers() {
	ctx, cancel := context.WithCancel(context.Background())
	queue := make(chan []*deviceRun)
	var wg sync.WaitGroup
	for k := range s.workers {
		wg.Add(1)
		go func(w *world) {
			defer wg.Done()
			for runs := range queue {
				for _, dr := range runs {
					dr.runAll(ctx, w)
				}
			}
		}(s.worlds[k])
	}
	go func() {
		defer close(queue)
		for i := 0; i < len(s.runs); i += s.opts.Repeat {
			select {
			case queue <- s.runs[i : i+s.opts.Repeat]:
			case <-ctx.Done():
				return
			}
		}
	}()
	DeferCleanup(func() {
		cancel()
		wg.Wait()
	})
}

func (s *suite) noteInternal(device, spec, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.internal = append(s.internal, strings.TrimSpace(device+" "+spec)+": "+msg)
}

// record keeps a spec's outcome for the device's progress line (without the photo and the
// step times, which the line does not show: a run of many devices stays small).
func (s *suite) record(o outcome) {
	o.Photo, o.Steps = nil, nil
	s.mu.Lock()
	defer s.mu.Unlock()
	s.found[o.Device] = append(s.found[o.Device], o)
}
