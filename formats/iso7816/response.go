package iso7816

import (
	"fmt"

	"github.com/skythen/apdu"
)

// Response is a response APDU: skythen/apdu's Rapdu (Data, SW1, SW2).
type Response struct {
	apdu.Rapdu
}

// ParseResponse decodes a response APDU; fewer than 2 bytes is an error (a PC/SC Transmit can
// "succeed" with 0 bytes when a card dies mid-APDU). Data aliases b.
func ParseResponse(b []byte) (Response, error) {
	r, err := apdu.ParseRapdu(b)
	if err != nil {
		return Response{}, fmt.Errorf("iso7816: response of %d bytes: want 2..65538", len(b))
	}
	return Response{Rapdu: *r}, nil
}

// SW is the response's status word.
func (r Response) SW() StatusWord { return StatusWord(r.SW1)<<8 | StatusWord(r.SW2) }

// SWOf is the status word of a response APDU's last two bytes, 0 when shorter.
func SWOf(resp []byte) StatusWord {
	if len(resp) < 2 {
		return 0
	}
	return StatusWord(resp[len(resp)-2])<<8 | StatusWord(resp[len(resp)-1])
}

// AppendResponse appends data and the status word: what a card answers.
func AppendResponse(dst, data []byte, sw StatusWord) []byte {
	dst = append(dst, data...)
	return append(dst, sw.SW1(), sw.SW2())
}
