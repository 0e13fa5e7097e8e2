package api

import "time"

// Roles (権限区分) of an app account.
const (
	RoleGeneral = "general" // 一般利用者: qualification data only
	RoleMedical = "medical" // 医療情報閲覧: also medication, clinical and check-up data (with consent)
)

// Consent modes (本人確認方法).
const (
	ModePIN    = "pin"    // 暗証番号: JPKI auth signature over the challenge
	ModeVisual = "visual" // 目視確認: card-face record + card-presence signature + staff confirmation
)

// Activation code states.
const (
	CodeStatePending = "pending" // issued, not usable yet (利用可能まで約10分)
	CodeStateUsable  = "usable"
	CodeStateUsed    = "used"
	CodeStateExpired = "expired"
	CodeStateRevoked = "revoked"
)

// Dates without time are "YYYY-MM-DD" strings in Japan time; instants are RFC 3339.

// AdminLoginRequest is the 管理ログイン on the 資格確認端末.
type AdminLoginRequest struct {
	InstitutionCode string `json:"institution_code"` // 医療機関コード, 10 digits
	UserID          string `json:"user_id"`
	Password        string `json:"password"`
}

// Token is a bearer token with its expiry.
type Token struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"` // idle expiry: moves forward with every use, never past LifetimeEndsAt
	// LifetimeEndsAt is the absolute end of the session, however active (Config.SessionMax).
	LifetimeEndsAt time.Time `json:"lifetime_ends_at"`
}

// Institution is a 医療機関等 with its 環境設定情報.
type Institution struct {
	Code             string     `json:"code"`
	Name             string     `json:"name"`
	HomeVisitEnabled bool       `json:"home_visit_enabled"` // 訪問診療等機能 利用する/利用しない
	TermsAcceptedAt  *time.Time `json:"terms_accepted_at,omitempty"`
}

// SettingsRequest updates the 環境設定情報. Enabling needs AcceptTerms (利用規約) once.
type SettingsRequest struct {
	HomeVisitEnabled bool `json:"home_visit_enabled"`
	AcceptTerms      bool `json:"accept_terms"`
}

// IssueCodeRequest issues one activation code with its 端末識別メモ情報.
type IssueCodeRequest struct {
	Memo string `json:"memo"`
}

