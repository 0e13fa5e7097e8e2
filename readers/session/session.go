package session

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mynaconform/mynaconform/formats/iso7816"
	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/formats/tlv"
	"github.com/mynaconform/mynaconform/readers"
)

// Secret says what a command's data field carries, so transcripts can mask it.
type Secret int

const (
	SecretNone          Secret = iota
	SecretPIN                  // JPKI or input-support PIN (暗証番号)
	SecretVerificationA        // 照合番号A: the 12-digit My Number
	SecretVerificationB        // 照合番号B: birth date, expiry year, security code
	SecretPassword             // any other password
)

func (s Secret) String() string {
	switch s {
	case SecretNone:
		return "none"
	case SecretPIN:
		return "pin"
	case SecretVerificationA:
		return "verification-a"
	case SecretVerificationB:
		return "verification-b"
	case SecretPassword:
		return "password"
	}
	return fmt.Sprintf("secret(%d)", int(s))
}

// maskByte replaces secret bytes in masked exchanges ('*').
const maskByte = 0x2A

// Exchange is one command/response pair as it crossed the reader.
type Exchange struct {
	Step     string
	Command  []byte        // exact bytes sent (original encoding)
	Response []byte        // exact bytes received (nil on transport error)
	Err      string        // transport error text, if any
	Secret   Secret        // the command data field is a secret: mask it in transcripts
	Extended bool          // command used extended length encoding
	Elapsed  time.Duration // modelled (phone) or wall time of this exchange
	// SecretResponse marks response data that is secret (a read of the My Number, see
	// Session.SecretFile): Masked replaces it.
	SecretResponse bool
}

// Masked returns a copy of e whose secret command data (Secret != SecretNone) and secret
// response data (SecretResponse) are replaced by 0x2A bytes of the same length. Headers, Lc,
// Le and the status word stay as sent.
func (e Exchange) Masked() Exchange {
	m := e
	if e.Secret != SecretNone && len(e.Command) > 4 {
		m.Command = bytes.Clone(e.Command)
		if l, ok := iso7816.ParseLayout(e.Command); ok {
			fill(m.Command[l.DataOffset : l.DataOffset+l.DataLen])
		} else {
			fill(m.Command[4:]) // malformed: everything after the header may be secret
		}
	}
	if e.SecretResponse && len(e.Response) > 2 {
		m.Response = bytes.Clone(e.Response)
		fill(m.Response[:len(m.Response)-2])
	}
	return m
}

func fill(b []byte) {
	for i := range b {
		b[i] = maskByte
	}
}

// String renders the masked exchange on one line: step, command, response or error, time.
func (e Exchange) String() string {
	m := e.Masked()
	var b strings.Builder
	if m.Step != "" {
		b.WriteString(m.Step)
		b.WriteString(": ")
	}
	b.WriteString("> ")
	b.WriteString(strings.ToUpper(hex.EncodeToString(m.Command)))
	if m.Err != "" {
		b.WriteString(" ! ")
		b.WriteString(m.Err)
	} else {
		b.WriteString(" < ")
		b.WriteString(strings.ToUpper(hex.EncodeToString(m.Response)))
	}
	fmt.Fprintf(&b, " (%v)", m.Elapsed)
	return b.String()
}

// GoString masks too, so %#v never prints a secret.
func (e Exchange) GoString() string { return "session.Exchange{" + e.String() + "}" }

// Session drives one card over one reader. See the package documentation.
type Session struct {
	r       readers.Reader
	clock   readers.Clocked
	stepper interface{ SetStep(string) }
	step    string
	ex      []Exchange
	elapsed time.Duration
	buf     []byte // command built by an operation
	buf2    []byte // follow-up commands (6Cxx re-send, GET RESPONSE)

	// Selection tracking, for masking reads of secret files.
	aid     mynumber.AID
	ef      mynumber.FID
	secrets []mynumber.FileRef
	masking bool // the last exchange read a secret file (GET RESPONSE continues it)
}

// New returns a session over r. The reader must be connected before the first command.
func New(r readers.Reader) *Session {
	s := &Session{
		r:       r,
		secrets: append([]mynumber.FileRef(nil), mynumber.SecretFiles...),
	}
	s.clock, _ = r.(readers.Clocked)
	s.stepper, _ = r.(interface{ SetStep(string) })
	return s
}

// Reader returns the reader the session drives.
func (s *Session) Reader() readers.Reader { return s.r }

// Caps returns the reader's current capabilities (they may change after Connect, e.g. when a
// PC/SC backend has probed extended-length support).
func (s *Session) Caps() readers.Capabilities { return s.r.Info().Caps }

