package mynumber

import (
	"fmt"
	"time"
)

// Era is a Japanese era (元号).
type Era struct {
	Name   string // "Reiwa"
	NameJA string // "令和"
	Start  time.Time
	// Code is the era's digit in dates written "EYYYYMMDD", as the JPKI signing certificate's
	// birth-date attribute (OID 1.2.392.200149.8.5.5.4) carries them: 1 明治 .. 5 令和.
	Code byte
}

// Eras from the newest; a date belongs to the first era whose Start it is not before.
var Eras = []Era{
	{"Reiwa", "令和", time.Date(2019, 5, 1, 0, 0, 0, 0, time.UTC), '5'},
	{"Heisei", "平成", time.Date(1989, 1, 8, 0, 0, 0, 0, time.UTC), '4'},
	{"Showa", "昭和", time.Date(1926, 12, 25, 0, 0, 0, 0, time.UTC), '3'},
	{"Taisho", "大正", time.Date(1912, 7, 30, 0, 0, 0, 0, time.UTC), '2'},
	{"Meiji", "明治", time.Date(1868, 10, 23, 0, 0, 0, 0, time.UTC), '1'},
}

func parseDate(yyyymmdd string) (time.Time, error) {
	t, err := time.Parse("20060102", yyyymmdd)
	if err != nil || len(yyyymmdd) != 8 {
		return time.Time{}, malformed("date %q: want YYYYMMDD", yyyymmdd)
	}
	return t, nil
}

// EraOf is the era of a Gregorian date and its year in that era (1 = 元年).
func EraOf(yyyymmdd string) (Era, int, error) {
	t, err := parseDate(yyyymmdd)
	if err != nil {
		return Era{}, 0, err
	}
	for _, e := range Eras {
		if !t.Before(e.Start) {
			return e, t.Year() - e.Start.Year() + 1, nil
		}
	}
	return Era{}, 0, malformed("date %q is before the Meiji era", yyyymmdd)
}

// EraYYMMDD is a Gregorian "YYYYMMDD" as "YYMMDD" with the era year: the birth-date key of
// 券面事項確認AP and the first six digits of 照合番号B (1980-02-17, 昭和55 -> "550217").
func EraYYMMDD(yyyymmdd string) (string, error) {
	_, y, err := EraOf(yyyymmdd)
	if err != nil {
		return "", err
	}
	if y > 99 {
		return "", malformed("date %q: era year %d has three digits", yyyymmdd, y)
	}
	return fmt.Sprintf("%02d%s", y, yyyymmdd[4:]), nil
}

// EraCodedDate is a Gregorian "YYYYMMDD" prefixed with its era's Code: "EYYYYMMDD", the form of
// the birth date in a JPKI signing certificate (1980-02-17 -> "319800217").
func EraCodedDate(yyyymmdd string) (string, error) {
	e, _, err := EraOf(yyyymmdd)
	if err != nil {
		return "", err
	}
	return string(e.Code) + yyyymmdd, nil
}

// FromEra is the Gregorian "YYYYMMDD" of an era date "YYMMDD" (which alone does not name its
// era). It fails when the date lies outside the era.
func FromEra(e Era, yymmdd string) (string, error) {
	if len(yymmdd) != 6 || !digits([]byte(yymmdd)) {
		return "", malformed("era date %q: want YYMMDD", yymmdd)
	}
	y := int(yymmdd[0]-'0')*10 + int(yymmdd[1]-'0')
	g := fmt.Sprintf("%04d%s", e.Start.Year()+y-1, yymmdd[2:])
	got, _, err := EraOf(g)
	if err != nil || got.Name != e.Name || y == 0 {
		return "", malformed("era date %q is not a date of %s", yymmdd, e.NameJA)
	}
	return g, nil
}

// VerificationB is 照合番号B: the birth date "YYMMDD" with the era year, the card's expiry year
// "YYYY" and the 4-digit security code printed on the card (test card 55021720352285).
func VerificationB(birth, expiry, securityCode string) (string, error) {
	era, err := EraYYMMDD(birth)
	if err != nil {
		return "", err
	}
	if _, err := parseDate(expiry); err != nil {
		return "", err
	}
	if len(securityCode) != 4 || !digits([]byte(securityCode)) {
		return "", malformed("security code: want 4 digits")
	}
	return era + expiry[:4] + securityCode, nil
}
