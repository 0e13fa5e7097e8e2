//go:build pcsc

package pcsc

// The project's own shim over pcsc-lite's winscard API: the few calls the Reader makes, with the
// response written into a buffer the Reader keeps (ebfe/scard allocates 65,548 bytes on every
// Transmit), and a way to end a call that never returns. SCardTransmit has no timeout, and
// neither SCardCancel (it wakes only SCardGetStatusChange) nor SCardDisconnect (it waits for the
// context's mutex, which SCardTransmit holds for the whole call) can end it: pcsc-lite 1.9.9
// src/winscard_clnt.c. What does end it is the client's socket to pcscd failing: pcsc-lite waits
// for pcscd's answer in poll() on that socket and returns SCARD_F_COMM_ERROR when it reads end of
// file. Each context has its own socket, so the shim finds the descriptor a context was given
// (the one new socket connected to pcscd after SCardEstablishContext) and kill shuts it down;
// the descriptor stays open until SCardReleaseContext closes it, so it is never confused with
// another one.

/*
#cgo pkg-config: libpcsclite
#include <dirent.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <winscard.h>

#define SHIM_MAX_SOCKETS 256

// shim_sockets lists this process's Unix sockets connected to pcscd (pcsc-lite's
// PCSCLITE_CSOCK_NAME, default /run/pcscd/pcscd.comm): at most max of them into fds/inos.
// It returns how many there are, or -1 when /proc/self/fd cannot be read.
static int shim_sockets(int *fds, unsigned long *inos, int max) {
	const char *path = getenv("PCSCLITE_CSOCK_NAME");
	if (path == NULL) path = "/run/pcscd/pcscd.comm";
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL) return -1;
	int n = 0, self = dirfd(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		if (end == e->d_name || *end != '\0' || fd == self) continue;
		struct stat st;
		if (fstat((int)fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
		struct sockaddr_un a;
		socklen_t len = sizeof a;
		memset(&a, 0, sizeof a);
		if (getpeername((int)fd, (struct sockaddr *)&a, &len) != 0 || a.sun_family != AF_UNIX) continue;
		if (len <= offsetof(struct sockaddr_un, sun_path)) continue;
		if (strncmp(a.sun_path, path, sizeof a.sun_path) != 0) continue;
		if (n < max) { fds[n] = (int)fd; inos[n] = (unsigned long)st.st_ino; }
		n++;
	}
	closedir(d);
	return n;
}

// shim_establish establishes a context and finds its socket: *fd is its descriptor and *ino
// its inode, or *fd is -1 when it cannot be told (no /proc) and -2 when more than one socket to
// pcscd appeared meanwhile (another thread connecting: try again).
static LONG shim_establish(SCARDCONTEXT *ctx, int *fd, unsigned long *ino) {
	int before[SHIM_MAX_SOCKETS], after[SHIM_MAX_SOCKETS];
	unsigned long bino[SHIM_MAX_SOCKETS], aino[SHIM_MAX_SOCKETS];
	int nb = shim_sockets(before, bino, SHIM_MAX_SOCKETS);
	LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, ctx);
	*fd = -1;
	*ino = 0;
	if (rv != SCARD_S_SUCCESS || nb < 0 || nb > SHIM_MAX_SOCKETS) return rv;
	int na = shim_sockets(after, aino, SHIM_MAX_SOCKETS);
	if (na < 0 || na > SHIM_MAX_SOCKETS) return rv;
	int found = 0;
	for (int i = 0; i < na; i++) {
		int old = 0;
		for (int j = 0; j < nb; j++) {
			if (after[i] == before[j] && aino[i] == bino[j]) { old = 1; break; }
		}
		if (!old) {
			found++;
			*fd = after[i];
			*ino = aino[i];
		}
	}
	if (found != 1) { *fd = found == 0 ? -1 : -2; *ino = 0; }
	return rv;
}

// shim_kill makes the context's pending call return (SCARD_F_COMM_ERROR) by shutting its socket
// down, after checking that fd is still that socket. It returns 0 on success.
static int shim_kill(int fd, unsigned long ino) {
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || (unsigned long)st.st_ino != ino) return -1;
	return shutdown(fd, SHUT_RDWR);
}

static LONG shim_connect(SCARDCONTEXT ctx, const char *reader, SCARDHANDLE *h, DWORD *proto) {
	return SCardConnect(ctx, reader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, h, proto);
}

static LONG shim_reconnect(SCARDHANDLE h, DWORD init, DWORD *proto) {
	return SCardReconnect(h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, init, proto);
}

// shim_status fills atr (MAX_ATR_SIZE bytes) and returns the card's state and protocol.
static LONG shim_status(SCARDHANDLE h, DWORD *state, DWORD *proto, unsigned char *atr, DWORD *atrlen) {
	char name[MAX_READERNAME];
	DWORD namelen = sizeof name;
	*atrlen = MAX_ATR_SIZE;
	return SCardStatus(h, name, &namelen, state, proto, atr, atrlen);
}

// shim_transmit returns the status and the response's length by value: a Go variable whose
// address went to C would be allocated on the heap on every call.
typedef struct { LONG rv; DWORD n; } shim_result;

static shim_result shim_transmit(SCARDHANDLE h, DWORD proto, const unsigned char *cmd, DWORD n,
		unsigned char *resp, DWORD size) {
	const SCARD_IO_REQUEST *pci = proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
	shim_result res;
	res.n = size;
	res.rv = SCardTransmit(h, pci, cmd, n, NULL, resp, &res.n);
	return res;
}

// shim_atr_attrib asks the reader's driver for the card's ATR: SCardGetAttrib passes the tag to
// the driver's IFDHGetCapabilities, and TAG_IFD_ATR (0x0303, ifdhandler.h) is the tag pcscd itself
// uses, which every driver answers; vpcd answers it by asking the card's side of its connection
// (vpcd 0.8 knows no SCARD_ATTR_ATR_STRING, 0.9 both). No APDU reaches the card.
#define SHIM_TAG_IFD_ATR 0x0303
static LONG shim_atr_attrib(SCARDHANDLE h) {
	unsigned char atr[MAX_ATR_SIZE];
	DWORD n = sizeof atr;
	return SCardGetAttrib(h, SHIM_TAG_IFD_ATR, atr, &n);
}

// shim_states allocates n reader states (freed with free).
static SCARD_READERSTATE *shim_states(int n) { return calloc((size_t)n, sizeof(SCARD_READERSTATE)); }
static SCARD_READERSTATE *shim_state(SCARD_READERSTATE *s, int i) { return &s[i]; }
*/
import "C"

