//go:build pcsc && linux

package loop_test

import (
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/conformance/hil/stack"
	"github.com/mynaconform/mynaconform/fixtures/devices"
)

// For every catalogue device, the suite on target pcsc through the stand-in (the handset's
// profile behind the Remote Smart Card Reader app's behaviour, with the adult persona's card)
// gives each mode the verdict that the suite gives the same profile in process (a different
// failing step is logged: the pcsc target shapes reads by the envelope it measured, which a
// timeout can bound below what the profile states). A handset without NFC or without ISO-DEP never dials: pcscd shows no card, as the
// in-process list shows both modes refused at connect.
func TestStandInVerdictsEqualInProcess(t *testing.T) {
	need(t)
	ps, err := devices.Load()
	if err != nil {
		t.Fatal(err)
	}
	want := catalogue(t)
	for _, p := range ps {
		t.Run(p.ID, func(t *testing.T) {
			t.Parallel()
			n := slot(t)
			s := serve(t, p.ID, n)
			in, ok := want[p.ID]
			if !ok {
				t.Fatalf("the in-process list has no row %s", p.ID)
			}
			if !p.NFC || !p.ISODep {
				select {
				case <-s.noTag:
				case <-time.After(30 * time.Second):
					t.Fatal("the stand-in of a handset that cannot read the card did not say so")
				}
				if readerHasCard(t, n) {
					t.Errorf("%s lists a card for a handset without ISO-DEP", stack.ReaderName(n))
				}
				if in.PIN.Supported || in.Visual.Supported {
					t.Errorf("in process a handset without ISO-DEP supports a mode: %+v", in)
				}
				return
			}
			s.present(t)
			rows, _ := suite(t, "-target", "pcsc", "-reader", stack.ReaderName(n))
			got := onlyRow(t, rows)
			sameModes(t, "target pcsc through the stand-in vs in process", got, in, false)
			// The envelope measured through pcscd is the profile's, where its timeout does not bound
			// it first (a long command at 106 kbit/s can take longer than the handset waits).
			caps := p.Caps()
			exact := p.AirTime(caps.MaxCommand, 2)+p.Processing.Other <= p.Timeout
			if got.Extended != caps.Extended || got.MaxTransceive > caps.MaxCommand || exact && got.MaxTransceive != caps.MaxCommand ||
				caps.MaxResponse > 0 && got.MaxResponse != caps.MaxResponse {
				t.Errorf("measured through pcscd %d bytes/cap %d/extended %v, the profile states %d/%d/%v", got.MaxTransceive, got.MaxResponse, got.Extended,
					caps.MaxCommand, caps.MaxResponse, caps.Extended)
			}
		})
	}
}
