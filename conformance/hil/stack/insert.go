//go:build linux

package stack

import (
	"context"
	"fmt"
	"sync"

	"github.com/mynaconform/mynaconform/emulator/vpcd"
)

// Addr is the vpcd address of slot 0 or 1.
func Addr(slot int) string { return fmt.Sprintf("127.0.0.1:%d", Port0+slot) }

// ReaderName is the PC/SC reader name of slot 0 or 1.
func ReaderName(slot int) string { return fmt.Sprintf("Virtual PCD 00 %02d", slot) }

// Insert dials card into vpcd's slot (0 or 1) in the background, as inserting it in a reader.
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
