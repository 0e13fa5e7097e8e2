package mynumber

import (
	"bytes"
	"testing"
)

// FuzzParseRecords feeds the same bytes to every parser of the package: none panics, and the
// records without a signature re-encode to the bytes they were parsed from.
func FuzzParseRecords(f *testing.F) {
	issuer, card := keys(f)
	sign := RSASigner(issuer)
	pub := &card.PublicKey
	seed := func(b []byte, err error) {
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	seed((&AgeRecord{BirthDate: "19800217", CardKey: pub}).Encode(sign))
	seed((&FaceRecord{BirthDate: "19800217", Sex: 1, CardKey: pub, Photo: []byte{1}, Expiry: "20350217"}).Encode(sign))
	seed((&FaceAPInfo{Version: DefaultFaceVersion, Municipality: "13221", DF35Data: make([]byte, 256)}).Encode())
	seed((&BasicFour{Name: "a", Address: "b", BirthDate: "19800217", Sex: 2}).Encode())
	seed((&InputAPInfo{Version: DefaultInputVersion, DF43: make([]byte, 128)}).Encode())
	seed(IssueCV(sign, &CVCertificate{PublicKey: pub, Extra: TerminalValidity{}.Encode()}))
	seed(EncodeMyNumberRecord("123456789012"))
	seed(CardInfo{"400000012719843", "13221", "20350217"}.Encode())
	seed(DefaultTokenInfo(TokenCard, "1").Encode())
	f.Add(EncodeSMKey(pub))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseAgeRecord(b)
		_, _ = ParseFaceRecord(b)
		_, _ = ParseMyNumberImage(b)
		_, _ = ParseMyNumberRecord(b)
		_, _ = ParseIntegrity(b)
		_, _ = ParseCardKeyRecord(b)
		_, _ = ParseSMKey(b)
		_, _ = ParseCardKey(b)
		_, _ = BasicFourHashed(b)
		_, _ = ParseCertFlags(b)
		_, _ = ParseTerminalValidity(b)
		if c, err := ParseCV(b); err == nil {
			if _, err := ParseCVValue(c.Value()); err != nil {
				t.Fatalf("CV value does not parse back: %v", err)
			}
		}
		if r, err := ParseBasicFour(b); err == nil {
			enc, err := r.Encode()
			r2, err2 := ParseBasicFour(enc)
			if err != nil || err2 != nil || r2.Name != r.Name || r2.Address != r.Address || r2.BirthDate != r.BirthDate || r2.Sex != r.Sex {
				t.Fatalf("basic four does not round-trip: %v %v", err, err2)
			}
		}
		if a, err := ParseFaceAPInfo(b); err == nil {
			enc, err := a.Encode()
			a2, err2 := ParseFaceAPInfo(enc)
			if err != nil || err2 != nil || a2.Version != a.Version || a2.KeyID != a.KeyID || a2.Municipality != a.Municipality || !bytes.Equal(a2.DF35Data, a.DF35Data) {
				t.Fatalf("AP basic data does not round-trip: %v %v", err, err2)
			}
		}
		if a, err := ParseInputAPInfo(b); err == nil && len(a.DF43) == 128 {
			enc, err := a.Encode()
			a2, err2 := ParseInputAPInfo(enc)
			if err != nil || err2 != nil || a2.Version != a.Version || a2.KeyID != a.KeyID || !bytes.Equal(a2.DF43, a.DF43) {
				t.Fatalf("input-support AP info does not round-trip: %v %v", err, err2)
			}
		}
		if c, err := ParseCardInfo(b); err == nil {
			if enc, err := c.Encode(); err != nil || !bytes.Equal(enc, b) {
				t.Fatalf("card info re-encodes as % X (%v)", enc, err)
			}
		}
		if tok, err := ParseTokenInfo(b); err == nil {
			if _, err := tok.Encode(); err != nil && len(tok.Label) <= 32 {
				t.Fatalf("token info: %v", err)
			}
		}
	})
}
