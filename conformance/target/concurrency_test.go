package target_test

import (
	"testing"

	"github.com/mynaconform/mynaconform/conformance/target"
)

// TestConcurrencyDefaults: the emulator's devices may all run at once; a target that does not
// implement Concurrent runs one device at a time.
func TestConcurrencyDefaults(t *testing.T) {
	if got := target.Concurrency(&target.Emulator{}); got != 0 {
		t.Fatalf("emulator: %d, want 0 (no limit)", got)
	}
	if got := target.Concurrency(silent{}); got != 1 {
		t.Fatalf("a target without Concurrency: %d, want 1", got)
	}
}

type silent struct{}

func (silent) Name() string                      { return "silent" }
func (silent) Devices() ([]target.Device, error) { return nil, nil }
