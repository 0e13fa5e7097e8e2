// Package target is what the conformance suite runs on: a list of devices, each able to present a
// card of a given persona behind a readers.Reader. Targets are pluggable; the suite knows nothing
// of how bytes travel.
//
//   - emulator: every profile of the device catalogue as a virtual phone (emulator/phone), each
//     with its own virtual card (emulator/card) per persona, in process;
//   - pcsc: PC/SC readers through pcscd (readers/pcsc; build tag "pcsc"): several vpcd slots,
//     each a device with its own virtual card, or one named reader holding a real test card.
//
// Targets that can drive devices at the same time say how many through Concurrent.
package target

import (
	"errors"
	"fmt"

	"github.com/mynaconform/mynaconform/conformance/envelope"
	"github.com/mynaconform/mynaconform/emulator/phone"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/readers"
	"github.com/mynaconform/mynaconform/readers/session"
)

// Device is one handset or reader under test.
type Device struct {
	ID        string
	Info      readers.Info
	Platform  string // "android", "ios", "pcsc"
	Source    string // where the device's facts come from ("synthetic" for edge profiles)
	SourceURL string // a link to that source, if it has one
	BitRate   int    // kbit/s, 0 unknown

	// Profile is the handset profile an emulated device runs: what the device states (its limits
	// are exact, the suite holds the measured envelope to them). Nil for PC/SC readers, whose
	// capabilities are probed (Info.Caps).
	Profile *phone.Profile
	// File is the profile's file as it was loaded (nil for generated profiles and readers): the
	// bytes whose SHA-256 a signed result binds.
	File []byte

	// Open presents a fresh card of the persona to the device and returns the reader to drive
	// it and a function that releases it. ErrPersonaUnavailable when the target cannot present
	// that persona (a lab reader holds one physical card). A device presents one card at a
	// time: release one before the next Open of the same device (the pcsc target's Open waits
	// for it). Opens of different devices may run at once, up to the target's Concurrency.
	Open func(p *fixtures.Persona) (readers.Reader, func(), error)

	// Envelope, when the target has already measured the device (a named PC/SC reader, which may
	// be a handset in the loop: each probe it cannot carry costs a re-tap), is that measurement
	// and EnvelopeExchanges the APDUs it took, so the suite's envelope stage need not measure
	// again. EnvelopeATR is the card's ATR during it.
	Envelope          *envelope.Envelope
	EnvelopeExchanges []session.Exchange
	EnvelopeATR       []byte
}

// Target is a set of devices.
type Target interface {
	Name() string
	Devices() ([]Device, error)
}

// Concurrent is implemented by targets that can drive several of their devices at the same time.
// Concurrency is how many devices may run at once (0: no limit). Devices of one target are
// independent: each has its own reader and presents its own cards, so runs of different devices
// may interleave freely; only the Opens of one device are sequential (see Device.Open).
//
//   - emulator: 0 (every Open builds its own virtual phone and card in process);
//   - pcsc on vpcd: the number of slots, one device per slot;
//   - pcsc on a named reader (a lab's): 1.
type Concurrent interface {
	Concurrency() int
}

// Concurrency returns how many of t's devices may be driven at once: 0 means no limit, and a
// target that does not implement Concurrent runs one device at a time (1).
func Concurrency(t Target) int {
	if c, ok := t.(Concurrent); ok {
		return max(c.Concurrency(), 0)
	}
	return 1
}

// ErrPersonaUnavailable is returned by Device.Open when the target cannot present the persona.
var ErrPersonaUnavailable = errors.New("persona not available on this target")

var registry = map[string]func(opts Options) (Target, error){}

// Options configure a target. The suite selects devices by ID itself (conformance.Options.Only:
// the same for every target, refusing an unknown ID with the known ones) and passes no Only;
// Only is for code that opens a target directly.
type Options struct {
	DevicesDir string   // emulator: a directory of profiles instead of the built-in catalogue
	Only       []string // keep only these IDs (empty: all); unknown IDs are dropped
	Generate   int      // emulator: run N generated synthetic profiles instead (scaling runs)
	Reader     string   // pcsc: reader name (empty: virtual cards in vpcd slots)
	Slots      int      // pcsc without Reader: vpcd slots, one device each (0: Debian's two)
	// VerificationB is the 照合番号B of the card in the named Reader (a lab's test card, from the
	// environment), with which the pcsc target measures the reader's envelope; nil: the adult
	// persona's (a virtual card).
	VerificationB []byte
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
