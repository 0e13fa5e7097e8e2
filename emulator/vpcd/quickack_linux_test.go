package vpcd

import (
	"net"
	"syscall"
	"testing"
)

// TestQuickAckSetsOption: quickAck turns TCP_QUICKACK on for the card's socket (Linux reports
// the current quick-ACK mode through getsockopt).
func TestQuickAckSetsOption(t *testing.T) {
	ln, accept := fakeVPCD(t)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	accept()
	get := func() int {
		rc, err := c.(*net.TCPConn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		v := -1
		rc.Control(func(fd uintptr) {
			v, err = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK)
		})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// Enter delayed-ACK ("pingpong") mode first, so that a no-op quickAck would be seen.
	rc, _ := c.(*net.TCPConn).SyscallConn()
	rc.Control(func(fd uintptr) {
		err = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 0)
	})
	if err != nil || get() != 0 {
		t.Skipf("kernel does not report TCP_QUICKACK mode (err %v)", err)
	}
	quickAck(rc)
	if v := get(); v != 1 {
		t.Fatalf("TCP_QUICKACK = %d after quickAck, want 1", v)
	}
}
