package vpcd

import "syscall"

type rawConner = syscall.Conn

// quickAck disables delayed ACK until the next ACK is sent (Linux TCP_QUICKACK is not sticky, so
// it is set before every read; hil.md "Latency trap").
func quickAck(c rawConner) {
	if c == nil {
		return
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
