package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/mynaconform/mynaconform/reports/transcript"
)

func init() {
	register("transcript", "print a CBOR transcript file readably (or as JSON)", runTranscript)
}

// runTranscript implements `mynaconform transcript [-json] FILE`.
func runTranscript(_ context.Context, args []string) int {
	fs := newFlags("transcript", "usage: mynaconform transcript [-json] FILE\n\nPrints one transcript (.cbor) written by the conformance suite.")
	asJSON := fs.Bool("json", false, "print the transcript as JSON instead of the readable form")
	pos, exit, done := parseFlags(fs, args)
	if done {
		return exit
	}
	if len(pos) != 1 {
		return usageError(fs, "want exactly one transcript FILE (.cbor)")
	}
	rest := pos
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
