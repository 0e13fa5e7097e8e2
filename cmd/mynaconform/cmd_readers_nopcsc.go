//go:build !pcsc

package main

import (
	"context"
	"fmt"
	"os"
)

// pcscBuilt says whether this binary has the PC/SC target (mynaconform version).
const pcscBuilt = false

func init() {
	register("readers", "list PC/SC readers (needs a build with -tags pcsc)", runReadersUnavailable)
}

// runReadersUnavailable explains how to get the PC/SC commands: the PC/SC backend needs cgo and
// libpcsclite, so it is built only with the "pcsc" tag.
func runReadersUnavailable(context.Context, []string) int {
	fmt.Fprintln(os.Stderr, `mynaconform readers: this binary was built without PC/SC support.
Install the PC/SC stack and build with the pcsc tag:
  apt-get install pcscd libpcsclite-dev pkg-config gcc
  go build -tags pcsc ./cmd/mynaconform`)
	return 2
}
