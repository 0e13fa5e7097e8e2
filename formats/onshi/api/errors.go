package api

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"
)

// Code is a stable, documented refusal code of the API (API.md lists every one).
type Code string

// Refusal codes. Each has one HTTP status and an English and a Japanese message (Catalogue).
const (
	// Request shape.
	CodeMalformedJSON        Code = "MALFORMED_JSON"
	CodeUnknownField         Code = "UNKNOWN_FIELD"
	CodeMultipleJSONValues   Code = "MULTIPLE_JSON_VALUES"
	CodeBodyTooLarge         Code = "BODY_TOO_LARGE"
	CodeUnsupportedMediaType Code = "UNSUPPORTED_MEDIA_TYPE"
	CodeInvalidField         Code = "INVALID_FIELD"
	CodeNotFound             Code = "NOT_FOUND"
	CodeUnauthenticated      Code = "UNAUTHENTICATED"
	CodeSessionExpired       Code = "SESSION_EXPIRED"
	CodeInternal             Code = "INTERNAL"
	CodeBodyNotUTF8          Code = "BODY_NOT_UTF8"
	CodeDuplicateField       Code = "DUPLICATE_FIELD"

	// Limits (per client address, session and institution).
	CodeRateLimited  Code = "RATE_LIMITED"
	CodeSessionLimit Code = "SESSION_LIMIT"

	// Institution and environment settings (環境設定情報).
	CodeInstitutionCodeFormat Code = "INSTITUTION_CODE_FORMAT"
	CodeInstitutionUnknown    Code = "INSTITUTION_UNKNOWN"
	CodeFeatureDisabled       Code = "FEATURE_DISABLED"
	CodeTermsNotAccepted      Code = "TERMS_NOT_ACCEPTED"

	// Accounts and passwords.
	CodeUserIDFormat           Code = "USER_ID_FORMAT"
	CodeUserIDTaken            Code = "USER_ID_TAKEN"
	CodeUserNameInvalid        Code = "USER_NAME_INVALID"
	CodeUserNameKanaFormat     Code = "USER_NAME_KANA_FORMAT"
	CodeRoleInvalid            Code = "ROLE_INVALID"
	CodeStartDateInvalid       Code = "START_DATE_INVALID"
	CodePasswordPolicy         Code = "PASSWORD_POLICY"
	CodeAccountUnknown         Code = "ACCOUNT_UNKNOWN"
	CodeWrongPassword          Code = "WRONG_PASSWORD"
	CodeAccountLocked          Code = "ACCOUNT_LOCKED"
	CodePasswordChangeRequired Code = "PASSWORD_CHANGE_REQUIRED"
	CodeAccountNotYetStarted   Code = "ACCOUNT_NOT_YET_STARTED"
	CodeTerminalLoginRequired  Code = "TERMINAL_LOGIN_REQUIRED"
	CodeAccountSuspended       Code = "ACCOUNT_SUSPENDED"

	// Activation codes (アクティベーションコード).
	CodeMemoInvalid                    Code = "MEMO_INVALID"
	CodeActivationCodeUnknown          Code = "ACTIVATION_CODE_UNKNOWN"
	CodeActivationCodeNotYetValid      Code = "ACTIVATION_CODE_NOT_YET_VALID"
	CodeActivationCodeUsed             Code = "ACTIVATION_CODE_USED"
	CodeActivationCodeExpired          Code = "ACTIVATION_CODE_EXPIRED"
	CodeActivationCodeRevoked          Code = "ACTIVATION_CODE_REVOKED"
	CodeActivationCodeWrongInstitution Code = "ACTIVATION_CODE_WRONG_INSTITUTION"
	CodeTerminalKeyInvalid             Code = "TERMINAL_KEY_INVALID"
	CodeTerminalKeyInUse               Code = "TERMINAL_KEY_IN_USE"

	// Devices.
	CodeDeviceUnknown           Code = "DEVICE_UNKNOWN"
	CodeDeviceCredentialInvalid Code = "DEVICE_CREDENTIAL_INVALID"
	CodeDeviceRevoked           Code = "DEVICE_REVOKED"
	CodeDeviceProofInvalid      Code = "DEVICE_PROOF_INVALID"

	// Challenges.
	CodeChallengeUnknown  Code = "CHALLENGE_UNKNOWN"
	CodeChallengeExpired  Code = "CHALLENGE_EXPIRED"
	CodeChallengeReplayed Code = "CHALLENGE_REPLAYED"
	CodeChallengeNotBound Code = "CHALLENGE_NOT_BOUND"
	CodeChallengeLimit    Code = "CHALLENGE_LIMIT"

	// Consent (同意) and identity checks.
	CodeModeInvalid          Code = "MODE_INVALID"
	CodeCertMalformed        Code = "CERT_MALFORMED"
	CodeCertUntrusted        Code = "CERT_UNTRUSTED"
	CodeCertExpired          Code = "CERT_EXPIRED"
	CodeSignatureInvalid     Code = "SIGNATURE_INVALID"
	CodeFaceRecordMalformed  Code = "FACE_RECORD_MALFORMED"
	CodeFaceRecordTampered   Code = "FACE_RECORD_TAMPERED"
	CodeCardSignatureInvalid Code = "CARD_SIGNATURE_INVALID"
	CodeStaffNotConfirmed    Code = "STAFF_NOT_CONFIRMED"
	CodeFaceRecordMismatch   Code = "FACE_RECORD_MISMATCH"
	CodePersonNotEnrolled    Code = "PERSON_NOT_ENROLLED"
	CodeValidUntilInvalid    Code = "VALID_UNTIL_INVALID"
	CodeCertRevoked          Code = "CERT_REVOKED"
	// Visual mode: one card.
	CodeFaceCertificateUntrusted Code = "FACE_CERTIFICATE_UNTRUSTED"
	CodeCardMismatch             Code = "CARD_MISMATCH"
	CodeCardKeyNotEnrolled       Code = "CARD_KEY_NOT_ENROLLED"
	CodeInputSupportInvalid      Code = "INPUT_SUPPORT_INVALID"
	CodeInputSupportMismatch     Code = "INPUT_SUPPORT_MISMATCH"
	CodePrescriptionIssueInvalid Code = "PRESCRIPTION_ISSUE_INVALID"

	// Lab enrollment hook and revocation lists (失効リスト).
	CodeLabEnrollmentDisabled Code = "LAB_ENROLLMENT_DISABLED"
	CodeEnrollmentConflict    Code = "ENROLLMENT_CONFLICT"
	CodeCRLMalformed          Code = "CRL_MALFORMED"
	CodeCRLUntrusted          Code = "CRL_UNTRUSTED"
	CodeCRLStale              Code = "CRL_STALE"

	// Lookup (資格確認結果検索) and medical information.
	CodeConsentUnknown          Code = "CONSENT_UNKNOWN"
	CodeConsentRevoked          Code = "CONSENT_REVOKED"
	CodeConsentExpired          Code = "CONSENT_EXPIRED"
	CodeSearchCriteria          Code = "SEARCH_CRITERIA"
	CodeCursorInvalid           Code = "CURSOR_INVALID"
	CodeMonthRangeInvalid       Code = "MONTH_RANGE_INVALID"
	CodeMedicalInfoNotPermitted Code = "MEDICAL_INFO_NOT_PERMITTED"
	CodeConsentItemNotGranted   Code = "CONSENT_ITEM_NOT_GRANTED"
	CodePersonUnknown           Code = "PERSON_UNKNOWN"
	CodeClockAdvanceInvalid     Code = "CLOCK_ADVANCE_INVALID"
)

