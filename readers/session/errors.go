package session

import (
	"fmt"

	"github.com/mynaconform/mynaconform/formats/iso7816"
)

// StatusError is a status word other than 9000 answered to an operation. It unwraps to the
// status word, so errors.Is(err, iso7816.SWSecurityStatus) matches it (iso7816.StatusWord's Is
// adds the groupings: iso7816.SWBlocked also matches 63C0).
type StatusError struct {
	SW iso7816.StatusWord
	Op string // "select AID", "read binary", "verify", ...
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: card answered %v (%s)", e.Op, e.SW, e.SW.Meaning())
}

// Unwrap is the status word.
func (e *StatusError) Unwrap() error { return e.SW }

// PINError is a failed verification (63Cx): Retries tries are left. It unwraps to the status
// word 63Cx: with Retries 0 the counter is now exhausted and the error also matches
// iso7816.SWBlocked. The secret itself is never part of the error.
type PINError struct {
	Retries int
}

func (e *PINError) Error() string {
	if e.Retries == 0 {
		return "verify: wrong secret, no tries left (63C0): blocked"
	}
	return fmt.Sprintf("verify: wrong secret, %d tries left (%v)", e.Retries, iso7816.WrongSecret(e.Retries))
}

// Unwrap is the status word 63Cx.
func (e *PINError) Unwrap() error { return iso7816.WrongSecret(e.Retries) }

// swError returns the typed error for sw answered to op, nil for 9000. Callers handle the
// status words with a meaning of their own (63Cx, 6282) before.
func swError(op string, sw iso7816.StatusWord) error {
	if sw == iso7816.SWOK {
		return nil
	}
	return &StatusError{SW: sw, Op: op}
}
