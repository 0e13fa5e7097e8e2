//go:build linux

package stack

import (
	"context"
	"fmt"
	"sync"

	"github.com/mynaconform/mynaconform/emulator/vpcd"
)

// Addr is the vpcd address of a slot: 127.0.0.1:35963+slot.
func Addr(slot int) string { return fmt.Sprintf("127.0.0.1:%d", Port0+slot) }

// ReaderName is the PC/SC reader name of a slot: "Virtual PCD 00 00" and "Virtual PCD 00 01"
// for slots 0 and 1 (Debian's configuration), "Virtual PCD k 00 0x" for slot 2k+x (WithSlots).
func ReaderName(slot int) string {
	if slot < 2 {
		return fmt.Sprintf("Virtual PCD 00 %02d", slot)
	}
	return fmt.Sprintf("Virtual PCD %d 00 %02d", slot/2, slot%2)
}

// Insert dials card into vpcd's slot in the background, as inserting it in a reader.
// The returned remove pulls it out (the connection closes; pcscd notices within ~0.4 s) and
// waits for the dialler to end.
func Insert(card vpcd.Card, slot int, opts ...vpcd.Option) (remove func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = vpcd.Dial(ctx, Addr(slot), card, opts...)
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
}
