//go:build pcsc

package hil_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/conformance/hil/stack"
	"github.com/mynaconform/mynaconform/conformance/hil/testcard"
	"github.com/mynaconform/mynaconform/emulator/card"
	"github.com/mynaconform/mynaconform/emulator/vpcd"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/readers"
	"github.com/mynaconform/mynaconform/readers/pcsc"
	"github.com/mynaconform/mynaconform/readers/readertest"
	"github.com/mynaconform/mynaconform/readers/session"
)

// held is the PC/SC stack this test binary holds for its whole run (one pcscd per machine).
var held stack.Held

func TestMain(m *testing.M) {
	if slot := os.Getenv(envServeSlot); slot != "" {
		os.Exit(serveCard(slot, os.Getenv(envServePersona)))
	}
	os.Exit(stack.RunTests(m, &held))
}

// This test binary, re-executed with envServeSlot set, is a card server: it dials the virtual
// card of persona envServePersona into that vpcd slot and serves it until its standard input
// ends (serveElsewhere).
const (
	envServeSlot    = "MYNACONFORM_HIL_SERVE_SLOT"
	envServePersona = "MYNACONFORM_HIL_SERVE_PERSONA"
)

func serveCard(slot, personaID string) int {
	n, err := strconv.Atoi(slot)
	if err == nil {
		var p *fixtures.Persona
		if p, err = fixtures.PersonaByID(personaID); err == nil {
			var prof card.Profile
			if prof, err = p.CardProfile(); err == nil {
				var c *card.Card
				if c, err = card.New(prof); err == nil {
					ctx, cancel := context.WithCancel(context.Background())
					go func() { _, _ = io.Copy(io.Discard, os.Stdin); cancel() }()
					err = vpcd.Dial(ctx, stack.Addr(n), c)
				}
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "card server:", err)
		return 1
	}
	return 0
}

// serveElsewhere serves the card of persona id in slot from a process of its own, as a reader's
// driver runs outside its clients (in one process, the card's goroutines would share the Go
// scheduler with the client under test). The cleanup stops it and waits until pcscd has seen
// the slot empty.
func serveElsewhere(t testing.TB, id string, slot int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envServeSlot+"="+strconv.Itoa(slot), envServePersona+"="+id)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("card server: %v", err)
		}
		waitPresent(t, slot, false)
	})
	waitPresent(t, slot, true)
}