import (
	"bytes"
	"fmt"
	"sync"
	"time"
	"unsafe"
)

// Error is a PC/SC status code of pcsc-lite (SCARD_E_..., SCARD_W_..., SCARD_F_...).
type Error uint32

func (e Error) Error() string {
	return fmt.Sprintf("pcsc: %s (0x%08X)", C.GoString(C.pcsc_stringify_error(C.LONG(e))), uint32(e))
}

// The codes the Reader tells apart (pcsclite.h).
const (
	ErrCancelled          = Error(C.SCARD_E_CANCELLED)
	ErrInsufficientBuffer = Error(C.SCARD_E_INSUFFICIENT_BUFFER)
	ErrInvalidHandle      = Error(C.SCARD_E_INVALID_HANDLE)
	ErrNoReadersAvailable = Error(C.SCARD_E_NO_READERS_AVAILABLE)
	ErrNoService          = Error(C.SCARD_E_NO_SERVICE)
	ErrNoSmartcard        = Error(C.SCARD_E_NO_SMARTCARD)
	ErrNotTransacted      = Error(C.SCARD_E_NOT_TRANSACTED)
	ErrReaderUnavailable  = Error(C.SCARD_E_READER_UNAVAILABLE)
	ErrServiceStopped     = Error(C.SCARD_E_SERVICE_STOPPED)
	ErrTimeout            = Error(C.SCARD_E_TIMEOUT)
	ErrUnknownReader      = Error(C.SCARD_E_UNKNOWN_READER)
	ErrCommError          = Error(C.SCARD_F_COMM_ERROR)
	ErrRemovedCard        = Error(C.SCARD_W_REMOVED_CARD)
	ErrResetCard          = Error(C.SCARD_W_RESET_CARD)
	ErrUnpoweredCard      = Error(C.SCARD_W_UNPOWERED_CARD)
	ErrUnresponsiveCard   = Error(C.SCARD_W_UNRESPONSIVE_CARD)
	ErrUnsupported        = Error(C.SCARD_E_UNSUPPORTED_FEATURE)
)

