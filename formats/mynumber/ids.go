package mynumber

import (
	"encoding/hex"
	"strings"
)

// AID is an application identifier (DF name) of the card, as bytes in a string so that it is a
// constant: SELECT with AID.Bytes().
type AID string

// The card's applications (docs/card.md sections 3-8).
const (
	// AIDJPKI is the JPKI-AP (公的個人認証AP): the signing and user-authentication keys.
	AIDJPKI AID = "\xD3\x92\xF0\x00\x26\x01\x00\x00\x00\x01"
	// AIDCommon is the 共通カードAP (common card application): card serial, municipality, expiry.
	AIDCommon AID = "\xD3\x92\x10\x00\x31\x00\x01\x01\x01\x00"
	// AIDJuki is the 住基AP (resident registry network application).
	AIDJuki AID = "\xD3\x92\x10\x00\x31\x00\x01\x01\x04\x01"
	// AIDCardFace is the 券面事項確認AP (kenkaku): the card face with photo, signed.
	AIDCardFace AID = "\xD3\x92\x10\x00\x31\x00\x01\x01\x04\x02"
	// AIDInputSupport is the 券面事項入力補助AP (kenhojo): My Number and the basic four, signed.
	AIDInputSupport AID = "\xD3\x92\x10\x00\x31\x00\x01\x01\x04\x08"
	// AIDISD is the issuer security domain (GlobalPlatform); selecting it restores the power-on
	// state, where MF-level GET DATA answers.
	AIDISD AID = "\xA0\x00\x00\x01\x51\x00\x00"
)

// Bytes is the AID as a fresh byte slice.
func (a AID) Bytes() []byte { return []byte(a) }

// String is the AID in upper-case hex.
func (a AID) String() string { return strings.ToUpper(hex.EncodeToString([]byte(a))) }

type appNames struct{ short, en, ja string }

var aidNames = map[AID]appNames{
	AIDJPKI:         {"jpki", "JPKI-AP", "公的個人認証AP"},
	AIDCommon:       {"common", "common card AP", "共通カードAP"},
	AIDJuki:         {"juki", "juki AP", "住基AP"},
	AIDCardFace:     {"kenkaku", "card-face AP", "券面事項確認AP"},
	AIDInputSupport: {"kenhojo", "input-support AP", "券面事項入力補助AP"},
	AIDISD:          {"isd", "issuer security domain", "発行者セキュリティドメイン"},
}

// Short is the application's short name ("jpki", "kenkaku", ...), "" for an unknown AID.
func (a AID) Short() string { return aidNames[a].short }

// Name is the application's English name, NameJA its Japanese one.
func (a AID) Name() string   { return aidNames[a].en }
func (a AID) NameJA() string { return aidNames[a].ja }

// Applications are the five applications of the card in AID order (the order in which a SELECT by
// a DF-name prefix matching several of them picks the first; docs/card.md section 13).
var Applications = [...]AID{AIDCommon, AIDJuki, AIDCardFace, AIDInputSupport, AIDJPKI}

// FID is a file identifier within an application. Every EF of every AP lies in 0001..001E, so its
// short EF identifier (SFI) is the FID itself.
type FID uint16

// SFI is the P1/P2 byte that names the EF by short identifier (80 | SFI), false outside 01..1E.
func (f FID) SFI() (byte, bool) {
	if f == 0 || f > 0x1E {
		return 0, false
	}
	return 0x80 | byte(f), true
}

// Bytes is the FID as the data of SELECT EF.
func (f FID) Bytes() []byte { return []byte{byte(f >> 8), byte(f)} }

// JPKI-AP files (docs/card.md section 4).
const (
	JPKISignCert    FID = 0x0001 // 署名用電子証明書, read after the signing password
	JPKISignCACert  FID = 0x0002 // 署名用CA証明書, free
	JPKIUnknown0005 FID = 0x0005 // present, content unknown
	JPKITokenInfo   FID = 0x0006 // token info (CK_TOKEN_INFO), 160 bytes
	JPKICertFlags   FID = 0x0008 // 3 bytes: 8F 8F 00 with both certificates
	JPKIProtected   FID = 0x0009 // protected transparent EF, purpose unknown; no PIN opens it
	JPKIAuthCert    FID = 0x000A // 利用者証明用電子証明書, free on the physical card
	JPKIAuthCACert  FID = 0x000B // 利用者証明用CA証明書, free
	JPKIUnknown0010 FID = 0x0010
	JPKITerminalCA  FID = 0x0016 // key that 80 A2 terminal certificates are checked against (internal)
	JPKIAuthKey     FID = 0x0017 // 利用者証明用秘密鍵
	JPKIAuthPIN     FID = 0x0018 // 利用者証明用暗証番号: 4 digits, 3 tries
	JPKIUnknown0019 FID = 0x0019
	JPKISignKey     FID = 0x001A // 署名用秘密鍵
	JPKISignPIN     FID = 0x001B // 署名用パスワード: 6-16 of A-Z 0-9, 5 tries
	JPKIUnknown001C FID = 0x001C
	JPKIUnknown001E FID = 0x001E
)

