//go:build pcsc

package pcsc

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/mynaconform/mynaconform/formats/iso7816"
	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/readers"
)

// Probe commands: harmless on a My Number card (card.md). Nothing here consumes a PIN try or
// writes to the card.
var (
	// SELECT JPKI-AP by AID (short form).
	probeSelectJPKI = append([]byte{0x00, iso7816.InsSelect, iso7816.SelectByName, iso7816.SelectNoFCI, byte(len(mynumber.AIDJPKI))}, mynumber.AIDJPKI...)
	// SELECT EF 000A (user-authentication certificate, free) with an extended Lc (case 3E).
	probeSelectEFExt = []byte{0x00, 0xA4, 0x02, 0x0C, 0x00, 0x00, 0x02, 0x00, 0x0A}
	// The same SELECT in short form, for readers that fail the extended one.
	probeSelectEF = []byte{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x0A}
	// READ BINARY of 1024 bytes with an extended Le (case 2E): the certificate is longer.
	probeReadExt = []byte{0x00, 0xB0, 0x00, 0x00, 0x00, 0x04, 0x00}
	// READ BINARY of the whole file (extended Le 65536, coded 00 00 00).
	probeReadAll = []byte{0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00}
)

// probeLongCommand sizes (whole command APDU): the first one carried sets MaxCommand. 65535 is
// the vpcd framing limit (docs/pcsc.md); 307 bytes of data are what the 80 A2 terminal certificate needs.
var probeLongCommand = []int{65535, 16384, 4096, 1024, 7 + 307}

// ProbeStep is one probe exchange.
type ProbeStep struct {
	Name    string `json:"name"`
	Command int    `json:"command_bytes"`
	Resp    int    `json:"response_bytes,omitempty"`
	SW      string `json:"sw,omitempty"`
	Err     string `json:"error,omitempty"`
}

// ProbeResult is what Probe established.
type ProbeResult struct {
	Caps            readers.Capabilities `json:"caps"`
	ExtendedLc      bool                 `json:"extended_lc"`
	ExtendedLe      bool                 `json:"extended_le"`
	LargestCommand  int                  `json:"largest_command"`  // longest command carried
	LargestResponse int                  `json:"largest_response"` // longest response seen (bounded by the files read)
	Steps           []ProbeStep          `json:"steps"`
}

// ErrNotMyNumberCard is returned by Probe when the card has no JPKI application.
var ErrNotMyNumberCard = errors.New("card has no JPKI-AP (not a My Number card?)")

