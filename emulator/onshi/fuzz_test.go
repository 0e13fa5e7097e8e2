package onshi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mynaconform/mynaconform/emulator/onshi"
	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

// unlimited lifts the rate, session and challenge limits (the fuzzer and the benchmarks send
// far more than a clinic does, on a clock that does not move).
func unlimited(c *onshi.Config) {
	c.Limits = onshi.Limits{SessionRate: -1, InstitutionRate: -1, ClientRate: -1, SessionsPerAccount: -1,
		SessionsPerInstitution: -1, ChallengesPerSession: -1, ChallengesPerInstitution: -1}
}

// requestFieldNames are the exact JSON names of every request type's fields, at any depth.
func requestFieldNames() map[string]bool {
	names := map[string]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			n, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			names[n] = true
			walk(f.Type)
		}
	}
	for _, v := range []any{api.ConsentRequest{}, api.SearchRequest{}, api.ActivateRequest{}, api.LoginRequest{}, api.TerminalLoginRequest{},
		api.CreateAccountRequest{}, api.IssueCodeRequest{}, api.EnrollRequest{}, api.SettingsRequest{}, api.UpdateAccountRequest{},
		api.PasswordChangeRequest{}, api.CRLRequest{}, api.AdminLoginRequest{}} {
		walk(reflect.TypeOf(v))
	}
	return names
}

// keyFacts walks body's JSON token stream (an independent reading, not the service's): whether
// some object repeats a key, and whether a key matches a request field only when case is
// ignored (what encoding/json alone would accept as that field).
func keyFacts(body []byte, names map[string]bool) (dup, folded bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		obj    bool
		keys   map[string]bool
		expect bool // next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.expect {
			if k, ok := tok.(string); ok {
				dup = dup || top.keys[k]
				top.keys[k] = true
				if !names[k] {
					for n := range names {
						folded = folded || strings.EqualFold(n, k)
					}
				}
				top.expect = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{obj: true, keys: map[string]bool{}, expect: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 && stack[len(stack)-1].obj {
			stack[len(stack)-1].expect = true // a value ended: the next string is a key
		}
	}
}

// FuzzDecodeRequests sends arbitrary bodies, with arbitrary declared charsets, to the JSON
// endpoints of every kind (admin, terminal, app, lookup) in process: never a 5xx, never a panic,
// every refusal a documented code with its status; and the strict-decoding rules hold: a body
// that is not UTF-8 or declared in another charset is refused as BODY_NOT_UTF8, and no body with
// a repeated key or a key that names a field only when case is ignored is ever accepted.
func FuzzDecodeRequests(f *testing.F) {
	e := newEnv(f, func(c *onshi.Config) { unlimited(c); c.LabEnrollment = true })
	a, _, s := e.device(doctorID)
	ch := must(s.Challenge(e.ctx))
	adult := persona(f, "adult")
	good := must(json.Marshal(api.ConsentRequest{ChallengeID: ch.ID, Mode: api.ModePIN, AuthCertificate: adult.AuthCert,
		Signature: signChallenge(f, adult.AuthKey, ch.Challenge), Items: allItems}))
	for _, seed := range []string{string(good), `{}`, `{"mode":"visual","face_record":"AAAA","staff_confirmed":true}`,
		`{"consent_id":"x"}`, `{"from":"2026-04-01","to":"2026-04-01"}`, `{"name_kana":"シケン"}`, `[`, `{"a":1}`,
		`{"memo":"m"}`, `{"role":"general","user_id":"ab","user_name":"x","user_name_kana":"シ","start_date":"2026-04-01","password":"Passw0rdX"}`,
		`{"institution_code":"1310123458","user_id":"doc01","password":"x","activation_code":"x","terminal_public_key":"AAAA"}`,
		"\x00\xff", `{"mode":"pin"}{}`, `{"home_visit_enabled":true}`,
		`{"memo":"m","memo":"n"}`, `{"MEMO":"m"}`, `{"name_kana":"\ud800"}`, "{\"memo\":\"\x83\x56\"}", `{"items":{"Medication":true}}`,
		`{"institution_code":"1310123458","USER_ID":"admin","password":"AdminPass123"}`, `{"name_kana":"ｼｹﾝ","limit":2}`} {
		for ep := range 12 {
			f.Add(uint8(ep), uint8(0), []byte(seed))
		}
		f.Add(uint8(1), uint8(2), []byte(seed))
	}
	endpoints := []struct{ method, path, token string }{
		{"POST", "/v1/app/consents", s.Token()},
		{"POST", "/v1/app/qualifications/search", s.Token()},
		{"POST", "/v1/app/activate", ""},
		{"POST", "/v1/app/login", ""},
		{"POST", "/v1/terminal/login", ""},
		{"POST", "/v1/admin/accounts", a.Token()},
		{"POST", "/v1/admin/activation-codes", a.Token()},
		{"POST", "/v1/admin/enrollments", a.Token()},
		{"PUT", "/v1/admin/accounts/" + clerkID, a.Token()},
		{"POST", "/v1/terminal/password", ""},
		{"PUT", "/v1/admin/crl", a.Token()},
		{"POST", "/v1/admin/login", ""},
	}
	contentTypes := []string{"application/json", "application/json; charset=utf-8", "application/json; charset=Shift_JIS", ""}
	names := requestFieldNames()
	f.Fuzz(func(t *testing.T, ep, ctSel uint8, body []byte) {
		target := endpoints[int(ep)%len(endpoints)]
		ct := contentTypes[int(ctSel)%len(contentTypes)]
		req := httptest.NewRequest(target.method, target.path, bytes.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		if target.token != "" {
			req.Header.Set("Authorization", "Bearer "+target.token)
		}
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		res := rec.Result()
		raw, _ := io.ReadAll(res.Body)
		if rec.Code >= 500 {
			t.Fatalf("%s: status %d: %s", target.path, rec.Code, raw)
		}
		var code api.Code
		if rec.Code >= 300 {
			var eb api.ErrorBody
			if err := json.Unmarshal(raw, &eb); err != nil || eb.Error == nil {
				t.Fatalf("%s: status %d without an error body", target.path, rec.Code)
			}
			if en, ok := api.Lookup(eb.Error.Code); !ok || en.Status != rec.Code {
				t.Fatalf("%s: undocumented code %s or status %d", target.path, eb.Error.Code, rec.Code)
			}
			if eb.Error.RequestID == "" || eb.Error.RequestID != res.Header.Get("X-Request-ID") {
				t.Fatalf("%s: request ID %q in the body, %q in the header", target.path, eb.Error.RequestID, res.Header.Get("X-Request-ID"))
			}
			code = eb.Error.Code
		}
		oversize := len(body) > 64<<10
		if (strings.Contains(ct, "Shift_JIS") || !utf8.Valid(body)) && !oversize && code != api.CodeBodyNotUTF8 {
			t.Fatalf("%s: a body that is not UTF-8 (%s) answered %d %s", target.path, ct, rec.Code, code)
		}
		if rec.Code < 300 {
			if dup, folded := keyFacts(body, names); dup || folded {
				t.Fatalf("%s: accepted a body with a repeated (%t) or case-folded (%t) key: %q", target.path, dup, folded, body)
			}
		}
	})
}
