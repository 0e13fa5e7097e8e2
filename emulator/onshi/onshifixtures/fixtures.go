// Package onshifixtures wires the project's synthetic test data into an onshi.Config: the test
// JPKI auth CA as trust anchor, the card-face issuer key, the terminal CA, the insured records of
// fixtures/insured and an enrollment of every persona's auth certificate (and card key) to the
// record naming that persona. The service itself knows nothing of fixtures; this is the wiring
// that `mynaconform onshi serve`, the conformance suite and the tests use.
package onshifixtures

import (
	"crypto/rsa"
	"fmt"

	"github.com/mynaconform/mynaconform/emulator/onshi"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/fixtures/insured"
	"github.com/mynaconform/mynaconform/formats/mynumber"
)

// terminalCAID is the test terminal CA's key id (card.md section 9, test hierarchy).
var terminalCAID = mynumber.MustKeyID("6000016/001")

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
	// The test PKI's card-face issuer signs both card-face APs' EF 0004 (the CA of card.md's
	// test hierarchy, 6000023/001 and 6000033/001).
	if cfg.CardFaceCAs == nil {
		cfg.CardFaceCAs = []*rsa.PublicKey{&pki.FaceIssuerKey.PublicKey}
	}
	if cfg.InputSupportCAs == nil {
		cfg.InputSupportCAs = []*rsa.PublicKey{&pki.FaceIssuerKey.PublicKey}
	}
	if cfg.TerminalCA == nil {
		// The key id of the test hierarchy's terminal CA (JPKI EF 0016), which the card checks as
		// the issuer of 80 A2 certificates.
		cfg.TerminalCA, cfg.TerminalCAID = pki.TerminalCAKey, terminalCAID
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
