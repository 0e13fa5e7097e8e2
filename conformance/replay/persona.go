package replay

import (
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/formats/mynumber"
)

// PersonaSecrets gives a synthetic persona's reference data for the keys a recording masks.
func PersonaSecrets(p *fixtures.Persona) Secrets {
	return func(aid mynumber.AID, fid mynumber.FID) ([]byte, bool) {
		var v string
		switch (mynumber.FileRef{AID: aid, FID: fid}) {
		case mynumber.FileRef{AID: mynumber.AIDJPKI, FID: mynumber.JPKIAuthPIN}:
			v = p.AuthPIN
		case mynumber.FileRef{AID: mynumber.AIDJPKI, FID: mynumber.JPKISignPIN}:
			v = p.SignPIN
		case mynumber.FileRef{AID: mynumber.AIDInputSupport, FID: mynumber.InputPIN}:
			v = p.KenhojoPIN
		case mynumber.FileRef{AID: mynumber.AIDCardFace, FID: mynumber.FaceNumberB}, mynumber.FileRef{AID: mynumber.AIDInputSupport, FID: mynumber.InputNumberB}:
			v = p.VerificationB()
		case mynumber.FileRef{AID: mynumber.AIDCardFace, FID: mynumber.FaceNumberA}, mynumber.FileRef{AID: mynumber.AIDInputSupport, FID: mynumber.InputNumberA}:
			v = p.MyNumber
		case mynumber.FileRef{AID: mynumber.AIDCardFace, FID: mynumber.FaceBirthKey}:
			v, _ = mynumber.EraYYMMDD(p.BirthDate)
		}
		return []byte(v), v != ""
	}
}