// Probe finds out with harmless commands whether the reader carries extended APDUs, and how
// long a command it carries, and records the result in Info().Caps (Probed = true):
//
//  1. SELECT JPKI-AP (short), which must succeed;
//  2. SELECT EF 000A with an extended Lc: 9000 proves extended Lc;
//  3. READ BINARY with an extended Le of 1024: more than 256 data bytes prove extended Le;
//  4. SELECT by AID with ever shorter extended-Lc bodies of filler (the card rejects them
//     with a status word): the first answered sets MaxCommand;
//  5. READ BINARY with Le 65536, to record the longest response seen.
//
// MaxResponse stays 0 ("no limit beyond the extended maximum") when extended Le works: the
// card's files cannot provoke responses long enough to find a lower limit. After a step that
// fails on the link (a handset in the loop drops it on a command it cannot carry), Probe connects
// again (Connect waits for the card to come back) and goes on. The exact envelope, with
// the response cap, is conformance/envelope's (mynaconform readers -probe -profile-out). Probe changes the
// card's selection and leaves JPKI-AP selected with no security status; run it before a session.
func (r *Reader) Probe(ctx context.Context) (ProbeResult, error) {
	r.mu.Lock()
	r.probing = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.probing = false
		r.mu.Unlock()
	}()
	var res ProbeResult
	step := func(name string, cmd []byte) ([]byte, []byte, error) {
		s := ProbeStep{Name: name, Command: len(cmd)}
		resp, err := r.transmit(ctx, cmd)
		var data, sw []byte
		if err != nil {
			s.Err = err.Error()
		} else {
			data, sw = resp[:len(resp)-2], resp[len(resp)-2:]
			s.Resp, s.SW = len(resp), hex.EncodeToString(sw)
			res.LargestCommand = max(res.LargestCommand, len(cmd))
			res.LargestResponse = max(res.LargestResponse, len(resp))
		}
		res.Steps = append(res.Steps, s)
		return data, sw, err
	}
	ok := []byte{0x90, 0x00}
	// recover brings the card back after a failed step: a handset in the loop drops its link on a
	// command it cannot carry (vsmartcard's Remote Smart Card Reader app closes its connection to
	// vpcd), and the card starts over at the MF.
	recover := func(err error) error {
		r.mu.Lock()
		broken := r.broken
		r.mu.Unlock()
		if ctx.Err() != nil || broken {
			return err
		}
		r.dropHandle()
		if err := r.Connect(ctx); err != nil {
			return err
		}
		if _, sw, err := step("select JPKI-AP after reconnecting", probeSelectJPKI); err != nil || !bytes.Equal(sw, ok) {
			return probeFailed(r, "SELECT JPKI-AP", sw, err)
		}
		return nil
	}

	_, sw, err := step("select JPKI-AP", probeSelectJPKI)
	if err != nil {
		return res, err
	}
	if !bytes.Equal(sw, ok) {
		return res, &readers.TransportError{Reader: r.name, Op: "probe",
			Err: fmt.Errorf("%w: SELECT answered %X", ErrNotMyNumberCard, sw)}
	}
	_, sw, err = step("select EF 000A, extended Lc", probeSelectEFExt)
	res.ExtendedLc = err == nil && bytes.Equal(sw, ok)
	if err != nil {
		if err := recover(err); err != nil {
			return res, err
		}
	}
	if !res.ExtendedLc {
		if _, sw, err := step("select EF 000A, short", probeSelectEF); err != nil || !bytes.Equal(sw, ok) {
			return res, probeFailed(r, "SELECT EF 000A", sw, err)
		}
	}
	data, sw, err := step("read 1024, extended Le", probeReadExt)
	if err != nil {
		if err := recover(err); err != nil {
			return res, err
		}
	}
	res.ExtendedLe = err == nil && len(data) > 256 && (bytes.Equal(sw, ok) || bytes.Equal(sw, []byte{0x62, 0x82}))
	if res.ExtendedLe {
		if _, _, err := step("read all, extended Le 65536", probeReadAll); err != nil {
			if err := recover(err); err != nil {
				return res, err
			}
		}
	}
	if res.ExtendedLc {
		for _, n := range probeLongCommand {
			_, _, err := step(fmt.Sprintf("select AID, %d-byte command", n), longSelect(n))
			if err == nil {
				break
			}
			if err := recover(err); err != nil {
				return res, err
			}
		}
	}
	// Leave a defined state.
	if _, _, err := step("select JPKI-AP", probeSelectJPKI); err != nil {
		return res, err
	}

	caps := readers.Capabilities{Probed: true, MaxCommand: readers.ShortMax, MaxResponse: 258}
	if res.ExtendedLc && res.ExtendedLe {
		caps.Extended = true
		caps.MaxCommand = max(res.LargestCommand, readers.ShortMax)
		caps.MaxResponse = 0
	}
	res.Caps = caps
	r.mu.Lock()
	r.caps = caps
	r.mu.Unlock()
	return res, nil
}

// longSelect is a case 3E SELECT by AID of n bytes in all whose body (0xFF filler) names no
// application: the card answers 6A82 or 6700, which proves the command was carried.
func longSelect(n int) []byte {
	body := n - 7
	cmd := make([]byte, 7, n)
	copy(cmd, []byte{0x00, 0xA4, 0x04, 0x0C, 0x00, byte(body >> 8), byte(body)})
	for range body {
		cmd = append(cmd, 0xFF)
	}
	return cmd
}

func probeFailed(r *Reader, what string, sw []byte, err error) error {
	if err != nil {
		return err
	}
	return &readers.TransportError{Reader: r.name, Op: "probe",
		Err: fmt.Errorf("%w: %s answered %X", ErrNotMyNumberCard, what, sw)}
}