func check(rv C.LONG) error {
	if rv == C.SCARD_S_SUCCESS {
		return nil
	}
	return Error(uint32(rv))
}

// Protocols and dispositions.
const (
	protoT0 = uint32(C.SCARD_PROTOCOL_T0)
	protoT1 = uint32(C.SCARD_PROTOCOL_T1)

	leaveCard   = C.DWORD(C.SCARD_LEAVE_CARD)
	resetCard   = C.DWORD(C.SCARD_RESET_CARD)
	unpowerCard = C.DWORD(C.SCARD_UNPOWER_CARD)

	statePresent = uint32(C.SCARD_STATE_PRESENT)
	stateMute    = uint32(C.SCARD_STATE_MUTE)
	stateInuse   = uint32(C.SCARD_STATE_INUSE)
	stateExcl    = uint32(C.SCARD_STATE_EXCLUSIVE)
	stateUnknown = uint32(C.SCARD_STATE_UNKNOWN)
	stateChanged = uint32(C.SCARD_STATE_CHANGED)
	stateUnaware = uint32(C.SCARD_STATE_UNAWARE)

	// maxResponse is pcsc-lite's largest response buffer (64 KiB + header + SW): what
	// ebfe/scard allocates on every call.
	maxResponse = int(C.MAX_BUFFER_SIZE_EXTENDED)
	// shortResponse is the largest short response: 256 data bytes + SW.
	shortResponse = 258
)

// socketMu serialises the shim's SCardEstablishContext and SCardCancel (which opens a socket to
// pcscd for a moment), so that the shim's own calls never make a new context's socket ambiguous.
var socketMu sync.Mutex

// pcscCtx is one SCARDCONTEXT and, when it could be found, the descriptor of its socket.
type pcscCtx struct {
	h    C.SCARDCONTEXT
	fd   C.int // -1: not found (kill is unavailable)
	ino  C.ulong
	dead bool // killed: every call fails (guarded by the owning Reader's mu)
}

// establish opens a context and finds its socket, trying again (up to three times) when another
// thread connected to pcscd at the same moment.
func establish() (*pcscCtx, error) {
	socketMu.Lock()
	defer socketMu.Unlock()
	for attempt := 0; ; attempt++ {
		pc := &pcscCtx{}
		if err := check(C.shim_establish(&pc.h, &pc.fd, &pc.ino)); err != nil {
			return nil, err
		}
		if pc.fd != -2 || attempt == 2 {
			if pc.fd < 0 {
				pc.fd = -1
			}
			return pc, nil
		}
		C.SCardReleaseContext(pc.h)
	}
}

// establishPlain opens a context without looking for its socket (List: nothing to kill).
func establishPlain() (*pcscCtx, error) {
	socketMu.Lock()
	defer socketMu.Unlock()
	pc := &pcscCtx{fd: -1}
	if err := check(C.SCardEstablishContext(C.SCARD_SCOPE_SYSTEM, nil, nil, &pc.h)); err != nil {
		return nil, err
	}
	return pc, nil
}

// killable reports whether kill can end a pending call on this context.
func (pc *pcscCtx) killable() bool { return pc.fd >= 0 }

// kill ends a call pending on this context: it returns SCARD_F_COMM_ERROR, and the context is
// dead from then on (release it).
func (pc *pcscCtx) kill() bool {
	pc.dead = true
	return C.shim_kill(pc.fd, pc.ino) == 0
}

func (pc *pcscCtx) release() { C.SCardReleaseContext(pc.h) }

// cancel wakes a GetStatusChange pending on this context.
func (pc *pcscCtx) cancel() {
	socketMu.Lock()
	defer socketMu.Unlock()
	C.SCardCancel(pc.h)
}

