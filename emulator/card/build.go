package card

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/mynaconform/mynaconform/formats/iso7816"
	"github.com/mynaconform/mynaconform/formats/mynumber"
)

// efKind is what an elementary file holds.
type efKind uint8

const (
	efBinary   efKind = iota // transparent data (READ BINARY)
	efRecord                 // record-structured data (READ RECORD)
	efRef                    // reference data of a key (VERIFY); internal
	efPrivate                // a private key (signatures, INTERNAL AUTHENTICATE); internal
	efInternal               // internal EF of unknown content: selectable, READ 6981
)

// ef is one elementary file of a DF.
type ef struct {
	fid     mynumber.FID
	kind    efKind
	data    []byte   // efBinary: physical content, filler included
	records [][]byte // efRecord: records 1..n
	// read: keys of the DF (bits by FID) any of which, verified, opens the file; 0 = free.
	read uint32
	// protected: no credential opens the file (JPKI EF 0009).
	protected bool
	// needTA: with WithRequireTerminalAuth the file also needs an accepted 80 A2.
	needTA bool
	key    *refKey
	priv   *rsa.PrivateKey
	// use: keys any of which must be verified to use priv; 0 = free (card-presence keys).
	use uint32
}

// dfile is one DF: an application, or the MF (aid "").
type dfile struct {
	aid mynumber.AID
	efs [0x1F]*ef // by FID 0001..001E (the SFI); index 0 unused
	// presence is the key a signature with P2 00 uses (card-presence proof, no credential); nil
	// in JPKI-AP, whose keys are named by P2 80 / 80|SFI only.
	presence *ef
	// ia answers INTERNAL AUTHENTICATE (共通カードAP EF 0019); elsewhere the DF answers iaSW.
	ia   *ef
	iaSW iso7816.StatusWord
	// smKey is the kenhojo key SET SESSION KEY decrypts with; smNeeds the keys one of which must
	// have been verified. Without smKey SET SESSION KEY answers sskSW.
	smKey   *rsa.PrivateKey
	smNeeds uint32
	sskSW   iso7816.StatusWord
	// terminal: the DF accepts 80 A2 terminal certificates (JPKI-AP).
	terminal bool
}

func (d *dfile) add(e *ef) { d.efs[e.fid] = e }

// file is the EF fid of d, nil when absent.
func (d *dfile) file(fid mynumber.FID) *ef {
	if fid == 0 || int(fid) >= len(d.efs) {
		return nil
	}
	return d.efs[fid]
}

func bit(fid mynumber.FID) uint32 { return 1 << fid }

// withFiller pads b with FF to the next multiple of 256 bytes, at least one byte: files whose
// physical size card.md does not give carry filler after the object, as real cards do.
func withFiller(b []byte) []byte { return padTo(b, (len(b)+256)&^255) }

// padTo pads b with FF to n bytes (b unchanged when it is already as long).
func padTo(b []byte, n int) []byte {
	if len(b) >= n {
		return bytes.Clone(b)
	}
	out := make([]byte, n)
	copy(out, b)
	for i := len(b); i < n; i++ {
		out[i] = 0xFF
	}
	return out
}

// recordSigner is the issuer's Signer behind a cache: a real card's records are signed once, at
// issuance, while here every Card built from the same Profile would sign them again (five
// RSA-2048 signatures, most of the cost of New). PKCS#1 v1.5 is deterministic, so a cached
// signature is byte for byte the one a fresh signing gives.
func recordSigner(key *rsa.PrivateKey) mynumber.Signer {
	return func(t []byte) ([]byte, error) {
		h := sha256.New()
		h.Write(key.N.Bytes())
		h.Write(t)
		var id [sha256.Size]byte
		h.Sum(id[:0])
		sigCache.Lock()
		sig, ok := sigCache.m[id]
		sigCache.Unlock()
		if ok {
			return bytes.Clone(sig), nil
		}
		sig, err := rsa.SignPKCS1v15(nil, key, 0, t)
		if err != nil {
			return nil, err
		}
		sigCache.Lock()
		if sigCache.m == nil || len(sigCache.m) >= sigCacheMax {
			sigCache.m = make(map[[sha256.Size]byte][]byte)
		}
		sigCache.m[id] = bytes.Clone(sig)
		sigCache.Unlock()
		return sig, nil
	}
}

