package onshi

import (
	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

// Check digits (検証番号) of the numbers the service takes. Both follow the method of the MHLW
// 保険者番号設定要領: multiply the digits by 2 and 1 alternately starting from the last digit before
// the check digit, add the products (the two digits of a two-digit product separately), and the
// check digit is 10 minus the last digit of the sum (0 when that digit is 0). API.md names the
// public sources.

// checkDigit computes the 検証番号 of digits (ASCII, without the check digit); -1 if not digits.
func checkDigit(digits string) int {
	sum := 0
	for i := 0; i < len(digits); i++ {
		c := digits[len(digits)-1-i]
		if c < '0' || c > '9' {
			return -1
		}
		d := int(c - '0')
		if i%2 == 0 {
			d *= 2
			d = d/10 + d%10
		}
		sum += d
	}
	return (10 - sum%10) % 10
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// ValidInstitutionCode reports whether code is a 10-digit 医療機関コード: 都道府県番号 (01-47),
// 点数表番号, 郡市区番号 (2), 医療機関番号 (4) and the 検証番号, computed over the nine digits before
// it (the prefecture and table digits are part of the computation).
func ValidInstitutionCode(code string) bool {
	if len(code) != 10 || !allDigits(code) {
		return false
	}
	pref := int(code[0]-'0')*10 + int(code[1]-'0')
	return pref >= 1 && pref <= 47 && checkDigit(code[:9]) == int(code[9]-'0')
}

// ValidInsurerNumber reports whether n is a 保険者番号: 8 digits (法別番号 2, 都道府県番号 2,
// 保険者別番号 3, 検証番号) or 6 digits for 国民健康保険 (都道府県番号 2, 保険者別番号 3, 検証番号),
// the check digit over the digits before it.
func ValidInsurerNumber(n string) bool {
	if (len(n) != 8 && len(n) != 6) || !allDigits(n) {
		return false
	}
	return checkDigit(n[:len(n)-1]) == int(n[len(n)-1]-'0')
}

func checkInstitutionCode(code string) error {
	if len(code) != 10 || !allDigits(code) {
		return api.New(api.CodeInstitutionCodeFormat, "")
	}
	if !ValidInstitutionCode(code) {
		return api.New(api.CodeInstitutionCodeFormat, "the prefecture number or the check digit (検証番号, the last digit) is wrong")
	}
	return nil
}
