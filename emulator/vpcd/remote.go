package vpcd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/mynaconform/mynaconform/formats/iso7816"
	"github.com/mynaconform/mynaconform/readers"
)

// DefaultRetap is how long App waits after a failure of the handset before the next "tap": the
// real app's worker ends on the failure and a new one starts only when the user taps the card
// again.
const DefaultRetap = 500 * time.Millisecond

// AndroidNfcBMaxTransceive is what Android's NfcB.getMaxTransceiveLength returns on the NCI stack
// (AOSP NativeNfcManager: 253, "PN544 RF buffer = 255 bytes, subtract two for CRC"); the app
// derives the ATR's MBLI from it, not from the ISO-DEP maximum.
const AndroidNfcBMaxTransceive = 253

// selectMF is what the app sends to the card for vpcd's power-off and reset (NFCReader.selectMF:
// 00 A4 00 0C, case 1): the card stays in the field, so nothing is really reset.
var selectMF = []byte{0x00, iso7816.InsSelect, iso7816.SelectMF, iso7816.SelectNoFCI}

// App is a handset running vsmartcard's Remote Smart Card Reader app
// (com.vsmartcard.remotesmartcardreader.app), which turns the handset into a reader of vpcd: on
// each tap it connects to the card (IsoDep.connect), dials vpcd and answers its messages with the
// same framing as a virtual card (Serve), but as the app does (remote-reader/app/src/main/java/
// com/vsmartcard/remotesmartcardreader/app, VPCDWorker and NFCReader, vsmartcard a858628):
//
//   - power on (01) does nothing; power off (00) and reset (02) send SELECT MF (00 A4 00 0C) to
//     the card and nothing else, whatever it answers;
//   - get ATR (04) is answered with ATR, which the app builds from the card's ATQB (TypeBATR);
//   - any other 1-byte message ends the worker ("Unhandled command from VPCD");
//   - a command APDU goes to IsoDep.transceive, and its bytes are the answer. When the handset's
//     NFC stack fails (transceive length exceeded, tag lost, timeout: an IOException), no status
//     word is sent: the worker ends, ejects the tag (IsoDep.close) and closes the vpcd
//     connection, so pcscd sees the card removed.
//
// Unlike the app, which waits for the user's next tap, App then connects and dials again after
// Retap, so an automated run can go on. When vpcd closes the connection (pcscd stopped), App
// dials again with the backoff of Dial. A handset that cannot reach the card at all (no NFC, no
// ISO-DEP) never dials: the app sees no tag.
type App struct {
	// Handset is the NFC stack with the card in its field: Connect is IsoDep.connect at a tap,
	// Transmit is IsoDep.transceive, Close is IsoDep.close. *phone.Phone is one.
	Handset readers.Reader
	// ATR is the answer to vpcd's get-ATR (TypeBATR of the card's ATQB).
	ATR []byte
	// Retap is the time from a failure to the next tap (0: DefaultRetap).
	Retap time.Duration
	// OnAPDU, when set, is told every command carried to the handset with its response, or with
	// the handset's failure. It must not keep the slices. The APDUs carry PINs: a logger must
	// mask them.
	OnAPDU func(cmd, resp []byte, err error)
}

// TypeBATR is the ATR the app builds for an ISO 14443 Type B card (NFCReader.getATR, after PC/SC
// part 3, 3.1.3.2.3): 3B 8n 80 01, the historical bytes, TCK. The historical bytes are the ATQB's
// application data (4 bytes) and protocol info (3 bytes) and MBLI<<4, with MBLI computed from the
// protocol info's maximum frame size and nfcBMax (NfcB.getMaxTransceiveLength; see
// AndroidNfcBMaxTransceive). When either part has the wrong length or no MBLI follows, the app
// builds the ATR without historical bytes: 3B 80 80 01 01.
func TypeBATR(appData, protocolInfo []byte, nfcBMax int) []byte {
	var hist []byte
	if len(appData) == 4 && len(protocolInfo) == 3 {
		if mbli, ok := mbliOf(protocolInfo, nfcBMax); ok {
			hist = append(append(append(hist, appData...), protocolInfo...), mbli<<4)
		}
	}
	atr := append([]byte{0x3B, 0x80 | byte(len(hist)), 0x80, 0x01}, hist...)
	tck := atr[1]
	for _, b := range atr[2:] {
		tck ^= b
	}
	return append(atr, tck)
}

// atqbFrameSizes are the maximum frame sizes of the ATQB's protocol info (codes 0..8; 9..15 RFU).
var atqbFrameSizes = []int{16, 24, 32, 40, 48, 64, 96, 128, 256}

// mbliOf is the app's translateToMbli: the maximum buffer length index for a maximum buffer of
// maxUnit + 5 bytes (3 to 5 bytes of overhead), which must be the frame size times a power of two
// within 2 bytes.
func mbliOf(protocolInfo []byte, maxUnit int) (byte, bool) {
	code := int(protocolInfo[1]>>4) & 0xF
	if code >= len(atqbFrameSizes) {
		return 0, false
	}
	frame := atqbFrameSizes[code]
	predicted := maxUnit + 5
	mbl := highestOneBit(predicted/frame) * frame
	if predicted-mbl > 2 {
		return 0, false
	}
	idx := trailingZeros(mbl/frame) + 1
	if idx > 15 {
		return 0, false
	}
	return byte(idx), true
}

