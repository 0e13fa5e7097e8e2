package onshi

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/formats/mynumber"
	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

// searchServer is a server with n synthetic insured people and one app session of inst.
func searchServer(t *testing.T, n int) (*Server, string, *FakeClock) {
	t.Helper()
	pki, err := fixtures.PKI()
	if err != nil {
		t.Fatal(err)
	}
	clock := NewFakeClock(time.Date(2027, 3, 31, 12, 0, 0, 0, jst))
	kana := []rune("アイウエオカキクケコサシスセソタチツテト")
	var people []Person
	for i := range n {
		k := string([]rune{kana[i%20], kana[(i/20)%20], kana[(i/400)%20]})
		people = append(people, Person{ID: fmt.Sprintf("P%04d", i), Name: "試験 患者", Kana: "シケン　" + k, Sex: 1,
			BirthDate: "1950-01-01", Address: "試験町", Validity: 4})
	}
	s, err := Open(t.TempDir(), Config{Clock: clock, AuthRoots: []*x509.Certificate{pki.AuthCA}, CardFaceCAs: []*rsa.PublicKey{&pki.FaceIssuerKey.PublicKey},
		TerminalCA: pki.TerminalCAKey, TerminalCAID: mynumber.MustKeyID("6000016/001"), People: people, PasswordIterations: 1000, Synchronous: "NORMAL",
		Institutions: []InstitutionConfig{{Code: "1310123458", Name: "試験", AdminUser: "admin", AdminPassword: "AdminPass123"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.institutions["1310123458"].homeVisit = true
	tok, err := s.newSession(&session{institution: "1310123458", userID: "doc01", role: api.RoleMedical, deviceID: "DV1"})
	if err != nil {
		t.Fatal(err)
	}
	return s, tok.Token, clock
}

type seeded struct {
	id, person string
	given      time.Time
	revoked    bool
	validUntil string
}

func seedConsents(t *testing.T, s *Server, rows []seeded) {
	t.Helper()
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), 5000)]
		rows = rows[len(chunk):]
		err := s.st.write(&writeOp{at: s.now(), audit: auditRec{action: "test.seed"}, apply: func(tx *sql.Tx, _ *auditRec) error {
			for _, c := range chunk {
				if _, err := tx.Stmt(s.st.insConsent).Exec(c.id, "1310123458", c.person, "h", "DV1", "doc01", "pin", 1, 0, 0, 0, 0, "",
					c.given.UnixNano(), c.validUntil); err != nil {
					return err
				}
				if c.revoked {
					if _, err := tx.Exec(`UPDATE consents SET revoked_at = ? WHERE id = ?`, c.given.UnixNano()+1, c.id); err != nil {
						return err
					}
				}
			}
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func searchPage(t *testing.T, s *Server, tok string, req api.SearchRequest) (int, api.SearchResponse, *api.Error) {
	t.Helper()
	body, _ := json.Marshal(req)
	r := httptest.NewRequest(http.MethodPost, "/v1/app/qualifications/search", bytes.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	var out api.SearchResponse
	if w.Code != http.StatusOK {
		var eb api.ErrorBody
		json.Unmarshal(w.Body.Bytes(), &eb)
		return w.Code, out, eb.Error
	}
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	return w.Code, out, nil
}

// searchAll follows the cursors and returns the consent IDs in the order received.
func searchAll(t *testing.T, s *Server, tok string, req api.SearchRequest) []string {
	t.Helper()
	var ids []string
	for pages := 0; ; pages++ {
		st, page, e := searchPage(t, s, tok, req)
		if st != http.StatusOK {
			t.Fatalf("page %d: %d %+v", pages, st, e)
		}
		if len(page.Results) > req.Limit {
			t.Fatalf("page %d has %d results, limit %d", pages, len(page.Results), req.Limit)
		}
		for _, r := range page.Results {
			ids = append(ids, r.ConsentID)
		}
		if page.NextCursor == "" {
			return ids
		}
		req.Cursor = page.NextCursor
	}
}

// The clinic of the issue re-consents a patient at every visit: 10,000 consents of one patient
// are the newest rows, and 600 other patients consented once or a few times over the year, some
// revoked, some expired. A one-year date-range search and a kana search return every patient
// with a consent in force exactly once (their newest such consent), page by page, newest first;
// before, the search cut at the newest 500 (range) or 5,000 (kana) rows and lost patients.
func TestSearchReturnsEveryPersonAcrossPages(t *testing.T) {
	const others = 600
	s, tok, clock := searchServer(t, others+1)
	now := clock.Now()
	yearAgo := now.AddDate(-1, 0, 1)
	rng := rand.New(rand.NewPCG(1, 2))
	var rows []seeded
	n := 0
	add := func(person string, given time.Time, revoked bool, validUntil string) {
		n++
		rows = append(rows, seeded{id: fmt.Sprintf("CN%08d", n), person: person, given: given, revoked: revoked, validUntil: validUntil})
	}
	for i := range 10000 { // the patient seen at every visit, the newest consents of all
		add("P0000", now.Add(-time.Duration(i)*time.Minute), false, "")
	}
	for i := 1; i <= others; i++ {
		p := fmt.Sprintf("P%04d", i)
		for range 1 + rng.IntN(3) {
			add(p, yearAgo.Add(time.Duration(rng.Int64N(int64(300*24*time.Hour)))), false, "")
		}
		switch i % 10 {
		case 7: // their only consent in force was revoked: still found through the others above
			add(p, now.Add(-48*time.Hour), true, "")
		case 8: // a newer consent that has expired
			add(p, now.AddDate(0, 0, -20), false, dateOf(now.AddDate(0, 0, -10)))
		}
	}
	add("P9999", now.Add(-time.Hour), false, "") // a record no longer configured: still a consent in force
	seedConsents(t, s, rows)
	if n <= 10000 {
		t.Fatalf("only %d consents", n)
	}

	// The expected answer, computed from the rows: per person, the newest consent in force.
	want := map[string]seeded{}
	for _, c := range rows {
		inForce := !c.revoked && (c.validUntil == "" || c.validUntil >= dateOf(now))
		if !inForce || c.given.Before(startOfDay(yearAgo)) {
			continue
		}
		if w, ok := want[c.person]; !ok || c.given.After(w.given) {
			want[c.person] = c
		}
	}
	var wantIDs []string
	for _, c := range want {
		wantIDs = append(wantIDs, c.id)
	}
	if len(wantIDs) != others+2 {
		t.Fatalf("expected %d people, computed %d", others+2, len(wantIDs))
	}

	from, to := dateOf(yearAgo), dateOf(now)
	got := searchAll(t, s, tok, api.SearchRequest{From: from, To: to, Limit: 100})
	if len(got) != len(wantIDs) || !sameSet(got, wantIDs) {
		t.Fatalf("range search: %d results, want %d (the newest consent of each of %d people)", len(got), len(wantIDs), len(wantIDs))
	}
	if !slices.IsSortedFunc(got, func(a, b string) int { return -want[personOf(rows, a)].given.Compare(want[personOf(rows, b)].given) }) {
		t.Fatal("range search results are not newest first")
	}

	// Kana, typed in half-width katakana: every patient's kana holds シケン.
	kana := searchAll(t, s, tok, api.SearchRequest{NameKana: "ｼｹﾝ", Limit: 500})
	delete(want, "P9999") // not configured: no kana to match
	wantKana := []string{}
	for _, c := range want {
		wantKana = append(wantKana, c.id)
	}
	if len(kana) != len(wantKana) || !sameSet(kana, wantKana) {
		t.Fatalf("kana search: %d results, want %d", len(kana), len(wantKana))
	}

	// A cursor belongs to its search.
	_, page, _ := searchPage(t, s, tok, api.SearchRequest{From: from, To: to, Limit: 10})
	if page.NextCursor == "" {
		t.Fatal("no cursor after a full page")
	}
	for _, req := range []api.SearchRequest{
		{NameKana: "シケン", Cursor: page.NextCursor},
		{From: from, To: dateOf(now.AddDate(0, 0, -1)), Cursor: page.NextCursor},
		{From: from, To: to, Cursor: "not-a-cursor"},
	} {
		if st, _, e := searchPage(t, s, tok, req); st != http.StatusBadRequest || e.Code != api.CodeCursorInvalid {
			t.Errorf("%+v: %d %+v", req, st, e)
		}
	}
	for _, l := range []int{-1, 501} {
		if st, _, e := searchPage(t, s, tok, api.SearchRequest{From: from, To: to, Limit: l}); st != http.StatusBadRequest || e.Code != api.CodeInvalidField {
			t.Errorf("limit %d: %d %+v", l, st, e)
		}
	}
}

func startOfDay(t time.Time) time.Time {
	d, _ := parseDate(dateOf(t))
	return d
}

func personOf(rows []seeded, id string) string {
	var n int
	fmt.Sscanf(id, "CN%08d", &n)
	return rows[n-1].person
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
