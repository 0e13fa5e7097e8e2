package onshi

import (
	"fmt"

	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/fixtures/insured"
)

// WithFixtures returns cfg completed with the project's synthetic test data: the test JPKI auth
// CA as trust anchor, the card-face issuer key, the terminal CA, the insured records of
// fixtures/insured, and an enrollment of every persona's auth certificate to the record naming
// that persona. Fields already set in cfg are kept (AuthRoots are added to).
func WithFixtures(cfg Config) (Config, error) {
	pki, err := fixtures.PKI()
	if err != nil {
		return cfg, err
	}
	people, err := insured.Load()
	if err != nil {
		return cfg, err
	}
	cfg.AuthRoots = append(cfg.AuthRoots, pki.AuthCA)
	if cfg.FaceIssuer == nil {
		cfg.FaceIssuer = &pki.FaceIssuerKey.PublicKey
	}
	if cfg.TerminalCA == nil {
		cfg.TerminalCA, cfg.TerminalCAID = pki.TerminalCAKey, fixtures.TerminalCAKeyID
	}
	if cfg.People == nil {
		cfg.People = append([]insured.Person(nil), people...)
	}
	for _, p := range cfg.People {
		if p.Persona == "" {
			continue
		}
		per, err := fixtures.PersonaByID(p.Persona)
		if err != nil {
			return cfg, fmt.Errorf("onshi: insured record %s: %w", p.ID, err)
		}
		cfg.Enrollments = append(cfg.Enrollments, Enrollment{AuthCert: per.AuthCert, PersonID: p.ID})
	}
	return cfg, nil
}