func need(t testing.TB) {
	t.Helper()
	held.Need(t)
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newCard builds the virtual card of a fixtures persona.
func newCard(t testing.TB, id string) (*card.Card, *fixtures.Persona) {
	t.Helper()
	p, err := fixtures.PersonaByID(id)
	if err != nil {
		t.Fatal(err)
	}
	prof, err := p.CardProfile()
	if err != nil {
		t.Fatal(err)
	}
	c, err := card.New(prof)
	if err != nil {
		t.Fatal(err)
	}
	return c, p
}

// insert serves c in slot and waits until pcscd reports it present; the cleanup removes it
// and waits until pcscd reports the slot empty.
func insert(t testing.TB, c vpcd.Card, slot int, opts ...vpcd.Option) (remove func()) {
	t.Helper()
	remove = stack.Insert(c, slot, opts...)
	t.Cleanup(func() {
		remove()
		waitPresent(t, slot, false)
	})
	waitPresent(t, slot, true)
	return remove
}

func waitPresent(t testing.TB, slot int, want bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := stack.WaitPresent(ctx, slot, want); err != nil {
		t.Fatal(err)
	}
}

func open(t testing.TB, slot int) *pcsc.Reader {
	t.Helper()
	r, err := pcsc.Open(stack.ReaderName(slot))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	if err := r.Connect(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	return r
}

func transmit(t testing.TB, r readers.Reader, cmd []byte, sw uint16) []byte {
	t.Helper()
	resp, err := r.Transmit(testCtx(t), cmd)
	if err != nil {
		t.Fatalf("transmit % X: %v", cmd[:min(5, len(cmd))], err)
	}
	got := uint16(resp[len(resp)-2])<<8 | uint16(resp[len(resp)-1])
	if got != sw {
		t.Fatalf("% X...: SW %04X, want %04X", cmd[:min(5, len(cmd))], got, sw)
	}
	return resp[:len(resp)-2]
}

// APDUs of card.md.
var (
	selectJPKI = append([]byte{0x00, 0xA4, 0x04, 0x0C, 0x0A}, mynumber.AIDJPKI...)
	selectAuth = []byte{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x0A} // EF 000A, auth certificate
	selectPIN  = []byte{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18}
	selectKey  = []byte{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x17}
)

func verifyAuth(pin string) []byte {
	return append([]byte{0x00, 0x20, 0x00, 0x80, byte(len(pin))}, pin...)
}

func signDigest(msg string) []byte {
	d := sha256.Sum256([]byte(msg))
	di := mynumber.DigestInfoSHA256(d[:])
	cmd := append([]byte{0x80, 0x2A, 0x00, 0x80, byte(len(di))}, di...)
	return append(cmd, 0x00)
}

// TestReaderConformance runs the shared transport-conformance helper against the PC/SC backend
// with a fresh virtual card in slot 0 for every subtest.
func TestReaderConformance(t *testing.T) {
	need(t)
	_, p := newCard(t, "adult")
	readertest.RunWith(t, func(t *testing.T) readers.Reader {
		c, _ := newCard(t, "adult")
		insert(t, c, 0)
		r, err := pcsc.Open(stack.ReaderName(0))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}, readertest.Options{AuthPIN: p.AuthPIN})
}

// TestResetFromOtherHandle: VERIFY on one handle, reset from another, then the protected
// operation answers 6982 (docs/pcsc.md: the card receives control 02 and clears security status).
func TestResetFromOtherHandle(t *testing.T) {
	need(t)
	c, p := newCard(t, "adult")
	insert(t, c, 0)
	a, b := open(t, 0), open(t, 0)
	transmit(t, a, selectJPKI, 0x9000)
	transmit(t, a, selectPIN, 0x9000)
	transmit(t, a, verifyAuth(p.AuthPIN), 0x9000)
	transmit(t, a, selectKey, 0x9000)
	if sig := transmit(t, a, signDigest("before reset"), 0x9000); len(sig) != 256 {
		t.Fatalf("signature of %d bytes", len(sig))
	}
	if err := b.Reset(testCtx(t), false); err != nil {
		t.Fatal(err)
	}
	_, err := a.Transmit(testCtx(t), selectJPKI)
	if !errors.Is(err, readers.ErrCardReset) {
		t.Fatalf("after a reset from another handle: %v, want ErrCardReset", err)
	}
	transmit(t, a, selectJPKI, 0x9000)
	transmit(t, a, selectKey, 0x9000)
	transmit(t, a, signDigest("after reset"), 0x6982)
}

// TestTwoCards: two personas in slots 00 00 and 00 01 at once, each answering its own data.
func TestTwoCards(t *testing.T) {
	need(t)
	c0, p0 := newCard(t, "adult")
	c1, p1 := newCard(t, "elderly")
	insert(t, c0, 0)
	insert(t, c1, 1)
	for slot, p := range []*fixtures.Persona{p0, p1} {
		r := open(t, slot)
		transmit(t, r, selectJPKI, 0x9000)
		transmit(t, r, selectAuth, 0x9000)
		cert := transmit(t, r, []byte{0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00}, 0x9000)
		if !bytes.HasPrefix(cert, p.AuthCert) {
			t.Fatalf("slot %d: EF 000A does not hold persona %s's certificate", slot, p.ID)
		}
	}
}

// TestCardChangeByPowerCycle: a vpcd.Changer exchanges the card in a slot at a power cycle
// through real pcscd: the new card (another persona, another ATR) answers from the
// SCardReconnect on, pcscd reports the new ATR, a second handle opened before the change is
// told once that the card was reset, and the slot never looks empty (so no presence poll is
// waited for).
func TestCardChangeByPowerCycle(t *testing.T) {
	need(t)
	c0, p0 := newCard(t, "adult")
	c1 := testcard.New([]byte{0x3B, 0x80, 0x80, 0x01, 0x42})
	ch, err := vpcd.NewChanger(c0)
	if err != nil {
		t.Fatal(err)
	}
	insert(t, ch, 0)
	r, other := open(t, 0), open(t, 0)
	transmit(t, r, selectJPKI, 0x9000)
	transmit(t, r, selectPIN, 0x9000)
	transmit(t, r, verifyAuth(p0.AuthPIN), 0x9000)
	oldATR := r.ATR()

	in, err := ch.Change(c1)
	if err != nil {
		t.Fatal(err)
	}
	// Until the power cycle the adult's card answers.
	transmit(t, r, selectJPKI, 0x9000)
	start := time.Now()
	if err := r.Reset(testCtx(t), true); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	select {
	case <-in:
	default:
		t.Fatal("the power cycle did not bring the new card in")
	}
	if got := r.ATR(); !bytes.Equal(got, c1.ATR()) || bytes.Equal(got, oldATR) {
		t.Fatalf("ATR after the change % X, want the new card's % X", got, c1.ATR())
	}
	// The test card answers its own way: a protected READ without VERIFY is 6982.
	transmit(t, r, []byte{0x00, testcard.InsReadBinary, 0x80, 0x00, 0x10}, 0x6982)
	if c1.Resets() == 0 {
		t.Fatal("the new card saw no power-on")
	}
	_, err = other.Transmit(testCtx(t), selectJPKI)
	if !errors.Is(err, readers.ErrCardReset) {
		t.Fatalf("the other handle after the change: %v, want ErrCardReset once", err)
	}
	transmit(t, other, []byte{0x00, testcard.InsSelect, 0x04, 0x0C, 0x01, 0x00}, 0x9000)
	slots, err := pcsc.List(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range slots {
		if s.Name == stack.ReaderName(0) && (!s.Present || !bytes.Equal(s.ATR, c1.ATR())) {
			t.Fatalf("pcscd lists %+v after the change, want present with the new ATR", s)
		}
	}
	t.Logf("card changed by a power cycle in %v (a removal and an insertion wait for pcscd's ~0.4 s poll each)", took)
}

// TestProbeVirtualCard: through pcscd + vpcd the card takes extended APDUs up to the framing
// limit.
func TestProbeVirtualCard(t *testing.T) {
	need(t)
	c, _ := newCard(t, "adult")
	insert(t, c, 0)
	r := open(t, 0)
	res, err := r.Probe(testCtx(t))
	if err != nil {
		t.Fatalf("probe: %v (%+v)", err, res.Steps)
	}
	t.Logf("probe: %+v", res)
	if !res.Caps.Extended || !res.Caps.Probed || res.Caps.MaxCommand != vpcd.MaxFrame {
		t.Fatalf("caps %+v, want extended, probed, MaxCommand %d", res.Caps, vpcd.MaxFrame)
	}
}

// TestCardRemoval: the virtual card leaves for longer than pcscd's poll; the open handle gets a
// typed failure, and after the card is back a new connection works.
func TestCardRemoval(t *testing.T) {
	need(t)
	c, _ := newCard(t, "adult")
	remove := insert(t, c, 0)
	r := open(t, 0)
	transmit(t, r, selectJPKI, 0x9000)
	remove()
	waitPresent(t, 0, false)
	_, err := r.Transmit(testCtx(t), selectJPKI)
	var te *readers.TransportError
	if !errors.As(err, &te) || !(errors.Is(err, readers.ErrCardRemoved) || errors.Is(err, readers.ErrNoCard)) {
		t.Fatalf("transmit to a removed card: %v", err)
	}
	insert(t, c, 0)
	r.Close()
	if err := r.Connect(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	transmit(t, r, selectJPKI, 0x9000)
}

// TestRedialAfterPcscdRestart: the card dials in again by itself when pcscd restarts.
func TestRedialAfterPcscdRestart(t *testing.T) {
	need(t)
	if !held.Stack.Owned() {
		t.Skip("pcscd was started by someone else; not restarting it")
	}
	c, _ := newCard(t, "adult")
	insert(t, c, 0, vpcd.WithBackoff(5*time.Millisecond, 100*time.Millisecond))
	if err := held.Stack.Restart(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	waitPresent(t, 0, true)
	r := open(t, 0)
	transmit(t, r, selectJPKI, 0x9000)
}

// TestSessionOverPCSC: the session layer shapes its reads from the PC/SC reader's capabilities:
// short chunks before probing, extended reads after; PIN mode (VERIFY + signature) works and the
// signature verifies with the certificate.
func TestSessionOverPCSC(t *testing.T) {
	need(t)
	c, p := newCard(t, "adult")
	insert(t, c, 0)
	for _, probe := range []bool{false, true} {
		r := open(t, 0)
		if probe {
			if _, err := r.Probe(testCtx(t)); err != nil {
				t.Fatal(err)
			}
		}
		s := session.New(r)
		ctx := testCtx(t)
		if err := s.SelectAID(ctx, mynumber.AIDJPKI); err != nil {
			t.Fatal(err)
		}
		der, err := s.ReadObject(ctx, 0x000A)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(der, p.AuthCert) {
			t.Fatalf("probe=%v: ReadObject(000A) differs from the persona's certificate", probe)
		}
		var ext int
		for _, e := range s.Exchanges() {
			if e.Extended {
				ext++
			}
		}
		if probe != (ext > 0) {
			t.Fatalf("probe=%v: %d extended exchanges", probe, ext)
		}
		if err := s.Verify(ctx, 0x0018, []byte(p.AuthPIN), session.SecretPIN); err != nil {
			t.Fatal(err)
		}
		d := sha256.Sum256([]byte("session over pcsc"))
		sig, err := s.Sign(ctx, 0x00, 0x0017, mynumber.DigestInfoSHA256(d[:]))
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, d[:], sig); err != nil {
			t.Fatalf("probe=%v: signature does not verify: %v", probe, err)
		}
		r.Close()
	}
}

// TestStateFileAcrossServes: a wrong PIN through PC/SC costs a try that survives the card
// being served again from its state file (card serve --state), as on a real card.
func TestStateFileAcrossServes(t *testing.T) {
	need(t)
	p, err := fixtures.PersonaByID("adult")
	if err != nil {
		t.Fatal(err)
	}
	prof, err := p.CardProfile()
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir() + "/adult.json"
	retries := []byte{0x00, 0x20, 0x00, 0x80}
	wrong := "0000"
	if wrong == p.AuthPIN {
		wrong = "9999"
	}
	for round, want := range []uint16{0x63C3, 0x63C2} {
		c, err := card.New(prof, card.WithStateFile(state))
		if err != nil {
			t.Fatal(err)
		}
		remove := insert(t, c, 0)
		r := open(t, 0)
		transmit(t, r, selectJPKI, 0x9000)
		transmit(t, r, selectPIN, 0x9000)
		transmit(t, r, retries, want)
		if round == 0 {
			transmit(t, r, verifyAuth(wrong), 0x63C2)
		}
		r.Close()
		remove()
		waitPresent(t, 0, false)
	}
}
