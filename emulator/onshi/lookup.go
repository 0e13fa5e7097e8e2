package onshi

import (
	"database/sql"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/mynaconform/mynaconform/emulator/onshi/api"
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

// result builds the 資格確認結果 of a consent.
func (s *Server) result(c *consentRow) api.QualificationResult {
	p := s.people[c.personID]
	res := api.QualificationResult{ConsentID: c.ID, IdentifiedBy: c.Mode, ConfirmedAt: c.GivenAt,
		Qualifications: []api.Qualification{}}
	if p == nil { // the record was removed from the configuration since
		res.Validity, res.ValidityLabel = api.ValidityNone, api.ValidityLabel(api.ValidityNone)
		return res
	}
	res.Validity, res.ValidityLabel = p.Validity, api.ValidityLabel(p.Validity)
	res.Name, res.NameKana, res.Sex, res.SexLabel = p.Name, p.Kana, p.Sex, sexLabel(p.Sex)
	res.BirthDate, res.Address = p.BirthDate, p.Address
	for _, q := range p.Qualifications {
		aq := api.Qualification{InsurerNumber: q.InsurerNumber, InsurerName: q.InsurerName, Symbol: q.Symbol,
			Number: q.Number, Branch: q.Branch, Relationship: q.Relationship, QualificationDate: q.QualificationDate,
			LossDate: q.LossDate, CardValidFrom: q.CardValidFrom, CardValidUntil: q.CardValidUntil,
			ContributionRatio: q.ContributionRatio, LimitClass: q.LimitClass, LimitClassValidity: q.LimitClassValidUntil}
		if e := q.ElderlyRecipient; e != nil {
			aq.ElderlyRecipient = &api.ElderlyRecipient{ContributionRatio: e.ContributionRatio, ValidFrom: e.ValidFrom, ValidUntil: e.ValidUntil}
		}
		res.Qualifications = append(res.Qualifications, aq)
	}
	item := func(on bool) api.ItemConsent {
		if !on || c.RevokedAt != nil {
			return api.ItemConsent{}
		}
		return api.ItemConsent{Consented: true, ValidUntil: c.ValidUntil}
	}
	res.Consent = api.ConsentFlags{Medication: item(c.Items.Medication), Clinical: item(c.Items.Clinical), Checkup: item(c.Items.Checkup)}
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
// people who consented at this institution, with a consent in force, are found.
func (s *Server) search(w http.ResponseWriter, r *http.Request) (int, any, error) {
	se, a, err := s.appSession(r)
	if err != nil {
		return 0, nil, err
	}
	var req api.SearchRequest
	if err := s.decode(w, r, &req); err != nil {
		return 0, nil, err
	}
	a.action = "qualification.search"
	byID, byRange, byKana := req.ConsentID != "", req.From != "" || req.To != "", req.NameKana != ""
	n := 0
	for _, b := range []bool{byID, byRange, byKana} {
		if b {
			n++
		}
	}
	if n != 1 {
		return 0, nil, s.refuse(a, api.New(api.CodeSearchCriteria, ""))
	}
	now := s.now()
	out := api.SearchResponse{Results: []api.QualificationResult{}}
	switch {
	case byID:
		a.target = req.ConsentID
		c, err := s.consentOf(se, req.ConsentID)
		if err != nil {
			return 0, nil, s.refuse(a, err)
		}
		out.Results = append(out.Results, s.result(c))
	case byRange:
		from, err1 := parseDate(req.From)
		to, err2 := parseDate(req.To)
		if err1 != nil || err2 != nil || to.Before(from) || to.Sub(from).Hours() > 24*366 {
			return 0, nil, s.refuse(a, api.New(api.CodeSearchCriteria, "from and to are dates YYYY-MM-DD, from <= to, at most a year apart"))
		}
		a.target = req.From + ".." + req.To
		rows, err := s.st.qConsentsRange.Query(se.institution, from.UnixNano(), to.AddDate(0, 0, 1).UnixNano())
		if err != nil {
			return 0, nil, err
		}
		if err := s.collect(rows, now, nil, &out); err != nil {
			return 0, nil, err
		}
	case byKana:
		q := normKana(req.NameKana)
		if !isKanaQuery(q) {
			return 0, nil, s.refuse(a, api.New(api.CodeSearchCriteria, "name_kana must be katakana"))
		}
		a.target = "kana"
		rows, err := s.st.qConsentsInst.Query(se.institution)
		if err != nil {
			return 0, nil, err
		}
		match := func(c *consentRow) bool {
			p := s.people[c.personID]
			return p != nil && strings.Contains(normKana(p.Kana), q)
		}
		if err := s.collect(rows, now, match, &out); err != nil {
			return 0, nil, err
		}
	}
	if err := s.audit(a, nil); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

// collect adds the newest consent in force per person.
func (s *Server) collect(rows *sql.Rows, now time.Time, match func(*consentRow) bool, out *api.SearchResponse) error {
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			return err
		}
		if seen[c.personID] || c.state(now) != nil || (match != nil && !match(c)) {
			continue
		}
		seen[c.personID] = true
		out.Results = append(out.Results, s.result(c))
	}
	return rows.Err()
}

// medical serves 薬剤情報, 診療情報 (手術情報を含む) and 特定健診等情報: only to 医療情報閲覧
// accounts, and only for items the patient consented to.
func (s *Server) medical(item string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		se, a, err := s.appSession(r)
		if err != nil {
			return 0, nil, err
		}
		id := r.PathValue("id")
		a.action, a.target = "medical."+item, id
		if se.role != api.RoleMedical {
			return 0, nil, s.refuse(a, api.New(api.CodeMedicalInfoNotPermitted, ""))
		}
		c, err := s.consentOf(se, id)
		if err != nil {
			return 0, nil, s.refuse(a, err)
		}
		granted := map[string]bool{"medication": c.Items.Medication, "clinical": c.Items.Clinical, "checkup": c.Items.Checkup}[item]
		if !granted {
			return 0, nil, s.refuse(a, api.New(api.CodeConsentItemNotGranted, item))
		}
		p := s.people[c.personID]
		if p == nil {
			return 0, nil, s.refuse(a, api.New(api.CodePersonUnknown, ""))
		}
		var body any
		switch item {
		case "medication":
			res := api.MedicationResponse{ConsentID: id, Entries: []api.MedicationEntry{}}
			for _, m := range p.Medications {
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
		if err := s.audit(a, nil); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, body, nil
	}
}
