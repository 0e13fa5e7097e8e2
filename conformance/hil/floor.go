//go:build pcsc

package hil

// The C floor of the PC/SC benchmarks: a plain C loop over SCardTransmit, in one cgo call, with
// one receive buffer for the whole loop. Nothing a Go client can do makes a round trip through
// pcscd cheaper than this, so it is what BenchmarkPCSCFloor holds the Reader to. (It lives in a
// non-test file because cgo is not allowed in _test.go files.)

/*
#cgo pkg-config: libpcsclite
#include <stdlib.h>
#include <string.h>
#include <winscard.h>

typedef struct {
	SCARDCONTEXT ctx;
	SCARDHANDLE card;
	DWORD proto;
} floor_conn;

static LONG floor_open(floor_conn *c, const char *reader) {
	LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &c->ctx);
	if (rv != SCARD_S_SUCCESS) return rv;
	rv = SCardConnect(c->ctx, reader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
		&c->card, &c->proto);
	if (rv != SCARD_S_SUCCESS) SCardReleaseContext(c->ctx);
	return rv;
}

static void floor_close(floor_conn *c) {
	SCardDisconnect(c->card, SCARD_LEAVE_CARD);
	SCardReleaseContext(c->ctx);
}

// floor_loop sends the commands cmds[0..ncmds) in turn, n times over, and checks that each
// answer is want[i] bytes long and ends 90 00. It returns SCARD_S_SUCCESS, a PC/SC error, or
// SCARD_F_UNKNOWN_ERROR for a wrong answer (its index in *bad).
static LONG floor_loop(floor_conn *c, const unsigned char *const *cmds, const DWORD *lens,
		const DWORD *want, int ncmds, long n, long *bad) {
	const SCARD_IO_REQUEST *pci = c->proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
	unsigned char resp[MAX_BUFFER_SIZE_EXTENDED];
	for (long i = 0; i < n; i++) {
		for (int k = 0; k < ncmds; k++) {
			DWORD rlen = sizeof resp;
			LONG rv = SCardTransmit(c->card, pci, cmds[k], lens[k], NULL, resp, &rlen);
			if (rv != SCARD_S_SUCCESS) return rv;
			if (rlen != want[k] || resp[rlen-2] != 0x90 || resp[rlen-1] != 0x00) {
				*bad = i * ncmds + k;
				return SCARD_F_UNKNOWN_ERROR;
			}
		}
	}
	return SCARD_S_SUCCESS;
}

// floor_transmit is one SCardTransmit, for a Go loop that makes one cgo call per APDU.
typedef struct { LONG rv; DWORD n; } floor_result;

static floor_result floor_transmit(floor_conn *c, const unsigned char *cmd, DWORD n,
		unsigned char *resp, DWORD size) {
	const SCARD_IO_REQUEST *pci = c->proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
	floor_result res;
	res.n = size;
	res.rv = SCardTransmit(c->card, pci, cmd, n, NULL, resp, &res.n);
	return res;
}

static const char *floor_error(LONG rv) { return pcsc_stringify_error(rv); }
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"
)

// Floor is a PC/SC connection driven only from C: the baseline of the Reader's benchmarks.
type Floor struct {
	c      C.floor_conn
	closed bool
}

// OpenFloor connects in shared mode to the card in the PC/SC reader called name.
func OpenFloor(name string) (*Floor, error) {
	f := &Floor{}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	if rv := C.floor_open(&f.c, cname); rv != C.SCARD_S_SUCCESS {
		return nil, fmt.Errorf("floor: connect %q: %s", name, C.GoString(C.floor_error(rv)))
	}
	return f, nil
}

// Loop sends cmds in turn, n times over, from a C loop; resp[i] is the length of the answer
// expected to cmds[i] (status word 9000 included).
func (f *Floor) Loop(n int, cmds [][]byte, resp []int) error {
	if f.closed {
		return errors.New("floor: closed")
	}
	if len(cmds) == 0 || len(cmds) != len(resp) {
		return errors.New("floor: one expected length per command")
	}
	// The commands are copied to C memory: cgo forbids passing Go memory that holds Go pointers.
	k := len(cmds)
	ptrs := (*[1 << 16]*C.uchar)(C.malloc(C.size_t(k) * C.size_t(unsafe.Sizeof((*C.uchar)(nil)))))[:k:k]
	lens := (*[1 << 16]C.DWORD)(C.malloc(C.size_t(k) * C.size_t(unsafe.Sizeof(C.DWORD(0)))))[:k:k]
	want := (*[1 << 16]C.DWORD)(C.malloc(C.size_t(k) * C.size_t(unsafe.Sizeof(C.DWORD(0)))))[:k:k]
	defer C.free(unsafe.Pointer(&ptrs[0]))
	defer C.free(unsafe.Pointer(&lens[0]))
	defer C.free(unsafe.Pointer(&want[0]))
	for i, c := range cmds {
		if len(c) == 0 || resp[i] < 2 {
			return errors.New("floor: empty command or answer")
		}
		ptrs[i] = (*C.uchar)(C.CBytes(c))
		lens[i], want[i] = C.DWORD(len(c)), C.DWORD(resp[i])
	}
	defer func() {
		for _, p := range ptrs {
			C.free(unsafe.Pointer(p))
		}
	}()
	var bad C.long
	rv := C.floor_loop(&f.c, &ptrs[0], &lens[0], &want[0], C.int(k), C.long(n), &bad)
	runtime.KeepAlive(f)
	switch rv {
	case C.SCARD_S_SUCCESS:
		return nil
	case C.SCARD_F_UNKNOWN_ERROR:
		return fmt.Errorf("floor: APDU %d (command %d) got a wrong answer", int(bad), int(bad)%k)
	}
	return fmt.Errorf("floor: SCardTransmit: %s", C.GoString(C.floor_error(rv)))
}

// Transmit is one SCardTransmit of cmd into buf (one cgo call), returning the response length:
// what any Go client pays at least per APDU.
func (f *Floor) Transmit(cmd, buf []byte) (int, error) {
	if f.closed || len(cmd) == 0 || len(buf) == 0 {
		return 0, errors.New("floor: closed, or an empty command or buffer")
	}
	res := C.floor_transmit(&f.c, (*C.uchar)(unsafe.Pointer(&cmd[0])), C.DWORD(len(cmd)),
		(*C.uchar)(unsafe.Pointer(&buf[0])), C.DWORD(len(buf)))
	if res.rv != C.SCARD_S_SUCCESS {
		return 0, fmt.Errorf("floor: SCardTransmit: %s", C.GoString(C.floor_error(res.rv)))
	}
	return int(res.n), nil
}

// Close disconnects (leaving the card powered) and releases the context.
func (f *Floor) Close() {
	if !f.closed {
		f.closed = true
		C.floor_close(&f.c)
	}
}
