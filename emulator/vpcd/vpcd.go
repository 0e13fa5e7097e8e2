package vpcd

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"syscall"
	"time"
)

// Card is what a slot serves. *card.Card of emulator/card satisfies it. Transmit should always
// answer at least a status word; Serve passes the answer through as it is (a transport does not
// repair responses) except what vpcd cannot carry: a response over the framing limit becomes
// 6700 and an empty one 6F00.
type Card interface {
	Transmit(cmd []byte) []byte
	PowerOn() []byte
	PowerOff()
	Reset() []byte
	ATR() []byte
}

// Addresses of the two slots of Debian's /etc/reader.conf.d/vpcd (CHANNELID 0x8C7B).
const (
	DefaultAddr = "127.0.0.1:35963" // "Virtual PCD 00 00"
	SecondAddr  = "127.0.0.1:35964" // "Virtual PCD 00 01"
)

// MaxFrame is the largest payload the 2-byte length prefix can carry. A longer response makes
// pcscd fail with SCARD_E_NOT_TRANSACTED and vpcd drop the card (docs/pcsc.md), so Serve never sends one.
const MaxFrame = 65535

// Control codes of vpcd (vsmartcard virtualsmartcard/src/vpcd/vpcd.h).
const (
	ctrlPowerOff = 0x00
	ctrlPowerOn  = 0x01
	ctrlReset    = 0x02
	ctrlGetATR   = 0x04
)

// swWrongLength answers a response that does not fit the framing (ISO 7816-4 6700).
var swWrongLength = []byte{0x67, 0x00}

// swNoPreciseDiagnosis answers a command whose processing panicked (ISO 7816-4 6F00).
var swNoPreciseDiagnosis = []byte{0x6F, 0x00}

type config struct {
	quickAck   bool
	minBackoff time.Duration
	maxBackoff time.Duration
	log        *slog.Logger
	dialer     net.Dialer
}

// Option configures Serve and Dial.
type Option func(*config)

// WithQuickAck turns TCP_QUICKACK on (the default) or off; off reproduces the ~44 ms stall of
// Debian 12's vpcd and exists for the benchmark.
func WithQuickAck(on bool) Option { return func(c *config) { c.quickAck = on } }

// WithBackoff sets the first and the longest wait between dial attempts (default 10 ms, 1 s).
func WithBackoff(first, longest time.Duration) Option {
	return func(c *config) {
		if first > 0 {
			c.minBackoff = first
		}
		if longest >= c.minBackoff {
			c.maxBackoff = longest
		}
	}
}

// WithLogger logs connection events (never APDU contents: they carry PINs).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

func newConfig(opts []Option) *config {
	c := &config{
		quickAck:   true,
		minBackoff: 10 * time.Millisecond,
		maxBackoff: time.Second,
		log:        slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Dial connects to vpcd at addr (e.g. DefaultAddr) and serves card, dialling again with
// exponential backoff whenever pcscd is not up yet or drops the connection (pcscd restart). The
// card is powered off whenever the connection ends, as a card pulled from a reader. Dial
// returns nil when ctx is done.
func Dial(ctx context.Context, addr string, card Card, opts ...Option) error {
	if card == nil {
		return errors.New("vpcd: nil card")
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("vpcd: bad address %q: %w", addr, err)
	}
	c := newConfig(opts)
	for {
		conn, ok := dialVPCD(ctx, addr, c)
		if !ok {
			return nil
		}
		c.log.Info("vpcd connected", "addr", addr)
		err := serve(ctx, conn, card, c)
		if ctx.Err() != nil {
			return nil
		}
		c.log.Info("vpcd disconnected", "addr", addr, "err", err)
		if !sleep(ctx, c.minBackoff) {
			return nil
		}
	}
}

// Serve answers vpcd's messages on conn until the peer closes it (nil), a read or write fails, or
// ctx is done (nil). It closes conn and powers the card off before returning.
func Serve(ctx context.Context, conn net.Conn, card Card, opts ...Option) error {
	if card == nil {
		conn.Close()
		return errors.New("vpcd: nil card")
	}
	err := serve(ctx, conn, card, newConfig(opts))
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func serve(ctx context.Context, conn net.Conn, card Card, c *config) error {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer func() {
		stop()
		conn.Close()
		safe(card.PowerOff)
	}()
	fr := newFramer(conn, c.quickAck)
	for {
		msg, err := fr.read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		resp, answer := handle(card, msg)
		if !answer {
			continue
		}
		if err := fr.write(resp); err != nil {
			return err
		}
	}
}

// framer reads and writes vpcd's messages on one connection: a 2-byte big-endian length and the
// payload, with TCP_QUICKACK set before every read and after the length (see Quick ACK).
type framer struct {
	conn net.Conn
	raw  syscall.RawConn
	hdr  [2]byte
	out  []byte
}

func newFramer(conn net.Conn, quick bool) *framer {
	f := &framer{conn: conn, out: make([]byte, 2, 2+MaxFrame)}
	if sc, ok := conn.(syscall.Conn); ok && quick {
		f.raw, _ = sc.SyscallConn()
	}
	return f
}

// read returns the next message; io.EOF when the peer closed the connection between messages.
func (f *framer) read() ([]byte, error) {
	quickAck(f.raw)
	if _, err := io.ReadFull(f.conn, f.hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("vpcd: read length: %w", err)
	}
	quickAck(f.raw)
	// A fresh buffer per message: a card may keep slices of its command.
	msg := make([]byte, binary.BigEndian.Uint16(f.hdr[:]))
	if _, err := io.ReadFull(f.conn, msg); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // the peer left after a length: mid-message, not between messages
		}
		return nil, fmt.Errorf("vpcd: read %d-byte message: %w", len(msg), err)
	}
	return msg, nil
}

// write sends resp, replacing what vpcd cannot carry: a response over the framing limit becomes
// 6700 and an empty one 6F00.
func (f *framer) write(resp []byte) error {
	switch {
	case len(resp) > MaxFrame:
		resp = swWrongLength
	case len(resp) == 0:
		// vpcd 0.8 takes an empty answer for a stall: the APDU hangs ~30 s, then pcscd
		// returns success with 0 bytes and drops the card (measured with pcscd -d -a).
		resp = swNoPreciseDiagnosis
	}
	f.out = append(f.out[:2], resp...)
	binary.BigEndian.PutUint16(f.out, uint16(len(resp)))
	if _, err := f.conn.Write(f.out); err != nil {
		return fmt.Errorf("vpcd: write: %w", err)
	}
	return nil
}

// handle processes one message; answer is false for messages vpcd expects no answer to.
func handle(card Card, msg []byte) (resp []byte, answer bool) {
	switch len(msg) {
	case 0:
		return nil, false // not sent by vpcd; ignore rather than fail
	case 1:
		switch msg[0] {
		case ctrlPowerOff:
			safe(card.PowerOff)
		case ctrlPowerOn:
			safe(func() { card.PowerOn() })
		case ctrlReset:
			safe(func() { card.Reset() })
		case ctrlGetATR:
			atr := []byte{}
			safe(func() { atr = card.ATR() })
			return atr, true
		}
		return nil, false // unknown control codes are ignored, as vicc does
	}
	resp = swNoPreciseDiagnosis
	safe(func() { resp = card.Transmit(msg) })
	return resp, true
}

// safe runs f, turning a panic of a faulty card into a no-op: one card must never take the
// slot (or the process serving several slots) down.
func safe(f func()) {
	defer func() { _ = recover() }()
	f()
}
