//go:build pcsc

package pcsc

import (
	"context"
	"errors"
	"fmt"

	"github.com/mynaconform/mynaconform/readers"
)

const (
	hintService  = "is pcscd running? start it with `pcscd --foreground` (Debian: apt-get install pcscd), or run `make hil`"
	hintReader   = "list the readers with `mynaconform readers`"
	hintRemoved  = "the card was removed: put it back (or restart `mynaconform card serve`) and connect again"
	hintLinkLost = "the link to the card dropped during the command: the card left the reader, or a handset in the loop (Remote Smart Card Reader) failed it in its NFC stack (too long, a response above its cap, a timeout) and closed its connection; connect again (tap the card again)"
	hintNoCard   = "insert a card (or start `mynaconform card serve --vpcd 127.0.0.1:35963 --persona adult`)"
	hintReset    = "another application reset the card; its security status is gone: Reset or reconnect, then VERIFY again"
	hintTimeout  = "the card did not answer in time; Close and Connect again"
	hintBroken   = "an earlier command was abandoned at its deadline; Close and Connect again"
)

// transportErr wraps a PC/SC failure as a *readers.TransportError whose Err matches both the
// readers sentinel and the original pcsc.Error with errors.Is.
func (r *Reader) transportErr(op string, err error) error {
	var te *readers.TransportError
	if errors.As(err, &te) {
		return err
	}
	sentinel, hint := classify(err)
	if sentinel != err {
		err = fmt.Errorf("%w: %w", sentinel, err)
	}
	return &readers.TransportError{Reader: r.name, Op: op, Err: err, Hint: hint}
}

func classify(err error) (sentinel error, hint string) {
	var se Error
	if errors.As(err, &se) {
		switch se {
		case ErrNoService, ErrServiceStopped:
			return readers.ErrNoService, hintService
		case ErrUnknownReader, ErrReaderUnavailable, ErrNoReadersAvailable:
			return readers.ErrNoReader, hintReader
		case ErrRemovedCard:
			return readers.ErrCardRemoved, hintRemoved
		case ErrNoSmartcard, ErrUnpoweredCard, ErrUnresponsiveCard:
			return readers.ErrNoCard, hintNoCard
		case ErrResetCard:
			return readers.ErrCardReset, hintReset
		case ErrTimeout:
			return readers.ErrTimeout, hintTimeout
		case ErrInvalidHandle:
			return readers.ErrNotConnected, "connect first"
		}
		// SCARD_E_NOT_TRANSACTED, SCARD_F_COMM_ERROR, ...: the exchange failed on the link.
		return readers.ErrTagLost, ""
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return readers.ErrTimeout, hintTimeout
	}
	return readers.ErrTagLost, ""
}
