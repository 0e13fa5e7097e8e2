package main

import (
	"context"
	"fmt"
	"runtime"

	"github.com/mynaconform/mynaconform/conformance"
)

func init() {
	register("version", "print this build: module, version, VCS revision, Go, test plan, PC/SC support", runVersion)
}

// runVersion implements `mynaconform version`: what a bug report or a lab log should name. The
// same suite version is recorded in every result set (and must agree between merged shards).
func runVersion(_ context.Context, args []string) int {
	fs := newFlags("version", "usage: mynaconform version\n\nPrints this build of mynaconform as its result sets record it, the platform, and whether\nthe PC/SC target is built in (-tags pcsc).")
	if exit, done := parseNoArgs(fs, args); done {
		return exit
	}
	pcsc := "no (build with -tags pcsc)"
	if pcscBuilt {
		pcsc = "yes"
	}
	fmt.Printf("mynaconform %s\nplatform %s/%s\npcsc %s\n", conformance.Version(), runtime.GOOS, runtime.GOARCH, pcsc)
	return 0
}