// Entry describes one code: its HTTP status and messages.
type Entry struct {
	Status    int
	Message   string
	MessageJA string
}

var catalogue = map[Code]Entry{
	CodeMalformedJSON:        {http.StatusBadRequest, "the request body is not valid JSON for this endpoint", "リクエストの JSON が不正です"},
	CodeUnknownField:         {http.StatusBadRequest, "the request has a field this endpoint does not know", "リクエストに未定義の項目があります"},
	CodeMultipleJSONValues:   {http.StatusBadRequest, "the request body must hold exactly one JSON value", "リクエストには JSON 値を一つだけ指定してください"},
	CodeBodyTooLarge:         {http.StatusRequestEntityTooLarge, "the request body is too large", "リクエストが大きすぎます"},
	CodeUnsupportedMediaType: {http.StatusUnsupportedMediaType, "send the body as application/json", "application/json で送信してください"},
	CodeInvalidField:         {http.StatusBadRequest, "a field is missing or has an invalid value", "項目が未入力か、値が不正です"},
	CodeNotFound:             {http.StatusNotFound, "no such endpoint or method", "該当する機能がありません"},
	CodeUnauthenticated:      {http.StatusUnauthorized, "log in first: the token is missing or not valid", "ログインしてください（トークンがないか無効です）"},
	CodeSessionExpired:       {http.StatusUnauthorized, "the session expired after inactivity: log in again", "一定時間操作がなかったためセッションが切れました。再度ログインしてください"},
	CodeInternal:             {http.StatusInternalServerError, "internal error", "システムエラーが発生しました"},
	CodeBodyNotUTF8:          {http.StatusBadRequest, "the request body must be UTF-8 JSON (no other charset, no invalid bytes or lone surrogates)", "リクエストは UTF-8 の JSON で送信してください（他の文字コードや不正な文字は使えません）"},
	CodeDuplicateField:       {http.StatusBadRequest, "a field appears twice in the same object", "リクエストに同じ項目が重複しています"},

	CodeRateLimited:  {http.StatusTooManyRequests, "too many requests: retry after the time given in Retry-After", "リクエストが多すぎます。Retry-After の時間が経過してから再度実行してください"},
	CodeSessionLimit: {http.StatusTooManyRequests, "too many open sessions for this account or institution: log out unused ones or retry after Retry-After", "ログイン中のセッションが多すぎます。不要なセッションをログアウトするか、Retry-After の時間が経過してから再度実行してください"},

	CodeInstitutionCodeFormat: {http.StatusBadRequest, "the medical institution code must be 10 digits", "医療機関コードは10桁の数字で入力してください"},
	CodeInstitutionUnknown:    {http.StatusNotFound, "no such medical institution", "該当する医療機関等がありません"},
	CodeFeatureDisabled:       {http.StatusForbidden, "the home-visit function is set to 'do not use' for this institution", "訪問診療等機能が「利用しない」に設定されています"},
	CodeTermsNotAccepted:      {http.StatusBadRequest, "accept the terms of use before enabling the home-visit function", "訪問診療等機能を利用するには利用規約への同意が必要です"},

	CodeUserIDFormat:           {http.StatusBadRequest, "the user ID must be 2 to 8 half-width alphanumerics", "ユーザIDは半角英数字2桁以上8桁以下で入力してください"},
	CodeUserIDTaken:            {http.StatusConflict, "this user ID already exists at this institution (user IDs are compared regardless of case)", "このユーザIDは既に登録されています（英字の大文字・小文字は区別しません）"},
	CodeUserNameInvalid:        {http.StatusBadRequest, "the user name is empty or too long", "ユーザ名が未入力か長すぎます"},
	CodeUserNameKanaFormat:     {http.StatusBadRequest, "the user name (kana) must be full-width katakana (at most 50 characters)", "ユーザ名(カナ)は全角カタカナ（50文字以内）で入力してください"},
	CodeRoleInvalid:            {http.StatusBadRequest, "the role must be 'general' (一般利用者) or 'medical' (医療情報閲覧)", "権限区分は「一般利用者」または「医療情報閲覧」を選択してください"},
	CodeStartDateInvalid:       {http.StatusBadRequest, "the start date must be a date YYYY-MM-DD", "利用開始年月日を正しく入力してください"},
	CodePasswordPolicy:         {http.StatusBadRequest, "the password does not meet the policy: 8 to 64 half-width characters with at least three of upper case, lower case, digits and symbols; not the user ID, not a common password, not the current one", "パスワードが条件を満たしていません（半角8〜64文字、英大文字・英小文字・数字・記号のうち3種類以上、ユーザIDや推測されやすい語でないこと、現在と異なること）"},
	CodeAccountUnknown:         {http.StatusUnauthorized, "no such account at this institution", "該当するアカウントがありません"},
	CodeWrongPassword:          {http.StatusUnauthorized, "the password is wrong", "パスワードが正しくありません"},
	CodeAccountLocked:          {http.StatusLocked, "the account is locked after repeated failures: ask the administrator", "パスワードを続けて誤ったためアカウントがロックされています。管理者に連絡してください"},
	CodePasswordChangeRequired: {http.StatusForbidden, "change the initial password at this first login (send new_password)", "初回ログインのためパスワードの変更が必要です"},
	CodeAccountNotYetStarted:   {http.StatusForbidden, "the account's start date has not come yet", "利用開始年月日より前のため利用できません"},
	CodeTerminalLoginRequired:  {http.StatusForbidden, "log in to the qualification terminal with this account once before using the app", "アプリを利用する前に、このアカウントで資格確認端末に一度ログインしてください"},
	CodeAccountSuspended:       {http.StatusForbidden, "the account is suspended by the administrator", "アカウントは管理者により利用停止されています"},

	CodeMemoInvalid:                    {http.StatusBadRequest, "the device memo must be 1 to 50 characters", "端末識別メモ情報は1〜50文字で入力してください"},
	CodeActivationCodeUnknown:          {http.StatusNotFound, "no such activation code", "アクティベーションコードが存在しません"},
	CodeActivationCodeNotYetValid:      {http.StatusForbidden, "the activation code is not usable yet: wait about 10 minutes after issue", "アクティベーションコードはまだ利用できません。発行から10分程度経過してから利用してください"},
	CodeActivationCodeUsed:             {http.StatusConflict, "the activation code was already used", "このアクティベーションコードは使用済みです"},
	CodeActivationCodeExpired:          {http.StatusGone, "the activation code expired: issue a new one", "アクティベーションコードの有効期限が切れています。再発行してください"},
	CodeActivationCodeRevoked:          {http.StatusGone, "the activation code was revoked", "アクティベーションコードは無効化されています"},
	CodeActivationCodeWrongInstitution: {http.StatusForbidden, "the activation code belongs to another institution", "アクティベーションコードが別の医療機関等のものです"},
	CodeTerminalKeyInvalid:             {http.StatusBadRequest, "the terminal public key must be an RSA key of at least 2048 bits (PKIX DER)", "端末公開鍵が不正です（RSA 2048ビット以上、PKIX DER）"},
	CodeTerminalKeyInUse:               {http.StatusConflict, "this terminal key is already registered for a device: one key, one device (generate a new key)", "この端末公開鍵は既に別の端末で登録されています（端末ごとに新しい鍵を生成してください）"},

	CodeDeviceUnknown:           {http.StatusUnauthorized, "no such device: activate it with an activation code", "端末が登録されていません。アクティベーションコードで登録してください"},
	CodeDeviceCredentialInvalid: {http.StatusUnauthorized, "the device credential is not valid", "端末認証情報が正しくありません"},
	CodeDeviceRevoked:           {http.StatusForbidden, "the device was revoked by the administrator", "端末は管理者により利用停止されています"},
	CodeDeviceProofInvalid:      {http.StatusUnauthorized, "the device did not prove possession of its terminal key: sign a fresh auth challenge with it", "端末鍵による署名を確認できません（新しい認証用チャレンジに端末鍵で署名してください）"},

	CodeChallengeUnknown:  {http.StatusNotFound, "no such challenge", "チャレンジが存在しません"},
	CodeChallengeExpired:  {http.StatusGone, "the challenge expired: request a new one", "チャレンジの有効期限が切れています。再取得してください"},
	CodeChallengeReplayed: {http.StatusConflict, "the challenge was already used", "チャレンジは使用済みです"},
	CodeChallengeNotBound: {http.StatusForbidden, "the challenge belongs to another session or device", "チャレンジが別のセッションまたは端末のものです"},
	CodeChallengeLimit:    {http.StatusTooManyRequests, "too many outstanding challenges: use or let expire the ones issued", "未使用のチャレンジが多すぎます。発行済みのものを使用するか期限切れを待ってください"},

	CodeModeInvalid:          {http.StatusBadRequest, "the mode must be 'pin' or 'visual'", "本人確認方法は「暗証番号」または「目視」を指定してください"},
	CodeCertMalformed:        {http.StatusBadRequest, "the authentication certificate cannot be parsed", "利用者証明用電子証明書を読み取れません"},
	CodeCertUntrusted:        {http.StatusUnprocessableEntity, "the authentication certificate does not chain to a trusted JPKI root", "利用者証明用電子証明書の発行元を確認できません"},
	CodeCertExpired:          {http.StatusUnprocessableEntity, "the authentication certificate is not valid at this time", "利用者証明用電子証明書の有効期間外です"},
	CodeSignatureInvalid:     {http.StatusUnprocessableEntity, "the signature over the challenge does not verify with the certificate", "チャレンジへの署名を検証できません"},
	CodeFaceRecordMalformed:  {http.StatusBadRequest, "the card-face record cannot be parsed", "券面事項を読み取れません"},
	CodeFaceRecordTampered:   {http.StatusUnprocessableEntity, "the card-face record's issuer signature does not verify", "券面事項の署名を検証できません（改ざんの可能性）"},
	CodeCardSignatureInvalid: {http.StatusUnprocessableEntity, "the card-presence signature does not verify with the card key", "カードによるチャレンジ署名を検証できません"},
	CodeStaffNotConfirmed:    {http.StatusUnprocessableEntity, "staff must confirm that the face photo matches the patient", "顔写真と本人の照合（目視確認）が完了していません"},
	CodeFaceRecordMismatch:   {http.StatusUnprocessableEntity, "the card-face birth date or sex does not match the insured record", "券面事項の生年月日または性別が資格情報と一致しません"},
	CodePersonNotEnrolled:    {http.StatusNotFound, "the certificate is trusted but not linked to an insured person", "電子証明書に対応する被保険者が登録されていません"},
	CodeValidUntilInvalid:    {http.StatusBadRequest, "valid_until must be a date YYYY-MM-DD after today", "同意の有効期限は本日より後の日付で指定してください"},
	CodeCertRevoked:          {http.StatusUnprocessableEntity, "the authentication certificate is revoked (失効)", "利用者証明用電子証明書は失効しています"},

	CodeFaceCertificateUntrusted: {http.StatusUnprocessableEntity, "the card-face certificate (EF 0004) is missing, cannot be parsed or is not signed by a trusted card-face CA", "券面事項の証明書（EF 0004）がないか、信頼できる発行者のものではありません"},
	CodeCardMismatch:             {http.StatusUnprocessableEntity, "the card read is not the card this authentication certificate was issued on (two cards)", "読み取ったカードは、この利用者証明用電子証明書が格納されたカードではありません（別のカードです）"},
	CodeCardKeyNotEnrolled:       {http.StatusUnprocessableEntity, "no card-face key is enrolled with this certificate: visual mode cannot prove one card; use PIN mode", "この電子証明書のカード情報が登録されていないため目視確認はできません。暗証番号で本人確認してください"},
	CodeInputSupportInvalid:      {http.StatusUnprocessableEntity, "the input-support records cannot be parsed or their signature does not verify with a trusted CA", "券面事項入力補助の情報を読み取れないか、署名を検証できません"},
	CodeInputSupportMismatch:     {http.StatusUnprocessableEntity, "the input-support name, birth date or sex does not match the insured record", "券面事項入力補助の氏名・生年月日・性別が資格情報と一致しません"},
	CodePrescriptionIssueInvalid: {http.StatusBadRequest, "prescription_issue must be 'electronic' (電子処方箋) or 'paper' (紙の処方箋)", "処方箋の発行形態は「電子処方箋」または「紙の処方箋」を指定してください"},

	CodeLabEnrollmentDisabled: {http.StatusForbidden, "the lab enrollment hook is off: start the service with --lab-enrollment", "検証用の電子証明書登録は無効です（サービスを --lab-enrollment 付きで起動してください）"},
	CodeEnrollmentConflict:    {http.StatusConflict, "this certificate already identifies an insured person: a lab enrollment cannot remap it", "この電子証明書は既に被保険者に対応付けられているため、登録し直すことはできません"},
	CodeCRLMalformed:          {http.StatusBadRequest, "the revocation list cannot be parsed (an X.509 CRL, DER or PEM)", "失効リストを読み取れません（X.509 CRL、DER または PEM）"},
	CodeCRLUntrusted:          {http.StatusUnprocessableEntity, "the revocation list is not signed by a trusted JPKI authentication CA", "失効リストの発行元（利用者証明用認証局）を確認できません"},
	CodeCRLStale:              {http.StatusConflict, "a revocation list of this issuer with the same or a higher number is already loaded", "同じ番号またはより新しい失効リストが既に読み込まれています"},

	CodeConsentUnknown:          {http.StatusNotFound, "no such consent at this institution", "該当する同意がありません"},
	CodeConsentRevoked:          {http.StatusGone, "the consent was revoked", "同意は取り消されています"},
	CodeConsentExpired:          {http.StatusGone, "the consent's validity ended", "同意の有効期限が切れています"},
	CodeSearchCriteria:          {http.StatusBadRequest, "give exactly one of consent_id, a date range (from, to), or name_kana", "検索条件（同意ID、期間、氏名カナのいずれか一つ）を正しく指定してください"},
	CodeCursorInvalid:           {http.StatusBadRequest, "the cursor is not one this search returned: start the search again", "検索の続きを取得できません。最初から検索し直してください"},
	CodeMonthRangeInvalid:       {http.StatusBadRequest, "from and to must be 診療年月 YYYY-MM, from <= to, at most 36 months", "診療年月（YYYY-MM）の範囲を正しく指定してください（36か月以内）"},
	CodeMedicalInfoNotPermitted: {http.StatusForbidden, "a general account (一般利用者) cannot view medication or clinical information", "一般利用者のアカウントでは薬剤情報・診療情報等を閲覧できません"},
	CodeConsentItemNotGranted:   {http.StatusForbidden, "the patient did not consent to this item", "この情報の閲覧に患者の同意がありません"},
	CodePersonUnknown:           {http.StatusNotFound, "no such insured person record", "該当する被保険者の記録がありません"},
	CodeClockAdvanceInvalid:     {http.StatusBadRequest, "advance must be a positive Go duration such as 10m", "advance には正の時間（例: 10m）を指定してください"},
}