// Step labels the following exchanges ("consent-pin/verify") and forwards the label to readers
// that implement SetStep(string) (the virtual phone uses it for fault injection).
func (s *Session) Step(name string) {
	s.step = name
	if s.stepper != nil {
		s.stepper.SetStep(name)
	}
}

// SecretFile marks EF fid of application aid as secret: the response data of reads of it are
// masked in transcripts. By default the My Number files are marked (mynumber.SecretFiles:
// 券面事項入力補助AP EF 0001 and 券面事項確認AP EF 0005). Detection follows the SELECT commands
// the session saw (by AID, by FID, and READ BINARY's short-EF form).
func (s *Session) SecretFile(aid mynumber.AID, fid mynumber.FID) {
	s.secrets = append(s.secrets, mynumber.FileRef{AID: aid, FID: fid})
}

// Exchanges returns a copy of every exchange so far, in order, unmasked. Use Transcript for
// anything that leaves the process.
func (s *Session) Exchanges() []Exchange {
	out := make([]Exchange, len(s.ex))
	copy(out, s.ex)
	return out
}

// Transcript returns every exchange so far, in order, masked (Exchange.Masked).
func (s *Session) Transcript() []Exchange {
	out := make([]Exchange, len(s.ex))
	for i, e := range s.ex {
		out[i] = e.Masked()
	}
	return out
}

// Elapsed is the time spent in this session's exchanges: modelled time if the reader is
// readers.Clocked (the virtual phone), else wall time measured around each Transmit.
func (s *Session) Elapsed() time.Duration { return s.elapsed }

// Transmit sends cmd as given and returns the response data and status word. It follows 61xx
// with GET RESPONSE (concatenating the data) and answers 6Cxx by re-sending cmd once with
// Le = xx; every exchange is recorded. err is only for transport failures (a *readers.TransportError
// from the reader, or ErrShortResponse for a response under 2 bytes); status words are the
// caller's to interpret. A command under 4 bytes is refused without being sent.
func (s *Session) Transmit(ctx context.Context, cmd []byte, secret Secret) (resp []byte, sw iso7816.StatusWord, err error) {
	if len(cmd) < 4 {
		return nil, 0, fmt.Errorf("session: %d-byte command is no APDU (CLA INS P1 P2 at least)", len(cmd))
	}
	resp, sw, err = s.exchange(ctx, cmd, secret)
	if err != nil {
		return nil, 0, err
	}
	if sw.SW1() == 0x6C {
		if l, ok := iso7816.ParseLayout(cmd); ok {
			ne := int(sw & 0xFF)
			if ne == 0 {
				ne = 256
			}
			s.buf2 = withLe(s.buf2[:0], cmd, l, ne)
			resp, sw, err = s.exchange(ctx, s.buf2, secret)
			if err != nil {
				return nil, 0, err
			}
		}
	}
	if sw.SW1() != 0x61 {
		return resp, sw, nil
	}
	out := bytes.Clone(resp)
	for n := 0; sw.SW1() == 0x61; n++ {
		// at most 65536 bytes arrive in 256-byte pieces; a card that goes on is broken
		if n > iso7816.MaxExtendedNe/iso7816.MaxShortNe || len(out) > iso7816.MaxExtendedNe {
			return nil, 0, fmt.Errorf("get response: card keeps answering 61xx after %d bytes in %d commands", len(out), n)
		}
		ne := int(sw & 0xFF)
		if ne == 0 {
			ne = 256
		}
		s.buf2, _ = iso7816.NewCommand(cmd[0]&iso7816.ClaChannel, iso7816.InsGetResponse, 0, 0, nil, ne).AppendTo(s.buf2[:0])
		resp, sw, err = s.exchange(ctx, s.buf2, SecretNone)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, resp...)
	}
	return out, sw, nil
}

// withLe re-encodes cmd (laid out as l) with expected length ne, in cmd's own form.
func withLe(dst, cmd []byte, l iso7816.Layout, ne int) []byte {
	dst = append(dst, cmd[:4]...)
	if !l.Extended {
		if l.DataLen > 0 {
			dst = append(dst, cmd[4:l.DataOffset+l.DataLen]...)
		}
		return append(dst, byte(ne))
	}
	if l.DataLen > 0 {
		dst = append(dst, cmd[4:l.DataOffset+l.DataLen]...)
	} else {
		dst = append(dst, 0)
	}
	return append(dst, byte(ne>>8), byte(ne))
}

