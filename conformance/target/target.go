// Package target is what the conformance suite runs on: a list of devices, each able to present a
// card of a given persona behind a readers.Reader. Targets are pluggable; the suite knows nothing
// of how bytes travel.
//
//   - emulator: every profile of the device catalogue as a virtual phone (emulator/phone), each
//     with its own virtual card (emulator/card) per persona, in process;
//   - pcsc: PC/SC readers through pcscd (readers/pcsc; build tag "pcsc"), with the virtual card
//     dialled in through vpcd or a real test card.
package target

import (
	"errors"
	"fmt"

	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/readers"
)

// Device is one handset or reader under test.
type Device struct {
	ID       string
	Info     readers.Info
	Platform string // "android", "ios", "pcsc"
	Source   string // where the device's facts come from ("synthetic" for edge profiles)
	BitRate  int    // kbit/s, 0 unknown

	// Open presents a fresh card of the persona to the device and returns the reader to drive
	// it and a function that releases it. ErrPersonaUnavailable when the target cannot present
	// that persona (a lab reader holds one physical card).
	Open func(p *fixtures.Persona) (readers.Reader, func(), error)
}

// Target is a set of devices.
type Target interface {
	Name() string
	Devices() ([]Device, error)
}

// ErrPersonaUnavailable is returned by Device.Open when the target cannot present the persona.
var ErrPersonaUnavailable = errors.New("persona not available on this target")

var registry = map[string]func(opts Options) (Target, error){}

// Options configure a target from the suite's flags.
type Options struct {
	DevicesDir string   // emulator: a directory of profiles instead of the built-in catalogue
	Only       []string // device IDs to keep (empty: all)
	Generate   int      // emulator: run N generated synthetic profiles instead (scaling runs)
	Reader     string   // pcsc: reader name (empty: all readers)
}

// Register adds a target constructor; backends call it from init.
func Register(name string, open func(opts Options) (Target, error)) { registry[name] = open }

// Open returns the named target.
func Open(name string, opts Options) (Target, error) {
	open, ok := registry[name]
	if !ok {
		if name == "pcsc" {
			return nil, fmt.Errorf("target %q needs the PC/SC build: run with -tags pcsc (make hil)", name)
		}
		return nil, fmt.Errorf("unknown target %q (known: emulator, pcsc)", name)
	}
	return open(opts)
}

func keep(only []string, id string) bool {
	if len(only) == 0 {
		return true
	}
	for _, o := range only {
		if o == id {
			return true
		}
	}
	return false
}
