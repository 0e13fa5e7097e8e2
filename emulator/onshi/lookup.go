package onshi

import (
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

func sexLabel(sex int) string {
	switch sex {
	case 1:
		return "男"
	case 2:
		return "女"
	case 9:
		return "適用不能"
	}
	return "不明"
}

func codeLabel(table map[string]string, code string) api.CodeLabel {
	return api.CodeLabel{Code: code, Label: table[code]}
}

// prescriptionCodes are the 処方箋発行形態 codes of the real result (1 電子処方箋, 2 紙の処方箋).
var prescriptionCodes = map[string]api.CodeLabel{
	api.PrescriptionElectronic: {Code: "1", Label: "電子処方箋"},
	api.PrescriptionPaper:      {Code: "2", Label: "紙の処方箋"},
}

// result builds the 資格確認結果 of a consent. 限度額適用 and 特定疾病 are shown only when the
// consent has their own items (限度額適用認定証提供同意, 特定疾病療養受療証提供同意).
func (s *Server) result(c *consentRow) api.QualificationResult {
	p := s.people[c.personID]
	res := api.QualificationResult{ConsentID: c.ID, IdentifiedBy: c.Mode, ConfirmedAt: c.GivenAt,
		Qualifications: []api.Qualification{}, PublicExpenses: []api.PublicExpense{}}
	if pi, ok := prescriptionCodes[c.prescription]; ok {
		res.PrescriptionIssue = &pi
	}
	item := func(on bool) api.ItemConsent {
		if !on || c.RevokedAt != nil {
			return api.ItemConsent{}
		}
		return api.ItemConsent{Consented: true, ValidUntil: c.ValidUntil}
	}
	res.Consent = api.ConsentFlags{Medication: item(c.Items.Medication), Clinical: item(c.Items.Clinical), Checkup: item(c.Items.Checkup),
		LimitCertificate: item(c.limitCert), SpecificDisease: item(c.disease)}
	if p == nil { // the record was removed from the configuration since
		res.Validity, res.ValidityLabel = api.ValidityNone, api.ValidityLabel(api.ValidityNone)
		return res
	}
	res.Validity, res.ValidityLabel = p.Validity, api.ValidityLabel(p.Validity)
	res.Name, res.NameKana, res.Sex, res.SexLabel = p.Name, p.Kana, p.Sex, sexLabel(p.Sex)
	res.BirthDate, res.Address, res.PostalCode = p.BirthDate, p.Address, p.PostalCode
	for _, q := range p.Qualifications {
		aq := api.Qualification{CardClass: codeLabel(CardClasses, q.CardClass), InsurerNumber: q.InsurerNumber, InsurerName: q.InsurerName,
			Symbol: q.Symbol, Number: q.Number, Branch: q.Branch, Relationship: q.Relationship, InsuredName: q.InsuredName,
			QualificationDate: q.QualificationDate, LossDate: q.LossDate, CardIssuedOn: q.CardIssuedOn, CardValidFrom: q.CardValidFrom,
			CardValidUntil: q.CardValidUntil, ContributionRatio: q.ContributionRatio, Preschool: q.Preschool}
		if q.LossReason != "" {
			lr := codeLabel(LossReasons, q.LossReason)
			aq.LossReason = &lr
		}
		if e := q.ElderlyRecipient; e != nil {
			aq.ElderlyRecipient = &api.ElderlyRecipient{IssuedOn: e.IssuedOn, ContributionRatio: e.ContributionRatio, ValidFrom: e.ValidFrom, ValidUntil: e.ValidUntil}
		}
		if l := q.LimitCertificate; l != nil && res.Consent.LimitCertificate.Consented {
			aq.LimitCertificate = &api.LimitCertificate{Classification: codeLabel(LimitClassifications, l.Classification),
				Category: codeLabel(LimitCategories, l.Category), IssuedOn: l.IssuedOn, ValidFrom: l.ValidFrom, ValidUntil: l.ValidUntil,
				LongTermFrom: l.LongTermFrom}
		}
		if res.Consent.SpecificDisease.Consented {
			for _, d := range q.SpecificDiseases {
				aq.SpecificDiseases = append(aq.SpecificDiseases, api.SpecificDisease{Category: codeLabel(SpecificDiseaseCategories, d.Category),
					IssuedOn: d.IssuedOn, ValidFrom: d.ValidFrom, ValidUntil: d.ValidUntil, SelfPay: d.SelfPay})
			}
		}
		res.Qualifications = append(res.Qualifications, aq)
	}
	for _, e := range p.PublicExpenses {
		res.PublicExpenses = append(res.PublicExpenses, api.PublicExpense(e))
	}
	return res
}

// consentOf loads a consent of the session's institution that is in force.
func (s *Server) consentOf(se *session, id string) (*consentRow, error) {
	c, err := scanConsent(s.st.qConsent.QueryRow(id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && c.institution != se.institution) {
		return nil, api.New(api.CodeConsentUnknown, "")
	}
	if err != nil {
		return nil, err
	}
	if err := c.state(s.now()); err != nil {
		return nil, err
	}
	return c, nil
}

// search is 資格確認結果検索: by consent ID, by consent date range, or by name (kana). Only
// people who consented at this institution, with a consent in force, are found: each person
// once, with their newest consent in force (in the range, for a range search), newest first.
// Every matching person is returned, page by page (SearchRequest.Limit, NextCursor).
func (s *Server) search(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, err := s.auth(r, false)
	if err != nil {
		return 0, nil, err
	}
	ri := info(r)
	var req api.SearchRequest
	if err := s.decode(w, r, &req); err != nil {
		return 0, nil, err
	}
	byID, byRange, byKana := req.ConsentID != "", req.From != "" || req.To != "", req.NameKana != ""
	n := 0
	for _, b := range []bool{byID, byRange, byKana} {
		if b {
			n++
		}
	}
	if n != 1 {
		return 0, nil, api.New(api.CodeSearchCriteria, "")
	}
	limit := req.Limit
	switch {
	case limit == 0:
		limit = 100
	case limit < 1 || limit > 500:
		return 0, nil, api.New(api.CodeInvalidField, "limit must be 1..500")
	}
	now := s.now()
	out := api.SearchResponse{Results: []api.QualificationResult{}}
	if byID {
		ri.target = req.ConsentID
		if req.Cursor != "" {
			return 0, nil, api.New(api.CodeCursorInvalid, "a search by consent ID has one page")
		}
		c, err := s.consentOf(&se.session, req.ConsentID)
		if err != nil {
			return 0, nil, err
		}
		out.Results = append(out.Results, s.result(c))
		return http.StatusOK, out, nil
	}
	var lo, hi int64 = 0, math.MaxInt64
	var people any // nil: everyone; else a JSON array of person IDs
	var criteria string
	if byRange {
		from, err1 := parseDate(req.From)
		to, err2 := parseDate(req.To)
		if err1 != nil || err2 != nil || to.Before(from) || to.Sub(from).Hours() > 24*366 {
			return 0, nil, api.New(api.CodeSearchCriteria, "from and to are dates YYYY-MM-DD, from <= to, at most a year apart")
		}
		ri.target = req.From + ".." + req.To
		lo, hi = from.UnixNano(), to.AddDate(0, 0, 1).UnixNano()
		criteria = "range:" + req.From + ".." + req.To
	} else {
		q := normKana(req.NameKana)
		if !isKanaQuery(q) {
			return 0, nil, api.New(api.CodeSearchCriteria, "name_kana must be katakana")
		}
		ri.target = "kana"
		ids := []string{}
		for id, p := range s.people {
			if strings.Contains(normKana(p.Kana), q) {
				ids = append(ids, id)
			}
		}
		b, _ := json.Marshal(ids)
		people = string(b)
		criteria = "kana:" + q
	}
	after := searchCursor{Given: math.MaxInt64, ID: "\uffff"}
	if req.Cursor != "" {
		var err error
		if after, err = parseCursor(req.Cursor, se.institution, criteria); err != nil {
			return 0, nil, err
		}
	}
	rows, err := s.st.qSearch.Query(se.institution, lo, hi, dateOf(now), people, after.Given, after.ID, limit+1)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	var last *consentRow
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			return 0, nil, err
		}
		if len(out.Results) == limit {
			out.NextCursor = makeCursor(se.institution, criteria, last)
			break
		}
		out.Results = append(out.Results, s.result(c))
		last = c
	}
	return http.StatusOK, out, rows.Err()
}

