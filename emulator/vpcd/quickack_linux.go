package vpcd

import "syscall"

// quickAck disables delayed ACK until the next ACK is sent (Linux TCP_QUICKACK is not sticky, so
// it is set before every read; docs/pcsc.md, "Quick ACK"). rc is the socket's raw connection, taken
// once per connection (net.Conn.SyscallConn allocates).
func quickAck(rc syscall.RawConn) {
	if rc == nil {
		return
	}
	_ = rc.Control(setQuickAck)
}

func setQuickAck(fd uintptr) {
	_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
}
