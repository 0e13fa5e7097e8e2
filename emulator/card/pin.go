package card

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"

	"github.com/mynaconform/mynaconform/formats/mynumber"
)

// refKey is one key EF holding reference data (a PIN, the signing password, a 照合番号, the
// birth-date key). Only a salted HMAC-SHA-256 of the value is kept, never the value. tries is
// non-volatile (the state file); security status is not kept here.
type refKey struct {
	id     string // state-file key, e.g. "jpki/0018"
	spec   mynumber.Key
	set    bool // false: never set (VERIFY with a value answers 6984)
	salt   []byte
	hash   []byte
	tries  int
	max    int
	letDig bool // CHANGE REFERENCE DATA of the signing password needs a letter and a digit
}

func newRefKey(spec mynumber.Key, value string, max int) (*refKey, error) {
	k := &refKey{id: spec.AID.Short() + "/" + fidHex(spec.FID), spec: spec, max: max, tries: max}
	if value == "" {
		return k, nil
	}
	if err := k.setValue([]byte(value)); err != nil {
		return nil, err
	}
	return k, nil
}

func fidHex(f mynumber.FID) string {
	const hexdig = "0123456789ABCDEF"
	return string([]byte{hexdig[f>>12&15], hexdig[f>>8&15], hexdig[f>>4&15], hexdig[f&15]})
}

func (k *refKey) setValue(v []byte) error {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return err
	}
	k.salt, k.hash, k.set = salt, pinHash(salt, v), true
	return nil
}

func pinHash(salt, v []byte) []byte {
	m := hmac.New(sha256.New, salt)
	m.Write(v)
	return m.Sum(nil)
}

func (k *refKey) matches(v []byte) bool {
	return k.set && hmac.Equal(pinHash(k.salt, v), k.hash)
}

// validNew reports whether v may replace the key's value (CHANGE REFERENCE DATA / CHANGE KEY).
func (k *refKey) validNew(v []byte) bool {
	if !k.spec.Format.Valid(v) {
		return false
	}
	if k.spec.Format == mynumber.FormatPassword && k.letDig {
		var letter, digit bool
		for _, c := range v {
			letter = letter || c >= 'A' && c <= 'Z'
			digit = digit || c >= '0' && c <= '9'
		}
		return letter && digit
	}
	return true
}

// errPINFormat is returned by New for a Profile PIN that breaks its format; the value is never
// part of the message.
var errPINFormat = errors.New("does not follow its format")
