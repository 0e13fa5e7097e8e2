package client

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

// Client talks to one qualification system. It is safe for concurrent use.
type Client struct {
	base string
	hc   *http.Client
}

// New returns a client for baseURL (e.g. "http://127.0.0.1:8870"). hc nil means a client with
// a 30 s timeout.
func New(baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), hc: hc}
}

// maxResponse bounds what the client reads from the service.
const maxResponse = 4 << 20

// do sends one request. A refusal comes back as *api.Error (errors.Is by code).
func (c *Client) do(ctx context.Context, method, path, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var eb api.ErrorBody
		if json.Unmarshal(raw, &eb) != nil || eb.Error == nil || eb.Error.Code == "" {
			return fmt.Errorf("onshi: %s %s: HTTP %d without an error body", method, path, resp.StatusCode)
		}
		eb.Error.Status = resp.StatusCode
		if v, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && v > 0 {
			eb.Error.RetryAfter = time.Duration(v) * time.Second
		}
		return eb.Error
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("onshi: %s %s: decoding the answer: %w", method, path, err)
	}
	return nil
}

// --- terminal: administrator ---

// Admin is a logged-in 管理アカウント session on the terminal.
type Admin struct {
	c     *Client
	token string
}

// AdminLogin logs the administrator in (管理ログイン).
func (c *Client) AdminLogin(ctx context.Context, institutionCode, userID, password string) (*Admin, error) {
	var t api.Token
	err := c.do(ctx, http.MethodPost, "/v1/admin/login", "", api.AdminLoginRequest{InstitutionCode: institutionCode, UserID: userID, Password: password}, &t)
	if err != nil {
		return nil, err
	}
	return &Admin{c: c, token: t.Token}, nil
}

// Token is the bearer token of the session.
func (a *Admin) Token() string { return a.token }

// Logout ends the session.
func (a *Admin) Logout(ctx context.Context) error {
	return a.c.do(ctx, http.MethodPost, "/v1/admin/logout", a.token, nil, nil)
}

// Settings reads the 環境設定情報.
func (a *Admin) Settings(ctx context.Context) (*api.Institution, error) {
	var out api.Institution
	return &out, a.c.do(ctx, http.MethodGet, "/v1/admin/settings", a.token, nil, &out)
}

// UpdateSettings sets 訪問診療等機能 (enabling needs the terms accepted once).
func (a *Admin) UpdateSettings(ctx context.Context, req api.SettingsRequest) (*api.Institution, error) {
	var out api.Institution
	return &out, a.c.do(ctx, http.MethodPut, "/v1/admin/settings", a.token, req, &out)
}

// EnableHomeVisit accepts the terms and sets 訪問診療等機能 = 利用する.
func (a *Admin) EnableHomeVisit(ctx context.Context) error {
	_, err := a.UpdateSettings(ctx, api.SettingsRequest{HomeVisitEnabled: true, AcceptTerms: true})
	return err
}

// IssueActivationCode issues one code with its 端末識別メモ情報. The code is in the answer only.
func (a *Admin) IssueActivationCode(ctx context.Context, memo string) (*api.ActivationCode, error) {
	var out api.ActivationCode
	return &out, a.c.do(ctx, http.MethodPost, "/v1/admin/activation-codes", a.token, api.IssueCodeRequest{Memo: memo}, &out)
}

// ActivationCodes lists the institution's codes (without the codes themselves).
func (a *Admin) ActivationCodes(ctx context.Context) ([]api.ActivationCode, error) {
	var out api.ActivationCodeList
	return out.Codes, a.c.do(ctx, http.MethodGet, "/v1/admin/activation-codes", a.token, nil, &out)
}

// RevokeActivationCode revokes an unused code.
func (a *Admin) RevokeActivationCode(ctx context.Context, id string) error {
	return a.c.do(ctx, http.MethodPost, "/v1/admin/activation-codes/"+url.PathEscape(id)+"/revoke", a.token, nil, nil)
}

// CreateAccount is アカウント管理(登録).
func (a *Admin) CreateAccount(ctx context.Context, req api.CreateAccountRequest) (*api.Account, error) {
	var out api.Account
	return &out, a.c.do(ctx, http.MethodPost, "/v1/admin/accounts", a.token, req, &out)
}

// Accounts lists the institution's accounts.
func (a *Admin) Accounts(ctx context.Context) ([]api.Account, error) {
	var out api.AccountList
	return out.Accounts, a.c.do(ctx, http.MethodGet, "/v1/admin/accounts", a.token, nil, &out)
}

// UnlockAccount clears the lock; a non-empty newPassword replaces the password (to be changed
// at the next terminal login).
func (a *Admin) UnlockAccount(ctx context.Context, userID, newPassword string) error {
	return a.c.do(ctx, http.MethodPost, "/v1/admin/accounts/"+url.PathEscape(userID)+"/unlock", a.token, api.UnlockRequest{NewPassword: newPassword}, nil)
}

// Devices lists the registered devices.
func (a *Admin) Devices(ctx context.Context) ([]api.Device, error) {
	var out api.DeviceList
	return out.Devices, a.c.do(ctx, http.MethodGet, "/v1/admin/devices", a.token, nil, &out)
}

