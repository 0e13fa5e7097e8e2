package main

import (
	"context"
	"fmt"
	"os"

	"github.com/mynaconform/mynaconform/emulator/phone"
	"github.com/mynaconform/mynaconform/fixtures/devices"
)

func init() {
	register("devices", "list the handset catalogue (device profiles) as a table or JSON", runDevices)
}

// runDevices implements `mynaconform devices [-json] [-dir DIR]`.
func runDevices(_ context.Context, args []string) int {
	fs := newFlags("devices", "usage: mynaconform devices [-json] [-dir DIR]\n\nLists the device profiles: ID, maker, model, OS, NFC, max transceive, extended APDUs,\nresponse cap, timeout, bit rate and the source of the facts.")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	dir := fs.String("dir", "", "read the profiles (*.yaml) from `DIR` instead of the built-in catalogue")
	if exit, done := parseNoArgs(fs, args); done {
		return exit
	}
	var (
		ps  []phone.Profile
		err error
	)
	if *dir != "" {
		ps, err = devices.LoadDir(os.DirFS(*dir))
	} else {
		ps, err = devices.Load()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mynaconform devices:", err)
		return 2 // a profile the user gave is bad input
	}
	if *asJSON {
		err = devices.WriteJSON(os.Stdout, ps)
	} else {
		err = devices.WriteTable(os.Stdout, ps)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mynaconform devices:", err)
		return 3
	}
	return 0
}
