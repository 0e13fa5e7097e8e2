package transcript

import (
	"bytes"
	"testing"

	"github.com/mynaconform/mynaconform/readers/session"
)

func TestFromSession(t *testing.T) {
	in := []session.Exchange{
		{Step: "a", Command: mustHex(t, "00 20 00 80 00 00 0E 35 35 30 32 31 37 32 30 33 35 32 32 38 35"), Response: mustHex(t, "90 00"), Secret: session.SecretVerificationB, Extended: true},
		{Step: "b", Command: mustHex(t, "00 B0 00 00 05"), Response: mustHex(t, "31 32 33 34 35 90 00"), SecretResponse: true},
		{Step: "c", Command: mustHex(t, "00 20 00 98 04 31 32 33 34"), Response: mustHex(t, "90 00")}, // unmarked VERIFY
		{Step: "d", Command: mustHex(t, "00 A4 04 0C 02 D3 92"), Err: "tag lost"},
	}
	orig := bytes.Clone(in[0].Command)
	out := FromSession(in)
	want := []struct {
		cmd, resp string
		masked    bool
	}{
		{"00 20 00 80 00 00 0E 2A 2A 2A 2A 2A 2A 2A 2A 2A 2A 2A 2A 2A 2A", "90 00", true},
		{"00 B0 00 00 05", "2A 2A 2A 2A 2A 90 00", true},
		{"00 20 00 98 04 2A 2A 2A 2A", "90 00", true},
		{"00 A4 04 0C 02 D3 92", "", false},
	}
	for i, w := range want {
		if !bytes.Equal(out[i].Command, mustHex(t, w.cmd)) || !bytes.Equal(out[i].Response, mustHex(t, w.resp)) || out[i].Masked != w.masked {
			t.Errorf("exchange %d: % X / % X masked=%v", i, out[i].Command, out[i].Response, out[i].Masked)
		}
		if out[i].Step != in[i].Step || out[i].Err != in[i].Err {
			t.Errorf("exchange %d: step/err not carried over", i)
		}
	}
	if !bytes.Equal(in[0].Command, orig) {
		t.Fatal("FromSession modified the session's bytes")
	}
	if err := Write(&bytes.Buffer{}, &File{Exchanges: out}); err != nil {
		t.Fatalf("Write: %v", err)
	}
}
