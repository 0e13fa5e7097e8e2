package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/mynaconform/mynaconform/conformance"
)

// flagSet is a subcommand's flags and its usage text. The flag package prints nothing itself:
// -h prints the usage and the flags to standard error, and a bad flag becomes one line naming it
// (parseFlags).
type flagSet struct {
	*flag.FlagSet
	usage string
}

// newFlags is the flag set of the command name ("run", "card serve").
func newFlags(name, usage string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // on a bad flag the flag package calls it: one line instead (parseFlags)
	return &flagSet{FlagSet: fs, usage: usage}
}

// printUsage writes the usage text and the flags to standard error.
func (c *flagSet) printUsage() {
	fmt.Fprintln(os.Stderr, c.usage)
	c.SetOutput(os.Stderr)
	c.PrintDefaults()
	c.SetOutput(io.Discard)
}

// parseFlags parses args with parseArgs and returns the positional arguments. When done is true
// the command ends with code: -h printed the usage (0), or a bad flag was named in one line (2).
func parseFlags(c *flagSet, args []string) (pos []string, code int, done bool) {
	pos, err := parseArgs(c.FlagSet, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		c.printUsage()
		return nil, conformance.ExitOK, true
	case err != nil:
		return nil, usageError(c, fmt.Sprintf("%v ('mynaconform %s -h' lists the flags)", err, c.Name())), true
	}
	return pos, 0, false
}

// parseNoArgs is parseFlags for a command that takes flags only: a positional argument is
// refused in one line (exit 2).
func parseNoArgs(c *flagSet, args []string) (code int, done bool) {
	pos, code, done := parseFlags(c, args)
	if !done && len(pos) > 0 {
		return usageError(c, fmt.Sprintf("unexpected arguments %q", pos)), true
	}
	return code, done
}

// usageError prints "mynaconform COMMAND: msg" as one line and returns the exit code of bad
// input (2).
func usageError(c *flagSet, msg string) int {
	fmt.Fprintf(os.Stderr, "mynaconform %s: %s\n", c.Name(), msg)
	return conformance.ExitUsage
}

// parseArgs parses fs from args, taking flags before and after the positional arguments
// (`verify RESULT -key PUB` as well as `verify -key PUB RESULT`). A lone "--" ends the flags.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
