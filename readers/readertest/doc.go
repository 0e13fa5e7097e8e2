// Package readertest is the transport-conformance helper every readers.Reader backend runs in
// its tests (the virtual phone, PC/SC): connect, SELECT of JPKI-AP, READ of the token-info EF,
// reset clearing the card's volatile state, typed transport errors, responses of at least two
// bytes, context cancellation. It speaks raw APDU bytes and depends on no backend.
//
//	func TestConformance(t *testing.T) {
//		readertest.Run(t, func(t *testing.T) readers.Reader { return newReaderWithFreshCard(t) })
//	}
package readertest
