package onshi_test

import (
	"testing"
	"time"

	"github.com/mynaconform/mynaconform/formats/mynumber"
)

// TestTerminalCertificateValidWhenIssued: a terminal certificate is valid at the moment it is
// issued at any hour, including the nine hours a day when the date in Japan is already the next
// one in UTC (the validity's dates are UTC days, mynumber.TerminalValidity). The suite activates
// a device every ten minutes of its clock; from the 37th device of a world on, its certificates
// were issued in that window.
func TestTerminalCertificateValidWhenIssued(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(2026, 4, 1, 14, 59, 0, 0, time.UTC), // 23:59 JST
		time.Date(2026, 4, 1, 15, 30, 0, 0, time.UTC), // 00:30 JST the next day
		time.Date(2026, 4, 1, 23, 50, 0, 0, time.UTC), // 08:50 JST the next day
	} {
		e := newEnv(t, nil)
		e.clock.Set(at)
		_, act, _ := e.device(doctorID)
		cv := must(mynumber.ParseCV(act.TerminalCertificate))
		v, err := mynumber.ParseTerminalValidity(cv.Extra)
		if err != nil || !v.ValidAt(e.clock.Now()) {
			t.Errorf("activated at %v (JST %v): validity %+v, %v; not valid at %v", at, at.In(time.FixedZone("JST", 9*3600)), v, err, e.clock.Now())
		}
	}
}
