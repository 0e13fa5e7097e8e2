//go:build !linux

package vpcd

import "syscall"

type rawConner = syscall.Conn

// quickAck is Linux-only (TCP_QUICKACK); elsewhere it does nothing.
func quickAck(rawConner) {}
