package onshi

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Passwords are stored as PBKDF2-HMAC-SHA256 (crypto/pbkdf2, RFC 8018) with a random salt:
// "pbkdf2-sha256$iterations$salt$hash". High-entropy secrets (activation codes, device
// credentials, session tokens) are stored as plain SHA-256: guessing them is infeasible, and a
// lookup by hash stays one index probe.

func hashPassword(pw string, iter int) (string, error) {
	salt := make([]byte, 16)
	rand.Read(salt)
	dk, err := pbkdf2.Key(sha256.New, pw, salt, iter, 32)
	if err != nil {
		return "", err
	}
	b := base64.RawStdEncoding
	return fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", iter, b.EncodeToString(salt), b.EncodeToString(dk)), nil
}

func checkPassword(stored, pw string) (bool, error) {
	f := strings.Split(stored, "$")
	if len(f) != 4 || f[0] != "pbkdf2-sha256" {
		return false, errors.New("onshi: unknown password hash format")
	}
	iter, err := strconv.Atoi(f[1])
	if err != nil || iter < 1 {
		return false, errors.New("onshi: bad password hash iterations")
	}
	b := base64.RawStdEncoding
	salt, err1 := b.DecodeString(f[2])
	want, err2 := b.DecodeString(f[3])
	if err1 != nil || err2 != nil {
		return false, errors.New("onshi: bad password hash encoding")
	}
	dk, err := pbkdf2.Key(sha256.New, pw, salt, iter, len(want))
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(dk, want) == 1, nil
}

// secretHash is the stored form of a high-entropy secret.
func secretHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// randomToken returns n random bytes as unpadded base64url.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// activationAlphabet has no 0/O, 1/I/L: codes are typed by hand into the app.
const activationAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// newActivationCode returns 16 characters (about 79 bits) as XXXX-XXXX-XXXX-XXXX (model: the
// real format is not public).
func newActivationCode() string {
	var sb strings.Builder
	b := make([]byte, 16)
	rand.Read(b)
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			sb.WriteByte('-')
		}
		// 256 % 31 bias is negligible for a code that is also single use and short lived.
		sb.WriteByte(activationAlphabet[int(c)%len(activationAlphabet)])
	}
	return sb.String()
}

// normalizeActivationCode accepts lower case and missing or extra hyphens/spaces.
func normalizeActivationCode(s string) string {
	var sb strings.Builder
	for _, r := range strings.ToUpper(s) {
		if r == '-' || r == ' ' {
			continue
		}
		sb.WriteRune(r)
	}
	n := sb.String()
	if len(n) != 16 {
		return n
	}
	return n[0:4] + "-" + n[4:8] + "-" + n[8:12] + "-" + n[12:16]
}

// newID returns a prefixed random identifier (not a secret).
func newID(prefix string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return prefix + strings.ToUpper(hex.EncodeToString(b))
}
