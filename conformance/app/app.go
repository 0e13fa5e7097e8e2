package app

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/mynaconform/mynaconform/conformance/app/client"
	"github.com/mynaconform/mynaconform/formats/onshi/api"
	"github.com/mynaconform/mynaconform/readers/session"
)

// Device is what the app keeps after activation: its identity at the qualification system and
// the terminal certificate it shows the card in visual mode.
type Device struct {
	ID           string
	Credential   string          // secret: never logged
	TerminalCert []byte          // CV certificate for 80 A2
	Key          *rsa.PrivateKey // the terminal key certified at activation; logins prove possession of it
	TerminalID   string          // the subject key id of TerminalCert
}

// App is one installation of the app on one handset.
type App struct {
	Service     *client.Client
	Institution string           // 医療機関コード
	Key         *rsa.PrivateKey  // the device's terminal key (one per device; generated at Activate when nil); certified at activation
	FaceCAs     []*rsa.PublicKey // trusted card-face CAs (issuers of EF 0004)
	Visual      VisualConfig     // model switches of the visual mode
	Device      Device

	sess *client.Session
}

// Activate is the app's first login: 医療機関コード + user ID + password + activation code, and
// a proof that the app holds its terminal key. It registers the device and keeps its credential
// and terminal certificate.
func (a *App) Activate(ctx context.Context, userID, password, code string) error {
	if a.Key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return stepErr(StepActivate, err)
		}
		a.Key = k
	}
	pub, err := x509.MarshalPKIXPublicKey(&a.Key.PublicKey)
	if err != nil {
		return stepErr(StepActivate, err)
	}
	res, sess, err := a.Service.Activate(ctx, api.ActivateRequest{
		InstitutionCode: a.Institution, UserID: userID, Password: password,
		ActivationCode: code, TerminalPublicKey: pub,
	}, a.Key)
	if err != nil {
		return stepErr(StepActivate, err)
	}
	a.Device = Device{ID: res.DeviceID, Credential: res.DeviceCredential, TerminalCert: res.TerminalCertificate, Key: a.Key, TerminalID: res.TerminalID}
	a.sess = sess
	return nil
}

// Login is a later login from the activated device.
func (a *App) Login(ctx context.Context, userID, password string) error {
	if a.Device.ID == "" || a.Device.Key == nil {
		return stepErr(StepLogin, errors.New("device not activated"))
	}
	sess, err := a.Service.Login(ctx, api.LoginRequest{
		DeviceID: a.Device.ID, DeviceCredential: a.Device.Credential, UserID: userID, Password: password,
	}, a.Device.Key)
	if err != nil {
		return stepErr(StepLogin, err)
	}
	a.sess = sess
	return nil
}

func (a *App) challenge(ctx context.Context) (*api.Challenge, error) {
	if a.sess == nil {
		return nil, stepErr(StepChallenge, errors.New("not logged in"))
	}
	ch, err := a.sess.Challenge(ctx)
	if err != nil {
		return nil, stepErr(StepChallenge, err)
	}
	return ch, nil
}

// ConsentPIN registers the patient's consent in PIN mode and returns the consent ID.
func (a *App) ConsentPIN(ctx context.Context, s *session.Session, pin []byte, items api.ConsentItems) (string, error) {
	ch, err := a.challenge(ctx)
	if err != nil {
		return "", err
	}
	ev, err := ReadPINEvidence(ctx, s, pin, ch.Challenge)
	if err != nil {
		return "", err
	}
	res, err := a.sess.RegisterConsent(ctx, api.ConsentRequest{
		ChallengeID: ch.ID, Mode: api.ModePIN, AuthCertificate: ev.AuthCert, Signature: ev.Signature, Items: items,
	})
	if err != nil {
		return "", stepErr(StepRegisterConsent, err)
	}
	return res.Consent.ID, nil
}

// ConsentVisual registers the patient's consent in visual mode (目視確認): confirm is the staff's
// comparison of the photo read from the card with the patient.
func (a *App) ConsentVisual(ctx context.Context, s *session.Session, verificationB []byte, confirm func(photo []byte) bool, items api.ConsentItems) (string, *VisualEvidence, error) {
	ch, err := a.challenge(ctx)
	if err != nil {
		return "", nil, err
	}
	cfg := a.Visual
	cfg.TerminalCert, cfg.FaceCAs, cfg.Confirm = a.Device.TerminalCert, a.FaceCAs, confirm
	ev, err := ReadVisualEvidence(ctx, s, cfg, verificationB, ch.Challenge)
	if err != nil {
		return "", nil, err
	}
	res, err := a.sess.RegisterConsent(ctx, api.ConsentRequest{
		ChallengeID: ch.ID, Mode: api.ModeVisual, AuthCertificate: ev.AuthCert,
		FaceRecord: ev.FaceRecord, FaceCertificate: ev.FaceCertificate, CardSignature: ev.CardSignature, StaffConfirmed: true, Items: items,
	})
	if err != nil {
		return "", ev, stepErr(StepRegisterConsent, err)
	}
	return res.Consent.ID, ev, nil
}

// LookupResult is what 資格確認結果検索 shows for one consent.
type LookupResult struct {
	Result      api.QualificationResult
	Medications []api.MedicationEntry // only when asked for and permitted
}

// Lookup is 資格確認結果検索 for a consent; withMedication also asks for the 薬剤情報.
func (a *App) Lookup(ctx context.Context, consentID string, withMedication bool) (*LookupResult, error) {
	if a.sess == nil {
		return nil, stepErr(StepLookup, errors.New("not logged in"))
	}
	rs, err := a.sess.Search(ctx, api.SearchRequest{ConsentID: consentID})
	if err != nil {
		return nil, stepErr(StepLookup, err)
	}
	if len(rs) != 1 {
		return nil, stepErr(StepLookup, fmt.Errorf("%d results for consent %s, want 1", len(rs), consentID))
	}
	out := &LookupResult{Result: rs[0]}
	if withMedication {
		med, err := a.sess.Medication(ctx, consentID)
		if err != nil {
			return nil, stepErr(StepLookup, err)
		}
		out.Medications = med.Entries
	}
	return out, nil
}

// Search is 資格確認結果検索 by date range or name (kana), as the app's search screen offers.
func (a *App) Search(ctx context.Context, req api.SearchRequest) ([]api.QualificationResult, error) {
	if a.sess == nil {
		return nil, stepErr(StepLookup, errors.New("not logged in"))
	}
	rs, err := a.sess.Search(ctx, req)
	if err != nil {
		return nil, stepErr(StepLookup, err)
	}
	return rs, nil
}
