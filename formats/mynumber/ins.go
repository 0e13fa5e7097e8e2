package mynumber

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/mynaconform/mynaconform/formats/iso7816"
	"github.com/mynaconform/mynaconform/formats/tlv"
)

// ClaProprietary is the class of the card's proprietary instructions (JICSAP).
const ClaProprietary byte = 0x80

// Proprietary instructions (CLA 80; docs/card.md sections 2, 4, 8, 13).
const (
	InsEraseAllRecords     byte = 0x06
	InsComputeSignature    byte = 0x2A // COMPUTE DIGITAL SIGNATURE 80 2A P1(scheme) P2(key)
	InsChangeKey           byte = 0x32 // CHANGE KEY 80 32 00 80: 共通カードAP and 住基AP PINs
	InsUnlockDF            byte = 0x52
	InsLockDF              byte = 0x50
	InsUnlockKey           byte = 0x54
	InsManageAttributes    byte = 0x8A
	InsTerminalCertificate byte = 0xA2 // 80 A2 00 C1: terminal certificate (extended Lc)
	InsSetSessionKey       byte = 0xAE // SET SESSION KEY 80 AE 00 00 (kenhojo SM)
	InsLastCommand         byte = 0xFC // 80 FC 00 00: the iPhone token's last-command indicator
)

// TerminalCertP1, TerminalCertP2 are the P1 P2 of 80 A2 that pass the card's parameter check
// (AokiApp's end-to-end test against a real card); 00 00, 00 AE, 80 00, 00 B6 answer 6A86.
const (
	TerminalCertP1 byte = 0x00
	TerminalCertP2 byte = 0xC1
)

var propNames = map[byte]string{
	InsEraseAllRecords:     "ERASE ALL RECORDS",
	InsComputeSignature:    "COMPUTE DIGITAL SIGNATURE",
	InsChangeKey:           "CHANGE KEY",
	InsLockDF:              "LOCK DF",
	InsUnlockDF:            "UNLOCK DF",
	InsUnlockKey:           "UNLOCK KEY",
	InsManageAttributes:    "MANAGE ATTRIBUTES",
	InsTerminalCertificate: "TERMINAL CERTIFICATE (80 A2)",
	InsSetSessionKey:       "SET SESSION KEY",
	InsLastCommand:         "LAST COMMAND (80 FC)",
}

// CommandName names a command APDU as this card understands it: interindustry instructions by
// their ISO names (with the form that matters: SELECT by AID / EF / MF, READ BINARY by short EF,
// VERIFY as the retry query), proprietary ones (CLA 8x) by JICSAP names, secure-messaging classes
// marked.
func CommandName(cmd []byte) string {
	if len(cmd) < 4 {
		return "malformed command"
	}
	cla, ins, p1, _ := iso7816.Header(cmd)
	sm := ""
	if cla&iso7816.ClaSMMask != 0 && cla&0xE0 != 0x60 && cla&0xC0 != 0x40 {
		sm = " (secure messaging)"
	}
	if cla&ClaProprietary != 0 {
		if n, ok := propNames[ins]; ok {
			return n + sm
		}
	}
	l, ok := iso7816.ParseLayout(cmd)
	switch ins {
	case iso7816.InsSelect:
		switch p1 {
		case iso7816.SelectByName:
			return "SELECT by AID" + sm
		case iso7816.SelectEF:
			return "SELECT EF" + sm
		case iso7816.SelectMF:
			return "SELECT MF" + sm
		}
	case iso7816.InsReadBinary, iso7816.InsReadBinary | 1:
		if p1&0x80 != 0 {
			return "READ BINARY (short EF)" + sm
		}
	case iso7816.InsVerify:
		if ok && l.DataLen == 0 {
			return "VERIFY (retry counter)" + sm
		}
	}
	if n := iso7816.InsName(ins); n != "" {
		return n + sm
	}
	return fmt.Sprintf("INS %02X%s", ins, sm)
}

// SignatureScheme is P1 of COMPUTE DIGITAL SIGNATURE (docs/card.md section 4, established by
// trying every P1 on a real card).
type SignatureScheme byte

const (
	SigPKCS1Raw        SignatureScheme = 0x00 // PKCS#1 v1.5 over the data as given (send a DigestInfo)
	SigPKCS1SHA256Bare SignatureScheme = 0x01 // SHA-256 of the data, the bare 32-byte hash in PKCS#1 v1.5
	SigPKCS1Hash       SignatureScheme = 0x02 // the given 32-byte hash wrapped in a SHA-256 DigestInfo
	SigPKCS1SHA256     SignatureScheme = 0x03 // sha256WithRSAEncryption of the data
	SigPSSHash         SignatureScheme = 0x04 // RSASSA-PSS over the given 32-byte hash, random salt
	SigPSSSHA256       SignatureScheme = 0x05 // SHA-256 of the data, RSASSA-PSS
)

// ErrSignatureInput reports data whose length the scheme does not take (the card answers 6700).
var ErrSignatureInput = errors.New("mynumber: data length does not suit the signature scheme")