// monthRange parses the 診療年月 range of 薬剤情報 (?from=YYYY-MM&to=YYYY-MM, both or neither; at
// most 36 months). Neither: every month.
func monthRange(from, to string) (string, string, error) {
	if from == "" && to == "" {
		return "0000-00", "9999-99", nil
	}
	f, err1 := time.Parse("2006-01", from)
	t, err2 := time.Parse("2006-01", to)
	if err1 != nil || err2 != nil || t.Before(f) || t.After(f.AddDate(0, 35, 0)) {
		return "", "", api.New(api.CodeMonthRangeInvalid, "")
	}
	return from, to, nil
}

// searchCursor is the position after the last result of a page: results are ordered by
// (given_at, consent ID) descending. It is bound to the institution and the criteria.
type searchCursor struct {
	Given int64  `json:"g"`
	ID    string `json:"i"`
	Bind  string `json:"b"`
}

func cursorBinding(inst, criteria string) string {
	h := sha256.Sum256([]byte(inst + "\x00" + criteria))
	return hex.EncodeToString(h[:8])
}

func makeCursor(inst, criteria string, c *consentRow) string {
	b, _ := json.Marshal(searchCursor{Given: c.GivenAt.UnixNano(), ID: c.ID, Bind: cursorBinding(inst, criteria)})
	return base64.RawURLEncoding.EncodeToString(b)
}

