package onshi_test

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/emulator/onshi"
	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

// send is rawRequest that also returns the X-Request-ID of the answer and its error body.
func send(t *testing.T, e *env, method, path, token, ct, body string) (int, string, *api.Error) {
	t.Helper()
	req, err := http.NewRequestWithContext(e.ctx, method, e.hs.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
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
			t.Fatalf("%s %s: %d without an error body", method, path, resp.StatusCode)
		}
	}
	return resp.StatusCode, resp.Header.Get("X-Request-ID"), eb.Error
}

// auditRows reads the whole audit table from the database, as an operator would.
func auditRows(t *testing.T, e *env) map[string]api.AuditEntry {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(e.dir, "onshi.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT institution, actor, device, action, target, outcome, code, request_id FROM audit`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]api.AuditEntry{}
	for rows.Next() {
		var en api.AuditEntry
		var code string
		if err := rows.Scan(&en.Institution, &en.Actor, &en.Device, &en.Action, &en.Target, &en.Outcome, &code, &en.RequestID); err != nil {
			t.Fatal(err)
		}
		en.Code = api.Code(code)
		out[en.RequestID] = en
	}
	return out
}

// The refusals the issue found unaudited are audited, each under the request ID its answer
// carries (header and body), under the institution when the request named one.
func TestEveryRefusalIsAudited(t *testing.T) {
	e := newEnv(t, nil)
	a, act, s := e.device(doctorID)
	other := must(e.login(act, clerkID))
	loginBody := func(user string) string {
		ac := must(e.c.AuthChallenge(e.ctx))
		proof := must(api.SignProof(e.devKey(act.DeviceID), api.ProofLogin, ac.Challenge))
		b, _ := json.Marshal(api.LoginRequest{DeviceID: act.DeviceID, DeviceCredential: act.DeviceCredential, UserID: user, Password: userPW,
			AuthChallenge: ac.Challenge, Proof: proof})
		return string(b)
	}
	type probe struct {
		name, method, path, token, body string
		want                            api.Code
		inst                            string
	}
	probes := []probe{
		{"unknown device", "POST", "/v1/app/login", "", `{"device_id":"DVNOPE","device_credential":"x","user_id":"doc01","password":"x"}`, api.CodeDeviceUnknown, ""},
		{"no token", "POST", "/v1/app/challenges", "", ``, api.CodeUnauthenticated, ""},
		{"unknown token", "GET", "/v1/admin/settings", "not-a-token", ``, api.CodeUnauthenticated, ""},
		{"admin user ID format", "POST", "/v1/admin/login", "", `{"institution_code":"` + instA + `","user_id":"a","password":"x"}`, api.CodeUserIDFormat, instA},
		{"terminal user ID format", "POST", "/v1/terminal/login", "", `{"institution_code":"` + instA + `","user_id":"a-b","password":"x"}`, api.CodeUserIDFormat, instA},
		{"app user ID format", "POST", "/v1/app/login", "", loginBody("x"), api.CodeUserIDFormat, instA},
		{"decode error, app", "POST", "/v1/app/consents", s.Token(), `{"mode":`, api.CodeMalformedJSON, instA},
		{"decode error, login", "POST", "/v1/admin/login", "", `{"user_id":"admin"`, api.CodeMalformedJSON, ""},
		{"bad institution code", "POST", "/v1/admin/login", "", `{"institution_code":"1310123459","user_id":"admin","password":"x"}`, api.CodeInstitutionCodeFormat, ""},
	}
	var ids []string
	for _, p := range probes {
		st, id, eb := send(t, e, p.method, p.path, p.token, "application/json", p.body)
		if eb == nil || eb.Code != p.want || eb.RequestID != id || len(id) != 16 || st >= 500 {
			t.Fatalf("%s: %d %+v (request ID header %q)", p.name, st, eb, id)
		}
		ids = append(ids, id)
	}
	// Feature off (利用しない): the app's next request and a new activation.
	must(a.UpdateSettings(e.ctx, api.SettingsRequest{HomeVisitEnabled: false}))
	_, id, eb := send(t, e, "POST", "/v1/app/challenges", other.Token(), "", "")
	probes = append(probes, probe{name: "feature off", want: api.CodeFeatureDisabled, inst: instA})
	ids = append(ids, id)
	if eb.Code != api.CodeFeatureDisabled {
		t.Fatal(eb)
	}
	must(a.UpdateSettings(e.ctx, api.SettingsRequest{HomeVisitEnabled: true}))
	// An expired session.
	e.clock.Advance(31 * time.Minute)
	_, id, eb = send(t, e, "POST", "/v1/app/challenges", s.Token(), "", "")
	probes = append(probes, probe{name: "expired session", want: api.CodeSessionExpired, inst: instA})
	ids = append(ids, id)
	if eb.Code != api.CodeSessionExpired {
		t.Fatal(eb)
	}

	rows := auditRows(t, e)
	for i, p := range probes {
		en, ok := rows[ids[i]]
		if !ok || en.Outcome != "refused" || en.Code != p.want || en.Institution != p.inst {
			t.Errorf("%s: audit entry %+v (found %t), want refused %s at %q", p.name, en, ok, p.want, p.inst)
		}
	}
	if en := rows[ids[len(ids)-1]]; en.Actor != "user:"+doctorID || en.Device != act.DeviceID {
		t.Errorf("expired session audited as %+v", en)
	}
}

// The finding: a password typed into the user-ID field was stored as the actor. A typed
// user ID that fails the format or names no account is never recorded, in the database, the
// audit listing or the request log.
func TestPasswordTypedAsUserIDIsNotStored(t *testing.T) {
	var logBuf syncBuffer
	e := newEnv(t, func(c *onshi.Config) { c.Logger = slog.New(slog.NewJSONHandler(&logBuf, nil)) })
	a, act, _ := e.device(doctorID)
	typed := []string{"Secret-pw-9", "Passw0rdX", "hunter22"}
	for _, pw := range typed {
		e.c.AdminLogin(e.ctx, instA, pw, "x")
		e.c.TerminalLogin(e.ctx, api.TerminalLoginRequest{InstitutionCode: instA, UserID: pw, Password: "x"})
		activateErr(e, instA, pw, "x", "ABCD-EFGH-JKMN-PQRS")
		_, err := e.loginReq(api.LoginRequest{DeviceID: act.DeviceID, DeviceCredential: act.DeviceCredential, UserID: pw, Password: "x"})
		if err == nil {
			t.Fatal("login with an unknown user accepted")
		}
	}
	entries := must(a.Audit(e.ctx, 0, 1000))
	var anonymous int
	for _, en := range entries {
		if en.Actor == "-" {
			anonymous++
		}
	}
	if anonymous < 4*len(typed) {
		t.Errorf("%d anonymous refusals audited, want %d", anonymous, 4*len(typed))
	}
	blobs := map[string][]byte{"audit listing": must(json.Marshal(entries)), "request log": logBuf.Bytes()}
	files, _ := filepath.Glob(filepath.Join(e.dir, "onshi.db*"))
	for _, f := range files {
		blobs[f] = must(os.ReadFile(f))
	}
	for name, b := range blobs {
		for _, pw := range typed {
			if bytes.Contains(b, []byte(pw)) {
				t.Errorf("%s holds a typed user ID of length %d", name, len(pw))
			}
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// The request log: one structured line per request with request ID, method, route, status,
// duration, institution and actor (and the code of a refusal); never a body or a secret.
func TestRequestLog(t *testing.T) {
	var logBuf syncBuffer
	e := newEnv(t, func(c *onshi.Config) { c.Logger = slog.New(slog.NewJSONHandler(&logBuf, nil)) })
	a, act, s := e.device(doctorID)
	adult := persona(t, "adult")
	res := must(pinConsent(e, s, adult.AuthCert, adult.AuthKey, allItems))
	_, id, eb := send(t, e, "GET", "/v1/app/consents/"+res.Consent.ID+"/clinical", s.Token(), "", "")
	if eb != nil {
		t.Fatal(eb)
	}
	_, refusedID, _ := send(t, e, "POST", "/v1/admin/login", "", "application/json", `{"institution_code":"`+instA+`","user_id":"admin","password":"Wrong-pw-123"}`)

	lines := map[string]map[string]any{}
	sc := bufio.NewScanner(bytes.NewReader(logBuf.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if m["msg"] == "request" {
			lines[m["request_id"].(string)] = m
		}
	}
	ok := lines[id]
	if ok == nil || ok["method"] != "GET" || ok["route"] != "GET /v1/app/consents/{id}/clinical" || ok["status"] != float64(200) ||
		ok["institution"] != instA || ok["actor"] != "user:"+doctorID || ok["device"] != act.DeviceID || ok["duration_ms"] == nil {
		t.Errorf("log of a lookup: %v", ok)
	}
	ref := lines[refusedID]
	if ref == nil || ref["status"] != float64(401) || ref["code"] != string(api.CodeWrongPassword) || ref["actor"] != "admin:admin" {
		t.Errorf("log of a refused login: %v", ref)
	}
	log := logBuf.Bytes()
	for _, sec := range []string{adminPW, userPW, initPW, "Wrong-pw-123", act.DeviceCredential, s.Token(), a.Token(), adult.MyNumber} {
		if bytes.Contains(log, []byte(sec)) {
			t.Errorf("the request log holds a secret of length %d", len(sec))
		}
	}
}

// sendGet is a GET that decodes the answer into out (or the error body).
func sendGet(t *testing.T, e *env, path, token string, out any) (int, string, *api.Error) {
	t.Helper()
	req := must(http.NewRequestWithContext(e.ctx, http.MethodGet, e.hs.URL+path, nil))
	req.Header.Set("Authorization", "Bearer "+token)
	resp := must(e.hs.Client().Do(req))
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		var eb api.ErrorBody
		json.Unmarshal(raw, &eb)
		return resp.StatusCode, resp.Header.Get("X-Request-ID"), eb.Error
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, resp.Header.Get("X-Request-ID"), nil
}
