package onshi

import (
	"crypto/x509"
	"database/sql"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/mynaconform/mynaconform/formats/onshi/api"
)

// JPKI revocation (失効). A revocation list is a standard X.509 CRL of a trusted auth CA, loaded
// by an administrator (PUT /v1/admin/crl), a lab, or at start (Config.CRLs, serve --crl). It
// must be signed by one of Config.AuthRoots or AuthIntermediates, so any administrator may load
// one: it can only say what the CA said, and it applies to every institution. Per issuer the
// list with the highest CRL number is kept (an older or equal one is refused, so nobody can
// un-revoke a certificate by loading an old list); it is stored durably and reloaded at start.
// A certificate whose serial the list names is refused from its revocation date on, also when
// the list's nextUpdate has passed (a stale list still revokes).

type revocations struct {
	mu    sync.RWMutex
	lists map[string]*crlEntry // issuer key (hex SHA-256 of the CA's PKIX public key)
}

type crlEntry struct {
	info    api.CRL
	number  *big.Int
	revoked map[string]time.Time // decimal serial -> revocation time
}

func (r *revocations) init() { r.lists = map[string]*crlEntry{} }

func (r *revocations) lookup(issuerKey, serial string) (time.Time, bool) {
	if issuerKey == "" {
		return time.Time{}, false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.lists[issuerKey]
	if !ok {
		return time.Time{}, false
	}
	at, ok := e.revoked[serial]
	return at, ok
}

// parseCRLBytes accepts DER or PEM ("X509 CRL").
func parseCRLBytes(b []byte) (*x509.RevocationList, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		if blk.Type != "X509 CRL" {
			return nil, errors.New("PEM block is not an X509 CRL")
		}
		b = blk.Bytes
	}
	return x509.ParseRevocationList(b)
}

// issuerOf finds the trusted CA certificate that signed the list.
func (s *Server) issuerOf(crl *x509.RevocationList) *x509.Certificate {
	for _, set := range [][]*x509.Certificate{s.cfg.AuthRoots, s.cfg.AuthIntermediates} {
		for _, ca := range set {
			if crl.CheckSignatureFrom(ca) == nil {
				return ca
			}
		}
	}
	return nil
}

// checkCRL parses and verifies a list and builds its entry; it does not install it.
func (s *Server) checkCRL(der []byte, now time.Time) (string, *crlEntry, []byte, error) {
	crl, err := parseCRLBytes(der)
	if err != nil {
		return "", nil, nil, api.New(api.CodeCRLMalformed, "")
	}
	ca := s.issuerOf(crl)
	if ca == nil {
		return "", nil, nil, api.New(api.CodeCRLUntrusted, "")
	}
	e := &crlEntry{number: big.NewInt(0), revoked: map[string]time.Time{}}
	if crl.Number != nil {
		e.number = crl.Number
	}
	for _, rc := range crl.RevokedCertificateEntries {
		e.revoked[rc.SerialNumber.String()] = rc.RevocationTime
	}
	e.info = api.CRL{Issuer: ca.Subject.String(), Number: e.number.String(), ThisUpdate: crl.ThisUpdate.UTC(),
		NextUpdate: crl.NextUpdate.UTC(), Revoked: len(e.revoked), LoadedAt: now.UTC()}
	if crl.NextUpdate.IsZero() {
		e.info.NextUpdate = time.Time{}
	}
	return certHash(ca.RawSubjectPublicKeyInfo), e, crl.Raw, nil
}

// install keeps e for key unless a list with the same or a higher number is there.
func (r *revocations) install(key string, e *crlEntry) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cur, ok := r.lists[key]; ok && cur.number.Cmp(e.number) >= 0 {
		return api.Newf(api.CodeCRLStale, "loaded: number %s", cur.number)
	}
	r.lists[key] = e
	return nil
}

func (r *revocations) stale(key string, e *crlEntry) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if cur, ok := r.lists[key]; ok && cur.number.Cmp(e.number) >= 0 {
		return api.Newf(api.CodeCRLStale, "loaded: number %s", cur.number)
	}
	return nil
}

