package transcript

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/mynaconform/mynaconform/formats/mynumber"

	"github.com/fxamacker/cbor/v2"
)

// Version is the file-format version Write writes and Read accepts.
const Version = 1

// MaxFileSize bounds what Read accepts: 40 exchanges of a few KB each are far below it.
const MaxFileSize = 16 << 20

// File is the transcript of one device in one mode.
type File struct {
	Version   int        `cbor:"1,keyasint" json:"version"`
	Target    string     `cbor:"2,keyasint" json:"target"`  // "emulator" | "pcsc"
	Device    string     `cbor:"3,keyasint" json:"device"`  // device profile ID
	Mode      string     `cbor:"4,keyasint" json:"mode"`    // "pin" | "visual" | ...
	Persona   string     `cbor:"5,keyasint" json:"persona"` // fixture persona name, never the person's data
	Exchanges []Exchange `cbor:"6,keyasint" json:"exchanges"`
}

// Exchange is one command APDU and what came back. Its JSON form (MarshalJSON) shows the bytes
// in hex.
type Exchange struct {
	Step     string        `cbor:"1,keyasint" json:"step"`                    // the step that sent it, e.g. "VIS-002 terminal certificate (80 A2)"
	Command  []byte        `cbor:"2,keyasint" json:"command"`                 // as sent, in its original (short or extended) form
	Response []byte        `cbor:"3,keyasint,omitempty" json:"response"`      // data + SW; nil when the transport failed
	Err      string        `cbor:"4,keyasint,omitempty" json:"err,omitempty"` // transport error, if any
	Elapsed  time.Duration `cbor:"5,keyasint" json:"elapsed_ns"`              // int64 nanoseconds
	Masked   bool          `cbor:"6,keyasint,omitempty" json:"masked,omitempty"`
}

// MaskByte replaces masked data, byte for byte ('*').
const MaskByte = 0x2A

var (
	encMode = mustEncMode()
	decMode = mustDecMode()
)

func mustEncMode() cbor.EncMode {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return em
}

func mustDecMode() cbor.DecMode {
	dm, err := cbor.DecOptions{
		MaxNestedLevels:   8,
		MaxArrayElements:  1 << 16,
		MaxMapPairs:       16, // the smallest the library allows; our maps have 6 keys
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		FieldNameMatching: cbor.FieldNameMatchingCaseSensitive,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}

// ErrUnmaskedSecret is returned by Write and Read for a file in which a command that carries a
// PIN or a 照合番号 (VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER) has data that is not
// masked.
var ErrUnmaskedSecret = errors.New("transcript: unmasked secret in a command")

// Write encodes f in deterministic CBOR. A nil f, a version other than Version or 0 (0 is
// written as Version), or an unmasked secret is an error; the same File always gives the same
// bytes.
func Write(w io.Writer, f *File) error {
	if f == nil {
		return errors.New("transcript: nil file")
	}
	out := *f
	if out.Version == 0 {
		out.Version = Version
	}
	if err := check(&out); err != nil {
		return err
	}
	b, err := encMode.Marshal(&out)
	if err != nil {
		return fmt.Errorf("transcript: encode: %w", err)
	}
	_, err = w.Write(b)
	return err
}

// Read decodes a transcript from untrusted bytes: at most MaxFileSize, bounded nesting and
// lengths, no duplicate map keys, no unknown fields, no indefinite lengths, no tags, no
// trailing data; then the same checks as Write.
func Read(r io.Reader) (*File, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("transcript: read: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("transcript: larger than %d bytes", MaxFileSize)
	}
	var f File
	if err := decMode.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("transcript: decode: %w", err)
	}
	if err := check(&f); err != nil {
		return nil, err
	}
	return &f, nil
}

func check(f *File) error {
	if f.Version != Version {
		return fmt.Errorf("transcript: unsupported version %d (want %d)", f.Version, Version)
	}
	for i, ex := range f.Exchanges {
		if ex.Elapsed < 0 {
			return fmt.Errorf("transcript: exchange %d: negative elapsed time", i+1)
		}
		if carriesSecret(ex.Command) {
			off, n := dataField(ex.Command)
			if !allMasked(ex.Command[off : off+n]) {
				return fmt.Errorf("%w: exchange %d (%s)", ErrUnmaskedSecret, i+1, mynumber.CommandName(ex.Command))
			}
		}
	}
	return nil
}