// exchange carries one APDU and records it.
func (s *Session) exchange(ctx context.Context, cmd []byte, secret Secret) ([]byte, iso7816.StatusWord, error) {
	l, ok := iso7816.ParseLayout(cmd)
	var before time.Duration
	var start time.Time
	if s.clock != nil {
		before = s.clock.Elapsed()
	} else {
		start = time.Now()
	}
	resp, err := s.r.Transmit(ctx, cmd)
	var d time.Duration
	if s.clock != nil {
		d = s.clock.Elapsed() - before
	} else {
		d = time.Since(start)
	}
	s.elapsed += d
	e := Exchange{
		Step:     s.step,
		Command:  bytes.Clone(cmd),
		Secret:   secret,
		Extended: ok && l.Extended,
		Elapsed:  d,
	}
	if err == nil && len(resp) < 2 {
		err = &readers.TransportError{Reader: s.r.Info().Name, Op: "transmit", Err: readers.ErrShortResponse}
	}
	if err != nil {
		if len(resp) > 0 {
			e.Response = bytes.Clone(resp)
		}
		e.Err = err.Error()
		s.ex = append(s.ex, e)
		s.masking = false
		return nil, 0, err
	}
	e.Response = bytes.Clone(resp)
	sw := iso7816.SWOf(resp)
	e.SecretResponse = s.track(cmd, l, ok, sw)
	s.ex = append(s.ex, e)
	return resp[:len(resp)-2], sw, nil
}

// track follows the card's selection state from the commands it answered and reports whether
// this exchange's response data is secret.
func (s *Session) track(cmd []byte, l iso7816.Layout, ok bool, sw iso7816.StatusWord) bool {
	ins, p1 := cmd[1], cmd[2]
	prev := s.masking
	s.masking = false
	switch {
	case ins == iso7816.InsSelect && ok && sw == iso7816.SWOK:
		data := cmd[l.DataOffset : l.DataOffset+l.DataLen]
		switch {
		case p1 == iso7816.SelectByName:
			s.aid = mynumber.AID(data)
			s.ef = 0
		case p1 == iso7816.SelectEF && len(data) == 2:
			s.ef = mynumber.FID(data[0])<<8 | mynumber.FID(data[1])
		}
	case ins == iso7816.InsReadBinary || ins == iso7816.InsReadBinary|1:
		if ins == iso7816.InsReadBinary && p1&0x80 != 0 && sw.SW1() != 0x6A {
			s.ef = mynumber.FID(p1 & 0x1F) // short-EF form selects the EF (card.md)
		}
		s.masking = s.isSecret()
	case ins == iso7816.InsGetResponse:
		s.masking = prev
	}
	return s.masking
}

func (s *Session) isSecret() bool {
	for _, f := range s.secrets {
		if f.FID == s.ef && f.AID == s.aid {
			return true
		}
	}
	return false
}

// do runs cmd (usually s.buf) and wraps transport errors with op.
func (s *Session) do(ctx context.Context, op string, cmd []byte, secret Secret) ([]byte, iso7816.StatusWord, error) {
	data, sw, err := s.Transmit(ctx, cmd, secret)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", op, err)
	}
	return data, sw, nil
}

func (s *Session) build(cla, ins, p1, p2 byte, data []byte, ne int, ext bool) error {
	var err error
	c := iso7816.NewCommand(cla, ins, p1, p2, data, ne)
	c.Extended = ext
	s.buf, err = c.AppendTo(s.buf[:0])
	return err
}

// SelectAID selects an application by its AID or a prefix of it (00 A4 04 0C Lc AID).
func (s *Session) SelectAID(ctx context.Context, aid mynumber.AID) error {
	if len(aid) == 0 || len(aid) > 16 {
		return fmt.Errorf("select AID: AID of %d bytes (ISO 7816-4: 1..16)", len(aid))
	}
	if err := s.build(0x00, iso7816.InsSelect, iso7816.SelectByName, iso7816.SelectNoFCI, []byte(aid), 0, false); err != nil {
		return err
	}
	_, sw, err := s.do(ctx, "select AID", s.buf, SecretNone)
	if err != nil {
		return err
	}
	return swError("select AID", sw)
}

// SelectEF selects an elementary file of the current application (00 A4 02 0C 02 FID).
func (s *Session) SelectEF(ctx context.Context, fid mynumber.FID) error {
	if err := s.build(0x00, iso7816.InsSelect, iso7816.SelectEF, iso7816.SelectNoFCI, fid.Bytes(), 0, false); err != nil {
		return err
	}
	op := fmt.Sprintf("select EF %04X", fid)
	_, sw, err := s.do(ctx, op, s.buf, SecretNone)
	if err != nil {
		return err
	}
	return swError(op, sw)
}