// ErrSchemeUnknown reports a P1 above 05 (the card answers 6A86).
var ErrSchemeUnknown = errors.New("mynumber: unknown signature scheme")

// CheckSignatureInput checks the data length the card takes for the scheme with a key of k bytes:
// 00 1..k-11, 01/03/05 1..255, 02/04 exactly 32.
func CheckSignatureInput(p1 SignatureScheme, n, k int) error {
	var ok bool
	switch p1 {
	case SigPKCS1Raw:
		ok = n >= 1 && n <= k-11
	case SigPKCS1SHA256Bare, SigPKCS1SHA256, SigPSSSHA256:
		ok = n >= 1 && n <= 255
	case SigPKCS1Hash, SigPSSHash:
		ok = n == sha256.Size
	default:
		return ErrSchemeUnknown
	}
	if !ok {
		return fmt.Errorf("%w: P1 %02X with %d bytes", ErrSignatureInput, byte(p1), n)
	}
	return nil
}

// Sign computes what the card answers to 80 2A p1 with data, by key (the card's side; PSS salts
// are random, so PSS signatures differ each time).
func Sign(key *rsa.PrivateKey, p1 SignatureScheme, data []byte) ([]byte, error) {
	if err := CheckSignatureInput(p1, len(data), key.Size()); err != nil {
		return nil, err
	}
	switch p1 {
	case SigPKCS1Raw:
		return rsa.SignPKCS1v15(nil, key, 0, data)
	case SigPKCS1SHA256Bare:
		h := sha256.Sum256(data)
		return rsa.SignPKCS1v15(nil, key, 0, h[:])
	case SigPKCS1Hash:
		return rsa.SignPKCS1v15(nil, key, crypto.SHA256, data)
	case SigPKCS1SHA256:
		h := sha256.Sum256(data)
		return rsa.SignPKCS1v15(nil, key, crypto.SHA256, h[:])
	case SigPSSHash:
		return rsa.SignPSS(rand.Reader, key, crypto.SHA256, data, pssOptions)
	default:
		h := sha256.Sum256(data)
		return rsa.SignPSS(rand.Reader, key, crypto.SHA256, h[:], pssOptions)
	}
}

var pssOptions = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}

// VerifySignature checks a signature the card made with scheme p1 over data (the client's and the
// service's side).
func VerifySignature(pub *rsa.PublicKey, p1 SignatureScheme, data, sig []byte) error {
	if err := CheckSignatureInput(p1, len(data), pub.Size()); err != nil {
		return err
	}
	switch p1 {
	case SigPKCS1Raw:
		return rsa.VerifyPKCS1v15(pub, 0, data, sig)
	case SigPKCS1SHA256Bare:
		h := sha256.Sum256(data)
		return rsa.VerifyPKCS1v15(pub, 0, h[:], sig)
	case SigPKCS1Hash:
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, data, sig)
	case SigPKCS1SHA256:
		h := sha256.Sum256(data)
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig)
	case SigPSSHash:
		return rsa.VerifyPSS(pub, crypto.SHA256, data, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	default:
		h := sha256.Sum256(data)
		return rsa.VerifyPSS(pub, crypto.SHA256, h[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	}
}

// sha256AlgorithmID is the DER AlgorithmIdentifier { id-sha256, NULL } (RFC 8017 9.2 note 1).
var sha256AlgorithmID = []byte{0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00}

// DigestInfoSHA256 is the DER DigestInfo { sha256, h }: what P1 00 signs (51 bytes for one hash,
// the input OpenSC builds). h may be longer: the card-face record signature wraps three
// concatenated hashes (96 bytes, DigestInfo 30 71 ...) in one DigestInfo.
func DigestInfoSHA256(h []byte) []byte {
	v := make([]byte, 0, len(sha256AlgorithmID)+4+len(h))
	v = append(v, sha256AlgorithmID...)
	return tlv.Encode(0x30, tlv.Append(v, 0x04, h))
}

// Signer makes a PKCS#1 v1.5 signature over t, the encoded DigestInfo (PKCS#1 "T"): how the issuer
// signs a record. RSASigner signs with a key; an emulator may cache signatures behind it.
type Signer func(t []byte) ([]byte, error)

// RSASigner is the Signer of an RSA private key.
func RSASigner(key *rsa.PrivateKey) Signer {
	return func(t []byte) ([]byte, error) { return rsa.SignPKCS1v15(nil, key, 0, t) }
}

// sha256WithRSA is the T of sha256WithRSAEncryption over msg.
func sha256WithRSA(msg []byte) []byte {
	h := sha256.Sum256(msg)
	return DigestInfoSHA256(h[:])
}

func verifyT(pub *rsa.PublicKey, t, sig []byte) error {
	if pub == nil {
		return fmt.Errorf("%w: no key", ErrSignature)
	}
	if rsa.VerifyPKCS1v15(pub, 0, t, sig) != nil {
		return ErrSignature
	}
	return nil
}