// highestOneBit and trailingZeros are Java's Integer methods for the non-negative values here
// (Integer.numberOfTrailingZeros(0) is 32).
func highestOneBit(n int) int {
	if n <= 0 {
		return 0
	}
	h := 1
	for n > 1 {
		n >>= 1
		h <<= 1
	}
	return h
}

func trailingZeros(n int) int {
	if n == 0 {
		return 32
	}
	z := 0
	for n&1 == 0 {
		n >>= 1
		z++
	}
	return z
}

// workerEnd is why one worker (one tap) ended.
type workerEnd int

const (
	endCancelled workerEnd = iota // ctx done
	endHandset                    // the handset failed: the user taps again
	endVPCD                       // vpcd closed the connection or the connection failed: dial again
)

// Dial serves the handset's card into vpcd at addr (e.g. DefaultAddr) until ctx is done, tap
// after tap; it returns nil when ctx is done. opts are those of Dial (quick ACK, backoff, logger).
func (a *App) Dial(ctx context.Context, addr string, opts ...Option) error {
	if a.Handset == nil {
		return errors.New("vpcd: app without a handset")
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("vpcd: bad address %q: %w", addr, err)
	}
	c := newConfig(opts)
	retap := a.Retap
	if retap <= 0 {
		retap = DefaultRetap
	}
	tapWait := c.minBackoff
	for ctx.Err() == nil {
		// A tap: the card comes into the handset's field.
		if err := a.Handset.Connect(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, readers.ErrNoNFC) || errors.Is(err, readers.ErrNoISODep) {
				c.log.Error("the handset cannot read the card: the app never sees a tag, so nothing dials vpcd", "err", err)
				<-ctx.Done()
				return nil
			}
			c.log.Info("no card at the tap; trying again", "err", err)
			if !sleep(ctx, tapWait) {
				return nil
			}
			tapWait = min(2*tapWait, c.maxBackoff)
			continue
		}
		tapWait = c.minBackoff
		conn, ok := dialVPCD(ctx, addr, c)
		if !ok {
			_ = a.Handset.Close()
			return nil
		}
		c.log.Info("vpcd connected", "addr", addr)
		end, err := a.work(ctx, conn, c)
		// The worker's end: eject the tag, close the connection (pcscd sees the card removed).
		_ = a.Handset.Close()
		conn.Close()
		switch end {
		case endCancelled:
			return nil
		case endHandset:
			c.log.Info("ERROR: the handset failed; the worker ejected the tag and closed the vpcd connection; tapping again", "err", err, "in", retap)
			if !sleep(ctx, retap) {
				return nil
			}
		case endVPCD:
			c.log.Info("vpcd disconnected", "addr", addr, "err", err)
			if !sleep(ctx, c.minBackoff) {
				return nil
			}
		}
	}
	return nil
}

// dialVPCD connects to vpcd, retrying with backoff while it does not listen; false when ctx ends.
func dialVPCD(ctx context.Context, addr string, c *config) (net.Conn, bool) {
	wait := c.minBackoff
	for {
		conn, err := c.dialer.DialContext(ctx, "tcp", addr)
		if ctx.Err() != nil {
			if conn != nil {
				conn.Close()
			}
			return nil, false
		}
		if err == nil {
			return conn, true
		}
		if !sleep(ctx, wait) {
			return nil, false
		}
		wait = min(2*wait, c.maxBackoff)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// work is one VPCDWorker: it answers vpcd's messages until the handset fails, vpcd goes away or
// ctx is done.
func (a *App) work(ctx context.Context, conn net.Conn, c *config) (workerEnd, error) {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	fr := newFramer(conn, c.quickAck)
	for {
		msg, err := fr.read()
		if ctx.Err() != nil {
			return endCancelled, nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("end of stream")
			}
			return endVPCD, err
		}
		var resp []byte
		if len(msg) == 1 {
			switch msg[0] {
			case ctrlPowerOn:
				continue // "should already be connected"
			case ctrlPowerOff, ctrlReset:
				if _, err := a.transmit(ctx, selectMF); err != nil {
					return a.failed(ctx, err)
				}
				continue
			case ctrlGetATR:
				resp = a.ATR
			default:
				return endVPCD, fmt.Errorf("unhandled command from vpcd: %02X", msg[0])
			}
		} else {
			if resp, err = a.transmit(ctx, msg); err != nil {
				return a.failed(ctx, err)
			}
		}
		// A response over vpcd's framing limit cannot come from a My Number card (no file is
		// that long), and the app would wrap its length: write answers 6700 instead, as Serve does.
		if err := fr.write(resp); err != nil {
			return endVPCD, err
		}
	}
}

func (a *App) failed(ctx context.Context, err error) (workerEnd, error) {
	if ctx.Err() != nil {
		return endCancelled, nil
	}
	return endHandset, err
}

func (a *App) transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	resp, err := a.Handset.Transmit(ctx, cmd)
	if a.OnAPDU != nil {
		a.OnAPDU(cmd, resp, err)
	}
	return resp, err
}
