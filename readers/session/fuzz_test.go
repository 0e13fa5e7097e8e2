package session

import (
	"bytes"
	"context"
	"testing"

	"github.com/mynaconform/mynaconform/formats/iso7816"
)

// FuzzTransmit sends arbitrary bytes through a session to a scripted reader answering with
// arbitrary bytes: no panic, and the masked transcript never shows a secret command's data.
func FuzzTransmit(f *testing.F) {
	f.Add(h("00 20 00 98 04 31323334"), h("9000"))
	f.Add(h("00 B0 00 00 00"), h("6C10"))
	f.Add(h("00 B0 00 00 00 00 00"), h("6100"))
	f.Add(h("00 A4 04 00 00 01"), h("90"))
	f.Add(h("00"), h(""))
	f.Fuzz(func(t *testing.T, cmd, resp []byte) {
		calls := 0
		r := &fakeReader{caps: capsExt, handle: func([]byte) ([]byte, error) {
			calls++
			if calls > 3 {
				return h("9000"), nil // end 61xx chains
			}
			return resp, nil
		}}
		s := New(r)
		_, _, _ = s.Transmit(context.Background(), cmd, SecretPIN)
		orig := s.Exchanges()
		for i, e := range s.Transcript() {
			if len(e.Command) != len(orig[i].Command) || len(e.Response) != len(orig[i].Response) {
				t.Fatalf("masking changed a length: % X -> % X", orig[i].Command, e.Command)
			}
			if l, ok := iso7816.ParseLayout(e.Command); ok && e.Secret != SecretNone && l.DataLen > 0 {
				if !bytes.Equal(e.Command[l.DataOffset:l.DataOffset+l.DataLen], bytes.Repeat([]byte{maskByte}, l.DataLen)) {
					t.Fatalf("secret data not masked: % X", e.Command)
				}
			}
			_ = e.String()
		}
	})
}