var sigCache struct {
	sync.Mutex
	m map[[sha256.Size]byte][]byte
}

// sigCacheMax bounds the cache; past it the cache starts again (the records of ~800 cards).
const sigCacheMax = 4096

// checkProfile validates what the card's formats require. Messages never carry a PIN or a My
// Number.
func checkProfile(p *Profile) error {
	switch {
	case p.CardKey == nil || p.FaceIssuer == nil:
		return errors.New("card: Profile needs CardKey and FaceIssuer")
	case p.AuthKey == nil || len(p.AuthCert) == 0:
		return errors.New("card: Profile needs AuthKey and AuthCert")
	case (p.SignKey == nil) != (len(p.SignCert) == 0):
		return errors.New("card: Profile needs both or neither of SignKey and SignCert")
	case p.InputInfoSize != 0 && p.InputInfoSize < 256:
		return errors.New("card: InputInfoSize must be at least 256")
	case p.CardSerial != "" && !digitsN(p.CardSerial, 15):
		return errors.New("card: CardSerial must be 15 digits")
	case len(p.KeyRef) != 0 && len(p.KeyRef) != 16:
		return errors.New("card: KeyRef must be 16 bytes")
	}
	for k, n := range p.Tries {
		if _, ok := mynumber.KeyOf(k.AID, k.FID); !ok || n < 0 || n > 15 {
			return fmt.Errorf("card: Tries of %s/%s: no such key, or not 0..15", k.AID.Short(), fidHex(k.FID))
		}
	}
	if _, err := mynumber.EncodeMyNumberRecord(p.MyNumber); err != nil {
		return errors.New("card: MyNumber must be 12 digits")
	}
	if _, err := mynumber.VerificationB(p.BirthDate, p.Expiry, p.SecurityCode); err != nil {
		return fmt.Errorf("card: BirthDate, Expiry, SecurityCode: %w", err)
	}
	if _, err := mynumber.EraYYMMDD(p.BirthDate); err != nil {
		return fmt.Errorf("card: BirthDate: %w", err)
	}
	if !digitsN(p.Municipality, 5) {
		return errors.New("card: Municipality must be 5 digits")
	}
	if p.Sex < 0 || p.Sex > 9 {
		return errors.New("card: Sex must be a JIS X 0303 digit")
	}
	for _, c := range []struct {
		name string
		v    string
		f    mynumber.Format
	}{{"AuthPIN", p.AuthPIN, mynumber.FormatDigits4}, {"SignPIN", p.SignPIN, mynumber.FormatPassword},
		{"KenhojoPIN", p.KenhojoPIN, mynumber.FormatDigits4}, {"CommonPIN", p.CommonPIN, mynumber.FormatDigits4},
		{"JukiPIN", p.JukiPIN, mynumber.FormatDigits4}} {
		if c.v != "" && !c.f.Valid([]byte(c.v)) {
			return fmt.Errorf("card: %s %w", c.name, errPINFormat)
		}
	}
	for _, c := range [][]byte{p.AuthCert, p.AuthCACert, p.SignCert, p.SignCACert} {
		if len(c) > 0 && (len(c) < 4 || c[0] != 0x30 || c[1] != 0x82 || int(c[2])<<8|int(c[3]) != len(c)-4) {
			return errors.New("card: certificates must be DER starting with an exact 30 82 LL LL header")
		}
	}
	for _, cv := range [][]byte{p.FaceIssuerCV, p.InputIssuerCV, p.MF.RootCV, p.MF.CV} {
		if len(cv) > 0 {
			if _, err := mynumber.ParseCV(cv); err != nil {
				return fmt.Errorf("card: CV certificate: %w", err)
			}
		}
	}
	for _, a := range p.Applications {
		if a.Short() == "" || a == mynumber.AIDISD {
			return fmt.Errorf("card: unknown application %s", a)
		}
	}
	return nil
}