// RevokeDevice stops a device at once (its sessions end).
func (a *Admin) RevokeDevice(ctx context.Context, id string) error {
	return a.c.do(ctx, http.MethodPost, "/v1/admin/devices/"+url.PathEscape(id)+"/revoke", a.token, nil, nil)
}

// UpdateAccount is アカウント管理(更新).
func (a *Admin) UpdateAccount(ctx context.Context, userID string, req api.UpdateAccountRequest) (*api.Account, error) {
	var out api.Account
	return &out, a.c.do(ctx, http.MethodPut, "/v1/admin/accounts/"+url.PathEscape(userID), a.token, req, &out)
}

// DeleteAccount deletes an account (its user ID is not given again).
func (a *Admin) DeleteAccount(ctx context.Context, userID string) error {
	return a.c.do(ctx, http.MethodDelete, "/v1/admin/accounts/"+url.PathEscape(userID), a.token, nil, nil)
}

// SuspendAccount suspends an account (its sessions end) or, with on false, resumes it.
func (a *Admin) SuspendAccount(ctx context.Context, userID string, on bool) error {
	op := "/suspend"
	if !on {
		op = "/resume"
	}
	return a.c.do(ctx, http.MethodPost, "/v1/admin/accounts/"+url.PathEscape(userID)+op, a.token, nil, nil)
}

// ChangePassword is the administrator's パスワード変更.
func (a *Admin) ChangePassword(ctx context.Context, current, next string) error {
	return a.c.do(ctx, http.MethodPost, "/v1/admin/password", a.token, api.AdminPasswordRequest{Password: current, NewPassword: next}, nil)
}

// Enroll links an auth certificate (DER) to an insured record for this institution's consents
// (lab hook, serve --lab-enrollment only).
func (a *Admin) Enroll(ctx context.Context, authCert []byte, personID string) (*api.Enrollment, error) {
	return a.EnrollCard(ctx, api.EnrollRequest{AuthCertificate: authCert, PersonID: personID})
}

// EnrollCard is Enroll with every field of the request.
func (a *Admin) EnrollCard(ctx context.Context, req api.EnrollRequest) (*api.Enrollment, error) {
	var out api.Enrollment
	return &out, a.c.do(ctx, http.MethodPost, "/v1/admin/enrollments", a.token, req, &out)
}

// LoadCRL loads a JPKI revocation list (X.509 CRL, DER or PEM).
func (a *Admin) LoadCRL(ctx context.Context, crl []byte) (*api.CRL, error) {
	var out api.CRL
	return &out, a.c.do(ctx, http.MethodPut, "/v1/admin/crl", a.token, api.CRLRequest{CRL: crl}, &out)
}

// CRLs lists the revocation lists in force.
func (a *Admin) CRLs(ctx context.Context) ([]api.CRL, error) {
	var out api.CRLList
	return out.CRLs, a.c.do(ctx, http.MethodGet, "/v1/admin/crl", a.token, nil, &out)
}

// Audit returns up to limit audit entries with ID > afterID.
func (a *Admin) Audit(ctx context.Context, afterID int64, limit int) ([]api.AuditEntry, error) {
	var out api.AuditList
	q := url.Values{"after_id": {strconv.FormatInt(afterID, 10)}, "limit": {strconv.Itoa(limit)}}
	return out.Entries, a.c.do(ctx, http.MethodGet, "/v1/admin/audit?"+q.Encode(), a.token, nil, &out)
}

// --- terminal: accounts ---

// TerminalLogin logs an account in on the terminal (the first time with NewPassword).
func (c *Client) TerminalLogin(ctx context.Context, req api.TerminalLoginRequest) (*api.TerminalLoginResponse, error) {
	var out api.TerminalLoginResponse
	return &out, c.do(ctx, http.MethodPost, "/v1/terminal/login", "", req, &out)
}

// ChangePassword is an account's パスワード変更 on the terminal.
func (c *Client) ChangePassword(ctx context.Context, req api.PasswordChangeRequest) error {
	return c.do(ctx, http.MethodPost, "/v1/terminal/password", "", req, nil)
}

// --- app ---

// Session is a logged-in app session on one device.
type Session struct {
	c        *Client
	token    string
	Role     string
	DeviceID string
}

// Token is the bearer token of the session.
func (s *Session) Token() string { return s.token }

// AuthChallenge gets a challenge for a device's proof of possession (activation, login).
func (c *Client) AuthChallenge(ctx context.Context) (*api.AuthChallenge, error) {
	var out api.AuthChallenge
	return &out, c.do(ctx, http.MethodPost, "/v1/app/auth-challenges", "", nil, &out)
}

// prove fills a missing proof: a fresh auth challenge signed with key for purpose.
func (c *Client) prove(ctx context.Context, key crypto.Signer, purpose string, ch, proof *[]byte) error {
	if key == nil || len(*proof) != 0 {
		return nil
	}
	ac, err := c.AuthChallenge(ctx)
	if err != nil {
		return err
	}
	sig, err := api.SignProof(key, purpose, ac.Challenge)
	if err != nil {
		return err
	}
	*ch, *proof = ac.Challenge, sig
	return nil
}

