// Package stack runs the PC/SC stack (pcscd with vsmartcard's vpcd driver) for tests and tools,
// following the measured facts of docs/pcsc.md:
//
//   - pcscd is started as `pcscd --foreground --error` with its PID owned by the Stack, and is
//     ready when vpcd's TCP port 35963 is listening (polled, never a fixed sleep);
//   - it is stopped with SIGTERM and the Stack waits for the process to exit (up to ~1.7 s);
//   - there is one pcscd per machine (/run/pcscd/pcscd.comm): every user of the stack holds an
//     exclusive flock on LockPath (/tmp/mynaconform-pcscd.lock, whatever TMPDIR says) for as long as it uses pcscd, which
//     serialises test binaries of different packages; a pcscd that someone else started is
//     reused and left running.
package stack