// 共通カードAP files (section 5): record-structured EFs.
const (
	CommonCardInfo FID = 0x0001 // record 1: serial, municipality, expiry (SIMPLE-TLV 01 1C)
	CommonKeyRef   FID = 0x0002 // record 1: a 16-byte key reference, equal to 住基AP EF 0002
	CommonIAKey    FID = 0x0019 // key answering INTERNAL AUTHENTICATE without credential
	CommonPIN      FID = 0x001C // 4-digit PIN (本人確認業務用領域); change with CHANGE KEY
	CommonInternal FID = 0x001E // internal EF
)

// 住基AP files (section 6).
const (
	JukiKeyRef FID = 0x0002 // record 1: the 16-byte key reference of 共通カードAP EF 0002
	JukiPIN    FID = 0x001C // 4-digit PIN; change with CHANGE KEY
)

// 券面事項確認AP (kenkaku) files and keys (section 7).
const (
	FaceAge       FID = 0x0001 // age record FF10, opened by the birth-date key
	FaceRecordEF  FID = 0x0002 // card face FF20, opened by 照合番号A or B
	FaceBasicData FID = 0x0003 // AP basic data FF30, free
	FaceCV        FID = 0x0004 // card-verifiable certificate of the record-signing key, free
	FaceMyNumber  FID = 0x0005 // My Number image FF40, opened by 照合番号A only
	FaceUnknown6  FID = 0x0006 // 16 x FF, opened by 照合番号A or B
	FaceBirthKey  FID = 0x0011 // birth date YYMMDD in the Japanese era year
	FaceNumberB   FID = 0x0012 // 照合番号B: era birth YYMMDD, expiry year YYYY, security code
	FaceNumberA   FID = 0x0013 // 照合番号A: the 12-digit My Number
	FaceCardKey   FID = 0x001A // the card's own key; signs card-presence proofs (80 2A P2 00)
	Face001C      FID = 0x001C
	Face001E      FID = 0x001E
)

// 券面事項入力補助AP (kenhojo) files and keys (section 8).
const (
	InputMyNumber   FID = 0x0001 // FF 10 0C + 12 digits + FF FF (17 bytes)
	InputBasicFour  FID = 0x0002 // 基本4情報 FF20
	InputIntegrity  FID = 0x0003 // FF30 { DF31 H1, DF32 H2, DF33 signature }
	InputCV         FID = 0x0004 // card-verifiable certificate of the record-signing key
	InputInfo       FID = 0x0005 // FF40 { DF41 version, DF42 key id, DF43 }
	InputSMKey      FID = 0x0006 // A1 { 90, 91 }: key SET SESSION KEY encrypts under
	InputCardKeyPub FID = 0x0007 // FF50 { DF51 key of 0013, DF52 signature }
	InputUnknown8   FID = 0x0008 // 16 x FF
	Input0010       FID = 0x0010
	InputPIN        FID = 0x0011 // 4-digit PIN; change with CHANGE REFERENCE DATA
	InputBlocked    FID = 0x0012 // blocked on every card examined
	InputCardKey    FID = 0x0013 // the card's signing key; signs card-presence proofs (P2 00)
	InputNumberA    FID = 0x0014 // 照合番号A
	InputNumberB    FID = 0x0015 // 照合番号B
	Input001C       FID = 0x001C
	Input001E       FID = 0x001E
)

// MFInternal is the internal EF that selects at MF level (READ answers 6981).
const MFInternal FID = 0x001E

// SecretKind says what a key's reference data is, so that it can be masked.
type SecretKind int

