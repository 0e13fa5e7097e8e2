package onshi

import (
	"strings"

	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"
)

// Kana (カナ) as the service takes it: ユーザ名(カナ) and the insured records' 氏名カナ are
// full-width katakana; searches by kana accept any width and match regardless of width, spaces
// and ・.

func isKatakanaLetter(r rune) bool {
	return r >= 'ァ' && r <= 'ヺ' || r == 'ヽ' || r == 'ヾ'
}

// IsFullWidthKatakana reports whether s is full-width katakana (U+30A1..U+30FA, ヽ ヾ) with ー
// and ・, words separated by single full-width or ASCII spaces, holding at least one katakana
// letter. Half-width katakana, hiragana, other scripts and leading, trailing or doubled spaces
// are refused.
func IsFullWidthKatakana(s string) bool {
	letters := 0
	prevSpace := true // no leading space
	for _, r := range s {
		switch {
		case isKatakanaLetter(r):
			letters++
			prevSpace = false
		case r == 'ー' || r == '・':
			prevSpace = false
		case r == '　' || r == ' ':
			if prevSpace {
				return false
			}
			prevSpace = true
		default:
			return false
		}
	}
	return letters > 0 && !prevSpace
}

var kanaSeparators = strings.NewReplacer("　", "", " ", "", "・", "")

// normKana is the search form of kana: half-width katakana widened (ｶﾞ becomes ガ), then spaces
// and ・ removed.
func normKana(s string) string {
	w := width.Widen.String(s)
	// Widen maps the half-width sound marks to the spacing ゛ ゜; the combining forms compose.
	w = strings.NewReplacer("゛", "\u3099", "゜", "\u309A").Replace(w)
	return kanaSeparators.Replace(norm.NFC.String(w))
}

// isKanaQuery reports whether the search form q is katakana only (after normKana).
func isKanaQuery(q string) bool {
	if q == "" {
		return false
	}
	for _, r := range q {
		if !isKatakanaLetter(r) && r != 'ー' {
			return false
		}
	}
	return true
}
