package card

// Application identifiers (DF names) of card.md. Strings so that they are constants; use
// []byte(card.AIDJPKI) in a SELECT.
const (
	// AIDJPKI is the JPKI-AP (公的個人認証AP).
	AIDJPKI = "\xD3\x92\xF0\x00\x26\x01\x00\x00\x00\x01"
	// AIDCardFace is the 券面事項確認AP (card-face AP, kenkaku).
	AIDCardFace = "\xD3\x92\x10\x00\x31\x00\x01\x01\x04\x02"
	// AIDInputSupport is the 券面事項入力補助AP (input-support AP, kenhojo).
	AIDInputSupport = "\xD3\x92\x10\x00\x31\x00\x01\x01\x04\x08"
)

// EF identifiers of the JPKI-AP (card.md). The short EF identifier (SFI) of each is its FID.
const (
	EFJPKISignCert   uint16 = 0x0001 // 署名用電子証明書, read after signing-PIN VERIFY
	EFJPKISignCACert uint16 = 0x0002 // signing CA certificate, free
	EFJPKITokenInfo  uint16 = 0x0006 // 160-byte token info, label JPKIAPICCTOKEN2
	EFJPKICertFlags  uint16 = 0x0008 // 3 bytes, 8F 8F 00 when both certificates exist
	EFJPKIAuthCert   uint16 = 0x000A // 利用者証明用電子証明書, free
	EFJPKIAuthCACert uint16 = 0x000B // user-authentication CA certificate, free
	EFJPKITerminalCA uint16 = 0x0016 // key that 80 A2 terminal certificates are checked against
	EFJPKIAuthKey    uint16 = 0x0017 // authentication private key
	EFJPKIAuthPIN    uint16 = 0x0018 // authentication PIN: 4 digits, 3 tries
	EFJPKISignKey    uint16 = 0x001A // signing private key
	EFJPKISignPIN    uint16 = 0x001B // signing PIN: 6-16 of A-Z0-9, 5 tries
)

// EF identifiers of the 券面事項確認AP (card-face AP).
const (
	EFFaceAge        uint16 = 0x0001 // age record FF10, opened by the birth-date key
	EFFaceRecord     uint16 = 0x0002 // card face FF20, opened by 照合番号A or B
	EFFaceAPInfo     uint16 = 0x0003 // AP basic data FF30, free
	EFFaceIssuerCV   uint16 = 0x0004 // issuer card-verifiable certificate 7F21, free
	EFFaceMyNumber   uint16 = 0x0005 // My Number image FF40, opened by 照合番号A
	KeyFaceBirth     uint16 = 0x0011 // birth date YYMMDD in the Japanese era year
	KeyFaceNumberB   uint16 = 0x0012 // 照合番号B: era birth YYMMDD + expiry year + security code
	KeyFaceNumberA   uint16 = 0x0013 // 照合番号A: the 12-digit My Number
	EFInputMyNumber  uint16 = 0x0001 // input-support: My Number FF10
	EFInputBasic     uint16 = 0x0002 // input-support: basic four FF20
	EFInputIntegrity uint16 = 0x0003 // input-support: integrity F0 {F1, F2, F3}
	EFInputIssuerCV  uint16 = 0x0004 // input-support: card-verifiable certificate
	EFInputAPInfo    uint16 = 0x0005 // input-support: AP id and public-key id
	KeyInputPIN      uint16 = 0x0011 // input-support PIN: 4 digits, 3 tries
	KeyInputNumberA  uint16 = 0x0014 // input-support 照合番号A
	KeyInputNumberB  uint16 = 0x0015 // input-support 照合番号B
)

// Status words the card answers (card.md, ISO/IEC 7816-4 clause 5.6).
const (
	swOK              = 0x9000
	swWrongPIN        = 0x63C0 // | tries left
	swVerifyFailed    = 0x6300 // terminal certificate rejected
	swMemoryFailure   = 0x6581 // state file could not be written
	swWrongLength     = 0x6700
	swChannelNotSupp  = 0x6881
	swSMNotSupported  = 0x69FC // secure messaging CLA (card.md)
	swChainingNotSupp = 0x6884
	swSecurityStatus  = 0x6982
	swBlocked         = 0x6984
	swConditions      = 0x6985
	swNoCurrentEF     = 0x6986
	swWrongData       = 0x6A80
	swFileNotFound    = 0x6A82
	swWrongP1P2       = 0x6A86
	swOffsetBeyondEnd = 0x6B00
	swINSNotSupported = 0x6D00
	swCLANotSupported = 0x6E00
	swNoPreciseDiag   = 0x6F00 // internal error (recovered panic); never expected
)

// ISO/IEC 7816-4 instruction bytes the card implements.
const (
	insVerify       = 0x20
	insChangeRef    = 0x24
	insSign         = 0x2A // COMPUTE DIGITAL SIGNATURE, CLA 80 (JPKI)
	insGetChallenge = 0x84
	insTerminalCert = 0xA2 // terminal certificate, CLA 80 (card.md)
	insSelect       = 0xA4
	insReadBinary   = 0xB0
)

// maxResponseData caps one response's data at 65533 bytes: vpcd carries at most 65535 bytes
// including SW1 SW2 (hil.md), although extended Le may ask for 65536.
const maxResponseData = 65533