const (
	SecretNone     SecretKind = iota
	SecretPIN                 // a 4-digit 暗証番号
	SecretPassword            // the signing password (署名用パスワード)
	SecretNumberA             // 照合番号A: the My Number itself
	SecretNumberB             // 照合番号B
	SecretBirth               // the birth-date key (era YYMMDD)
)

// Format is the rule a key's reference data follows.
type Format int

const (
	FormatDigits4  Format = iota // exactly 4 digits
	FormatPassword               // 6-16 of A-Z 0-9 (upper-cased by clients before VERIFY)
	FormatNumberA                // 12 digits
	FormatNumberB                // 14 digits
	FormatBirth                  // 6 digits
	FormatNone                   // never set (blocked key)
)

// Valid reports whether v follows the format.
func (f Format) Valid(v []byte) bool {
	switch f {
	case FormatDigits4:
		return len(v) == 4 && digits(v)
	case FormatNumberA:
		return len(v) == 12 && digits(v)
	case FormatNumberB:
		return len(v) == 14 && digits(v)
	case FormatBirth:
		return len(v) == 6 && digits(v)
	case FormatPassword:
		if len(v) < 6 || len(v) > 16 {
			return false
		}
		for _, c := range v {
			if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return false
			}
		}
		return true
	}
	return false
}

func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// Key is one key EF holding reference data (a PIN, a password, a 照合番号).
type Key struct {
	AID        AID
	FID        FID
	Name       string // English
	NameJA     string // the term the official app and the portal use
	Format     Format
	Tries      int // default retry limit (docs/card.md; the unknown ones are its defaults)
	Secret     SecretKind
	ChangeKey  bool // changed with CHANGE KEY (80 32) rather than CHANGE REFERENCE DATA (00 24)
	Changeable bool
}

// Keys are the card's reference-data keys. Tries that card.md lists as unknown carry its default
// (kenhojo PIN and 共通/住基 PINs 3; kenkaku 0011/0013 and kenhojo 0014 10).
var Keys = []Key{
	{AIDJPKI, JPKIAuthPIN, "user-authentication PIN", "利用者証明用電子証明書の暗証番号", FormatDigits4, 3, SecretPIN, false, true},
	{AIDJPKI, JPKISignPIN, "signing password", "署名用電子証明書の暗証番号", FormatPassword, 5, SecretPassword, false, true},
	{AIDCommon, CommonPIN, "common card PIN", "個人番号カード用暗証番号（本人確認業務用）", FormatDigits4, 3, SecretPIN, true, true},
	{AIDJuki, JukiPIN, "juki PIN", "個人番号カード用暗証番号（住基）", FormatDigits4, 3, SecretPIN, true, true},
	{AIDCardFace, FaceBirthKey, "birth date (era)", "生年月日（和暦）", FormatBirth, 10, SecretBirth, false, false},
	{AIDCardFace, FaceNumberB, "verification number B", "照合番号B", FormatNumberB, 10, SecretNumberB, false, false},
	{AIDCardFace, FaceNumberA, "verification number A (My Number)", "照合番号A（個人番号）", FormatNumberA, 10, SecretNumberA, false, false},
	{AIDInputSupport, InputPIN, "input-support PIN", "券面事項入力補助用暗証番号", FormatDigits4, 3, SecretPIN, false, true},
	{AIDInputSupport, InputBlocked, "blocked key", "閉塞キー", FormatNone, 0, SecretPIN, false, false},
	{AIDInputSupport, InputNumberA, "verification number A (My Number)", "照合番号A（個人番号）", FormatNumberA, 10, SecretNumberA, false, false},
	{AIDInputSupport, InputNumberB, "verification number B", "照合番号B", FormatNumberB, 10, SecretNumberB, false, false},
}

// KeyOf is the key EF fid of application aid.
func KeyOf(aid AID, fid FID) (Key, bool) {
	for _, k := range Keys {
		if k.AID == aid && k.FID == fid {
			return k, true
		}
	}
	return Key{}, false
}

// FileRef names an EF of an application.
type FileRef struct {
	AID AID
	FID FID
}

// SecretFiles are the files whose content is a secret, the My Number: kenhojo EF 0001 and kenkaku
// EF 0005 (its image). Transcripts mask what a READ of them returns.
var SecretFiles = []FileRef{{AIDInputSupport, InputMyNumber}, {AIDCardFace, FaceMyNumber}}

