package onshi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mynaconform/mynaconform/emulator/onshi/api"
)

// FuzzDecodeRequests sends arbitrary bodies to the JSON endpoints of every kind (admin, terminal,
// app, lookup) in process: never a 5xx, never a panic, and every refusal is a documented code.
func FuzzDecodeRequests(f *testing.F) {
	e := newEnv(f, nil)
	a, _, s := e.device(doctorID)
	ch := must(s.Challenge(e.ctx))
	adult := persona(f, "adult")
	good := must(json.Marshal(api.ConsentRequest{ChallengeID: ch.ID, Mode: api.ModePIN, AuthCertificate: adult.AuthCert,
		Signature: signChallenge(f, adult.AuthKey, ch.Challenge), Items: allItems}))
	for _, seed := range []string{string(good), `{}`, `{"mode":"visual","face_record":"AAAA","staff_confirmed":true}`,
		`{"consent_id":"x"}`, `{"from":"2026-04-01","to":"2026-04-01"}`, `{"name_kana":"シケン"}`, `[`, `{"a":1}`,
		`{"memo":"m"}`, `{"role":"general","user_id":"ab","user_name":"x","user_name_kana":"シ","start_date":"2026-04-01","password":"Passw0rdX"}`,
		`{"institution_code":"1310000001","user_id":"doc01","password":"x","activation_code":"x","terminal_public_key":"AAAA"}`,
		"\x00\xff", `{"mode":"pin"}{}`, `{"home_visit_enabled":true}`} {
		for ep := range 8 {
			f.Add(uint8(ep), []byte(seed))
		}
	}
	endpoints := []struct{ path, token string }{
		{"/v1/app/consents", s.Token()},
		{"/v1/app/qualifications/search", s.Token()},
		{"/v1/app/activate", ""},
		{"/v1/app/login", ""},
		{"/v1/terminal/login", ""},
		{"/v1/admin/accounts", a.Token()},
		{"/v1/admin/activation-codes", a.Token()},
		{"/v1/admin/enrollments", a.Token()},
	}
	f.Fuzz(func(t *testing.T, ep uint8, body []byte) {
		target := endpoints[int(ep)%len(endpoints)]
		req := httptest.NewRequest(http.MethodPost, target.path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if target.token != "" {
			req.Header.Set("Authorization", "Bearer "+target.token)
		}
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s: status %d: %s", target.path, rec.Code, rec.Body.Bytes())
		}
		if rec.Code >= 300 {
			var eb api.ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Error == nil {
				t.Fatalf("%s: status %d without an error body", target.path, rec.Code)
			}
			if en, ok := api.Lookup(eb.Error.Code); !ok || en.Status != rec.Code {
				t.Fatalf("%s: undocumented code %s or status %d", target.path, eb.Error.Code, rec.Code)
			}
		}
	})
}
