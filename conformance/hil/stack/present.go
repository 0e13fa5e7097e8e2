//go:build pcsc && linux

package stack

import (
	"context"
	"fmt"
	"time"

	"github.com/mynaconform/mynaconform/readers/pcsc"
)

// WaitPresent polls pcscd until the card presence of slot is want (pcscd polls vpcd every
// ~0.4 s, so an insertion or a removal shows within about that), or ctx is done.
func WaitPresent(ctx context.Context, slot int, want bool) error {
	name := ReaderName(slot)
	for {
		slots, err := pcsc.List(ctx)
		if err != nil {
			return err
		}
		for _, s := range slots {
			if s.Name == name && s.Present == want {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: card present=%v not reached: %w", name, want, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