// ATR is one answer-to-reset of real cards (docs/card.md section 1).
type ATR struct {
	ID          string // "01".."09"
	Bytes       []byte
	Contactless bool   // built by a PC/SC reader from the ATQB (PC/SC part 3)
	Note        string // what the historical bytes say
}

// ATRs are the ATRs of real cards. 01 is the one OpenSC matches; 02-05 are contact, 06-09
// contactless (PC/SC part 3 from the ATQB).
var ATRs = []ATR{
	{"01", []byte{0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14}, false, "no historical bytes; the only ATR OpenSC's JPKI driver matches"},
	{"02", []byte{0x3B, 0xDA, 0x13, 0xFF, 0x81, 0x31, 0xFB, 0x46, 0x80, 0x12, 0x39, 0x2F, 0x31, 0xC1, 0x73, 0xC6, 0x01, 0xC0, 0x3B}, false, "COMPACT-TLV: country 392, selection by full/partial DF name, command chaining and extended Lc/Le"},
	{"03", []byte{0x3B, 0xC5, 0xFF, 0x81, 0x31, 0xFB, 0x45, 0x80, 0x73, 0xC6, 0x01, 0x00, 0x00}, false, "capabilities C6 01 00: no chaining, no extended length advertised"},
	{"04", []byte{0x3B, 0xF5, 0x91, 0x00, 0xFF, 0x91, 0x81, 0x71, 0xFE, 0x40, 0x00, 0x42, 0x00, 0x01, 0x00, 0xD1, 0xD6}, false, "proprietary historical bytes 42 00 01 00 D1"},
	{"05", []byte{0x3B, 0xF5, 0x91, 0x00, 0xFF, 0x91, 0x81, 0x71, 0xFE, 0x40, 0x00, 0x42, 0x00, 0x01, 0xB3, 0xA1, 0x15}, false, "proprietary historical bytes 42 00 01 B3 A1"},
	{"06", []byte{0x3B, 0x88, 0x80, 0x01, 0x00, 0x00, 0x05, 0xE0, 0xB3, 0x81, 0xA1, 0x00, 0x7F}, true, "ATQB application data 00 00 05 E0, protocol info B3 81 A1"},
	{"07", []byte{0x3B, 0x88, 0x80, 0x01, 0x00, 0x00, 0x41, 0xE0, 0xB3, 0x81, 0xA1, 0x00, 0x3B}, true, "ATQB application data 00 00 41 E0, protocol info B3 81 A1"},
	{"08", []byte{0x3B, 0x88, 0x80, 0x01, 0x00, 0x4B, 0x51, 0xFF, 0x00, 0x81, 0xD1, 0x00, 0xBC}, true, "ATQB application data 00 4B 51 FF, protocol info 00 81 D1"},
	{"09", []byte{0x3B, 0x88, 0x80, 0x01, 0x00, 0x4B, 0x51, 0xFF, 0xB3, 0x81, 0xD1, 0x00, 0x0F}, true, "ATQB application data 00 4B 51 FF, protocol info B3 81 D1"},
}

// ATRByID is the real-card ATR with that ID ("01".."09").
func ATRByID(id string) (ATR, bool) {
	for _, a := range ATRs {
		if a.ID == id {
			return a, true
		}
	}
	return ATR{}, false
}

// DefaultATR is ATR 01, the contact ATR OpenSC's JPKI driver matches without sending an APDU.
func DefaultATR() []byte { return append([]byte(nil), ATRs[0].Bytes...) }

// MF-level GET DATA tags (00 CA P1 P2; docs/card.md section 3).
const (
	DOIssuerID        uint16 = 0x0042 // issuer identification, a 16-byte key reference
	DOCardID          uint16 = 0x0045 // card identification number, ASCII
	DOCardRecognition uint16 = 0x0066 // GlobalPlatform card recognition data
	DOMunicipality    uint16 = 0x00F0 // municipality code, 5 ASCII digits
	DOExpiry          uint16 = 0x00F2 // expiry, YYYYMMDD
	DOIntermediateID  uint16 = 0x00F7 // key id of the intermediate that signs object 7F21
	DORootCV          uint16 = 0x00F8 // CV certificate root -> intermediate: the value of a 7F21 template
	DOCV              uint16 = 0x7F21 // CV certificate intermediate -> the key below
	DOContactATR      uint16 = 0x5F51 // contact ATR without TS
)
