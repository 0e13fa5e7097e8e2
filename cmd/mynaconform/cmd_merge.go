package main

import (
	"context"
	"fmt"
	"os"

	"github.com/mynaconform/mynaconform/conformance"
	"github.com/mynaconform/mynaconform/reports"
)

func init() {
	register("merge", "join the result sets of 'run -shard K/N' into one result set", runMerge)
}

// runMerge implements `mynaconform merge [-out DIR] [-lang ja|en] SHARD_DIR...`: the shards'
// result sets become the one a single run would have written (conformance.MergeShards), and
// the exit code is the run's: 0 every verdict as required, 1 a device does not conform, 2 the
// folders are not the complete shards of one run, 3 a shard recorded an internal failure.
func runMerge(_ context.Context, args []string) int {
	fs := newFlags("merge", "usage: mynaconform merge [-out DIR] SHARD_DIR...\n\nJoins the result sets written by 'mynaconform run -shard K/N -out SHARD_DIR' (every K of one N,\nin any order) into the result set a single run would have written (docs/ci.md).\nExit codes: 0 every verdict as required, 1 a device does not conform, 2 the folders are not the\ncomplete shards of one run, 3 a shard recorded an internal error.\n\nflags:")
	out := fs.String("out", "reports/out", "`folder` for the merged result set; its result set is replaced")
	lang := fs.String("lang", "", "ja or en for this output (default: from LC_ALL, LC_MESSAGES or LANG; the lists keep the shards' language)")
	dirs, exit, done := parseFlags(fs, args)
	if done {
		return exit
	}
	l := *lang
	if l == "" {
		l = conformance.LangFromEnv()
	}
	if l != reports.LangJA && l != reports.LangEN {
		return failMerge(fmt.Sprintf("-lang: %q is not allowed (allowed: ja, en)", l), conformance.ExitUsage)
	}
	res, err := conformance.MergeShards(*out, dirs)
	code := conformance.ExitCode(res, err)
	if err != nil {
		return failMerge(err.Error(), code)
	}
	color := isTerminal(os.Stdout) && os.Getenv("NO_COLOR") == ""
	if err := reports.Summary(os.Stdout, res.Run, color); err != nil {
		return failMerge(err.Error(), conformance.ExitInternal)
	}
	fmt.Printf("\n%s %s (%s)\n", pick(l, fmt.Sprintf("merged %d shards:", len(dirs)), fmt.Sprintf("%d シャードを結合:", len(dirs))), res.Out, pick(l, fmt.Sprintf("%d devices", res.Devices), fmt.Sprintf("%d 台", res.Devices)))
	for _, s := range res.Internal {
		fmt.Fprintln(os.Stderr, "mynaconform merge: internal error in a shard:", s)
	}
	if code == conformance.ExitNonConform {
		fmt.Fprintf(os.Stderr, "mynaconform merge: does not conform: %d specs failed that must pass:\n", len(res.NonConforming))
		for _, s := range res.NonConforming {
			fmt.Fprintln(os.Stderr, "  "+s)
		}
	}
	return code
}

func failMerge(msg string, code int) int {
	fmt.Fprintln(os.Stderr, "mynaconform merge: "+msg)
	return code
}
