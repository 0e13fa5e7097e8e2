package mynumber

import (
	"crypto/x509"
	"fmt"
)

// FileLayout names the record a file holds and parses it: the one table of which layout lives in
// which EF (docs/card.md sections 4-8). Parse returns the decoded record; errors wrap ErrMalformed.
type FileLayout struct {
	Name  string
	Parse func(b []byte) (any, error)
}

func x509Layout(name string) FileLayout {
	return FileLayout{name, func(b []byte) (any, error) {
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return nil, malformed("%s: %v", name, err)
		}
		return c, nil
	}}
}

func layout[T any](name string, parse func([]byte) (T, error)) FileLayout {
	return FileLayout{name, func(b []byte) (any, error) { return parse(b) }}
}

var fileLayouts = map[FileRef]FileLayout{
	{AIDJPKI, JPKISignCert}:            x509Layout("signing certificate"),
	{AIDJPKI, JPKISignCACert}:          x509Layout("signing CA certificate"),
	{AIDJPKI, JPKIAuthCert}:            x509Layout("user-authentication certificate"),
	{AIDJPKI, JPKIAuthCACert}:          x509Layout("user-authentication CA certificate"),
	{AIDJPKI, JPKITokenInfo}:           layout("token info", ParseTokenInfo),
	{AIDJPKI, JPKICertFlags}:           layout("certificate flags", ParseCertFlags),
	{AIDCommon, CommonCardInfo}:        layout("card info record", ParseCardInfo),
	{AIDCardFace, FaceAge}:             layout("age record", ParseAgeRecord),
	{AIDCardFace, FaceRecordEF}:        layout("card face", ParseFaceRecord),
	{AIDCardFace, FaceBasicData}:       layout("AP basic data", ParseFaceAPInfo),
	{AIDCardFace, FaceCV}:              layout("CV certificate", ParseCV),
	{AIDCardFace, FaceMyNumber}:        layout("My Number image", ParseMyNumberImage),
	{AIDInputSupport, InputMyNumber}:   layout("My Number", ParseMyNumberRecord),
	{AIDInputSupport, InputBasicFour}:  layout("basic four", ParseBasicFour),
	{AIDInputSupport, InputIntegrity}:  layout("integrity record", ParseIntegrity),
	{AIDInputSupport, InputCV}:         layout("CV certificate", ParseCV),
	{AIDInputSupport, InputInfo}:       layout("AP info", ParseInputAPInfo),
	{AIDInputSupport, InputSMKey}:      layout("session-key public key", ParseSMKey),
	{AIDInputSupport, InputCardKeyPub}: layout("card-key record", ParseCardKeyRecord),
}

// LayoutOf is the layout of EF fid of application aid, false for files without a known record.
func LayoutOf(aid AID, fid FID) (FileLayout, bool) {
	l, ok := fileLayouts[FileRef{aid, fid}]
	return l, ok
}

// FileName is "kenkaku EF 0002 (card face)" for messages.
func FileName(aid AID, fid FID) string {
	s := fmt.Sprintf("%s EF %04X", aid.Short(), uint16(fid))
	if aid.Short() == "" {
		s = fmt.Sprintf("EF %04X", uint16(fid))
	}
	if l, ok := LayoutOf(aid, fid); ok {
		s += " (" + l.Name + ")"
	}
	return s
}
