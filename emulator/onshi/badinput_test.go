package onshi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

// rawRequest sends bytes as they are and decodes the error body, if any.
func rawRequest(t testing.TB, e *env, method, path, token, contentType, body string) (int, api.ErrorBody) {
	t.Helper()
	req, err := http.NewRequestWithContext(e.ctx, method, e.hs.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var eb api.ErrorBody
	if resp.StatusCode >= 300 {
		if err := json.Unmarshal(raw, &eb); err != nil || eb.Error == nil {
			t.Fatalf("%s %s: status %d without a JSON error body: %q", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, eb
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, nil)
	_, _, s := e.device(doctorID)
	big := `{"challenge_id":"` + strings.Repeat("A", 70<<10) + `"}`
	for _, tc := range []struct {
		name, method, path, ct, body string
		want                         api.Code
	}{
		{"malformed", "POST", "/v1/app/consents", "application/json", `{"mode":`, api.CodeMalformedJSON},
		{"syntax", "POST", "/v1/app/consents", "application/json", `{mode: pin}`, api.CodeMalformedJSON},
		{"empty", "POST", "/v1/app/consents", "application/json", ``, api.CodeMalformedJSON},
		{"wrong type", "POST", "/v1/app/consents", "application/json", `{"mode": 7}`, api.CodeMalformedJSON},
		{"bad base64", "POST", "/v1/app/consents", "application/json", `{"auth_certificate": "!!"}`, api.CodeMalformedJSON},
		{"unknown field", "POST", "/v1/app/consents", "application/json", `{"mode":"pin","my_number":"123456789012"}`, api.CodeUnknownField},
		{"two values", "POST", "/v1/app/consents", "application/json", `{"mode":"pin"} {"mode":"pin"}`, api.CodeMultipleJSONValues},
		{"trailing garbage", "POST", "/v1/app/consents", "application/json", `{"mode":"pin"}x`, api.CodeMultipleJSONValues},
		{"too large", "POST", "/v1/app/consents", "application/json", big, api.CodeBodyTooLarge},
		{"media type", "POST", "/v1/app/consents", "text/plain", `{}`, api.CodeUnsupportedMediaType},
		{"array", "POST", "/v1/app/qualifications/search", "application/json", `[]`, api.CodeMalformedJSON},
		{"no mode", "POST", "/v1/app/consents", "application/json", `{}`, api.CodeModeInvalid},
		{"unknown path", "GET", "/v1/nope", "", ``, api.CodeNotFound},
		{"wrong method", "DELETE", "/v1/app/consents", "", ``, api.CodeNotFound},
		{"test clock off", "POST", "/v1/test/clock", "application/json", `{"advance":"10m"}`, api.CodeNotFound},
		// Strict decoding (issue 11, item 6).
		{"invalid UTF-8", "POST", "/v1/app/consents", "application/json", "{\"mode\":\"pin\xff\"}", api.CodeBodyNotUTF8},
		{"Shift_JIS body", "POST", "/v1/app/qualifications/search", "application/json; charset=Shift_JIS", "{\"name_kana\":\"\x83\x56\x83\x50\x83\x93\"}", api.CodeBodyNotUTF8},
		{"Shift_JIS declared", "POST", "/v1/app/qualifications/search", "application/json; charset=shift_jis", `{"name_kana":"シケン"}`, api.CodeBodyNotUTF8},
		{"lone surrogate", "POST", "/v1/app/qualifications/search", "application/json", `{"name_kana":"\ud800"}`, api.CodeBodyNotUTF8},
		{"lone low surrogate", "POST", "/v1/app/qualifications/search", "application/json", `{"name_kana":"a\udc00b"}`, api.CodeBodyNotUTF8},
		{"duplicate key", "POST", "/v1/app/consents", "application/json", `{"mode":"visual","mode":"pin"}`, api.CodeDuplicateField},
		{"nested duplicate", "POST", "/v1/app/consents", "application/json", `{"mode":"pin","items":{"medication":true,"medication":false}}`, api.CodeDuplicateField},
		{"case-folded key", "POST", "/v1/app/consents", "application/json", `{"Mode":"pin"}`, api.CodeUnknownField},
		{"case-folded nested key", "POST", "/v1/app/consents", "application/json", `{"mode":"pin","items":{"Medication":true}}`, api.CodeUnknownField},
		{"Unicode-folded key", "POST", "/v1/app/qualifications/search", "application/json", "{\"name_\u212aana\":\"シ\"}", api.CodeUnknownField},
		{"media type parameter", "POST", "/v1/app/consents", "application/json; profile=x", `{}`, api.CodeUnsupportedMediaType},
	} {
		st, eb := rawRequest(t, e, tc.method, tc.path, s.Token(), tc.ct, tc.body)
		en, _ := api.Lookup(tc.want)
		if st >= 500 || eb.Error == nil || eb.Error.Code != tc.want || st != en.Status || eb.Error.MessageJA == "" {
			t.Errorf("%s: status %d, error %+v; want %s", tc.name, st, eb.Error, tc.want)
		}
	}
	// Unauthenticated requests are refused before the body is read.
	if st, eb := rawRequest(t, e, "POST", "/v1/app/consents", "", "application/json", `{`); st != 401 || eb.Error.Code != api.CodeUnauthenticated {
		t.Errorf("no token: %d %+v", st, eb.Error)
	}
	if st, eb := rawRequest(t, e, "POST", "/v1/admin/login", "", "application/json", `{"institution_code":"1310000001","user_id":"admin","password":"x","extra":1}`); st != 400 || eb.Error.Code != api.CodeUnknownField {
		t.Errorf("admin login extra field: %d %+v", st, eb.Error)
	}
	// The finding: "USER_ID" logged in (encoding/json folds case).
	if st, eb := rawRequest(t, e, "POST", "/v1/admin/login", "", "application/json", `{"institution_code":"`+instA+`","USER_ID":"admin","password":"`+adminPW+`"}`); st != 400 || eb.Error.Code != api.CodeUnknownField {
		t.Errorf("USER_ID: %d %+v", st, eb.Error)
	}
	// What strict decoding accepts: charset utf-8 in any case, escaped surrogate pairs.
	for _, ct := range []string{"application/json; charset=utf-8", "application/json;charset=UTF-8"} {
		if st, eb := rawRequest(t, e, "POST", "/v1/app/qualifications/search", s.Token(), ct, `{"name_kana":"シケン\ud83d\ude00"}`); st != 400 || eb.Error.Code != api.CodeSearchCriteria {
			t.Errorf("%s: %d %+v (want the body decoded, then SEARCH_CRITERIA for the emoji)", ct, st, eb.Error)
		}
	}
}

func TestErrorCatalogue(t *testing.T) {
	for _, c := range api.Codes() {
		en, _ := api.Lookup(c)
		if en.Status < 400 || en.Status > 599 || en.Message == "" || en.MessageJA == "" {
			t.Errorf("%s: %+v", c, en)
		}
	}
}
