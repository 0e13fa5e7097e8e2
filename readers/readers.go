// Package readers defines the one transport interface of mynaconform: something that carries
// command APDUs to a card and brings the response back. Backends live in their own packages:
// the in-process virtual NFC phone (emulator/phone), a PC/SC reader (readers/pcsc, build tag
// "pcsc"). Nothing above this interface knows how bytes travel; the APDU session layer
// (readers/session) is the only place that decides short vs extended vs chunked commands, from
// the Capabilities a Reader reports.
package readers

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Reader carries APDUs to one card. A Reader is not safe for concurrent Transmit calls; one
// goroutine drives one card, as one app drives one NFC tag.
type Reader interface {
	// Info describes the reader (or handset) and its capabilities.
	Info() Info
	// Connect establishes the card session (Android IsoDep.connect, PC/SC SCardConnect). It
	// fails with ErrNoNFC, ErrNoISODep, ErrNoCard, ErrNoService or ErrNoReader.
	Connect(ctx context.Context) error
	// Transmit sends one command APDU (the exact bytes, short or extended form) and returns
	// the response APDU including SW1 SW2. A response shorter than 2 bytes is never returned
	// without an error (ErrShortResponse). Failures are *TransportError values wrapping one of
	// the sentinel errors below.
	Transmit(ctx context.Context, cmd []byte) ([]byte, error)
	// Reset resets the card (warm reset; cold=true for a power cycle). Volatile card state
	// (security status, selected DF) is gone afterwards.
	Reset(ctx context.Context, cold bool) error
	// Close ends the card session. The Reader may be connected again.
	Close() error
}

// Clocked is implemented by readers that model time (the virtual phone): Elapsed is the modelled
// time spent so far (air time plus card processing), advanced by every Transmit without sleeping.
// The session layer uses it to report predicted tap durations; for other readers it measures
// wall time.
type Clocked interface {
	Elapsed() time.Duration
}

// Kind is the kind of backend behind a Reader.
type Kind string

const (
	KindPhone Kind = "phone" // virtual NFC handset (emulator/phone)
	KindPCSC  Kind = "pcsc"  // PC/SC reader through pcscd
	KindRelay Kind = "relay" // remote relay to a real handset
)

// Info identifies a reader and what it can carry.
type Info struct {
	Kind  Kind         `json:"kind"`
	Name  string       `json:"name"`            // PC/SC reader name or device profile ID
	Maker string       `json:"maker,omitempty"` // handset maker or reader vendor
	Model string       `json:"model,omitempty"`
	OS    string       `json:"os,omitempty"` // OS and build, for handsets
	Caps  Capabilities `json:"caps"`
}

// Capabilities are the limits that decide how APDUs must be shaped.
type Capabilities struct {
	// MaxCommand is the longest command APDU the reader accepts, in bytes (Android
	// getMaxTransceiveLength). 0 means unknown.
	MaxCommand int `json:"max_command"`
	// MaxResponse is the longest response APDU (including SW) the reader delivers; above it
	// the link fails (iOS: 1693). 0 means no limit beyond the extended-length maximum.
	MaxResponse int `json:"max_response"`
	// Extended reports extended-length APDU support (Lc/Le on 2-3 bytes).
	Extended bool `json:"extended"`
	// Probed is true when Extended was established by probing rather than declared.
	Probed bool `json:"probed,omitempty"`
}

// ShortMax is the longest short APDU: CLA INS P1 P2 Lc + 255 data + Le (AOSP's default
// ISO_DEP_MAX_TRANSCEIVE). A reader whose MaxCommand exceeds it supports extended APDUs.
const ShortMax = 261

// MaxResponseData is the largest data field to request in one READ given the capabilities:
// 256 for short-only readers, otherwise bounded by MaxResponse (minus SW) and 65536.
func (c Capabilities) MaxResponseData() int {
	if !c.Extended {
		return 256
	}
	n := 65536
	if c.MaxResponse > 0 && c.MaxResponse-2 < n {
		n = c.MaxResponse - 2
	}
	return n
}

// Sentinel transport errors. Backends wrap them in *TransportError; match with errors.Is.
var (
	ErrNoNFC            = errors.New("device has no NFC")
	ErrNoISODep         = errors.New("device NFC stack has no ISO-DEP (ISO 14443-4)")
	ErrTransceiveLength = errors.New("transceive length exceeds supported maximum")
	ErrTagLost          = errors.New("tag connection lost")
	ErrTimeout          = errors.New("transceive timed out")
	ErrCardRemoved      = errors.New("card removed")
	ErrCardReset        = errors.New("card was reset by another handle")
	ErrNoCard           = errors.New("no card present")
	ErrNoService        = errors.New("PC/SC service (pcscd) not running")
	ErrNoReader         = errors.New("reader not found")
	ErrShortResponse    = errors.New("response shorter than 2 bytes")
	ErrNotConnected     = errors.New("not connected")
	ErrCorrupt          = errors.New("response corrupted on the link")
)

// TransportError is a failure to carry an APDU, with the reader, the operation and a hint for
// the user.
type TransportError struct {
	Reader string // reader name or device profile ID
	Op     string // "connect", "transmit", "reset"
	Err    error  // one of the sentinels above, possibly wrapping a backend error
	Hint   string // what the user can do, if anything
}

func (e *TransportError) Error() string {
	s := fmt.Sprintf("%s %s: %v", e.Reader, e.Op, e.Err)
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

func (e *TransportError) Unwrap() error { return e.Err }
