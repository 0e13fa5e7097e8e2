package card

import (
	"crypto/rsa"

	"github.com/mynaconform/mynaconform/formats/iso7816"
	"github.com/mynaconform/mynaconform/formats/mynumber"
)

// Profile is everything one virtual card holds: the holder's card-face data, the keys and
// certificates of every application, the PINs, the master-file data objects and the card's
// answers where docs/card.md leaves them open (Quirks). The card builds the content of every EF
// from it with formats/mynumber. fixtures.Persona.CardProfile returns one for each synthetic
// persona and card variant.
type Profile struct {
	// ATR answered on power-on (default ATR 01 of mynumber.ATRs, the one OpenSC matches).
	ATR []byte
	// ContactATR is the card's contact ATR, handed out without TS by GET DATA 5F51 (default ATR
	// when it is a contact ATR, else ATR 01).
	ContactATR []byte
	// Applications present on the card, nil for all five (mynumber.Applications). A smartphone
	// JPKI token (スマホ用電子証明書) holds only the JPKI-AP.
	Applications []mynumber.AID

	// Card face (券面事項).
	Name         string // UTF-8, U+3000 between family and given name
	Address      string // UTF-8, full-width digits
	BirthDate    string // Gregorian "YYYYMMDD"
	Sex          int    // JIS X 0303: 1 male, 2 female, 9 not applicable, 0 unknown
	MyNumber     string // 12 digits (個人番号, 照合番号A)
	Expiry       string // card expiry, Gregorian "YYYYMMDD"
	SecurityCode string // 4 digits printed on the card (last four digits of 照合番号B)
	// Municipality is the 5-digit municipality code (kenkaku DF34, GET DATA 00F0, 共通カードAP).
	Municipality string

	// Images as stored on the chip.
	Photo           []byte // greyscale JPEG 2000 (JP2 file), kenkaku DF27
	NamePNG         []byte // 1-bit PNG, DF25
	AddressPNG      []byte // 1-bit PNG, DF26
	SecurityCodePNG []byte // 1-bit PNG 24x12, DF2A
	MyNumberPNG     []byte // 1-bit PNG 72x12, kenkaku EF 0005 DF41

	// Reference data; "" = never set (a card issued without that PIN, e.g. 顔認証マイナンバーカード):
	// the retry query still answers 63Cx, VERIFY with a value 6984.
	AuthPIN    string // JPKI EF 0018, 4 digits
	SignPIN    string // JPKI EF 001B, 6-16 of A-Z 0-9
	KenhojoPIN string // 券面事項入力補助AP EF 0011, 4 digits
	CommonPIN  string // 共通カードAP EF 001C, 4 digits
	JukiPIN    string // 住基AP EF 001C, 4 digits

	// Tries overrides the retry limit of a key (default: mynumber.Keys).
	Tries map[KeyRef]int
	// Blocked keys start with their retry counter at 0.
	Blocked []KeyRef
	// AuthBlocked starts the auth PIN's counter at 0 (same as Blocked holding JPKI EF 0018).
	AuthBlocked bool

	// JPKI-AP. SignKey and SignCert nil: no signing certificate (children under 15).
	AuthKey    *rsa.PrivateKey
	AuthCert   []byte // EF 000A, DER 30 82 LL LL
	AuthCACert []byte // EF 000B
	SignKey    *rsa.PrivateKey
	SignCert   []byte // EF 0001
	SignCACert []byte // EF 0002
	// Token is EF 0006. A zero Label gives mynumber.DefaultTokenInfo(TokenCard, TokenSerial).
	// Its label decides the token's behaviour: JPKIAPGPSETOKEN (Android) opens EF 000A only after
	// VERIFY 0018, JPKIAPIOSTOKEN (iPhone) accepts the last-command indicator 80 FC 00 00.
	Token       mynumber.TokenInfo
	TokenSerial string // 16 characters, used when Token is zero
	// TerminalCA is the key of JPKI EF 0016 that 80 A2 terminal certificates are checked
	// against; TerminalCAID its key id (a certificate naming another issuer is refused). nil: the
	// card refuses every terminal certificate.
	TerminalCA   *rsa.PublicKey
	TerminalCAID mynumber.KeyID

	// 券面事項確認AP (kenkaku). CardKey is the card's own key (EF 001A; its public half is DF12,
	// DF24 and DF42) that signs card-presence proofs. FaceIssuer is the record-signing key
	// certified by FaceIssuerCV (EF 0004, a 568-byte CV certificate): it signs EF 0001, 0002 and
	// 0005.
	CardKey      *rsa.PrivateKey
	FaceIssuer   *rsa.PrivateKey
	FaceIssuerCV []byte
	// FaceInfo is EF 0003 without its municipality (taken from Municipality). Zero: version
	// mynumber.DefaultFaceVersion, zero key ids and DF35 data.
	FaceInfo mynumber.FaceAPInfo

	// 券面事項入力補助AP (kenhojo). InputCardKey is EF 0013 (card-presence proofs; public half in
	// EF 0007), default CardKey. InputIssuer signs EF 0003 and 0007 and is certified by
	// InputIssuerCV (EF 0004); defaults FaceIssuer and FaceIssuerCV. SMKey is the key of EF 0006
	// that SET SESSION KEY encrypts the session seed under (default CardKey).
	InputCardKey  *rsa.PrivateKey
	InputIssuer   *rsa.PrivateKey
	InputIssuerCV []byte
	SMKey         *rsa.PrivateKey
	// InputInfo is EF 0005. Zero: version mynumber.DefaultInputVersion, zero key id, DF43 of 32
	// zero bytes then 96 x FF.
	InputInfo mynumber.InputAPInfo
	// InputInfoSize is the physical size of EF 0005, at least 256 (the default).
	InputInfoSize int

	// 共通カードAP and 住基AP. CardSerial is the 15-digit serial of record 1 of EF 0001. CommonKey
	// answers INTERNAL AUTHENTICATE (EF 0019; default CardKey). KeyRef is record 1 of 共通カードAP
	// EF 0002 and 住基AP EF 0002 (a 16-byte key reference).
	CardSerial string
	CommonKey  *rsa.PrivateKey
	KeyRef     []byte

	// MF holds the master-file data objects of GET DATA.
	MF MFData

	// Quirks are the card's answers where card.md lists the behaviour as unknown; nil: the
	// defaults of DefaultQuirks.
	Quirks *Quirks
}

