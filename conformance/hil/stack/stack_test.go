//go:build pcsc && linux

package stack

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/conformance/hil/testcard"
	"github.com/mynaconform/mynaconform/readers"
	"github.com/mynaconform/mynaconform/readers/pcsc"
)

func TestStartStop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := Start(ctx)
	if errors.Is(err, ErrUnavailable) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if !Listening(Port0) || !Listening(Port1) {
		t.Fatalf("vpcd not listening on %d and %d", Port0, Port1)
	}
	// A second user waits for the lock: with a short deadline it must fail, not share pcscd.
	short, cancel2 := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel2()
	if s2, err := Start(short); err == nil {
		s2.Stop()
		t.Fatal("second Start got the lock while the first holds it")
	}
	if !s.Owned() {
		t.Log("reusing a pcscd started by someone else; not checking Stop")
		return
	}
	// Without pcscd (stopped while we hold the lock), the PC/SC backend says so, with a hint.
	if err := s.stopPcscd(); err != nil {
		t.Fatal(err)
	}
	_, err = pcsc.Open(ReaderName(0))
	var te *readers.TransportError
	if !errors.As(err, &te) || !errors.Is(err, readers.ErrNoService) || te.Hint == "" {
		t.Fatalf("Open without pcscd: %v", err)
	}
	if err := s.startPcscd(ctx); err != nil {
		t.Fatal(err)
	}
	pid := s.PID()
	if err := s.Restart(ctx); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if s.PID() == pid || !Listening(Port0) {
		t.Fatalf("restart kept pid %d or vpcd not listening", pid)
	}
	pid = s.PID()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("pcscd %d still exists after Stop: %v", pid, err)
	}
	if Listening(Port0) {
		t.Fatal("port still listening after Stop")
	}
	// The lock is free again.
	s3, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s3.Stop(); err != nil {
		t.Fatal(err)
	}
}

// TestSixSlots: six cards at once on a pcscd of our own with a generated configuration.
func TestSixSlots(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := Start(ctx, WithSlots(6))
	if errors.Is(err, ErrUnavailable) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if !s.Owned() {
		t.Skipf("pcscd started by someone else offers %d slots; not reconfiguring it", s.Slots())
	}
	if s.Slots() != 6 {
		t.Fatalf("%d slots listening, want 6", s.Slots())
	}
	for slot := range 6 {
		atr := []byte{0x3B, 0x80, 0x80, 0x01, byte(slot)}
		remove := Insert(testcard.New(atr), slot)
		defer remove()
	}
	for slot := range 6 {
		if err := WaitPresent(ctx, slot, true); err != nil {
			t.Fatal(err)
		}
	}
	for slot := range 6 {
		r, err := pcsc.Open(ReaderName(slot))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		if atr := r.ATR(); len(atr) != 5 || atr[4] != byte(slot) {
			t.Fatalf("slot %d answers ATR % X: another slot's card", slot, atr)
		}
		resp, err := r.Transmit(ctx, []byte{0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00})
		if err != nil || len(resp) != 2 || resp[0] != 0x90 {
			t.Fatalf("slot %d: % X, %v", slot, resp, err)
		}
		r.Close()
	}
}
