package onshi

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

// Password policy (model; the real one is not public), for every account including the
// administrator: 8 to 64 half-width characters (printable ASCII, no spaces), at least three of
// the four classes upper case, lower case, digits and symbols, and neither the user ID nor a
// common password. "Is" compares the password's core: lower-cased, leading and trailing digits
// and symbols removed, then 0→o 1→i 3→e 4→a 5→s 7→t @→a $→s, so Password1!, P@ssw0rd2026 and,
// for user admin, Admin2026! and Adm1n-2026 are all refused; so is a password that has no letter
// left once the user ID is taken out of it (pp01PP01! for pp01). A change must also differ from the current
// password.

// commonPasswords are cores (see above) refused whatever their decoration.
var commonPasswords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`
		password passwd pass word qwerty qwertyuiop qwertz azerty asdf asdfgh asdfghjkl zxcvbn zxcvbnm
		letmein welcome welcom admin administrator root user guest login logon test tester testtest
		default changeme change secret hello hellohello freedom whatever shadow master dragon monkey
		sunshine princess football baseball soccer hockey superman batman starwars pokemon pikachu
		doraemon naruto iloveyou loveyou computer internet google apple samsung nintendo trustno
		abc abcd abcde abcdef abcdefg abcdefgh abcdefghi japan nippon nihon tokyo osaka kyoto sakura
		hospital clinic doctor nurse iryou iryo byouin kango kangoshi shinryo shinryou yakkyoku
		mynumber myna mynaportal onshi hoken kenpo kenko houmon zaitaku`) {
		commonPasswords[w] = true
	}
}

var deleet = strings.NewReplacer("0", "o", "1", "i", "3", "e", "4", "a", "5", "s", "7", "t", "@", "a", "$", "s")

// passwordCore is the form compared with the user ID and the common passwords.
func passwordCore(s string) string {
	s = strings.ToLower(s)
	s = strings.TrimLeftFunc(s, func(r rune) bool { return !(r >= 'a' && r <= 'z') && r != '@' && r != '$' })
	s = strings.TrimRightFunc(s, func(r rune) bool { return !(r >= 'a' && r <= 'z') })
	return deleet.Replace(s)
}

// checkNewPassword is the policy for a password change: the new password differs from the
// current one and meets checkPasswordPolicy.
func checkNewPassword(newPassword, current, userID string) error {
	if newPassword == current {
		return api.New(api.CodePasswordPolicy, "the new password must differ from the current one")
	}
	return checkPasswordPolicy(newPassword, userID)
}

// checkPasswordPolicy applies the policy for the account userID.
func checkPasswordPolicy(pw, userID string) error {
	if len(pw) < 8 || len(pw) > 64 {
		return api.New(api.CodePasswordPolicy, "8 to 64 characters")
	}
	var upper, lower, digit, symbol bool
	for i := 0; i < len(pw); i++ {
		c := pw[i]
		switch {
		case c < 0x21 || c > 0x7E:
			return api.New(api.CodePasswordPolicy, "only half-width letters, digits and symbols, no spaces")
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= '0' && c <= '9':
			digit = true
		default:
			symbol = true
		}
	}
	classes := 0
	for _, b := range []bool{upper, lower, digit, symbol} {
		if b {
			classes++
		}
	}
	if classes < 3 {
		return api.New(api.CodePasswordPolicy, "at least three of upper case, lower case, digits and symbols")
	}
	core := passwordCore(pw)
	if userID != "" {
		lower, id := strings.ToLower(pw), strings.ToLower(userID)
		rest := strings.ReplaceAll(lower, id, "")
		if core == passwordCore(userID) || (rest != lower && !strings.ContainsFunc(rest, func(r rune) bool { return r >= 'a' && r <= 'z' })) {
			return api.New(api.CodePasswordPolicy, "the password is the user ID")
		}
	}
	if commonPasswords[core] {
		return api.New(api.CodePasswordPolicy, "a common password")
	}
	return nil
}

// pwRow is the password state of an admin or account, with its canonical user ID.
type pwRow struct {
	userID    string
	hash      string
	failures  int
	locked    bool
	suspended bool
}

// pwQuery reads a password row by case-folded user ID; deleted accounts are not found.
func pwQuery(table string) string {
	if table == "admins" {
		return `SELECT user_id, pw_hash, failures, locked, 0 FROM admins WHERE institution = ? AND user_key = ?`
	}
	return `SELECT user_id, pw_hash, failures, locked, suspended FROM accounts WHERE institution = ? AND user_key = ? AND deleted_at IS NULL`
}

func scanPW(row *sql.Row) (pwRow, error) {
	var p pwRow
	err := row.Scan(&p.userID, &p.hash, &p.failures, &p.locked, &p.suspended)
	return p, err
}

// readPassword loads the password row and, unless locked or suspended, checks pw (outside the
// write lock). When the account exists the request's audit record learns its canonical ID.
func (s *Server) readPassword(ri *reqInfo, table, inst, user, pw string) (pwRow, bool, error) {
	row, err := scanPW(s.st.r.QueryRow(pwQuery(table), inst, userKey(user)))
	if errors.Is(err, sql.ErrNoRows) {
		return row, false, api.New(api.CodeAccountUnknown, "")
	}
	if err != nil {
		return row, false, err
	}
	ri.actor = "user:" + row.userID
	if table == "admins" {
		ri.actor = "admin:" + row.userID
	}
	if row.locked {
		return row, false, api.New(api.CodeAccountLocked, "")
	}
	if row.suspended {
		return row, false, api.New(api.CodeAccountSuspended, "")
	}
	ok, err := checkPassword(row.hash, pw)
	return row, ok, err
}

// passwordOp returns a write that re-checks the row under the write lock, records a failure
// (locking at the threshold; *locked is then set so the caller ends the account's sessions) or
// resets the counter, then runs next. ok is the result of the PBKDF2 check done before queueing,
// against row.hash.
func (s *Server) passwordOp(table, inst string, row pwRow, ok bool, locked *bool, next func(tx *sql.Tx, a *auditRec) error) func(tx *sql.Tx, a *auditRec) error {
	return func(tx *sql.Tx, a *auditRec) error {
		cur, err := scanPW(tx.QueryRow(pwQuery(table), inst, userKey(row.userID)))
		if errors.Is(err, sql.ErrNoRows) {
			return api.New(api.CodeAccountUnknown, "")
		}
		if err != nil {
			return err
		}
		if cur.locked {
			return api.New(api.CodeAccountLocked, "")
		}
		if cur.suspended {
			return api.New(api.CodeAccountSuspended, "")
		}
		if !ok || cur.hash != row.hash {
			cur.failures++
			lock := cur.failures >= s.cfg.LockoutThreshold
			if _, err := tx.Exec(`UPDATE `+table+` SET failures = ?, locked = ? WHERE institution = ? AND user_key = ?`,
				cur.failures, lock, inst, userKey(cur.userID)); err != nil {
				return err
			}
			detail := fmt.Sprintf("%d tries left before the account locks", s.cfg.LockoutThreshold-cur.failures)
			if lock {
				detail = "the account is now locked"
				if locked != nil {
					*locked = true
				}
			}
			return keep(api.New(api.CodeWrongPassword, detail))
		}
		if cur.failures != 0 {
			if _, err := tx.Exec(`UPDATE `+table+` SET failures = 0 WHERE institution = ? AND user_key = ?`, inst, userKey(cur.userID)); err != nil {
				return err
			}
		}
		if next == nil {
			return nil
		}
		return next(tx, a)
	}
}