// KeyRef names one reference-data key: an application and the key's EF.
type KeyRef struct {
	AID mynumber.AID
	FID mynumber.FID
}

// MFData are the objects GET DATA answers at master-file level (right after reset or SELECT
// ISD; docs/card.md section 3). A nil object answers 6A88. 00F0 and 00F2 come from
// Profile.Municipality and Profile.Expiry, 5F51 from Profile.ContactATR.
type MFData struct {
	IssuerID        []byte         // 0042, a 16-byte key reference
	CardID          []byte         // 0045, ASCII
	CardRecognition []byte         // 0066, GlobalPlatform card recognition data
	IntermediateID  mynumber.KeyID // 00F7 (zero: absent)
	RootCV          []byte         // 00F8: a 7F21 template root -> intermediate; GET DATA answers its value
	CV              []byte         // 7F21: a 7F21 template intermediate -> the card; nil on older cards
	// ATRAt says where GET DATA 5F51 answers (default ATRAtMF).
	ATRAt ATRPlace
}

// ATRPlace says where GET DATA 5F51 (the contact ATR) answers; card.md: at MF level, and on
// some cards only with an application selected.
type ATRPlace uint8

const (
	ATRAtMF   ATRPlace = iota // at MF level only
	ATRInApps                 // only with an application selected
	ATRAtBoth                 // both
	ATRNone                   // nowhere (6A88)
)

// Quirks are the answers docs/card.md section 13 lists as not established on a real card. Each
// default is the one card.md names; a test or a lab that learns better changes it here.
type Quirks struct {
	// TerminalCertP1P2 is the P1 P2 of 80 A2 that carries a terminal certificate (default 00 C1;
	// any other P1 P2 answers 6A86). TerminalCertOK is its answer on success (default 9000).
	TerminalCertP1P2 uint16
	TerminalCertOK   iso7816.StatusWord
	// Chaining accepts command chaining (CLA 10): the data of a chain is joined and the last
	// command runs on all of it. Default false: CLA 10 answers 6884.
	Chaining bool
	// SelectNext makes SELECT by name with P2 02 ("next occurrence") select the next application
	// whose name starts with the data. Default false: 6A82.
	SelectNext bool
	// SelectFCI is the response data of SELECT by name with P2 00, per application (default none).
	SelectFCI map[mynumber.AID][]byte
	// KeepStatusOnReselect keeps the security status when the current DF is selected again
	// (default false: re-SELECT clears it, as OpenSC's logout assumes).
	KeepStatusOnReselect bool
	// VerifiedQuery9000 makes the empty VERIFY of a key verified in this session answer 9000
	// (default false: 63Cx with the counter, as OpenSC's binding needs).
	VerifiedQuery9000 bool
	// ReadDenied is the answer to a READ of an EF whose credential is missing (default 6982).
	ReadDenied iso7816.StatusWord
	// SignPINLetterAndDigit makes CHANGE REFERENCE DATA of the signing password require at least
	// one letter and one digit (default false: any 6-16 of A-Z 0-9).
	SignPINLetterAndDigit bool
	// AdminSW is the answer to the issuer commands (MANAGE ATTRIBUTES P1 22/24, ERASE ALL RECORDS,
	// LOCK DF, UNLOCK DF, UNLOCK KEY, EXTERNAL AUTHENTICATE; default 6982).
	AdminSW iso7816.StatusWord
	// MultiRecordSW is the answer to READ RECORD with P2 mode 05 (P1 to last; default 6A81).
	MultiRecordSW iso7816.StatusWord
}

// DefaultQuirks are card.md's defaults.
func DefaultQuirks() Quirks {
	return Quirks{
		TerminalCertP1P2: uint16(mynumber.TerminalCertP1)<<8 | uint16(mynumber.TerminalCertP2),
		TerminalCertOK:   iso7816.SWOK,
		ReadDenied:       iso7816.SWSecurityStatus,
		AdminSW:          iso7816.SWSecurityStatus,
		MultiRecordSW:    iso7816.SWFuncNotSupported,
	}
}