// loadCRL verifies, stores durably and installs a list (Config.CRLs at start).
func (s *Server) loadCRL(der []byte, now time.Time) (api.CRL, error) {
	ri := &reqInfo{action: "crl.load", actor: "system", id: newRequestID()}
	return s.storeCRL(ri, der, now)
}

func (s *Server) storeCRL(ri *reqInfo, der []byte, now time.Time) (api.CRL, error) {
	key, e, raw, err := s.checkCRL(der, now)
	if err != nil {
		return api.CRL{}, err
	}
	ri.target = "crl:" + e.info.Issuer + " #" + e.info.Number
	if err := s.revoked.stale(key, e); err != nil {
		if ri.actor == "system" && api.IsCode(err, api.CodeCRLStale) {
			return s.revokedInfo(key), nil // the same list again at start: nothing to do
		}
		return api.CRL{}, err
	}
	var next any
	if !e.info.NextUpdate.IsZero() {
		next = e.info.NextUpdate.UnixNano()
	}
	var installErr error
	err = s.commit(ri, func(tx *sql.Tx, _ *auditRec) error {
		_, err := tx.Exec(`INSERT INTO crls(issuer_key, issuer, number, this_update, next_update, der, loaded_at) VALUES(?,?,?,?,?,?,?)
			ON CONFLICT(issuer_key) DO UPDATE SET issuer = excluded.issuer, number = excluded.number, this_update = excluded.this_update,
			next_update = excluded.next_update, der = excluded.der, loaded_at = excluded.loaded_at`,
			key, e.info.Issuer, e.info.Number, e.info.ThisUpdate.UnixNano(), next, raw, now.UnixNano())
		return err
	}, func() { installErr = s.revoked.install(key, e) })
	if err != nil {
		return api.CRL{}, err
	}
	if installErr != nil { // a newer list won a race; it is in force, this one is stored but not
		return api.CRL{}, installErr
	}
	return e.info, nil
}

func (s *Server) revokedInfo(key string) api.CRL {
	s.revoked.mu.RLock()
	defer s.revoked.mu.RUnlock()
	return s.revoked.lists[key].info
}

// loadStoredCRLs reinstalls the lists stored by earlier runs.
func (s *Server) loadStoredCRLs() error {
	rows, err := s.st.r.Query(`SELECT der, loaded_at FROM crls`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var der []byte
		var loaded int64
		if err := rows.Scan(&der, &loaded); err != nil {
			return err
		}
		key, e, _, err := s.checkCRL(der, fromNanos(loaded))
		if err != nil {
			// The CA that signed it is no longer trusted: the list cannot apply.
			s.cfg.Logger.Warn("onshi: stored revocation list not reloaded", "err", err.Error())
			continue
		}
		s.revoked.install(key, e)
	}
	return rows.Err()
}

// putCRL loads a revocation list (PUT /v1/admin/crl).
func (s *Server) putCRL(w http.ResponseWriter, r *http.Request) (int, any, error) {
	_, ri, req, err := adminRequest[api.CRLRequest](s, w, r)
	if err != nil {
		return 0, nil, err
	}
	info, err := s.storeCRL(ri, req.CRL, s.now())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, info, nil
}

// listCRLs shows the lists in force.
func (s *Server) listCRLs(w http.ResponseWriter, r *http.Request) (int, any, error) {
	if _, _, err := s.adminSession(r); err != nil {
		return 0, nil, err
	}
	s.revoked.mu.RLock()
	out := api.CRLList{CRLs: []api.CRL{}}
	for _, e := range s.revoked.lists {
		out.CRLs = append(out.CRLs, e.info)
	}
	s.revoked.mu.RUnlock()
	sort.Slice(out.CRLs, func(i, j int) bool { return out.CRLs[i].Issuer < out.CRLs[j].Issuer })
	return http.StatusOK, out, nil
}
