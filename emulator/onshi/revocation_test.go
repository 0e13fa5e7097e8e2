package onshi_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/emulator/onshi"
	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

// crl builds an X.509 CRL of number n, signed by the CA, revoking the serials at revokedAt.
func crl(t testing.TB, ca *x509.Certificate, key *rsa.PrivateKey, n int64, revokedAt time.Time, serials ...*big.Int) []byte {
	t.Helper()
	var entries []x509.RevocationListEntry
	for _, s := range serials {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: revokedAt})
	}
	return crlOf(t, ca, key, n, entries...)
}

func crlOf(t testing.TB, ca *x509.Certificate, key *rsa.PrivateKey, n int64, entries ...x509.RevocationListEntry) []byte {
	tmpl := &x509.RevocationList{Number: big.NewInt(n), ThisUpdate: start.Add(-time.Hour), NextUpdate: start.Add(24 * time.Hour),
		RevokedCertificateEntries: entries}
	return must(x509.CreateRevocationList(rand.Reader, tmpl, ca, key))
}

func serialOf(t testing.TB, der []byte) *big.Int {
	return must(x509.ParseCertificate(der)).SerialNumber
}

// A revoked (失効) auth certificate is refused from its revocation date on, with its own code,
// as soon as a revocation list of the trusted auth CA is loaded, also for a certificate verified
// (and cached) before; the list applies to every institution and survives a restart. Lists not
// signed by a trusted CA, older than the one loaded, or not CRLs are refused.
func TestRevokedCertificateIsRefused(t *testing.T) {
	e := newEnv(t, nil)
	a, _, s := e.device(doctorID)
	p := pki(t)
	adult, family := persona(t, "adult"), persona(t, "family")
	must(pinConsent(e, s, adult.AuthCert, adult.AuthKey, allItems)) // verified and cached

	list := crl(t, p.AuthCA, p.AuthCAKey, 7, start.Add(-time.Minute), serialOf(t, adult.AuthCert))
	info := must(a.LoadCRL(e.ctx, list))
	if info.Number != "7" || info.Revoked != 1 || info.Issuer != p.AuthCA.Subject.String() {
		t.Fatalf("loaded: %+v", info)
	}
	_, err := pinConsent(e, s, adult.AuthCert, adult.AuthKey, allItems)
	wantCode(t, err, api.CodeCertRevoked)
	if !api.IsCode(err, api.ErrCertRevoked.Code) {
		t.Fatal("sentinel")
	}
	must(pinConsent(e, s, family.AuthCert, family.AuthKey, allItems))

	// Another institution: the CA's list applies to everyone.
	b := e.admin(instB)
	must(b.UpdateSettings(e.ctx, api.SettingsRequest{HomeVisitEnabled: true, AcceptTerms: true}))
	e.account(b, instB, "doc02", api.RoleMedical)
	_, sb, err := e.activateWith(instB, "doc02", userPW, e.code(b, "B端末"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = pinConsent(e, sb, adult.AuthCert, adult.AuthKey, allItems)
	wantCode(t, err, api.CodeCertRevoked)

	// A revocation dated later applies from then on; a newer list replaces the older one.
	lab := labCert(t, 4242)
	later := pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crlOf(t, p.AuthCA, p.AuthCAKey, 8,
		x509.RevocationListEntry{SerialNumber: serialOf(t, adult.AuthCert), RevocationTime: start.Add(-time.Minute)},
		x509.RevocationListEntry{SerialNumber: serialOf(t, lab.der), RevocationTime: start.Add(2 * time.Hour)})})
	must(b.LoadCRL(e.ctx, later))
	if got := must(a.CRLs(e.ctx)); len(got) != 1 || got[0].Number != "8" || got[0].Revoked != 2 {
		t.Fatalf("lists: %+v", got)
	}

	_, err = b.LoadCRL(e.ctx, list) // number 7 after 8: un-revoking is not possible
	wantCode(t, err, api.CodeCRLStale)
	_, err = a.LoadCRL(e.ctx, crl(t, p.RogueCA, p.RogueCAKey, 99, start, serialOf(t, family.AuthCert)))
	wantCode(t, err, api.CodeCRLUntrusted)
	_, err = a.LoadCRL(e.ctx, []byte("not a CRL"))
	wantCode(t, err, api.CodeCRLMalformed)
	must(pinConsent(e, s, family.AuthCert, family.AuthKey, allItems))

	// Durable: after a restart the list is in force without being loaded again; from the
	// revocation date of the second list, its second certificate is refused too.
	e.hs.Close()
	e.srv.Close()
	e2 := reopen(t, e, func(c *onshi.Config) { c.LabEnrollment = true })
	s2 := must(e2.login(e.firstDevice(), doctorID))
	_, err = pinConsent(e2, s2, adult.AuthCert, adult.AuthKey, allItems)
	wantCode(t, err, api.CodeCertRevoked)
	a2 := must(e2.c.AdminLogin(e2.ctx, instA, "admin", adminPW))
	must(a2.Enroll(e2.ctx, lab.der, "multi"))
	must(pinConsent(e2, s2, lab.der, lab.key, allItems)) // revoked only from start+2h
	e2.clock.Advance(2 * time.Hour)
	s2 = must(e2.login(e.firstDevice(), doctorID))
	_, err = pinConsent(e2, s2, lab.der, lab.key, allItems)
	wantCode(t, err, api.CodeCertRevoked)

	a2 = must(e2.c.AdminLogin(e2.ctx, instA, "admin", adminPW)) // the first idled out during the 2 hours
	var loads []string
	for _, en := range must(a2.Audit(e2.ctx, 0, 1000)) {
		if en.Action == "crl.load" {
			loads = append(loads, en.Outcome+":"+string(en.Code))
		}
	}
	if len(loads) != 3 || loads[0] != "ok:" || loads[1] != "refused:"+string(api.CodeCRLUntrusted) || loads[2] != "refused:"+string(api.CodeCRLMalformed) { // B loaded the others
		t.Errorf("A's audit of list loads: %v", loads)
	}
}