func parseCursor(s, inst, criteria string) (searchCursor, error) {
	var c searchCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || c.Bind != cursorBinding(inst, criteria) || c.ID == "" {
		return c, api.New(api.CodeCursorInvalid, "")
	}
	return c, nil
}

// medical serves 薬剤情報, 診療情報 (手術情報を含む) and 特定健診等情報: only to 医療情報閲覧
// accounts, and only for items the patient consented to.
func (s *Server) medical(item string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		se, err := s.auth(r, false)
		if err != nil {
			return 0, nil, err
		}
		id := r.PathValue("id")
		info(r).target = id
		if se.role != api.RoleMedical {
			return 0, nil, api.New(api.CodeMedicalInfoNotPermitted, "")
		}
		c, err := s.consentOf(&se.session, id)
		if err != nil {
			return 0, nil, err
		}
		granted := map[string]bool{"medication": c.Items.Medication, "clinical": c.Items.Clinical, "checkup": c.Items.Checkup}[item]
		if !granted {
			return 0, nil, api.New(api.CodeConsentItemNotGranted, item)
		}
		p := s.people[c.personID]
		if p == nil {
			return 0, nil, api.New(api.CodePersonUnknown, "")
		}
		var body any
		switch item {
		case "medication":
			from, to, err := monthRange(r.URL.Query().Get("from"), r.URL.Query().Get("to"))
			if err != nil {
				return 0, nil, err
			}
			res := api.MedicationResponse{ConsentID: id, Entries: []api.MedicationEntry{}}
			for _, m := range p.Medications {
				if month := m.Date[:7]; month < from || month > to {
					continue
				}
				res.Entries = append(res.Entries, api.MedicationEntry{Date: m.Date, Drug: m.Drug, Dose: m.Dose, Days: m.Days, Dispenser: m.Dispenser})
			}
			body = res
		case "clinical":
			res := api.ClinicalResponse{ConsentID: id, Entries: []api.ClinicalEntry{}}
			for _, e := range p.Clinical {
				res.Entries = append(res.Entries, api.ClinicalEntry{Date: e.Date, Kind: e.Kind, Description: e.Description, Institution: e.Institution})
			}
			body = res
		default:
			res := api.CheckupResponse{ConsentID: id, Entries: []api.CheckupEntry{}}
			for _, e := range p.Checkups {
				res.Entries = append(res.Entries, api.CheckupEntry{Date: e.Date, Item: e.Item, Value: e.Value, Unit: e.Unit})
			}
			body = res
		}
		return http.StatusOK, body, nil
	}
}
