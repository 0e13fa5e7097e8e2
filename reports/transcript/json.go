package transcript

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mynaconform/mynaconform/formats/mynumber"
)

// exchangeJSON is the JSON form of an Exchange: bytes as upper-case hex (readable, unlike
// base64), plus the command's name and the status word's meaning for people.
type exchangeJSON struct {
	Step      string `json:"step"`
	Command   string `json:"command"`
	Name      string `json:"name,omitempty"`
	Response  string `json:"response,omitempty"`
	Status    string `json:"status,omitempty"`
	Err       string `json:"err,omitempty"`
	ElapsedNS int64  `json:"elapsed_ns"`
	Masked    bool   `json:"masked,omitempty"`
}

// MarshalJSON writes bytes as hex with the command name and status meaning.
func (e Exchange) MarshalJSON() ([]byte, error) {
	j := exchangeJSON{
		Step: e.Step, Command: strings.ToUpper(hex.EncodeToString(e.Command)),
		Response: strings.ToUpper(hex.EncodeToString(e.Response)),
		Err:      e.Err, ElapsedNS: int64(e.Elapsed), Masked: e.Masked,
	}
	if len(e.Command) >= 4 {
		j.Name = mynumber.CommandName(e.Command)
	}
	if n := len(e.Response); n >= 2 {
		j.Status = statusMeaning(e.Response[n-2], e.Response[n-1])
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes (name and status are ignored).
func (e *Exchange) UnmarshalJSON(b []byte) error {
	var j exchangeJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	cmd, err := hex.DecodeString(j.Command)
	if err != nil {
		return fmt.Errorf("transcript: command: %w", err)
	}
	resp, err := hex.DecodeString(j.Response)
	if err != nil {
		return fmt.Errorf("transcript: response: %w", err)
	}
	if len(resp) == 0 {
		resp = nil
	}
	*e = Exchange{Step: j.Step, Command: cmd, Response: resp, Err: j.Err, Elapsed: time.Duration(j.ElapsedNS), Masked: j.Masked}
	return nil
}
