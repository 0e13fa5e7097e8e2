package phone

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mynaconform/mynaconform/readers"
)

// Platform names.
const (
	Android = "android"
	IOS     = "ios"
)

// Limits from the standards.
const (
	// MaxCommandAPDU is the longest command APDU: case 4E with 65535 data bytes
	// (CLA INS P1 P2 + 00 Lc Lc + data + Le Le, ISO/IEC 7816-4 5.1).
	MaxCommandAPDU = 4 + 3 + 65535 + 2
	// MaxResponseAPDU is the longest response APDU: 65536 data bytes + SW1 SW2.
	MaxResponseAPDU = 65536 + 2
)

// BitRates are the ISO/IEC 14443 bit rates in kbit/s.
var BitRates = []int{106, 212, 424, 848}

// FrameSizes are the FSD/FSC values of ISO/IEC 14443-3 (index 0..8) and Amd 2 (index 9..12).
var FrameSizes = []int{16, 24, 32, 40, 48, 64, 96, 128, 256, 512, 1024, 2048, 4096}

// Processing is the card's processing time per command kind, added to the air time.
type Processing struct {
	Select       time.Duration `yaml:"select" json:"select"`
	Read         time.Duration `yaml:"read" json:"read"`                   // READ BINARY / GET RESPONSE, per command
	ReadPerByte  time.Duration `yaml:"read_per_byte" json:"read_per_byte"` // per response data byte
	Verify       time.Duration `yaml:"verify" json:"verify"`               // VERIFY, CHANGE REFERENCE DATA
	Sign         time.Duration `yaml:"sign" json:"sign"`                   // COMPUTE DIGITAL SIGNATURE (RSA-2048)
	Challenge    time.Duration `yaml:"challenge" json:"challenge"`         // GET CHALLENGE
	TerminalCert time.Duration `yaml:"terminal_cert" json:"terminal_cert"` // 80 A2 (RSA verification)
	Other        time.Duration `yaml:"other" json:"other"`                 // anything else, and refusals
}

// DefaultProcessing is the card processing time used by the catalogue when a profile names
// none. These are assumptions, not measurements of a real My Number card: a few ms for
// file-system commands, ~0.5 s for an on-card RSA-2048 signature (typical of contactless
// smart cards), ~60 ms for an RSA public-key check.
func DefaultProcessing() Processing {
	return Processing{
		Select:       2 * time.Millisecond,
		Read:         2 * time.Millisecond,
		ReadPerByte:  0,
		Verify:       15 * time.Millisecond,
		Sign:         500 * time.Millisecond,
		Challenge:    5 * time.Millisecond,
		TerminalCert: 60 * time.Millisecond,
		Other:        2 * time.Millisecond,
	}
}

func (p Processing) validate() error {
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"select", p.Select}, {"read", p.Read}, {"read_per_byte", p.ReadPerByte}, {"verify", p.Verify},
		{"sign", p.Sign}, {"challenge", p.Challenge}, {"terminal_cert", p.TerminalCert}, {"other", p.Other},
	} {
		if f.d < 0 {
			return fmt.Errorf("processing.%s: negative duration %v", f.name, f.d)
		}
	}
	return nil
}

// Profile describes one handset (or a synthetic edge case) as data. Field names in YAML and
// JSON are the snake_case tags.
type Profile struct {
	ID       string `yaml:"id" json:"id"` // stable slug, e.g. "google-nexus-s"
	Maker    string `yaml:"maker" json:"maker"`
	Model    string `yaml:"model" json:"model"`
	OS       string `yaml:"os" json:"os"`
	Build    string `yaml:"build,omitempty" json:"build,omitempty"` // ROM / build, support changes with it
	Platform string `yaml:"platform" json:"platform"`               // "android" | "ios"

	NFC    bool `yaml:"nfc" json:"nfc"`
	ISODep bool `yaml:"iso_dep" json:"iso_dep"`

	// MaxTransceive is the longest command APDU in bytes (Android getMaxTransceiveLength).
	MaxTransceive int `yaml:"max_transceive" json:"max_transceive"`
	// Extended overrides extended-length support; nil derives it as MaxTransceive > 261 (AOSP).
	Extended *bool `yaml:"extended,omitempty" json:"extended,omitempty"`
	// MaxResponse caps a response APDU including SW (iOS 1693); 0 = none.
	MaxResponse int `yaml:"max_response,omitempty" json:"max_response,omitempty"`
	// Timeout is the per-transceive timeout (Android default 618 ms).
	Timeout time.Duration `yaml:"timeout" json:"timeout"`
	// BitRate is the ISO/IEC 14443 bit rate in kbit/s: 106, 212, 424 or 848.
	BitRate int `yaml:"bit_rate" json:"bit_rate"`
	// FSD is the frame size in bytes (16..256, 512..4096; ISO/IEC 14443-3 Amd 2).
	FSD int `yaml:"fsd" json:"fsd"`
	// Processing is the card processing time per command kind.
	Processing Processing `yaml:"processing" json:"processing"`

	Source    string `yaml:"source" json:"source"`                             // where the facts come from, or "synthetic"
	SourceURL string `yaml:"source_url,omitempty" json:"source_url,omitempty"` // a link to that source (https)
	Notes     string `yaml:"notes,omitempty" json:"notes,omitempty"`
}

// ExtendedAPDU reports whether the handset carries extended-length APDUs: Extended if set,
// else MaxTransceive > 261 (AOSP NativeNfcManager: 261 is the size without extended frames).
func (p Profile) ExtendedAPDU() bool {
	if p.Extended != nil {
		return *p.Extended
	}
	return p.MaxTransceive > readers.ShortMax
}

