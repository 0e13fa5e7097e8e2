package onshi

import (
	"errors"
	"fmt"
	"regexp"
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
	PostalCode     string // 郵便番号 "NNN-NNNN"; may be empty
	Validity       int    // 1..5
	Qualifications []Qualification
	PublicExpenses []PublicExpense // 公費
	Medications    []Medication
	Clinical       []Clinical
	Checkups       []Checkup
}

// Qualification is one insurance qualification (資格), with the fields of the real system's
// 資格確認結果 (API.md names the source of each).
type Qualification struct {
	CardClass         string // 被保険者証区分 "01".."07" (CardClasses)
	InsurerNumber     string // 保険者番号: 8 digits, or 6 for 国民健康保険, with its check digit
	InsurerName       string
	Symbol            string // 被保険者証記号
	Number            string // 被保険者証番号
	Branch            string // 枝番, 2 digits
	Relationship      string // 本人 | 家族
	InsuredName       string // 被保険者氏名（世帯主氏名）: for 家族, whose insurance it is
	QualificationDate string
	LossDate          string // empty: active
	LossReason        string // 資格喪失事由 "01" 死亡, "02" 生活保護受給開始, "03" 医療保険等の資格取得, "99" その他
	CardIssuedOn      string // 被保険者証交付年月日
	CardValidFrom     string
	CardValidUntil    string
	ContributionRatio string // 一部負担金割合 "010" | "020" | "030"
	Preschool         bool   // 未就学区分 1
	ElderlyRecipient  *ElderlyRecipient
	LimitCertificate  *LimitCertificate // 限度額適用認定証関連情報: shown only with its own consent item
	SpecificDiseases  []SpecificDisease // 特定疾病療養受療証: shown only with its own consent item
}

// ElderlyRecipient is 高齢受給者証 information.
type ElderlyRecipient struct {
	IssuedOn          string // 交付年月日
	ContributionRatio string
	ValidFrom         string
	ValidUntil        string
}

// LimitCertificate is 限度額適用認定証関連情報.
type LimitCertificate struct {
	Classification string // 限度額適用認定証区分 "01".."03" (LimitClassifications)
	Category       string // 適用区分 "A01".."B10" (LimitCategories)
	IssuedOn       string
	ValidFrom      string
	ValidUntil     string
	LongTermFrom   string // 長期入院該当年月日; may be empty
}

// SpecificDisease is one 特定疾病療養受療証.
type SpecificDisease struct {
	Category   string // 認定疾病区分 "1".."3" (SpecificDiseaseCategories)
	IssuedOn   string
	ValidFrom  string
	ValidUntil string
	SelfPay    int // 自己負担限度額, yen per month
}

// PublicExpense is one 公費 (public expense) entitlement.
type PublicExpense struct {
	Name            string // e.g. 子ども医療費助成
	PayerNumber     string // 公費負担者番号, 8 digits
	RecipientNumber string // 公費受給者番号, 7 digits (may be empty for some programmes)
	ValidFrom       string
	ValidUntil      string
}

// Code tables of the 資格確認結果 (API.md: source).
var (
	CardClasses = map[string]string{"01": "被保険者証（一般）", "02": "被保険者証（退職）", "03": "短期被保険者証（一般）",
		"04": "短期被保険者証（退職）", "05": "被保険者資格証明書", "06": "特例退職被保険者証", "07": "自衛官診療証"}
	LossReasons          = map[string]string{"01": "死亡", "02": "生活保護受給開始", "03": "医療保険等の資格取得", "99": "その他"}
	LimitClassifications = map[string]string{"01": "限度額適用区分認定証", "02": "限度額適用・標準負担額減額認定証", "03": "標準負担額減額認定証"}
	LimitCategories      = map[string]string{"A01": "ア", "A02": "イ", "A03": "ウ", "A04": "エ", "A05": "オ", "A06": "オ（境）",
		"B01": "現役並みⅢ", "B02": "現役並みⅡ", "B03": "現役並みⅠ", "B04": "一般", "B05": "低所得Ⅱ", "B06": "低所得Ⅰ",
		"B07": "低所得Ⅰ（老福）", "B08": "低所得Ⅰ（境）", "B09": "一般Ⅱ", "B10": "一般Ⅰ"}
	SpecificDiseaseCategories = map[string]string{"1": "人工透析を必要とする慢性腎不全", "2": "先天性血液凝固因子障害（第VIII因子、第IX因子）",
		"3": "血液凝固因子製剤の投与に起因するHIV感染症"}
)

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

