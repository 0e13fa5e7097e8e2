package mynumber

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"math/big"

	"github.com/mynaconform/mynaconform/formats/tlv"
)

// Secure messaging of 券面事項入力補助AP (docs/card.md section 8), measured on a real card:
//
//   - SET SESSION KEY 80 AE 00 00 with an extended Lc of 256: RSAES-OAEP (SHA-256, MGF1-SHA-256)
//     under the EF 0006 key of A0 22 80 20 <32-byte seed>; the AES-128 key is seed bytes 0-15.
//     Accepted only after the PIN (EF 0011) was verified in clear.
//   - Then CLA 08: VERIFY (P2 80|SFI) and SELECT EF carry exactly one DO 86 L 01 <AES-CBC
//     ciphertext> (ISO/IEC 7816-4 padding 80 00..); READ BINARY carries 96 03 00 <Le on 2 bytes>
//     with an extended Le; responses carry 86 L 01 <ciphertext>.
//   - IV = AES(key, N as 16 big-endian bytes) for the command and its response; N = 1 for the first
//     SM command after SET SESSION KEY and +1 per SM command, refused ones too; plain commands do
//     not count.
const (
	SMSeedLen           = 32
	SMCla          byte = 0x08 // secure messaging, header not authenticated
	TagSMCrypto         = 0x86 // padding-content indicator 01 || ciphertext
	TagSMLe             = 0x96 // expected length
	smPadIndicator      = 0x01
)

// Errors of the SM layer, with the status word a card answers for each.
var (
	ErrSMKeyRange   = errors.New("mynumber: session-key cryptogram not below the modulus") // 6F00
	ErrSMKeyBlock   = errors.New("mynumber: session-key block refused")                    // 6A80
	ErrSMObjects    = errors.New("mynumber: wrong secure-messaging data objects")          // 6988
	ErrSMCryptogram = errors.New("mynumber: secure-messaging cryptogram does not decrypt") // 6988, session gone
)

// SessionKeyBlock is the plaintext SET SESSION KEY delivers: A0 22 80 20 <seed>.
func SessionKeyBlock(seed []byte) []byte {
	return tlv.Encode(0xA0, tlv.Encode(0x80, seed))
}

// EncryptSessionKey is the 256-byte data of SET SESSION KEY (the client's side).
func EncryptSessionKey(random io.Reader, pub *rsa.PublicKey, seed []byte) ([]byte, error) {
	if len(seed) != SMSeedLen {
		return nil, ErrSMKeyBlock
	}
	return rsa.EncryptOAEP(sha256.New(), random, pub, SessionKeyBlock(seed), nil)
}

// DecryptSessionKey is the card's side of SET SESSION KEY: it returns the 32-byte seed.
func DecryptSessionKey(priv *rsa.PrivateKey, ct []byte) ([]byte, error) {
	if len(ct) != priv.Size() || new(big.Int).SetBytes(ct).Cmp(priv.N) >= 0 {
		return nil, ErrSMKeyRange
	}
	pt, err := rsa.DecryptOAEP(sha256.New(), nil, priv, ct, nil)
	if err != nil {
		return nil, ErrSMKeyBlock
	}
	outer, rest, err := tlv.Parse(pt)
	if err != nil || outer.Tag != 0xA0 || len(rest) != 0 {
		return nil, ErrSMKeyBlock
	}
	key, rest, err := tlv.Parse(outer.Value)
	// Only the encryption-key form 80 is accepted; 81 (a CCS key) and 80+81 answer 6A80.
	if err != nil || key.Tag != 0x80 || len(key.Value) != SMSeedLen || len(rest) != 0 {
		return nil, ErrSMKeyBlock
	}
	return key.Value, nil
}

// SMSession is the AES-128 confidentiality channel after SET SESSION KEY, on either side.
type SMSession struct {
	block cipher.Block
	// N is the counter of the next SM command (1 after SET SESSION KEY).
	N uint32
}

// NewSMSession is the session of a delivered seed.
func NewSMSession(seed []byte) (*SMSession, error) {
	if len(seed) != SMSeedLen {
		return nil, ErrSMKeyBlock
	}
	b, err := aes.NewCipher(seed[:16])
	if err != nil {
		return nil, err
	}
	return &SMSession{block: b, N: 1}, nil
}

func (s *SMSession) iv(n uint32) []byte {
	iv := make([]byte, aes.BlockSize)
	binary.BigEndian.PutUint32(iv[12:], n)
	s.block.Encrypt(iv, iv)
	return iv
}

// Encrypt is the DO 86 L 01 <ciphertext> of plain for counter n.
func (s *SMSession) Encrypt(n uint32, plain []byte) []byte {
	p := append(append(make([]byte, 0, len(plain)+aes.BlockSize), plain...), 0x80)
	for len(p)%aes.BlockSize != 0 {
		p = append(p, 0x00)
	}
	cipher.NewCBCEncrypter(s.block, s.iv(n)).CryptBlocks(p, p)
	return tlv.Encode(TagSMCrypto, append([]byte{smPadIndicator}, p...))
}

// Decrypt takes the value of a DO 86 (indicator 01 || ciphertext) for counter n and returns the
// plaintext without padding; a wrong counter shows as bad padding.
func (s *SMSession) Decrypt(n uint32, value []byte) ([]byte, error) {
	if len(value) < 1+aes.BlockSize || value[0] != smPadIndicator || (len(value)-1)%aes.BlockSize != 0 {
		return nil, ErrSMCryptogram
	}
	p := append([]byte(nil), value[1:]...)
	cipher.NewCBCDecrypter(s.block, s.iv(n)).CryptBlocks(p, p)
	i := len(p) - 1
	for i >= 0 && p[i] == 0x00 {
		i--
	}
	if i < 0 || p[i] != 0x80 || len(p)-i > aes.BlockSize {
		return nil, ErrSMCryptogram
	}
	return p[:i], nil
}

// SMObject returns the value of the one data object with tag that data must consist of; anything
// else (another tag, a second object) is ErrSMObjects.
func SMObject(data []byte, tag uint16) ([]byte, error) {
	o, rest, err := tlv.Parse(data)
	if err != nil || o.Tag != tag || len(rest) != 0 {
		return nil, ErrSMObjects
	}
	return o.Value, nil
}

// LeObject is the DO 96 03 00 <Le> of an SM READ BINARY (le 0: the whole file, filler included).
func LeObject(le uint16) []byte { return []byte{TagSMLe, 0x03, 0x00, byte(le >> 8), byte(le)} }

// ParseLeObject decodes the value of a DO 96.
func ParseLeObject(value []byte) (uint16, error) {
	if len(value) != 3 || value[0] != 0 {
		return 0, ErrSMObjects
	}
	return uint16(value[1])<<8 | uint16(value[2]), nil
}