// Lookup returns the catalogue entry of a code.
func Lookup(c Code) (Entry, bool) {
	e, ok := catalogue[c]
	return e, ok
}

// Codes returns every code, sorted.
func Codes() []Code {
	out := make([]Code, 0, len(catalogue))
	for c := range catalogue {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Error is a refusal of the service. It is the body's "error" object and the error the client
// returns. errors.Is matches by Code, so the sentinels below work as targets.
type Error struct {
	Code      Code   `json:"code"`
	Message   string `json:"message"`
	MessageJA string `json:"message_ja"`
	Detail    string `json:"detail,omitempty"`     // English, never holds a secret
	RequestID string `json:"request_id,omitempty"` // the answer's X-Request-ID, also in the request log and audit trail
	Status    int    `json:"-"`                    // HTTP status (set by New and by the client)
	// RetryAfter is the wait a 429 asks for (the Retry-After header; set by the server's
	// limits and by the client).
	RetryAfter time.Duration `json:"-"`
}

// ErrorBody is the JSON body of every refusal.
type ErrorBody struct {
	Error *Error `json:"error"`
}

func (e *Error) Error() string {
	s := fmt.Sprintf("onshi: %s: %s", e.Code, e.Message)
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// New returns the refusal for code with an optional English detail.
func New(code Code, detail string) *Error {
	en, ok := catalogue[code]
	if !ok {
		en = catalogue[CodeInternal]
	}
	return &Error{Code: code, Message: en.Message, MessageJA: en.MessageJA, Detail: detail, Status: en.Status}
}

// Newf is New with a formatted detail.
func Newf(code Code, format string, a ...any) *Error { return New(code, fmt.Sprintf(format, a...)) }

// IsCode reports whether err is (or wraps) an *Error with the code.
func IsCode(err error, code Code) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// Sentinels for errors.Is.
var (
	ErrMalformedJSON              = New(CodeMalformedJSON, "")
	ErrUnknownField               = New(CodeUnknownField, "")
	ErrBodyTooLarge               = New(CodeBodyTooLarge, "")
	ErrUnauthenticated            = New(CodeUnauthenticated, "")
	ErrSessionExpired             = New(CodeSessionExpired, "")
	ErrFeatureDisabled            = New(CodeFeatureDisabled, "")
	ErrUserIDFormat               = New(CodeUserIDFormat, "")
	ErrWrongPassword              = New(CodeWrongPassword, "")
	ErrAccountLocked              = New(CodeAccountLocked, "")
	ErrPasswordChangeRequired     = New(CodePasswordChangeRequired, "")
	ErrAccountNotYetStarted       = New(CodeAccountNotYetStarted, "")
	ErrTerminalLoginRequired      = New(CodeTerminalLoginRequired, "")
	ErrActivationUnknown          = New(CodeActivationCodeUnknown, "")
	ErrActivationNotYetValid      = New(CodeActivationCodeNotYetValid, "")
	ErrActivationUsed             = New(CodeActivationCodeUsed, "")
	ErrActivationExpired          = New(CodeActivationCodeExpired, "")
	ErrActivationRevoked          = New(CodeActivationCodeRevoked, "")
	ErrActivationWrongInstitution = New(CodeActivationCodeWrongInstitution, "")
	ErrChallengeUnknown           = New(CodeChallengeUnknown, "")
	ErrChallengeExpired           = New(CodeChallengeExpired, "")
	ErrChallengeReplayed          = New(CodeChallengeReplayed, "")
	ErrCertUntrusted              = New(CodeCertUntrusted, "")
	ErrCertExpired                = New(CodeCertExpired, "")
	ErrSignatureInvalid           = New(CodeSignatureInvalid, "")
	ErrFaceRecordTampered         = New(CodeFaceRecordTampered, "")
	ErrStaffNotConfirmed          = New(CodeStaffNotConfirmed, "")
	ErrMedicalInfoNotPermitted    = New(CodeMedicalInfoNotPermitted, "")
	ErrConsentItemNotGranted      = New(CodeConsentItemNotGranted, "")
	ErrRateLimited                = New(CodeRateLimited, "")
	ErrSessionLimit               = New(CodeSessionLimit, "")
	ErrAccountSuspended           = New(CodeAccountSuspended, "")
	ErrTerminalKeyInUse           = New(CodeTerminalKeyInUse, "")
	ErrDeviceProofInvalid         = New(CodeDeviceProofInvalid, "")
	ErrCertRevoked                = New(CodeCertRevoked, "")
	ErrLabEnrollmentDisabled      = New(CodeLabEnrollmentDisabled, "")
	ErrCardMismatch               = New(CodeCardMismatch, "")
	ErrCardKeyNotEnrolled         = New(CodeCardKeyNotEnrolled, "")
)
