package card

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
)

// pinFormat is the rule a reference value must follow (card.md).
type pinFormat int

const (
	formatFixed     pinFormat = iota // not changeable (birth date, 照合番号A/B)
	formatDigits4                    // auth PIN, input-support PIN: exactly 4 digits
	formatSignature                  // signing PIN: 6-16 of A-Z0-9, >= 1 letter and >= 1 digit
)

// pinState is one key EF holding reference data (a PIN or a 照合番号). Only a salted
// HMAC-SHA-256 of the value is kept, never the value itself. tries is non-volatile.
type pinState struct {
	id     string // state-file key, e.g. "jpki/0018"
	set    bool   // false: no PIN set (顔認証マイナンバーカード): VERIFY answers 6984
	salt   []byte
	hash   []byte
	tries  int
	max    int
	format pinFormat
}

func newPIN(id, value string, max int, format pinFormat) (*pinState, error) {
	p := &pinState{id: id, max: max, tries: max, format: format}
	if value == "" {
		return p, nil
	}
	if err := p.setValue([]byte(value)); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *pinState) setValue(v []byte) error {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return err
	}
	p.salt, p.hash, p.set = salt, pinHash(salt, v), true
	return nil
}

func pinHash(salt, v []byte) []byte {
	m := hmac.New(sha256.New, salt)
	m.Write(v)
	return m.Sum(nil)
}

func (p *pinState) matches(v []byte) bool {
	return p.set && hmac.Equal(pinHash(p.salt, v), p.hash)
}

// validPIN reports whether v follows the format (CHANGE REFERENCE DATA, New).
func validPIN(f pinFormat, v []byte) bool {
	switch f {
	case formatDigits4:
		return len(v) == 4 && allDigits(v)
	case formatSignature:
		if len(v) < 6 || len(v) > 16 {
			return false
		}
		var letter, digit bool
		for _, b := range v {
			switch {
			case b >= 'A' && b <= 'Z':
				letter = true
			case b >= '0' && b <= '9':
				digit = true
			default:
				return false
			}
		}
		return letter && digit
	}
	return false
}

func allDigits(v []byte) bool {
	for _, b := range v {
		if b < '0' || b > '9' {
			return false
		}
	}
	return true
}

// errPINFormat is returned by New for a Profile PIN that breaks its format; the value is never
// part of the message.
var errPINFormat = errors.New("PIN does not follow its format")