// Activate is the app's first login; it registers the device. key is the terminal key whose
// public half is req.TerminalPublicKey: Activate gets an auth challenge and signs it (unless
// req already carries a proof; a nil key sends req as it is). Keep DeviceID, DeviceCredential
// and TerminalCertificate of the answer.
func (c *Client) Activate(ctx context.Context, req api.ActivateRequest, key crypto.Signer) (*api.ActivateResponse, *Session, error) {
	if err := c.prove(ctx, key, api.ProofActivate, &req.AuthChallenge, &req.Proof); err != nil {
		return nil, nil, err
	}
	var out api.ActivateResponse
	if err := c.do(ctx, http.MethodPost, "/v1/app/activate", "", req, &out); err != nil {
		return nil, nil, err
	}
	return &out, &Session{c: c, token: out.Session.Token, Role: out.Role, DeviceID: out.DeviceID}, nil
}

// Login is a later app login from a registered device, proving possession of its terminal key
// as Activate does.
func (c *Client) Login(ctx context.Context, req api.LoginRequest, key crypto.Signer) (*Session, error) {
	if err := c.prove(ctx, key, api.ProofLogin, &req.AuthChallenge, &req.Proof); err != nil {
		return nil, err
	}
	var out api.LoginResponse
	if err := c.do(ctx, http.MethodPost, "/v1/app/login", "", req, &out); err != nil {
		return nil, err
	}
	return &Session{c: c, token: out.Session.Token, Role: out.Role, DeviceID: req.DeviceID}, nil
}

// Logout ends the session.
func (s *Session) Logout(ctx context.Context) error {
	return s.c.do(ctx, http.MethodPost, "/v1/app/logout", s.token, nil, nil)
}

// Challenge gets a fresh single-use challenge for the card to sign.
func (s *Session) Challenge(ctx context.Context) (*api.Challenge, error) {
	var out api.Challenge
	return &out, s.c.do(ctx, http.MethodPost, "/v1/app/challenges", s.token, nil, &out)
}

// RegisterConsent records consent (PIN or visual mode) and returns the qualification result.
func (s *Session) RegisterConsent(ctx context.Context, req api.ConsentRequest) (*api.ConsentResponse, error) {
	var out api.ConsentResponse
	return &out, s.c.do(ctx, http.MethodPost, "/v1/app/consents", s.token, req, &out)
}

// RevokeConsent revokes a consent of this institution.
func (s *Session) RevokeConsent(ctx context.Context, id string) error {
	return s.c.do(ctx, http.MethodPost, "/v1/app/consents/"+url.PathEscape(id)+"/revoke", s.token, nil, nil)
}

// Search is 資格確認結果検索: every result, following the cursors page by page.
func (s *Session) Search(ctx context.Context, req api.SearchRequest) ([]api.QualificationResult, error) {
	var all []api.QualificationResult
	for {
		page, err := s.SearchPage(ctx, req)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Results...)
		if page.NextCursor == "" {
			if all == nil {
				all = []api.QualificationResult{}
			}
			return all, nil
		}
		req.Cursor = page.NextCursor
	}
}

// SearchPage is one page of 資格確認結果検索.
func (s *Session) SearchPage(ctx context.Context, req api.SearchRequest) (*api.SearchResponse, error) {
	var out api.SearchResponse
	return &out, s.c.do(ctx, http.MethodPost, "/v1/app/qualifications/search", s.token, req, &out)
}

// Medication is 薬剤情報 of a consent (医療情報閲覧 accounts only).
func (s *Session) Medication(ctx context.Context, consentID string) (*api.MedicationResponse, error) {
	var out api.MedicationResponse
	return &out, s.c.do(ctx, http.MethodGet, "/v1/app/consents/"+url.PathEscape(consentID)+"/medication", s.token, nil, &out)
}

// Clinical is 診療情報 (手術情報を含む) of a consent.
func (s *Session) Clinical(ctx context.Context, consentID string) (*api.ClinicalResponse, error) {
	var out api.ClinicalResponse
	return &out, s.c.do(ctx, http.MethodGet, "/v1/app/consents/"+url.PathEscape(consentID)+"/clinical", s.token, nil, &out)
}

// Checkups is 特定健診等情報 of a consent.
func (s *Session) Checkups(ctx context.Context, consentID string) (*api.CheckupResponse, error) {
	var out api.CheckupResponse
	return &out, s.c.do(ctx, http.MethodGet, "/v1/app/consents/"+url.PathEscape(consentID)+"/checkups", s.token, nil, &out)
}

// AdvanceClock moves the server's fake clock (serve --fake-clock only; otherwise NOT_FOUND).
func (c *Client) AdvanceClock(ctx context.Context, d time.Duration) (time.Time, error) {
	var out api.ClockResponse
	err := c.do(ctx, http.MethodPost, "/v1/test/clock", "", api.ClockRequest{Advance: d.String()}, &out)
	return out.Now, err
}