// Caps returns the reader capabilities the profile implies.
func (p Profile) Caps() readers.Capabilities {
	return readers.Capabilities{
		MaxCommand:  p.MaxTransceive,
		MaxResponse: p.MaxResponse,
		Extended:    p.ExtendedAPDU(),
	}
}

// Validate checks every field; the error names the field by its YAML name.
func (p Profile) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, a...)...))
	}
	for _, f := range []struct{ name, v string }{
		{"id", p.ID}, {"maker", p.Maker}, {"model", p.Model}, {"os", p.OS}, {"source", p.Source},
	} {
		if f.v == "" {
			bad(f.name, "missing")
		}
	}
	if p.SourceURL != "" && !strings.HasPrefix(p.SourceURL, "https://") {
		bad("source_url", "%q is not an https:// link", p.SourceURL)
	}
	if p.Platform != Android && p.Platform != IOS {
		bad("platform", "%q is not %q or %q", p.Platform, Android, IOS)
	}
	if p.ISODep && !p.NFC {
		bad("iso_dep", "true on a handset without NFC")
	}
	if p.MaxTransceive < 0 || p.MaxTransceive > MaxCommandAPDU {
		bad("max_transceive", "%d outside 0..%d", p.MaxTransceive, MaxCommandAPDU)
	}
	if p.MaxResponse != 0 && (p.MaxResponse < 2 || p.MaxResponse > MaxResponseAPDU) {
		bad("max_response", "%d outside 2..%d (0: no cap)", p.MaxResponse, MaxResponseAPDU)
	}
	if p.Timeout < 0 {
		bad("timeout", "negative %v", p.Timeout)
	}
	if p.BitRate != 0 && !slices.Contains(BitRates, p.BitRate) {
		bad("bit_rate", "%d is not one of %v kbit/s", p.BitRate, BitRates)
	}
	if p.FSD != 0 && !slices.Contains(FrameSizes, p.FSD) {
		bad("fsd", "%d is not one of %v", p.FSD, FrameSizes)
	}
	if p.ISODep {
		// a handset that reads the card needs all link parameters
		if p.MaxTransceive < 5 {
			bad("max_transceive", "%d: an ISO-DEP handset carries at least a 5-byte APDU", p.MaxTransceive)
		}
		if p.Timeout == 0 {
			bad("timeout", "missing (must be > 0)")
		}
		if p.BitRate == 0 {
			bad("bit_rate", "missing")
		}
		if p.FSD == 0 {
			bad("fsd", "missing")
		}
	} else {
		if p.MaxTransceive != 0 {
			bad("max_transceive", "%d on a handset without ISO-DEP (must be 0)", p.MaxTransceive)
		}
		if p.Extended != nil {
			bad("extended", "set on a handset without ISO-DEP")
		}
		if p.MaxResponse != 0 {
			bad("max_response", "%d on a handset without ISO-DEP (must be 0)", p.MaxResponse)
		}
	}
	if p.Extended != nil && *p.Extended && p.ISODep && p.MaxTransceive < 7 {
		bad("extended", "true but max_transceive %d cannot carry an extended APDU", p.MaxTransceive)
	}
	if err := p.Processing.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// fc is the carrier frequency of ISO/IEC 14443 in Hz.
const fc = 13_560_000

// frame overhead of ISO/IEC 14443-4 blocks: PCB (no CID/NAD) + CRC_B.
const blockOverhead = 3

// byteTime is the time of one character (10 etu) in picoseconds, for the bit rate.
func byteTimePS(bitRate int) int64 {
	if bitRate <= 0 {
		bitRate = 106
	}
	// 1 etu = 128/fc at 106 kbit/s, 128/(bitRate/106)/fc in general (bit rates 106·2^k).
	d := int64(128 * 106 / bitRate)
	return 10 * d * 1_000_000_000_000 / fc
}

// payloadOf is the information field of an I-block for frame size fsd (256 if unset).
func payloadOf(fsd int) int {
	if fsd <= blockOverhead {
		fsd = 256
	}
	return fsd - blockOverhead
}

// airBytes is the number of characters on the air to carry n APDU bytes one way, with their
// I-block framing and the R(ACK) blocks acknowledging all but the last block.
func airBytes(n, payload int) int64 {
	f := 1
	if n > payload {
		f = (n + payload - 1) / payload
	}
	return int64(n + blockOverhead*f + blockOverhead*(f-1))
}

func airTime(cmdLen, respLen, payload int, charPS int64) time.Duration {
	chars := airBytes(cmdLen, payload) + airBytes(respLen, payload)
	return time.Duration(chars * charPS / 1000)
}

// AirTime is the modelled air time of one command of cmdLen bytes and its response of
// respLen bytes (SW included), without card processing: see the package documentation.
func (p *Profile) AirTime(cmdLen, respLen int) time.Duration {
	return airTime(cmdLen, respLen, payloadOf(p.FSD), byteTimePS(p.BitRate))
}

// of returns the card's modelled processing time for cmd answered with resp.
func (pr *Processing) of(cmd, resp []byte) time.Duration {
	if len(cmd) < 4 || len(resp) < 2 {
		return pr.Other
	}
	sw1 := resp[len(resp)-2]
	ok := sw1 == 0x90 || sw1 == 0x61
	switch cmd[1] {
	case 0xA4:
		return pr.Select
	case 0xB0, 0xB1, 0xC0:
		return pr.Read + time.Duration(len(resp)-2)*pr.ReadPerByte
	case 0x20, 0x24:
		return pr.Verify
	case 0x84:
		return pr.Challenge
	case 0x2A:
		if ok {
			return pr.Sign
		}
	case 0xA2:
		if ok {
			return pr.TerminalCert
		}
	}
	return pr.Other
}
