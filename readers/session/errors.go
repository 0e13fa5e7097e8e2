package session

import (
	"errors"
	"fmt"
)

// Status-word errors (ISO/IEC 7816-4 5.6, with the My Number card's use from card.md). A
// StatusError matches the sentinel of its SW with errors.Is.
var (
	ErrPINBlocked      = errors.New("authentication method blocked")                  // 6984; 63C0 on VERIFY
	ErrSecurityStatus  = errors.New("security status not satisfied")                  // 6982
	ErrFileNotFound    = errors.New("file or application not found")                  // 6A82
	ErrBadP1P2         = errors.New("incorrect parameters P1-P2")                     // 6A86
	ErrWrongLength     = errors.New("wrong length")                                   // 6700
	ErrOffset          = errors.New("offset outside the file")                        // 6B00
	ErrINSNotSupported = errors.New("instruction not supported")                      // 6D00
	ErrCLANotSupported = errors.New("class not supported")                            // 6E00
	ErrConditions      = errors.New("conditions of use not satisfied")                // 6985
	ErrBadData         = errors.New("incorrect data field")                           // 6A80
	ErrChannel         = errors.New("logical channel not supported")                  // 6881
	ErrSM              = errors.New("secure messaging not supported by this command") // 69FC (also 6882)
)

// sentinel maps a status word to its sentinel error, nil if none.
func sentinel(sw uint16) error {
	switch sw {
	case 0x6984, 0x63C0:
		return ErrPINBlocked
	case 0x6982:
		return ErrSecurityStatus
	case 0x6A82:
		return ErrFileNotFound
	case 0x6A86:
		return ErrBadP1P2
	case 0x6700:
		return ErrWrongLength
	case 0x6B00:
		return ErrOffset
	case 0x6D00:
		return ErrINSNotSupported
	case 0x6E00:
		return ErrCLANotSupported
	case 0x6985:
		return ErrConditions
	case 0x6A80:
		return ErrBadData
	case 0x6881:
		return ErrChannel
	case 0x69FC, 0x6882:
		return ErrSM
	}
	return nil
}

// StatusError is a status word other than 9000 answered to an operation.
type StatusError struct {
	SW uint16
	Op string // "select", "read binary", "verify", ...
}

func (e *StatusError) Error() string {
	if s := sentinel(e.SW); s != nil {
		return fmt.Sprintf("%s: card answered %04X (%v)", e.Op, e.SW, s)
	}
	return fmt.Sprintf("%s: card answered %04X", e.Op, e.SW)
}

// Is matches the sentinel error of the status word.
func (e *StatusError) Is(target error) bool {
	s := sentinel(e.SW)
	return s != nil && s == target
}

// PINError is a failed verification (63Cx): Retries tries are left. With Retries 0 the
// counter is now exhausted and the error also matches ErrPINBlocked. The secret itself is never
// part of the error.
type PINError struct {
	Retries int
}

func (e *PINError) Error() string {
	if e.Retries == 0 {
		return "verify: wrong secret, no tries left (63C0): blocked"
	}
	return fmt.Sprintf("verify: wrong secret, %d tries left (63C%X)", e.Retries, e.Retries)
}

// Is matches ErrPINBlocked when no tries are left.
func (e *PINError) Is(target error) bool { return e.Retries == 0 && target == ErrPINBlocked }

// swError returns the typed error for sw answered to op, nil for 9000. Callers handle the
// status words with a meaning of their own (63Cx, 6282) before.
func swError(op string, sw uint16) error {
	if sw == 0x9000 {
		return nil
	}
	return &StatusError{SW: sw, Op: op}
}