var postalCodeRE = regexp.MustCompile(`^[0-9]{3}-[0-9]{4}$`)

func dates(errs ...error) error { return errors.Join(errs...) }

func (q *Qualification) validate() error {
	if q.InsurerName == "" || q.Number == "" || len(q.Branch) != 2 {
		return errors.New("insurer name, number and 2-digit branch are required")
	}
	if !ValidInsurerNumber(q.InsurerNumber) {
		return fmt.Errorf("insurer number %q is not 8 (or 6) digits with a valid check digit", q.InsurerNumber)
	}
	if _, ok := CardClasses[q.CardClass]; !ok {
		return fmt.Errorf("card class %q is not a 被保険者証区分 code", q.CardClass)
	}
	if q.Relationship != "本人" && q.Relationship != "家族" {
		return errors.New("relationship must be 本人 or 家族")
	}
	if q.Relationship == "家族" && q.InsuredName == "" {
		return errors.New("a 家族 qualification names the insured (insured_name)")
	}
	if len(q.ContributionRatio) != 3 {
		return errors.New("contribution_ratio must be 3 digits")
	}
	if _, ok := LossReasons[q.LossReason]; q.LossReason != "" && (!ok || q.LossDate == "") {
		return fmt.Errorf("loss reason %q: a 資格喪失事由 code, with a loss date", q.LossReason)
	}
	err := dates(checkDate("qualification_date", q.QualificationDate, false), checkDate("loss_date", q.LossDate, true),
		checkDate("card_issued_on", q.CardIssuedOn, true), checkDate("card_valid_from", q.CardValidFrom, false),
		checkDate("card_valid_until", q.CardValidUntil, true))
	if err != nil {
		return err
	}
	if e := q.ElderlyRecipient; e != nil {
		if err := dates(checkDate("elderly issued_on", e.IssuedOn, true), checkDate("elderly valid_from", e.ValidFrom, false),
			checkDate("elderly valid_until", e.ValidUntil, false)); err != nil {
			return err
		}
	}
	if l := q.LimitCertificate; l != nil {
		if _, ok := LimitClassifications[l.Classification]; !ok {
			return fmt.Errorf("limit certificate classification %q", l.Classification)
		}
		if _, ok := LimitCategories[l.Category]; !ok {
			return fmt.Errorf("limit certificate category %q", l.Category)
		}
		if err := dates(checkDate("limit issued_on", l.IssuedOn, true), checkDate("limit valid_from", l.ValidFrom, false),
			checkDate("limit valid_until", l.ValidUntil, false), checkDate("limit long_term_from", l.LongTermFrom, true)); err != nil {
			return err
		}
	}
	for _, d := range q.SpecificDiseases {
		if _, ok := SpecificDiseaseCategories[d.Category]; !ok || d.SelfPay < 0 {
			return fmt.Errorf("specific disease category %q, self pay %d", d.Category, d.SelfPay)
		}
		if err := dates(checkDate("disease issued_on", d.IssuedOn, true), checkDate("disease valid_from", d.ValidFrom, false),
			checkDate("disease valid_until", d.ValidUntil, true)); err != nil {
			return err
		}
	}
	return nil
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
	if p.PostalCode != "" && !postalCodeRE.MatchString(p.PostalCode) {
		return fmt.Errorf("postal code %q is not NNN-NNNN", p.PostalCode)
	}
	active := 0
	for i, q := range p.Qualifications {
		if err := q.validate(); err != nil {
			return fmt.Errorf("qualification %d: %w", i, err)
		}
		if q.Active() {
			active++
		}
	}
	for i, e := range p.PublicExpenses {
		if e.Name == "" || len(e.PayerNumber) != 8 || !allDigits(e.PayerNumber) ||
			(e.RecipientNumber != "" && (len(e.RecipientNumber) != 7 || !allDigits(e.RecipientNumber))) {
			return fmt.Errorf("public expense %d: name, 8-digit payer number and 7-digit recipient number", i)
		}
		if err := dates(checkDate("valid_from", e.ValidFrom, false), checkDate("valid_until", e.ValidUntil, true)); err != nil {
			return fmt.Errorf("public expense %d: %w", i, err)
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
