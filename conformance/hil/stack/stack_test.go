//go:build pcsc && linux

package stack

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"
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