func digitsN(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < n; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// build creates the MF and the applications from the profile (card.md sections 3-8).
func (c *Card) build(p *Profile) error {
	q := c.q
	tries := func(k mynumber.Key) int {
		if n, ok := p.Tries[KeyRef{k.AID, k.FID}]; ok {
			return n
		}
		return k.Tries
	}
	blocked := func(aid mynumber.AID, fid mynumber.FID) bool {
		return slices.Contains(p.Blocked, KeyRef{aid, fid}) || (p.AuthBlocked && aid == mynumber.AIDJPKI && fid == mynumber.JPKIAuthPIN)
	}
	var kerr error
	key := func(d *dfile, fid mynumber.FID, value string) *refKey {
		spec, ok := mynumber.KeyOf(d.aid, fid)
		if !ok {
			kerr = fmt.Errorf("card: no key %s/%s in formats/mynumber", d.aid.Short(), fidHex(fid))
			return nil
		}
		k, err := newRefKey(spec, value, tries(spec))
		if err != nil {
			kerr = err
			return nil
		}
		if blocked(d.aid, fid) || spec.Format == mynumber.FormatNone {
			k.tries = 0
		}
		k.letDig = q.SignPINLetterAndDigit
		c.keys = append(c.keys, k)
		d.add(&ef{fid: fid, kind: efRef, key: k})
		return k
	}
	internal := func(d *dfile, fids ...mynumber.FID) {
		for _, f := range fids {
			d.add(&ef{fid: f, kind: efInternal})
		}
	}
	or := func(k, d *rsa.PrivateKey) *rsa.PrivateKey {
		if k != nil {
			return k
		}
		return d
	}
	present := func(a mynumber.AID) bool { return p.Applications == nil || slices.Contains(p.Applications, a) }

	// MF level: EF 001E selects and is internal; nothing else (card.md section 3).
	c.mf = &dfile{iaSW: iso7816.SWConditions, sskSW: iso7816.SWSecurityStatus}
	internal(c.mf, mynumber.MFInternal)

	era, _ := mynumber.EraYYMMDD(p.BirthDate)
	numberB, _ := mynumber.VerificationB(p.BirthDate, p.Expiry, p.SecurityCode)
	cardPub := &p.CardKey.PublicKey
	faceSign, inputSign := recordSigner(p.FaceIssuer), recordSigner(or(p.InputIssuer, p.FaceIssuer))
	inputCV := p.InputIssuerCV
	if len(inputCV) == 0 {
		inputCV = p.FaceIssuerCV
	}

	apps := map[mynumber.AID]*dfile{}

	// JPKI-AP (section 4).
	if present(mynumber.AIDJPKI) {
		j := &dfile{aid: mynumber.AIDJPKI, iaSW: iso7816.SWSecurityStatus, sskSW: iso7816.SWSecurityStatus, terminal: true}
		key(j, mynumber.JPKIAuthPIN, p.AuthPIN)
		key(j, mynumber.JPKISignPIN, p.SignPIN)
		j.add(&ef{fid: mynumber.JPKIAuthKey, kind: efPrivate, priv: p.AuthKey, use: bit(mynumber.JPKIAuthPIN)})
		tok := p.Token
		if tok.Label == "" {
			tok = mynumber.DefaultTokenInfo(mynumber.TokenCard, p.TokenSerial)
		}
		tokBytes, err := tok.Encode()
		if err != nil {
			return fmt.Errorf("card: token info: %w", err)
		}
		c.token = tok.Label
		authRead := uint32(0)
		if tok.Label == mynumber.TokenAndroid {
			authRead = bit(mynumber.JPKIAuthPIN) // GPSE: 000A only after VERIFY 0018
		}
		j.add(&ef{fid: mynumber.JPKIAuthCert, data: withFiller(p.AuthCert), read: authRead})
		if len(p.AuthCACert) > 0 {
			j.add(&ef{fid: mynumber.JPKIAuthCACert, data: withFiller(p.AuthCACert)})
		}
		if p.SignKey != nil {
			j.add(&ef{fid: mynumber.JPKISignKey, kind: efPrivate, priv: p.SignKey, use: bit(mynumber.JPKISignPIN)})
			j.add(&ef{fid: mynumber.JPKISignCert, data: withFiller(p.SignCert), read: bit(mynumber.JPKISignPIN)})
		}
		if len(p.SignCACert) > 0 {
			j.add(&ef{fid: mynumber.JPKISignCACert, data: withFiller(p.SignCACert)})
		}
		j.add(&ef{fid: mynumber.JPKITokenInfo, data: tokBytes})
		j.add(&ef{fid: mynumber.JPKICertFlags, data: mynumber.CertFlags{Sign: p.SignKey != nil, Auth: true}.Encode()})
		j.add(&ef{fid: mynumber.JPKIProtected, data: bytes.Repeat([]byte{0xFF}, 16), protected: true})
		internal(j, mynumber.JPKITerminalCA, mynumber.JPKIUnknown0005, mynumber.JPKIUnknown0010,
			mynumber.JPKIUnknown0019, mynumber.JPKIUnknown001C, mynumber.JPKIUnknown001E)
		apps[j.aid] = j
	}

	// 券面事項確認AP (section 7).
	if present(mynumber.AIDCardFace) {
		f := &dfile{aid: mynumber.AIDCardFace, iaSW: iso7816.SWConditions, sskSW: iso7816.SWNoSecurityEnv}
		key(f, mynumber.FaceBirthKey, era)
		key(f, mynumber.FaceNumberB, numberB)
		key(f, mynumber.FaceNumberA, p.MyNumber)
		f.presence = &ef{fid: mynumber.FaceCardKey, kind: efPrivate, priv: p.CardKey}
		f.add(f.presence)
		internal(f, mynumber.Face001C, mynumber.Face001E)
		age, err := (&mynumber.AgeRecord{BirthDate: p.BirthDate, CardKey: cardPub}).Encode(faceSign)
		if err != nil {
			return fmt.Errorf("card: kenkaku EF 0001: %w", err)
		}
		f.add(&ef{fid: mynumber.FaceAge, data: age, read: bit(mynumber.FaceBirthKey)})
		face, err := (&mynumber.FaceRecord{BirthDate: p.BirthDate, Sex: p.Sex, CardKey: cardPub, NamePNG: p.NamePNG,
			AddressPNG: p.AddressPNG, Photo: p.Photo, Expiry: p.Expiry, SecurityCodePNG: p.SecurityCodePNG}).Encode(faceSign)
		if err != nil {
			return fmt.Errorf("card: kenkaku EF 0002: %w", err)
		}
		f.add(&ef{fid: mynumber.FaceRecordEF, data: withFiller(face), read: bit(mynumber.FaceNumberA) | bit(mynumber.FaceNumberB), needTA: true})
		info := p.FaceInfo
		info.Municipality = p.Municipality
		if info.Version == ([4]byte{}) {
			info.Version = mynumber.DefaultFaceVersion
		}
		if info.DF35Data == nil {
			info.DF35Data = make([]byte, 256)
		}
		infoBytes, err := info.Encode()
		if err != nil {
			return fmt.Errorf("card: kenkaku EF 0003: %w", err)
		}
		f.add(&ef{fid: mynumber.FaceBasicData, data: infoBytes})
		if len(p.FaceIssuerCV) > 0 {
			f.add(&ef{fid: mynumber.FaceCV, data: bytes.Clone(p.FaceIssuerCV)})
		}
		img, err := (&mynumber.MyNumberImage{PNG: p.MyNumberPNG, CardKey: cardPub}).Encode(faceSign)
		if err != nil {
			return fmt.Errorf("card: kenkaku EF 0005: %w", err)
		}
		f.add(&ef{fid: mynumber.FaceMyNumber, data: withFiller(img), read: bit(mynumber.FaceNumberA)})
		f.add(&ef{fid: mynumber.FaceUnknown6, data: mynumber.Unidentified16(), read: bit(mynumber.FaceNumberA) | bit(mynumber.FaceNumberB)})
		apps[f.aid] = f
	}

	// 券面事項入力補助AP (section 8).
	if present(mynumber.AIDInputSupport) {
		h := &dfile{aid: mynumber.AIDInputSupport, iaSW: iso7816.SWConditions, sskSW: iso7816.SWSecurityStatus,
			smKey: or(p.SMKey, p.CardKey), smNeeds: bit(mynumber.InputPIN)}
		key(h, mynumber.InputPIN, p.KenhojoPIN)
		key(h, mynumber.InputBlocked, "")
		key(h, mynumber.InputNumberA, p.MyNumber)
		key(h, mynumber.InputNumberB, numberB)
		inputKey := or(p.InputCardKey, p.CardKey)
		h.presence = &ef{fid: mynumber.InputCardKey, kind: efPrivate, priv: inputKey}
		h.add(h.presence)
		internal(h, mynumber.Input0010, mynumber.Input001C, mynumber.Input001E, mynumber.InputUnknown8)
		ef1, _ := mynumber.EncodeMyNumberRecord(p.MyNumber)
		basic, err := (&mynumber.BasicFour{Name: p.Name, Address: p.Address, BirthDate: p.BirthDate, Sex: p.Sex}).Encode()
		if err != nil {
			return fmt.Errorf("card: kenhojo EF 0002: %w", err)
		}
		g, err := mynumber.NewIntegrity(ef1, basic)
		if err != nil {
			return fmt.Errorf("card: kenhojo EF 0003: %w", err)
		}
		integ, err := g.Encode(inputSign)
		if err != nil {
			return fmt.Errorf("card: kenhojo EF 0003: %w", err)
		}
		ckr, err := (&mynumber.CardKeyRecord{CardKey: &inputKey.PublicKey}).Encode(inputSign)
		if err != nil {
			return fmt.Errorf("card: kenhojo EF 0007: %w", err)
		}
		info := p.InputInfo
		if info.Version == ([4]byte{}) {
			info.Version = mynumber.DefaultInputVersion
		}
		if info.DF43 == nil {
			info.DF43 = append(make([]byte, 32), bytes.Repeat([]byte{0xFF}, 96)...)
		}
		infoBytes, err := info.Encode()
		if err != nil {
			return fmt.Errorf("card: kenhojo EF 0005: %w", err)
		}
		size := max(p.InputInfoSize, 256)
		pin, a, b := bit(mynumber.InputPIN), bit(mynumber.InputNumberA), bit(mynumber.InputNumberB)
		h.add(&ef{fid: mynumber.InputMyNumber, data: ef1, read: pin | a})
		h.add(&ef{fid: mynumber.InputBasicFour, data: basic, read: pin | b})
		h.add(&ef{fid: mynumber.InputIntegrity, data: integ, read: pin | a | b})
		if len(inputCV) > 0 {
			h.add(&ef{fid: mynumber.InputCV, data: bytes.Clone(inputCV)})
		}
		h.add(&ef{fid: mynumber.InputInfo, data: padTo(infoBytes, size)})
		h.add(&ef{fid: mynumber.InputSMKey, data: mynumber.EncodeSMKey(&h.smKey.PublicKey), read: pin | a | b})
		h.add(&ef{fid: mynumber.InputCardKeyPub, data: ckr, read: pin | a | b})
		apps[h.aid] = h
	}

	keyRef := p.KeyRef
	if len(keyRef) == 0 {
		keyRef = make([]byte, 16)
	}
	// 共通カードAP (section 5).
	if present(mynumber.AIDCommon) {
		cm := &dfile{aid: mynumber.AIDCommon, iaSW: iso7816.SWConditions, sskSW: iso7816.SWNoSecurityEnv}
		key(cm, mynumber.CommonPIN, p.CommonPIN)
		cm.ia = &ef{fid: mynumber.CommonIAKey, kind: efPrivate, priv: or(p.CommonKey, p.CardKey)}
		cm.add(cm.ia)
		internal(cm, mynumber.CommonInternal)
		serial := p.CardSerial
		if serial == "" {
			serial = "000000000000000"
		}
		rec, err := mynumber.CardInfo{Serial: serial, Municipality: p.Municipality, Expiry: p.Expiry}.Encode()
		if err != nil {
			return fmt.Errorf("card: 共通カードAP EF 0001: %w", err)
		}
		cm.add(&ef{fid: mynumber.CommonCardInfo, kind: efRecord, records: [][]byte{rec}})
		cm.add(&ef{fid: mynumber.CommonKeyRef, kind: efRecord, records: [][]byte{bytes.Clone(keyRef)}})
		apps[cm.aid] = cm
	}

	// 住基AP (section 6).
	if present(mynumber.AIDJuki) {
		jk := &dfile{aid: mynumber.AIDJuki, iaSW: iso7816.SWConditions, sskSW: iso7816.SWSecurityStatus}
		key(jk, mynumber.JukiPIN, p.JukiPIN)
		jk.add(&ef{fid: mynumber.JukiKeyRef, kind: efRecord, records: [][]byte{bytes.Clone(keyRef)}})
		apps[jk.aid] = jk
	}
	if kerr != nil {
		return kerr
	}
	for _, a := range mynumber.Applications {
		if d, ok := apps[a]; ok {
			c.apps = append(c.apps, d)
		}
	}
	return c.buildMF(p)
}

// buildMF collects the MF-level GET DATA objects (section 3).
func (c *Card) buildMF(p *Profile) error {
	m := &p.MF
	c.mfObjects = map[uint16][]byte{}
	put := func(tag uint16, v []byte) {
		if len(v) > 0 {
			c.mfObjects[tag] = bytes.Clone(v)
		}
	}
	put(mynumber.DOIssuerID, m.IssuerID)
	put(mynumber.DOCardID, m.CardID)
	put(mynumber.DOCardRecognition, m.CardRecognition)
	put(mynumber.DOMunicipality, []byte(p.Municipality))
	put(mynumber.DOExpiry, []byte(p.Expiry))
	if m.IntermediateID != (mynumber.KeyID{}) {
		put(mynumber.DOIntermediateID, m.IntermediateID[:])
	}
	for _, o := range []struct {
		tag uint16
		cv  []byte
	}{{mynumber.DORootCV, m.RootCV}, {mynumber.DOCV, m.CV}} {
		if len(o.cv) > 0 {
			cv, _ := mynumber.ParseCV(o.cv) // checked by checkProfile
			put(o.tag, cv.Value())
		}
	}
	contact := p.ContactATR
	if len(contact) == 0 {
		contact = c.atr
		if a, ok := atrInfo(c.atr); ok && a.Contactless {
			contact = mynumber.DefaultATR()
		}
	}
	if len(contact) > 1 {
		switch m.ATRAt {
		case ATRAtMF:
			put(mynumber.DOContactATR, contact[1:])
		case ATRInApps:
			c.apATR = bytes.Clone(contact[1:])
		case ATRAtBoth:
			put(mynumber.DOContactATR, contact[1:])
			c.apATR = bytes.Clone(contact[1:])
		}
	}
	return nil
}

func atrInfo(atr []byte) (mynumber.ATR, bool) {
	for _, a := range mynumber.ATRs {
		if bytes.Equal(a.Bytes, atr) {
			return a, true
		}
	}
	return mynumber.ATR{}, false
}

// fingerprint identifies a card (state-file binding): hex SHA-256 over the public moduli of the
// card and authentication keys. It carries no personal data.
func fingerprint(p *Profile) string {
	h := sha256.New()
	h.Write(p.CardKey.N.Bytes())
	h.Write(p.AuthKey.N.Bytes())
	return hex.EncodeToString(h.Sum(nil))
}