// maxOffset is the largest offset of READ BINARY's offset form (P1 b8 = 0: 15 bits).
const maxOffset = 0x7FFF

// ReadBinary reads n bytes of the current EF from offset, split into as few READ BINARY
// commands as the reader can carry (Capabilities.MaxResponseData: 256-byte short reads, or
// extended reads up to the response cap). Short reads use the short form even on extended
// readers. It returns fewer than n bytes only when the file ends first (6282, an empty answer,
// or 6B00 after some data); a short answer with 9000 is followed by a read at the next offset,
// since a card may cap its responses below Le.
func (s *Session) ReadBinary(ctx context.Context, offset, n int) ([]byte, error) {
	return s.readBinary(ctx, nil, offset, n)
}

func (s *Session) readBinary(ctx context.Context, dst []byte, offset, n int) ([]byte, error) {
	if offset < 0 || n < 0 || offset > maxOffset {
		return dst, fmt.Errorf("read binary: offset %d, length %d out of range (offset 0..%d)", offset, n, maxOffset)
	}
	chunk := s.Caps().MaxResponseData()
	if dst == nil {
		dst = make([]byte, 0, n)
	}
	for got := 0; got < n; {
		off := offset + got
		if off > maxOffset {
			return dst, fmt.Errorf("read binary: offset %d beyond the 15-bit offset of READ BINARY", off)
		}
		want := min(n-got, chunk)
		if err := s.build(0x00, iso7816.InsReadBinary, byte(off>>8), byte(off), nil, want, false); err != nil {
			return dst, err
		}
		data, sw, err := s.do(ctx, "read binary", s.buf, SecretNone)
		if err != nil {
			return dst, err
		}
		switch {
		case sw == iso7816.SWOK, sw == iso7816.SWEndOfFile:
		case sw == iso7816.SWWrongOffset && got > 0:
			return dst, nil
		default:
			return dst, swError("read binary", sw)
		}
		if len(data) > want {
			data = data[:want]
		}
		dst = append(dst, data...)
		got += len(data)
		// 6282: end of file before Le bytes. A short answer with 9000 may be the card's own
		// response limit rather than the end of the file: read on (6B00 then ends it).
		if sw == iso7816.SWEndOfFile || len(data) == 0 {
			break
		}
	}
	return dst, nil
}

// headerLen is what ReadObject reads first: OpenSC's JPKI driver reads 4 bytes (30 82 LL LL).
const headerLen = 4

// ReadObject selects EF fid and reads the BER-TLV object at its start, without the filler
// after it: first the object's header (4 bytes, one more for a two-byte tag with a 82 length),
// then the rest with as few READ BINARY commands as the reader allows.
func (s *Session) ReadObject(ctx context.Context, fid mynumber.FID) ([]byte, error) {
	if err := s.SelectEF(ctx, fid); err != nil {
		return nil, err
	}
	hdr, err := s.readBinary(ctx, make([]byte, 0, headerLen+1), 0, headerLen)
	if err != nil {
		return nil, err
	}
	total, err := tlv.TotalLen(hdr)
	if errors.Is(err, tlv.ErrTruncated) && len(hdr) == headerLen {
		if hdr, err = s.readBinary(ctx, hdr, headerLen, 1); err != nil {
			return nil, err
		}
		total, err = tlv.TotalLen(hdr)
	}
	if err != nil {
		return nil, fmt.Errorf("read object %04X: header % X: %w", fid, hdr, err)
	}
	if total <= len(hdr) {
		return hdr[:total], nil
	}
	out := make([]byte, len(hdr), total)
	copy(out, hdr)
	out, err = s.readBinary(ctx, out, len(hdr), total-len(hdr))
	if err != nil {
		return nil, err
	}
	if len(out) < total {
		return nil, fmt.Errorf("read object %04X: file ends after %d of %d bytes: %w", fid, len(out), total, tlv.ErrTruncated)
	}
	return out, nil
}

// shortEF returns P2 = 80|SFI for fid (0: the current EF, P2 = 80).
func shortEF(op string, fid mynumber.FID) (byte, error) {
	if fid == 0 {
		return 0x80, nil
	}
	p2, ok := fid.SFI()
	if !ok {
		return 0, fmt.Errorf("%s: EF %04X has no short EF identifier (1..1E)", op, uint16(fid))
	}
	return p2, nil
}

