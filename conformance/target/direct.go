package target

import (
	"context"
	"fmt"
	"time"

	"github.com/mynaconform/mynaconform/emulator/card"
	"github.com/mynaconform/mynaconform/emulator/phone"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/readers"
)

// VirtualCard is a virtual card of the persona behind a reader with no limits of its own (no
// handset, no transceive cap): what replays and card-level tools talk to.
func VirtualCard(per *fixtures.Persona) (readers.Reader, error) {
	prof, err := per.CardProfile()
	if err != nil {
		return nil, err
	}
	c, err := card.New(prof)
	if err != nil {
		return nil, err
	}
	return &direct{c: c, name: "virtual card (" + per.ID + ")"}, nil
}

// ReferenceReader is a virtual card of the persona on a generous reference handset (extended
// APDUs up to 65,279 bytes, 848 kbit/s, a 5 s timeout), for specs that check the service rather
// than the device under test.
func ReferenceReader(per *fixtures.Persona) (readers.Reader, error) {
	prof, err := per.CardProfile()
	if err != nil {
		return nil, err
	}
	c, err := card.New(prof)
	if err != nil {
		return nil, err
	}
	return phone.New(phone.Profile{
		ID: "reference", Maker: "mynaconform", Model: "reference reader", OS: "none", Platform: "android",
		NFC: true, ISODep: true, MaxTransceive: 65279, Timeout: 5 * time.Second, BitRate: 848, FSD: 256,
		Processing: phone.DefaultProcessing(), Source: "synthetic",
	}, c), nil
}

type direct struct {
	c         *card.Card
	name      string
	connected bool
}

func (d *direct) Info() readers.Info {
	return readers.Info{Kind: readers.KindPhone, Name: d.name, Caps: readers.Capabilities{MaxCommand: 65544, Extended: true}}
}

func (d *direct) Connect(context.Context) error { d.c.PowerOn(); d.connected = true; return nil }

func (d *direct) Transmit(_ context.Context, cmd []byte) ([]byte, error) {
	if !d.connected {
		return nil, &readers.TransportError{Reader: d.name, Op: "transmit", Err: readers.ErrNotConnected}
	}
	if len(cmd) > 65544 {
		return nil, &readers.TransportError{Reader: d.name, Op: "transmit", Err: fmt.Errorf("%w: %d bytes", readers.ErrTransceiveLength, len(cmd))}
	}
	return d.c.Transmit(cmd), nil
}

func (d *direct) Reset(_ context.Context, cold bool) error {
	if cold {
		d.c.PowerOff()
		d.c.PowerOn()
	} else {
		d.c.Reset()
	}
	return nil
}

func (d *direct) Close() error {
	if d.connected {
		d.c.PowerOff()
		d.connected = false
	}
	return nil
}