// serve --crl: lists given at start are verified like loaded ones; one that is not signed by a
// trusted CA stops the start with a clear error.
func TestRevocationListsAtStart(t *testing.T) {
	p := pki(t)
	adult := persona(t, "adult")
	e := newEnv(t, func(c *onshi.Config) {
		c.CRLs = [][]byte{crl(t, p.AuthCA, p.AuthCAKey, 1, start.Add(-time.Hour), serialOf(t, adult.AuthCert))}
	})
	_, _, s := e.device(doctorID)
	_, err := pinConsent(e, s, adult.AuthCert, adult.AuthKey, allItems)
	wantCode(t, err, api.CodeCertRevoked)

	cfg := baseConfig(t, onshi.NewFakeClock(start))
	cfg.CRLs = [][]byte{crl(t, p.RogueCA, p.RogueCAKey, 1, start)}
	if _, err := onshi.Open(t.TempDir(), cfg); err == nil || !api.IsCode(err, api.CodeCRLUntrusted) {
		t.Fatalf("untrusted list at start: %v", err)
	}
}

// The fixtures' revoked certificate (TestPKI.AuthCertRevoked, listed in the auth CA's CRL, which
// onshifixtures loads) is refused out of the box, in PIN mode, as a clinic would meet it.
func TestFixturesRevokedCertificate(t *testing.T) {
	e := newEnv(t, nil)
	_, _, s := e.device(doctorID)
	p := pki(t)
	_, err := pinConsent(e, s, p.AuthCertRevoked, p.AuthKeyRevoked, allItems)
	wantCode(t, err, api.CodeCertRevoked)
	a := e.admin(instA)
	if lists := must(a.CRLs(e.ctx)); len(lists) != 1 || lists[0].Revoked < 1 {
		t.Fatalf("lists in force: %+v", lists)
	}
}
