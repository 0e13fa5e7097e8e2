//go:build pcsc

package pcsc

// Killable reports whether r's deadlines end a pending call by shutting its context's socket
// down (the fast path) rather than abandoning a goroutine.
func Killable(r *Reader) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pc != nil && r.pc.killable()
}

// ForgetSocket puts r on the fallback path, as if its context's socket had not been found.
func ForgetSocket(r *Reader) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pc.fd = -1
}
