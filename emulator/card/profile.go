package card

import "crypto/rsa"

// Profile is everything one virtual card holds: the persona's card-face data, its keys and
// certificates, its PINs and the card's configuration. The card builds the EF contents of the
// three applications (TLV layouts of ../shared/docs/card.md) from it. fixtures.Persona.CardProfile
// returns one for each synthetic persona.
type Profile struct {
	// ATR answered on power-on; default DefaultATR (contact ATR OpenSC matches).
	ATR []byte

	// Card face (券面事項).
	Name         string // UTF-8, U+3000 between family and given name
	Address      string // UTF-8, full-width digits
	BirthDate    string // Gregorian "YYYYMMDD"
	Sex          int    // JIS X 0303: 1 male, 2 female, 9 not applicable, 0 unknown
	MyNumber     string // 12 digits (個人番号, 照合番号A)
	Expiry       string // card expiry, Gregorian "YYYYMMDD"
	SecurityCode string // 4 digits printed under the photo
	// BirthDateEra is the birth date as "YYMMDD" in the Japanese era year (key EF 0011 of the
	// card-face AP and the first six digits of 照合番号B). Derived from BirthDate when empty.
	BirthDateEra string

	// Images as stored on the chip.
	Photo           []byte // greyscale JPEG 2000 (JP2 file format), DF27
	NamePNG         []byte // 1-bit PNG, DF25
	AddressPNG      []byte // 1-bit PNG, DF26
	SecurityCodePNG []byte // 1-bit PNG, DF2A
	MyNumberPNG     []byte // 1-bit PNG, card-face EF 0005 DF41

	// PINs; an empty PIN is "not set" (顔認証マイナンバーカード has none): VERIFY then answers
	// 6984 and the retry query 6984... see card.md. SignPIN: 6-16 of A-Z0-9.
	AuthPIN    string // JPKI EF 0018, 4 digits
	SignPIN    string // JPKI EF 001B
	KenhojoPIN string // input-support AP EF 0011, 4 digits

	// Retry limits; zero means the card.md default (auth 3, sign 5, kenhojo 3, card-face keys 10).
	AuthRetries, SignRetries, KenhojoRetries, FaceRetries int
	// AuthBlocked starts the auth PIN counter at 0 (a card whose auth PIN is blocked).
	AuthBlocked bool

	// JPKI keys and certificates (DER). SignKey/SignCert nil: no signing certificate (children).
	AuthKey    *rsa.PrivateKey
	AuthCert   []byte // EF 000A
	AuthCACert []byte // EF 000B
	SignKey    *rsa.PrivateKey
	SignCert   []byte // EF 0001
	SignCACert []byte // EF 0002
	TokenLabel string // EF 0006 label, default "JPKIAPICCTOKEN2"

	// Card-face / input-support keys.
	CardKey      *rsa.PrivateKey // the card's own key (DF12/DF24/DF42 public part; signs card-presence proofs)
	FaceIssuer   *rsa.PrivateKey // signs the card-face records (EF 0002 DF28, EF 0001 DF13, EF 0005 DF43, kenhojo F3)
	FaceIssuerCV []byte          // EF 0004 of both card-face APs: card-verifiable certificate 7F21{5F4E,5F37}
	TerminalCA   *rsa.PublicKey  // EF 0016 of JPKI-AP: key that 80 A2 terminal certificates are checked against

	// MunicipalityCode (DF34 of card-face EF 0003), 6 digits.
	MunicipalityCode string
}

// DefaultATR is the real card's contact ATR (OpenSC's JPKI driver matches it).
var DefaultATR = []byte{0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14}
