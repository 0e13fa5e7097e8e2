package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/mynaconform/mynaconform/reports/transcript"
)

func init() {
	register("transcript", "print a CBOR transcript file readably (or as JSON)", runTranscript)
}

// runTranscript implements `mynaconform transcript [-json] FILE`.
func runTranscript(_ context.Context, args []string) int {
	fs := flag.NewFlagSet("transcript", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the transcript as JSON instead of the readable form")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: mynaconform transcript [-json] FILE\n\nPrints one transcript (.cbor) written by the conformance suite.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	// Accept the flag after the file name too: `transcript FILE -json`.
	rest := fs.Args()
	if len(rest) == 2 && rest[1] == "-json" {
		*asJSON, rest = true, rest[:1]
	}
	if len(rest) != 1 {
		fs.Usage()
		return 2
	}
	f, err := os.Open(rest[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "mynaconform transcript:", err)
		return 1
	}
	defer f.Close()
	t, err := transcript.Read(f)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mynaconform transcript: %s: %v\n", rest[0], err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(t)
	} else {
		err = transcript.Print(os.Stdout, t)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mynaconform transcript:", err)
		return 1
	}
	return 0
}