// ActivationCode is an アクティベーションコード. Code is returned only once, at issue.
type ActivationCode struct {
	ID         string     `json:"id"`
	Code       string     `json:"code,omitempty"`
	Memo       string     `json:"memo"`
	IssuedAt   time.Time  `json:"issued_at"`
	UsableFrom time.Time  `json:"usable_from"`
	ExpiresAt  time.Time  `json:"expires_at"`
	State      string     `json:"state"`
	UsedAt     *time.Time `json:"used_at,omitempty"`
	DeviceID   string     `json:"device_id,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// ActivationCodeList is the listing of an institution's codes.
type ActivationCodeList struct {
	Codes []ActivationCode `json:"codes"`
}

// CreateAccountRequest is アカウント管理(登録).
type CreateAccountRequest struct {
	Role         string `json:"role"`           // 権限区分: general | medical
	UserID       string `json:"user_id"`        // ユーザID, 2-8 half-width alphanumerics
	UserName     string `json:"user_name"`      // ユーザ名
	UserNameKana string `json:"user_name_kana"` // ユーザ名(カナ), katakana
	StartDate    string `json:"start_date"`     // 利用開始年月日 YYYY-MM-DD
	Password     string `json:"password"`       // initial password, changed at first terminal login
}

// Account is an app account as the administrator sees it.
type Account struct {
	UserID           string     `json:"user_id"`
	Role             string     `json:"role"`
	UserName         string     `json:"user_name"`
	UserNameKana     string     `json:"user_name_kana"`
	StartDate        string     `json:"start_date"`
	TerminalLoggedIn bool       `json:"terminal_logged_in"`
	Locked           bool       `json:"locked"`
	Suspended        bool       `json:"suspended"`
	CreatedAt        time.Time  `json:"created_at"`
	LastLoginAt      *time.Time `json:"last_login_at,omitempty"`
}

// AccountList lists an institution's accounts.
type AccountList struct {
	Accounts []Account `json:"accounts"`
}

// UpdateAccountRequest is アカウント管理(更新): every field is replaced. Changing the role or the
// start date ends the account's sessions.
type UpdateAccountRequest struct {
	Role         string `json:"role"`
	UserName     string `json:"user_name"`
	UserNameKana string `json:"user_name_kana"`
	StartDate    string `json:"start_date"`
}

// AdminPasswordRequest is the administrator's パスワード変更.
type AdminPasswordRequest struct {
	Password    string `json:"password"`
	NewPassword string `json:"new_password"`
}

// PasswordChangeRequest is an account's パスワード変更 on the 資格確認端末.
type PasswordChangeRequest struct {
	InstitutionCode string `json:"institution_code"`
	UserID          string `json:"user_id"`
	Password        string `json:"password"`
	NewPassword     string `json:"new_password"`
}

// UnlockRequest unlocks an account and optionally sets a new initial password (then changed
// again at the next terminal login).
type UnlockRequest struct {
	NewPassword string `json:"new_password,omitempty"`
}

// Device is a registered handset.
type Device struct {
	ID               string     `json:"id"`
	TerminalID       string     `json:"terminal_id"` // subject key id of its terminal certificate
	Memo             string     `json:"memo"`
	ActivationCodeID string     `json:"activation_code_id"`
	RegisteredBy     string     `json:"registered_by"`
	RegisteredAt     time.Time  `json:"registered_at"`
	RevokedAt        *time.Time `json:"revoked_at,omitempty"`
}

// DeviceList lists an institution's devices.
type DeviceList struct {
	Devices []Device `json:"devices"`
}

// EnrollRequest is the lab hook: link an arbitrary JPKI auth certificate (e.g. a real test
// card's) to a synthetic insured record.
type EnrollRequest struct {
	AuthCertificate []byte `json:"auth_certificate"` // DER
	PersonID        string `json:"person_id"`
	// FaceRecord and FaceCertificate (券面事項確認AP EF 0002 and EF 0004 of the same card, both
	// verified) enroll the card's card-face key with the certificate, so that the card can give
	// visual-mode consent; without them the certificate serves PIN mode only.
	FaceRecord      []byte `json:"face_record,omitempty"`
	FaceCertificate []byte `json:"face_certificate,omitempty"`
}

// Enrollment is the result of EnrollRequest.
type Enrollment struct {
	CertificateSHA256 string `json:"certificate_sha256"` // hex
	PersonID          string `json:"person_id"`
	Institution       string `json:"institution"`               // the only institution whose consents it applies to
	CardKeySHA256     string `json:"card_key_sha256,omitempty"` // fingerprint of the enrolled card-face key
}

// CRLRequest loads a JPKI revocation list (失効リスト): an X.509 CRL, DER or PEM.
type CRLRequest struct {
	CRL []byte `json:"crl"`
}

// CRL describes a loaded revocation list.
type CRL struct {
	Issuer     string    `json:"issuer"`
	Number     string    `json:"number"` // CRL number (decimal); "0" when the list has none
	ThisUpdate time.Time `json:"this_update"`
	NextUpdate time.Time `json:"next_update,omitempty"`
	Revoked    int       `json:"revoked"` // certificates listed
	LoadedAt   time.Time `json:"loaded_at"`
}

// CRLList lists the loaded revocation lists, one per issuer.
type CRLList struct {
	CRLs []CRL `json:"crls"`
}

// AuditEntry is one row of the audit trail. It never holds a secret.
type AuditEntry struct {
	ID          int64     `json:"id"`
	At          time.Time `json:"at"`
	Institution string    `json:"institution"`
	Actor       string    `json:"actor"`
	Device      string    `json:"device,omitempty"`
	Action      string    `json:"action"`
	Target      string    `json:"target,omitempty"`
	Outcome     string    `json:"outcome"` // ok | refused
	Code        Code      `json:"code,omitempty"`
	RequestID   string    `json:"request_id,omitempty"` // as in the answer and the request log
}

// AuditList is a page of the audit trail.
type AuditList struct {
	Entries []AuditEntry `json:"entries"`
}

// TerminalLoginRequest is an account's login on the 資格確認端末. The first one must carry
// NewPassword (mandatory change of the initial password).
type TerminalLoginRequest struct {
	InstitutionCode string `json:"institution_code"`
	UserID          string `json:"user_id"`
	Password        string `json:"password"`
	NewPassword     string `json:"new_password,omitempty"`
}

// TerminalLoginResponse confirms a terminal login.
type TerminalLoginResponse struct {
	UserID          string    `json:"user_id"`
	PasswordChanged bool      `json:"password_changed"`
	At              time.Time `json:"at"`
}

// ActivateRequest is the app's first login: registers the device.
type ActivateRequest struct {
	InstitutionCode   string `json:"institution_code"`
	UserID            string `json:"user_id"`
	Password          string `json:"password"`
	ActivationCode    string `json:"activation_code"`
	TerminalPublicKey []byte `json:"terminal_public_key"` // PKIX DER, RSA >= 2048
	// AuthChallenge (from POST /v1/app/auth-challenges) and Proof, its signature by the terminal
	// key (SignProof with ProofActivate): the device proves it holds the key it registers.
	AuthChallenge []byte `json:"auth_challenge"`
	Proof         []byte `json:"proof"`
}

// ActivateResponse carries what the app keeps: device ID, credential, terminal certificate.
type ActivateResponse struct {
	DeviceID            string `json:"device_id"`
	DeviceCredential    string `json:"device_credential"`
	TerminalCertificate []byte `json:"terminal_certificate"` // CV certificate for 80 A2
	TerminalID          string `json:"terminal_id"`          // its subject key id, "7000001/001"
	Session             Token  `json:"session"`
	Role                string `json:"role"` // of the account that activated
}

// LoginRequest is a later app login from a registered device.
type LoginRequest struct {
	DeviceID         string `json:"device_id"`
	DeviceCredential string `json:"device_credential"`
	UserID           string `json:"user_id"`
	Password         string `json:"password"`
	// AuthChallenge and Proof (SignProof with ProofLogin): the device proves it holds the
	// terminal key registered at activation; a copied device ID and credential are not enough.
	AuthChallenge []byte `json:"auth_challenge"`
	Proof         []byte `json:"proof"`
}

// AuthChallenge is a single-use challenge for the device's proof of possession at activation
// and login (before there is a session).
type AuthChallenge struct {
	Challenge []byte    `json:"challenge"`
	ExpiresAt time.Time `json:"expires_at"`
}

// LoginResponse is a session of the app.
type LoginResponse struct {
	Session Token  `json:"session"`
	Role    string `json:"role"`
}

// Challenge is a single-use nonce the card signs.
type Challenge struct {
	ID        string    `json:"id"`
	Challenge []byte    `json:"challenge"`
	ExpiresAt time.Time `json:"expires_at"`
}

// ConsentItems are the items the patient consents to share.
type ConsentItems struct {
	Medication bool `json:"medication"` // 薬剤情報
	Clinical   bool `json:"clinical"`   // 診療情報(手術情報を含む)
	Checkup    bool `json:"checkup"`    // 特定健診等情報
	// LimitCertificate is 限度額適用認定証提供同意: the result shows 限度額適用 only with it.
	LimitCertificate bool `json:"limit_certificate,omitempty"`
	// SpecificDisease is 特定疾病療養受療証提供同意: the result shows 特定疾病 only with it.
	SpecificDisease bool `json:"specific_disease,omitempty"`
}

// Prescription issue methods (処方箋の発行形態) recorded with a consent.
const (
	PrescriptionElectronic = "electronic" // 1 電子処方箋
	PrescriptionPaper      = "paper"      // 2 紙の処方箋
)

// ConsentRequest registers consent (同意登録) after identifying the patient.
type ConsentRequest struct {
	ChallengeID     string `json:"challenge_id"`
	Mode            string `json:"mode"`                       // pin | visual
	AuthCertificate []byte `json:"auth_certificate"`           // JPKI 利用者証明用 (EF 000A), DER
	Signature       []byte `json:"signature,omitempty"`        // pin: PKCS#1 v1.5 SHA-256 by the auth key
	FaceRecord      []byte `json:"face_record,omitempty"`      // visual: 券面事項確認AP EF 0002 as read
	FaceCertificate []byte `json:"face_certificate,omitempty"` // visual: 券面事項確認AP EF 0004 (certifies the record's signer)
	CardSignature   []byte `json:"card_signature,omitempty"`   // visual: 80 2A 00 00 by the card-face key 001A (DF24)
	// InputSupport (visual, optional): 券面事項入力補助AP records read with 照合番号B; verified and
	// compared with the insured record when present.
	InputSupport   *InputSupport `json:"input_support,omitempty"`
	StaffConfirmed bool          `json:"staff_confirmed,omitempty"`
	Items          ConsentItems  `json:"items"`
	ValidUntil     string        `json:"valid_until,omitempty"` // optional end date YYYY-MM-DD
	// PrescriptionIssue is the patient's choice of 処方箋の発行形態: "electronic" or "paper"
	// (optional; recorded with the consent and shown in the result).
	PrescriptionIssue string `json:"prescription_issue,omitempty"`
}

// InputSupport are the 券面事項入力補助AP records a visual consent may carry.
type InputSupport struct {
	BasicFour   []byte `json:"basic_four"`  // EF 0002: name, address, birth date, sex
	Integrity   []byte `json:"integrity"`   // EF 0003: H1, H2 and their signature
	Certificate []byte `json:"certificate"` // EF 0004: certifies the key that signed EF 0003
}

// Consent is a recorded consent.
type Consent struct {
	ID         string       `json:"id"`
	Mode       string       `json:"mode"`
	Items      ConsentItems `json:"items"`
	DeviceID   string       `json:"device_id"`
	UserID     string       `json:"user_id"`
	GivenAt    time.Time    `json:"given_at"`
	ValidUntil string       `json:"valid_until,omitempty"` // empty: until revoked
	RevokedAt  *time.Time   `json:"revoked_at,omitempty"`
	// PrescriptionIssue as recorded: "electronic", "paper" or empty.
	PrescriptionIssue string `json:"prescription_issue,omitempty"`
}

// ConsentResponse is the recorded consent and the qualification result.
type ConsentResponse struct {
	Consent Consent             `json:"consent"`
	Result  QualificationResult `json:"result"`
}

// SearchRequest is 資格確認結果検索: exactly one of ConsentID, From/To, NameKana.
type SearchRequest struct {
	ConsentID string `json:"consent_id,omitempty"`
	From      string `json:"from,omitempty"` // consent date range, inclusive, YYYY-MM-DD
	To        string `json:"to,omitempty"`
	NameKana  string `json:"name_kana,omitempty"` // katakana of any width; spaces and ・ ignored; part of the name
	// Cursor continues a search: the next_cursor of the previous page, with the same criteria.
	Cursor string `json:"cursor,omitempty"`
	Limit  int    `json:"limit,omitempty"` // results per page, 1..500; default 100
}

// SearchResponse holds one page of results, newest consent first. NextCursor is empty on the
// last page: a search returns every matching person, page by page, never a silent cut.
type SearchResponse struct {
	Results    []QualificationResult `json:"results"`
	NextCursor string                `json:"next_cursor,omitempty"`
}

// Validity codes (資格有効性).
const (
	ValidityValid      = 1 // 有効
	ValidityInvalid    = 2 // 無効
	ValidityInvalidNew = 3 // 無効（新しい資格あり）
	ValidityNone       = 4 // 該当資格なし
	ValidityMultiple   = 5 // 複数該当
)

// ValidityLabel is the Japanese label of a validity code.
func ValidityLabel(v int) string {
	switch v {
	case ValidityValid:
		return "有効"
	case ValidityInvalid:
		return "無効"
	case ValidityInvalidNew:
		return "無効（新しい資格あり）"
	case ValidityNone:
		return "該当資格なし"
	case ValidityMultiple:
		return "複数該当"
	}
	return ""
}

// QualificationResult is the 資格確認結果 of one consented person.
type QualificationResult struct {
	ConsentID      string          `json:"consent_id"`
	Validity       int             `json:"validity"`
	ValidityLabel  string          `json:"validity_label"`
	Name           string          `json:"name"`
	NameKana       string          `json:"name_kana"`
	Sex            int             `json:"sex"` // JIS X 0303
	SexLabel       string          `json:"sex_label"`
	BirthDate      string          `json:"birth_date"`
	Address        string          `json:"address"`
	PostalCode     string          `json:"postal_code,omitempty"` // 郵便番号
	Qualifications []Qualification `json:"qualifications"`        // empty for 該当資格なし; several for 複数該当
	PublicExpenses []PublicExpense `json:"public_expenses"`       // 公費
	Consent        ConsentFlags    `json:"consent"`
	// PrescriptionIssue is the 処方箋発行形態 recorded with the consent.
	PrescriptionIssue *CodeLabel `json:"prescription_issue,omitempty"`
	IdentifiedBy      string     `json:"identified_by"` // pin | visual
	ConfirmedAt       time.Time  `json:"confirmed_at"`
}

// CodeLabel is a code of the real system's code tables with its Japanese label.
type CodeLabel struct {
	Code  string `json:"code"`
	Label string `json:"label"`
}

// PublicExpense is one 公費 entitlement.
type PublicExpense struct {
	Name            string `json:"name"`
	PayerNumber     string `json:"payer_number"`               // 公費負担者番号, 8 digits
	RecipientNumber string `json:"recipient_number,omitempty"` // 公費受給者番号, 7 digits
	ValidFrom       string `json:"valid_from"`
	ValidUntil      string `json:"valid_until,omitempty"`
}

// LimitCertificate is 限度額適用認定証関連情報 (shown with the limit_certificate consent item).
type LimitCertificate struct {
	Classification CodeLabel `json:"classification"` // 限度額適用認定証区分
	Category       CodeLabel `json:"category"`       // 適用区分, e.g. A03 ウ
	IssuedOn       string    `json:"issued_on,omitempty"`
	ValidFrom      string    `json:"valid_from"`
	ValidUntil     string    `json:"valid_until"`
	LongTermFrom   string    `json:"long_term_from,omitempty"` // 長期入院該当年月日
}

// SpecificDisease is one 特定疾病療養受療証 (shown with the specific_disease consent item).
type SpecificDisease struct {
	Category   CodeLabel `json:"category"` // 認定疾病区分
	IssuedOn   string    `json:"issued_on,omitempty"`
	ValidFrom  string    `json:"valid_from"`
	ValidUntil string    `json:"valid_until,omitempty"`
	SelfPay    int       `json:"self_pay"` // 自己負担限度額, yen per month
}

// Qualification is one insurance qualification record.
type Qualification struct {
	CardClass         CodeLabel         `json:"card_class"`     // 被保険者証区分
	InsurerNumber     string            `json:"insurer_number"` // 保険者番号
	InsurerName       string            `json:"insurer_name"`
	Symbol            string            `json:"symbol"`                 // 被保険者証記号
	Number            string            `json:"number"`                 // 被保険者証番号
	Branch            string            `json:"branch"`                 // 枝番
	Relationship      string            `json:"relationship"`           // 本人 | 家族
	InsuredName       string            `json:"insured_name,omitempty"` // 被保険者氏名（世帯主氏名）
	QualificationDate string            `json:"qualification_date"`
	LossDate          string            `json:"loss_date,omitempty"`
	LossReason        *CodeLabel        `json:"loss_reason,omitempty"` // 資格喪失事由
	CardIssuedOn      string            `json:"card_issued_on,omitempty"`
	CardValidFrom     string            `json:"card_valid_from"`
	CardValidUntil    string            `json:"card_valid_until,omitempty"`
	ContributionRatio string            `json:"contribution_ratio"` // 一部負担金割合, "030" = 3割
	Preschool         bool              `json:"preschool,omitempty"`
	ElderlyRecipient  *ElderlyRecipient `json:"elderly_recipient,omitempty"`
	// LimitCertificate and SpecificDiseases are shown only when the consent has their item.
	LimitCertificate *LimitCertificate `json:"limit_certificate,omitempty"`
	SpecificDiseases []SpecificDisease `json:"specific_diseases,omitempty"`
}

// ElderlyRecipient is 高齢受給者証 information.
type ElderlyRecipient struct {
	IssuedOn          string `json:"issued_on,omitempty"`
	ContributionRatio string `json:"contribution_ratio"` // e.g. "020" = 2割
	ValidFrom         string `json:"valid_from"`
	ValidUntil        string `json:"valid_until"`
}

// ConsentFlags are the consent items with their validity.
type ConsentFlags struct {
	Medication       ItemConsent `json:"medication"`
	Clinical         ItemConsent `json:"clinical"`
	Checkup          ItemConsent `json:"checkup"`
	LimitCertificate ItemConsent `json:"limit_certificate"` // 限度額適用認定証提供同意
	SpecificDisease  ItemConsent `json:"specific_disease"`  // 特定疾病療養受療証提供同意
}

// ItemConsent is one item's state.
type ItemConsent struct {
	Consented  bool   `json:"consented"`
	ValidUntil string `json:"valid_until,omitempty"` // empty with Consented: until revoked
}

// MedicationResponse is 薬剤情報.
type MedicationResponse struct {
	ConsentID string            `json:"consent_id"`
	Entries   []MedicationEntry `json:"entries"`
}

// MedicationEntry is one dispensed drug.
type MedicationEntry struct {
	Date      string `json:"date"`
	Drug      string `json:"drug"`
	Dose      string `json:"dose"`
	Days      int    `json:"days"`
	Dispenser string `json:"dispenser"`
}

// ClinicalResponse is 診療情報 (手術情報を含む).
type ClinicalResponse struct {
	ConsentID string          `json:"consent_id"`
	Entries   []ClinicalEntry `json:"entries"`
}

// ClinicalEntry is one clinical event.
type ClinicalEntry struct {
	Date        string `json:"date"`
	Kind        string `json:"kind"` // e.g. 診療, 手術
	Description string `json:"description"`
	Institution string `json:"institution"`
}

// CheckupResponse is 特定健診等情報.
type CheckupResponse struct {
	ConsentID string         `json:"consent_id"`
	Entries   []CheckupEntry `json:"entries"`
}

// CheckupEntry is one check-up measurement.
type CheckupEntry struct {
	Date  string `json:"date"`
	Item  string `json:"item"`
	Value string `json:"value"`
	Unit  string `json:"unit,omitempty"`
}

// ClockRequest moves the fake clock (only with serve --fake-clock).
type ClockRequest struct {
	Advance string `json:"advance"` // Go duration, e.g. "10m"
}

// ClockResponse is the fake clock's time.
type ClockResponse struct {
	Now time.Time `json:"now"`
}
