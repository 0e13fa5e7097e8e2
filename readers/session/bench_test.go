package session

import (
	"context"
	"testing"

	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/readers"
)

// BenchmarkSessionReadObject reads a 2000-byte certificate object through the session over a
// scripted in-memory reader: the session's own cost (APDU building, transcript, SW handling).
func BenchmarkSessionReadObject(b *testing.B) {
	ctx := context.Background()
	cert := certFile(2000, 300)
	for _, tc := range []struct {
		name string
		c    readers.Capabilities
	}{{"short", capsShort}, {"extended", capsExt}, {"ios-1693", capsIOS}} {
		b.Run(tc.name, func(b *testing.B) {
			c := jpkiCard(cert)
			r := &fakeReader{caps: tc.c, handle: c.transmit}
			b.ReportAllocs()
			for b.Loop() {
				r.sent = r.sent[:0]
				s := New(r)
				if err := s.SelectAID(ctx, mynumber.AIDJPKI); err != nil {
					b.Fatal(err)
				}
				if obj, err := s.ReadObject(ctx, 0x000A); err != nil || len(obj) != 2000 {
					b.Fatal(len(obj), err)
				}
			}
		})
	}
}
