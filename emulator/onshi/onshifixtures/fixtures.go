// Package onshifixtures wires the project's synthetic test data into an onshi.Config: the test
// JPKI auth CA as trust anchor and its revocation list, the test hierarchy's card-face and
// input-support CAs (the issuers of both APs' EF 0004), the terminal CA with its key id, the
// insured records of fixtures/insured and an enrollment of every persona's auth certificate, with
// that card's card-face key, to the record naming that persona. The service itself knows nothing of fixtures; this is the wiring
// that `mynaconform onshi serve`, the conformance suite and the tests use.
package onshifixtures

import (
	"crypto/rsa"
	"fmt"

	"github.com/mynaconform/mynaconform/emulator/onshi"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/fixtures/insured"
)

// Config returns cfg completed with the fixtures. Fields already set in cfg are kept (AuthRoots
// and Enrollments are added to); People, when already set, are kept and only the records naming
// a persona of fixtures/insured are enrolled.
func Config(cfg onshi.Config) (onshi.Config, error) {
	pki, err := fixtures.PKI()
	if err != nil {
		return cfg, err
	}
	records, err := insured.Load()
	if err != nil {
		return cfg, err
	}
	cfg.AuthRoots = append(cfg.AuthRoots, pki.AuthCA)
	// The auth CA's list revokes the revoked persona's certificate (TestPKI.AuthCertRevoked).
	cfg.CRLs = append(cfg.CRLs, pki.AuthCRL)
	if cfg.CardFaceCAs == nil { // FaceCAID, the issuer of 券面事項確認AP EF 0004
		cfg.CardFaceCAs = []*rsa.PublicKey{&pki.FaceCAKey.PublicKey}
	}
	if cfg.InputSupportCAs == nil { // InputCAID, the issuer of 券面事項入力補助AP EF 0004
		cfg.InputSupportCAs = []*rsa.PublicKey{&pki.InputCAKey.PublicKey}
	}
	if cfg.TerminalCA == nil {
		// The card checks TerminalCAKeyID as the issuer of 80 A2 certificates.
		cfg.TerminalCA, cfg.TerminalCAID = pki.TerminalCAKey, fixtures.TerminalCAKeyID
	}
	if cfg.People == nil {
		if cfg.People, err = insured.People(); err != nil {
			return cfg, err
		}
	}
	configured := map[string]bool{}
	for _, p := range cfg.People {
		configured[p.ID] = true
	}
	for _, r := range records {
		if r.Persona == "" || !configured[r.ID] {
			continue
		}
		per, err := fixtures.PersonaByID(r.Persona)
		if err != nil {
			return cfg, fmt.Errorf("onshifixtures: insured record %s: %w", r.ID, err)
		}
		// Issued on one card: the auth certificate and that card's card-face key.
		cfg.Enrollments = append(cfg.Enrollments, onshi.Enrollment{AuthCert: per.AuthCert, PersonID: r.ID, CardKey: &per.CardKey.PublicKey})
	}
	return cfg, nil
}
