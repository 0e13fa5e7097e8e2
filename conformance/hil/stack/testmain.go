//go:build linux

package stack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"
)

// Held is the stack a test binary holds for its whole run (one pcscd per machine), or why there
// is none.
type Held struct {
	Stack *Stack
	Skip  error // set when the PC/SC stack is not installed here
}

// Need skips t when the binary holds no stack, with the reason.
func (h *Held) Need(t testing.TB) {
	t.Helper()
	if h.Stack == nil {
		t.Skip(h.Skip)
	}
}

// RunTests is a TestMain body: it starts (or joins) pcscd with vpcd (opts as for Start), runs the
// tests, stops what it started and returns the exit code. Without the stack installed the tests
// run and skip.
func RunTests(m *testing.M, h *Held, opts ...Option) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	s, err := Start(ctx, opts...)
	cancel()
	switch {
	case errors.Is(err, ErrUnavailable):
		h.Skip = err
	case err != nil:
		fmt.Fprintln(os.Stderr, "hil stack:", err)
		return 1
	}
	h.Stack = s
	code := m.Run()
	if s != nil {
		if err := s.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "hil stack:", err)
		}
	}
	return code
}
