//go:build pcsc

package pcsc

import (
	"context"
	"errors"
	"testing"

	"github.com/mynaconform/mynaconform/readers"
)

func TestTransportErrMapping(t *testing.T) {
	r := &Reader{name: "R"}
	for _, tc := range []struct {
		in   error
		want error
	}{
		{ErrNoService, readers.ErrNoService},
		{ErrServiceStopped, readers.ErrNoService},
		{ErrUnknownReader, readers.ErrNoReader},
		{ErrReaderUnavailable, readers.ErrNoReader},
		{ErrRemovedCard, readers.ErrCardRemoved},
		{ErrNoSmartcard, readers.ErrNoCard},
		{ErrResetCard, readers.ErrCardReset},
		{ErrTimeout, readers.ErrTimeout},
		{ErrNotTransacted, readers.ErrTagLost},
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
	if err := r.transportErr("x", ErrNoService); !errors.Is(err, readers.ErrNoService) ||
		err.(*readers.TransportError).Hint == "" {
		t.Errorf("no-service error without hint: %v", err)
	}
}