// Verify presents secret to the key EF fid (VERIFY 00 20 00 80|SFI Lc secret; fid 0: the
// current EF). A wrong secret gives *PINError; a blocked one an error matching iso7816.SWBlocked.
// kind marks the data for masking (SecretNone is taken as SecretPIN: VERIFY data is always secret).
func (s *Session) Verify(ctx context.Context, fid mynumber.FID, secret []byte, kind Secret) error {
	p2, err := shortEF("verify", fid)
	if err != nil {
		return err
	}
	if len(secret) == 0 || len(secret) > iso7816.MaxShortLc {
		return fmt.Errorf("verify: secret of %d bytes", len(secret))
	}
	if kind == SecretNone {
		kind = SecretPIN
	}
	if err := s.build(0x00, iso7816.InsVerify, 0x00, p2, secret, 0, false); err != nil {
		return err
	}
	_, sw, err := s.do(ctx, "verify", s.buf, kind)
	if err != nil {
		return err
	}
	if n, ok := sw.Retries(); ok {
		return &PINError{Retries: n}
	}
	return swError("verify", sw)
}

// Retries asks how many tries key EF fid has left without consuming one (VERIFY with no data,
// 00 20 00 80|SFI). 63Cx gives x; 9000 (already verified in this security state) gives -1; a
// blocked or unset secret (6984) gives 0 with an error matching iso7816.SWBlocked.
func (s *Session) Retries(ctx context.Context, fid mynumber.FID) (int, error) {
	p2, err := shortEF("retries", fid)
	if err != nil {
		return 0, err
	}
	if err := s.build(0x00, iso7816.InsVerify, 0x00, p2, nil, 0, false); err != nil {
		return 0, err
	}
	_, sw, err := s.do(ctx, "retries", s.buf, SecretNone)
	if err != nil {
		return 0, err
	}
	if n, ok := sw.Retries(); ok {
		return n, nil
	}
	if sw == iso7816.SWOK {
		return -1, nil
	}
	return 0, swError("retries", sw)
}

// Sign sends COMPUTE DIGITAL SIGNATURE (80 2A P1 P2 Lc data 00). keyFID names the key as
// P2 = 80|SFI; 0 sends P2 = 00 (the card-presence signature of the card-face AP, card.md).
// P1 picks the scheme (mynumber.SignatureScheme).
func (s *Session) Sign(ctx context.Context, p1 mynumber.SignatureScheme, keyFID mynumber.FID, data []byte) ([]byte, error) {
	var p2 byte
	if keyFID != 0 {
		var err error
		if p2, err = shortEF("sign", keyFID); err != nil {
			return nil, err
		}
	}
	if len(data) == 0 {
		return nil, errors.New("sign: no data")
	}
	if err := s.build(mynumber.ClaProprietary, mynumber.InsComputeSignature, byte(p1), p2, data, 256, false); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	sig, sw, err := s.do(ctx, "sign", s.buf, SecretNone)
	if err != nil {
		return nil, err
	}
	if err := swError("sign", sw); err != nil {
		return nil, err
	}
	return sig, nil
}

// GetChallenge asks the card for n random bytes (00 84 00 00 Le, n 1..256).
func (s *Session) GetChallenge(ctx context.Context, n int) ([]byte, error) {
	if n < 1 || n > iso7816.MaxShortNe {
		return nil, fmt.Errorf("get challenge: %d bytes (1..256)", n)
	}
	if err := s.build(0x00, iso7816.InsGetChallenge, 0, 0, nil, n, false); err != nil {
		return nil, err
	}
	data, sw, err := s.do(ctx, "get challenge", s.buf, SecretNone)
	if err != nil {
		return nil, err
	}
	if err := swError("get challenge", sw); err != nil {
		return nil, err
	}
	if len(data) != n {
		return nil, fmt.Errorf("get challenge: card gave %d of %d bytes", len(data), n)
	}
	return data, nil
}

// TerminalCertificate presents a terminal's card-verifiable certificate (80 A2 00 00 with an
// extended Lc, always: the card requires it, card.md). On a short-only reader the reader itself
// refuses the command (readers.ErrTransceiveLength); the session does not second-guess it.
func (s *Session) TerminalCertificate(ctx context.Context, cert []byte) error {
	if len(cert) == 0 {
		return errors.New("terminal certificate: empty certificate")
	}
	if err := s.build(mynumber.ClaProprietary, mynumber.InsTerminalCertificate, mynumber.TerminalCertP1, mynumber.TerminalCertP2, cert, 0, true); err != nil {
		return fmt.Errorf("terminal certificate: %w", err)
	}
	_, sw, err := s.do(ctx, "terminal certificate", s.buf, SecretNone)
	if err != nil {
		return err
	}
	return swError("terminal certificate", sw)
}
