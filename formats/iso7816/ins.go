package iso7816

// Interindustry instruction bytes (ISO/IEC 7816-4 clause 5.4.2, table 4) the My Number card and
// its clients use. Proprietary instructions (CLA 80) are in formats/mynumber.
const (
	InsVerify               byte = 0x20
	InsManageSecurityEnv    byte = 0x22
	InsChangeReferenceData  byte = 0x24
	InsPerformSecurityOp    byte = 0x2A
	InsResetRetryCounter    byte = 0x2C
	InsExternalAuthenticate byte = 0x82
	InsGetChallenge         byte = 0x84
	InsInternalAuthenticate byte = 0x88
	InsSelect               byte = 0xA4
	InsReadBinary           byte = 0xB0
	InsReadRecord           byte = 0xB2
	InsGetResponse          byte = 0xC0
	InsGetData              byte = 0xCA
	InsUpdateBinary         byte = 0xD6
)

// SELECT P1 values (5.3.1).
const (
	SelectMF     byte = 0x00 // select MF, DF or EF by file identifier (MF with no data)
	SelectEF     byte = 0x02 // EF under the current DF, by file identifier
	SelectByName byte = 0x04 // DF by name (AID), full or partial
	SelectNoFCI  byte = 0x0C // P2: no response data
)

// CLA bits (5.4.1, first interindustry coding).
const (
	ClaChaining   byte = 0x10 // command chaining: not the last command of a chain
	ClaSMMask     byte = 0x0C // secure messaging indication
	ClaSMNoHeader byte = 0x08 // proprietary SM, header not authenticated
	ClaSMHeader   byte = 0x0C // SM with the header authenticated
	ClaChannel    byte = 0x03 // logical channel number 0..3
	ClaProp       byte = 0x80 // proprietary class (same bit layout on this card)
)

var insNames = map[byte]string{
	InsVerify:               "VERIFY",
	InsManageSecurityEnv:    "MANAGE SECURITY ENVIRONMENT",
	InsChangeReferenceData:  "CHANGE REFERENCE DATA",
	InsPerformSecurityOp:    "PERFORM SECURITY OPERATION",
	InsResetRetryCounter:    "RESET RETRY COUNTER",
	InsExternalAuthenticate: "EXTERNAL AUTHENTICATE",
	InsGetChallenge:         "GET CHALLENGE",
	InsInternalAuthenticate: "INTERNAL AUTHENTICATE",
	InsSelect:               "SELECT",
	InsReadBinary:           "READ BINARY",
	InsReadRecord:           "READ RECORD",
	InsGetResponse:          "GET RESPONSE",
	InsGetData:              "GET DATA",
	InsUpdateBinary:         "UPDATE BINARY",
}

// InsName is the interindustry name of an instruction byte (odd INS as its even twin), "" when
// it has none here.
func InsName(ins byte) string {
	if n, ok := insNames[ins]; ok {
		return n
	}
	return insNames[ins&^1]
}
