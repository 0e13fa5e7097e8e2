package transcript

import (
	"slices"

	"github.com/mynaconform/mynaconform/readers/session"
)

// FromSession converts the exchanges a session kept (session.Session.Exchanges or Transcript)
// into transcript exchanges, masked: command data marked secret (PIN, 照合番号), response data
// marked secret (the My Number), and any VERIFY or CHANGE REFERENCE DATA data whatever its
// marking. The result shares no memory with exs.
func FromSession(exs []session.Exchange) []Exchange {
	out := make([]Exchange, len(exs))
	for i, e := range exs {
		ex := Exchange{
			Step:     e.Step,
			Command:  slices.Clone(e.Command),
			Response: slices.Clone(e.Response),
			Err:      e.Err,
			Elapsed:  e.Elapsed,
		}
		if e.Secret != session.SecretNone {
			ex = maskCommand(ex)
		}
		if e.SecretResponse {
			ex = maskResponse(ex)
		}
		out[i] = Mask(ex, false)
	}
	return out
}
