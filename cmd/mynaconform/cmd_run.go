package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/mynaconform/mynaconform/reports"
)

func init() {
	register("run", "run the conformance suite and write the supported-device list", runSuite)
}

// runSuite runs the Ginkgo suite (a test package, as Ginkgo recommends, rather than RunSpecs
// from main) with `go test`, or with the ginkgo CLI for -p, then prints the summary table from
// the JSON list it wrote. It needs the source tree and the Go toolchain, like `make run`.
func runSuite(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	out := fs.String("out", "reports/out", "output folder for the list, JUnit, Ginkgo JSON and transcripts")
	tgt := fs.String("target", "emulator", "emulator or pcsc")
	only := fs.String("only", "", "comma-separated device IDs")
	devices := fs.String("devices", "", "directory of device profiles (default: the built-in catalogue)")
	generate := fs.Int("generate", 0, "run N generated synthetic profiles instead of the catalogue")
	verdicts := fs.String("verdicts", "expect", "expect (verdicts must match the catalogue's sources), strict (any × fails), record")
	parallel := fs.Bool("p", false, "run specs in parallel processes with the ginkgo CLI")
	verbose := fs.Bool("v", false, "verbose Ginkgo output (every spec)")
	tags := fs.String("tags", "", "build tags (pcsc for the PC/SC target)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mynaconform run:", err)
		return 2
	}
	absOut, err := filepath.Abs(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mynaconform run:", err)
		return 2
	}
	if err := os.MkdirAll(absOut, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "mynaconform run:", err)
		return 1
	}
	suiteArgs := []string{"-target", *tgt, "-out", absOut, "-verdicts", *verdicts, "-progress"}
	if *only != "" {
		suiteArgs = append(suiteArgs, "-only", *only)
	}
	if *devices != "" {
		d, _ := filepath.Abs(*devices)
		suiteArgs = append(suiteArgs, "-devices", d)
	}
	if *generate > 0 {
		suiteArgs = append(suiteArgs, "-generate", strconv.Itoa(*generate))
	}
	var cmd *exec.Cmd
	if *parallel {
		gargs := []string{"run", "github.com/onsi/ginkgo/v2/ginkgo", "-p"}
		if *tags != "" {
			gargs = append(gargs, "-tags", *tags)
		}
		if *verbose {
			gargs = append(gargs, "-v")
		}
		gargs = append(gargs, "./conformance", "--")
		cmd = exec.CommandContext(ctx, "go", append(gargs, suiteArgs...)...)
	} else {
		targs := []string{"test", "-count=1", "-v", "-timeout=60m"}
		if *tags != "" {
			targs = append(targs, "-tags", *tags)
		}
		targs = append(targs, "./conformance", "-run", "^TestConformance$", "-args")
		if *verbose {
			targs = append(targs, "-ginkgo.v")
		}
		cmd = exec.CommandContext(ctx, "go", append(targs, suiteArgs...)...)
	}
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	runErr := cmd.Run()

	f, err := os.Open(filepath.Join(absOut, "supported-devices.json"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "mynaconform run: the suite wrote no list:", err)
		return 1
	}
	defer f.Close()
	run, err := reports.ReadJSON(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mynaconform run:", err)
		return 1
	}
	fmt.Println()
	if err := reports.Summary(os.Stdout, run); err != nil {
		fmt.Fprintln(os.Stderr, "mynaconform run:", err)
		return 1
	}
	fmt.Printf("\nreports written to %s (supported-devices.md/.html/.json/.csv, junit.xml, ginkgo-report.json, transcripts/)\n", *out)
	var exit *exec.ExitError
	if errors.As(runErr, &exit) {
		fmt.Fprintf(os.Stderr, "mynaconform run: the suite failed (verdicts=%s): see the output above\n", *verdicts)
		return exit.ExitCode()
	}
	if runErr != nil {
		fmt.Fprintln(os.Stderr, "mynaconform run:", runErr)
		return 1
	}
	return 0
}

// moduleRoot finds the directory holding this project's go.mod, from the working directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && len(b) > 0 {
			if _, err := os.Stat(filepath.Join(dir, "conformance")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run it from the mynaconform source tree (the suite is a Go test package)")
		}
		dir = parent
	}
}
