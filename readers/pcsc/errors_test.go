//go:build pcsc

package pcsc

import (
	"context"
	"errors"
	"testing"

	"github.com/ebfe/scard"

	"github.com/mynaconform/mynaconform/readers"
)

func TestTransportErrMapping(t *testing.T) {
	r := &Reader{name: "R"}
	for _, tc := range []struct {
		in   error
		want error
	}{
		{scard.ErrNoService, readers.ErrNoService},
		{scard.ErrServiceStopped, readers.ErrNoService},
		{scard.ErrUnknownReader, readers.ErrNoReader},
		{scard.ErrReaderUnavailable, readers.ErrNoReader},
		{scard.ErrRemovedCard, readers.ErrCardRemoved},
		{scard.ErrNoSmartcard, readers.ErrNoCard},
		{scard.ErrResetCard, readers.ErrCardReset},
		{scard.ErrTimeout, readers.ErrTimeout},
		{scard.ErrNotTransacted, readers.ErrTagLost},
		{context.DeadlineExceeded, readers.ErrTimeout},
	} {
		err := r.transportErr("transmit", tc.in)
		var te *readers.TransportError
		if !errors.As(err, &te) || te.Reader != "R" || te.Op != "transmit" {
			t.Fatalf("%v: got %#v", tc.in, err)
		}
		if !errors.Is(err, tc.want) || !errors.Is(err, tc.in) {
			t.Errorf("%v: %v does not match both %v and the original", tc.in, err, tc.want)
		}
	}
	if err := r.transportErr("x", scard.ErrNoService); !errors.Is(err, readers.ErrNoService) ||
		err.(*readers.TransportError).Hint == "" {
		t.Errorf("no-service error without hint: %v", err)
	}
}
