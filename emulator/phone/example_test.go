package phone_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/mynaconform/mynaconform/emulator/card"
	"github.com/mynaconform/mynaconform/emulator/phone"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/fixtures/devices"
	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/readers"
	"github.com/mynaconform/mynaconform/readers/session"
)

// A virtual iPhone reads the user-authentication certificate of a persona's card through a
// session: the session picks one extended READ because the profile allows it, and the phone
// reports the modelled time.
func Example() {
	ctx := context.Background()
	per, _ := fixtures.PersonaByID("adult")
	prof, _ := per.CardProfile()
	c, _ := card.New(prof)
	iphone, _ := devices.ByID("apple-iphone-ios13")

	ph := phone.New(iphone, c)
	if err := ph.Connect(ctx); err != nil {
		fmt.Println(err)
		return
	}
	s := session.New(ph)
	s.Step("login/read-cert")
	if err := s.SelectAID(ctx, mynumber.AIDJPKI); err != nil {
		fmt.Println(err)
		return
	}
	cert, err := s.ReadObject(ctx, mynumber.JPKIAuthCert)
	fmt.Println(len(cert) > 1000, err)
	for _, e := range s.Transcript() {
		fmt.Printf("%s % X extended=%v\n", e.Step, e.Command[:4], e.Extended)
	}
	fmt.Println(s.Elapsed() == ph.Elapsed())

	// Reading the whole card face (about 6 KB) in one READ breaks the iPhone's 1693-byte
	// response cap: the link is lost.
	s.Step("visual/card-face")
	_ = s.SelectAID(ctx, mynumber.AIDCardFace)
	_ = s.Verify(ctx, mynumber.FaceNumberB, []byte(per.VerificationB()), session.SecretVerificationB)
	_ = s.SelectEF(ctx, mynumber.FaceRecordEF)
	_, _, err = s.Transmit(ctx, []byte{0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00}, session.SecretNone)
	fmt.Println(errors.Is(err, readers.ErrTagLost))
	// Output:
	// true <nil>
	// login/read-cert 00 A4 04 0C extended=false
	// login/read-cert 00 A4 02 0C extended=false
	// login/read-cert 00 B0 00 00 extended=false
	// login/read-cert 00 B0 00 04 extended=true
	// true
	// true
}
