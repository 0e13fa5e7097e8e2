package card_test

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"fmt"

	"github.com/mynaconform/mynaconform/emulator/card"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/formats/iso7816"
	"github.com/mynaconform/mynaconform/formats/mynumber"
)

// Example shows the PIN mode on persona "adult": read the free auth certificate by short EF with
// an extended Le, VERIFY the auth PIN by short EF, sign a challenge with EF 0017 named in P2,
// and check the signature with formats/mynumber.
func Example() {
	p, _ := fixtures.PersonaByID("adult")
	pr, _ := p.CardProfile()
	c, err := card.New(pr)
	if err != nil {
		fmt.Println(err)
		return
	}
	tx := func(cmd iso7816.Command) []byte {
		b, _ := cmd.Bytes()
		r, _ := iso7816.ParseResponse(c.Transmit(b))
		fmt.Println(r.SW().String())
		return r.Data
	}
	tx(iso7816.NewCommand(0x00, iso7816.InsSelect, iso7816.SelectByName, iso7816.SelectNoFCI, mynumber.AIDJPKI.Bytes(), 0))
	sfi, _ := mynumber.JPKIAuthCert.SFI()
	read := iso7816.Command{Capdu: iso7816.NewCommand(0x00, iso7816.InsReadBinary, sfi, 0x00, nil, 65536).Capdu, Extended: true}
	der := tx(read)
	cert, _ := x509.ParseCertificate(der[:int(der[2])<<8|int(der[3])+4])
	pin, _ := mynumber.JPKIAuthPIN.SFI()
	tx(iso7816.NewCommand(0x00, iso7816.InsVerify, 0x00, pin, []byte(p.AuthPIN), 0))
	h := sha256.Sum256([]byte("challenge"))
	di := mynumber.DigestInfoSHA256(h[:])
	key, _ := mynumber.JPKIAuthKey.SFI()
	sig := tx(iso7816.NewCommand(mynumber.ClaProprietary, mynumber.InsComputeSignature, byte(mynumber.SigPKCS1Raw), key, di, 256))
	fmt.Println(mynumber.VerifySignature(cert.PublicKey.(*rsa.PublicKey), mynumber.SigPKCS1Raw, di, sig) == nil)
	// Output:
	// 9000
	// 9000
	// 9000
	// 9000
	// true
}
