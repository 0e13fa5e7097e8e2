package onshi

import (
	"errors"
	"fmt"
	"time"
)

// Person is one insured person (被保険者) as the service keeps them: the qualification records and
// the medical data shown to 医療情報閲覧 accounts with consent. The service identifies a person by
// the JPKI auth certificate enrolled to their ID (Config.Enrollments), never by My Number.
// Validity codes (資格有効性): 1 有効, 2 無効, 3 無効(新しい資格あり), 4 該当資格なし, 5 複数該当.
type Person struct {
	ID             string
	Name           string // 漢字, U+3000 between family and given name
	Kana           string // full-width katakana
	Sex            int    // JIS X 0303: 0 unknown, 1 male, 2 female, 9 not applicable
	BirthDate      string // YYYY-MM-DD
	Address        string
	Validity       int // 1..5
	Qualifications []Qualification
	Medications    []Medication
	Clinical       []Clinical
	Checkups       []Checkup
}

// Qualification is one insurance qualification (資格).
type Qualification struct {
	InsurerNumber        string // 保険者番号, 6 or 8 digits
	InsurerName          string
	Symbol               string // 被保険者証記号
	Number               string // 被保険者証番号
	Branch               string // 枝番, 2 digits
	Relationship         string // 本人 | 家族
	QualificationDate    string
	LossDate             string // empty: active
	CardValidFrom        string
	CardValidUntil       string
	ContributionRatio    string // 負担割合 "010" | "020" | "030"
	ElderlyRecipient     *ElderlyRecipient
	LimitClass           string // 限度額適用区分
	LimitClassValidUntil string
}

// ElderlyRecipient is 高齢受給者 information.
type ElderlyRecipient struct {
	ContributionRatio string
	ValidFrom         string
	ValidUntil        string
}

// Medication is one dispensed drug (薬剤情報).
type Medication struct {
	Date      string
	Drug      string
	Dose      string
	Days      int
	Dispenser string
}

// Clinical is one clinical event (診療情報; kind 手術 for 手術情報).
type Clinical struct {
	Date        string
	Kind        string
	Description string
	Institution string
}

// Checkup is one 特定健診 measurement.
type Checkup struct {
	Date  string
	Item  string
	Value string
	Unit  string
}

// Active reports whether the qualification has no loss date.
func (q Qualification) Active() bool { return q.LossDate == "" }

func checkDate(name, s string, optional bool) error {
	if s == "" && optional {
		return nil
	}
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return fmt.Errorf("%s %q is not YYYY-MM-DD", name, s)
	}
	return nil
}

// Validate checks a record as the service requires it: names and address present, kana in
// full-width katakana, a JIS X 0303 sex code, dates YYYY-MM-DD, and a validity code that agrees
// with the qualifications. Open refuses a configuration with an invalid record.
func (p *Person) Validate() error {
	if p.ID == "" {
		return errors.New("empty id")
	}
	if p.Name == "" || p.Address == "" {
		return errors.New("name and address are required")
	}
	if !IsFullWidthKatakana(p.Kana) {
		return fmt.Errorf("kana %q is not full-width katakana", p.Kana)
	}
	switch p.Sex {
	case 0, 1, 2, 9:
	default:
		return fmt.Errorf("sex %d is not a JIS X 0303 code", p.Sex)
	}
	if err := checkDate("birth_date", p.BirthDate, false); err != nil {
		return err
	}
	active := 0
	for i, q := range p.Qualifications {
		if q.InsurerNumber == "" || q.InsurerName == "" || q.Number == "" || len(q.Branch) != 2 {
			return fmt.Errorf("qualification %d: insurer number, name, number and 2-digit branch are required", i)
		}
		if q.Relationship != "本人" && q.Relationship != "家族" {
			return fmt.Errorf("qualification %d: relationship must be 本人 or 家族", i)
		}
		if len(q.ContributionRatio) != 3 {
			return fmt.Errorf("qualification %d: contribution_ratio must be 3 digits", i)
		}
		for _, d := range []struct {
			n, v string
			opt  bool
		}{{"qualification_date", q.QualificationDate, false}, {"loss_date", q.LossDate, true},
			{"card_valid_from", q.CardValidFrom, false}, {"card_valid_until", q.CardValidUntil, true},
			{"limit_class_valid_until", q.LimitClassValidUntil, true}} {
			if err := checkDate(d.n, d.v, d.opt); err != nil {
				return fmt.Errorf("qualification %d: %w", i, err)
			}
		}
		if q.Active() {
			active++
		}
	}
	lost := len(p.Qualifications) - active
	ok := false
	switch p.Validity {
	case 1: // 有効
		ok = active == 1
	case 2: // 無効
		ok = active == 0 && lost > 0
	case 3: // 無効(新しい資格あり)
		ok = active >= 1 && lost >= 1
	case 4: // 該当資格なし
		ok = len(p.Qualifications) == 0
	case 5: // 複数該当
		ok = active >= 2
	}
	if !ok {
		return fmt.Errorf("validity %d contradicts %d active and %d lost qualifications", p.Validity, active, lost)
	}
	for _, m := range p.Medications {
		if err := checkDate("medication date", m.Date, false); err != nil {
			return err
		}
	}
	for _, c := range p.Clinical {
		if err := checkDate("clinical date", c.Date, false); err != nil {
			return err
		}
	}
	for _, c := range p.Checkups {
		if err := checkDate("checkup date", c.Date, false); err != nil {
			return err
		}
	}
	return nil
}
