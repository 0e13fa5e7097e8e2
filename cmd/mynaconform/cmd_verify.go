package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/mynaconform/mynaconform/reports/certify"
)

func init() {
	register("verify", "check a signed conformance result (COSE_Sign1) and its transcripts", runVerify)
	register("keygen", "make an Ed25519 key pair (PEM) for signing conformance results", runKeygen)
}

const verifyUsage = `usage: mynaconform verify -key PUB [-transcripts DIR] [-json] RESULT

Checks a result written by 'mynaconform run -certify KEY' (a COSE_Sign1, RFC 9052): the signature
with the signer's public key and, with -transcripts, every transcript it names.
Exit 0: valid; 1: signature or transcripts do not match; 2: bad input.`

// runVerify implements `mynaconform verify -key PUB [-transcripts DIR] [-json] RESULT`.
// Exit codes: 0 valid, 1 the signature or a transcript does not match, 2 bad input.
func runVerify(_ context.Context, args []string) int {
	fs := newFlags("verify", verifyUsage)
	keyPath := fs.String("key", "", "public key (PEM: PUBLIC KEY or CERTIFICATE) of the signer; required")
	dir := fs.String("transcripts", "", "folder of the transcripts the result names: check each one's SHA-256")
	asJSON := fs.Bool("json", false, "print the verified result as JSON")
	pos, exit, done := parseFlags(fs, args)
	if done {
		return exit
	}
	if len(pos) != 1 || *keyPath == "" {
		fmt.Fprintln(os.Stderr, "mynaconform verify: want -key PUB and exactly one RESULT file")
		return 2
	}
	pub, err := certify.LoadPublicKey(*keyPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mynaconform verify: -key:", err)
		return 2
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "mynaconform verify:", err)
		return 2
	}
	res, err := certify.Verify(data, pub)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mynaconform verify: %s: %v\n", pos[0], err)
		if errors.Is(err, certify.ErrSignature) {
			return 1
		}
		return 2
	}
	code := 0
	checked := ""
	if *dir != "" {
		if err := certify.CheckTranscripts(res, *dir); err != nil {
			fmt.Fprintf(os.Stderr, "mynaconform verify: %s: %v\n", pos[0], err)
			code = 1
		} else {
			checked = fmt.Sprintf("; %d transcripts match", len(res.Transcripts))
		}
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return 3
		}
		return code
	}
	kid, _ := certify.KeyID(pub)
	rev := res.Tool.Revision
	if res.Tool.Modified {
		rev += " (modified tree)"
	}
	fmt.Printf("%s: signature valid (key %.16s…)%s\n", pos[0], kid, checked)
	fmt.Printf("  device   %s (%s)\n  tool     %s %s %s\n  date     %s\n", res.Device.ID, res.Target, res.Tool.Module, res.Tool.Version, rev, res.Date)
	for _, v := range res.Verdicts {
		mark := "◯"
		if !v.Supported {
			mark = "× " + v.Reason
		}
		fmt.Printf("  %-8s %s\n", v.Mode, mark)
	}
	passed := 0
	for _, s := range res.Specs {
		if s.Passed {
			passed++
		}
	}
	fmt.Printf("  specs    %d of %d passed\n", passed, len(res.Specs))
	return code
}

// runKeygen implements `mynaconform keygen -key FILE -pub FILE`.
func runKeygen(_ context.Context, args []string) int {
	fs := newFlags("keygen", "usage: mynaconform keygen -key FILE -pub FILE\n\nMakes an Ed25519 key pair for signing conformance results (run -certify KEY; verify -key PUB).")
	priv := fs.String("key", "", "where to write the private key (PKCS#8 PEM, mode 0600); required")
	pub := fs.String("pub", "", "where to write the public key (SPKI PEM); required")
	pos, exit, done := parseFlags(fs, args)
	if done {
		return exit
	}
	if *priv == "" || *pub == "" || len(pos) > 0 {
		fmt.Fprintln(os.Stderr, "mynaconform keygen: want -key FILE and -pub FILE")
		return 2
	}
	if err := certify.GenerateKey(*priv, *pub); err != nil {
		fmt.Fprintln(os.Stderr, "mynaconform keygen:", err)
		return 2
	}
	fmt.Printf("wrote %s (private, keep it secret) and %s (public, hand it to whoever checks your results)\n", *priv, *pub)
	return 0
}