// listReaders returns the reader names pcscd knows.
func (pc *pcscCtx) listReaders() ([]string, error) {
	for {
		var n C.DWORD
		rv := C.SCardListReaders(pc.h, nil, nil, &n)
		if err := check(rv); err != nil {
			return nil, err
		}
		buf := make([]byte, n)
		rv = C.SCardListReaders(pc.h, nil, (*C.char)(unsafe.Pointer(&buf[0])), &n)
		if Error(uint32(rv)) == ErrInsufficientBuffer {
			continue // a reader appeared meanwhile
		}
		if err := check(rv); err != nil {
			return nil, err
		}
		var names []string
		for _, s := range bytes.Split(buf[:n], []byte{0}) {
			if len(s) > 0 {
				names = append(names, string(s))
			}
		}
		return names, nil
	}
}

// readerState is SCARD_READERSTATE for Go.
type readerState struct {
	Reader  string
	Current uint32
	Event   uint32
	ATR     []byte
}

// getStatusChange is SCardGetStatusChange: it blocks until a state differs from Current, the
// timeout passes (ErrTimeout) or cancel is called (ErrCancelled).
func (pc *pcscCtx) getStatusChange(states []readerState, timeout time.Duration) error {
	cs := C.shim_states(C.int(len(states)))
	if cs == nil {
		panic("pcsc: out of memory")
	}
	defer C.free(unsafe.Pointer(cs))
	for i, s := range states {
		st := C.shim_state(cs, C.int(i))
		st.szReader = C.CString(s.Reader)
		defer C.free(unsafe.Pointer(st.szReader))
		st.dwCurrentState = C.DWORD(s.Current)
	}
	ms := C.DWORD(timeout.Milliseconds())
	if timeout < 0 {
		ms = C.INFINITE
	}
	err := check(C.SCardGetStatusChange(pc.h, ms, cs, C.DWORD(len(states))))
	for i := range states {
		st := C.shim_state(cs, C.int(i))
		states[i].Event = uint32(st.dwEventState)
		states[i].ATR = C.GoBytes(unsafe.Pointer(&st.rgbAtr[0]), C.int(min(int(st.cbAtr), C.MAX_ATR_SIZE)))
	}
	return err
}

// handle is a connection to a card.
type handle struct {
	h     C.SCARDHANDLE
	proto uint32
}

func (pc *pcscCtx) connect(reader string) (handle, error) {
	name := C.CString(reader)
	defer C.free(unsafe.Pointer(name))
	var h handle
	var proto C.DWORD
	err := check(C.shim_connect(pc.h, name, &h.h, &proto))
	h.proto = uint32(proto)
	return h, err
}

func (h *handle) reconnect(init C.DWORD) error {
	var proto C.DWORD
	err := check(C.shim_reconnect(h.h, init, &proto))
	if err == nil {
		h.proto = uint32(proto)
	}
	return err
}

func (h handle) disconnect(disp C.DWORD) error { return check(C.SCardDisconnect(h.h, disp)) }

// status returns the card's ATR (SCardStatus).
func (h handle) status() ([]byte, error) {
	var state, proto, n C.DWORD
	var atr [C.MAX_ATR_SIZE]C.uchar
	if err := check(C.shim_status(h.h, &state, &proto, &atr[0], &n)); err != nil {
		return nil, err
	}
	return C.GoBytes(unsafe.Pointer(&atr[0]), C.int(min(int(n), C.MAX_ATR_SIZE))), nil
}

// reachable asks the driver for the card's ATR (shim_atr_attrib): nil when the driver reaches the
// card, ErrNotTransacted when it does not (vpcd with the card's connection gone).
func (h handle) reachable() error { return check(C.shim_atr_attrib(h.h)) }

// transmit sends cmd and writes the response into buf, returning its length.
func (h handle) transmit(cmd, buf []byte) (int, error) {
	res := C.shim_transmit(h.h, C.DWORD(h.proto), (*C.uchar)(unsafe.Pointer(&cmd[0])), C.DWORD(len(cmd)),
		(*C.uchar)(unsafe.Pointer(&buf[0])), C.DWORD(len(buf)))
	if err := check(res.rv); err != nil {
		return 0, err
	}
	return int(res.n), nil
}
