package transcript

import (
	"slices"

	"github.com/mynaconform/mynaconform/formats/iso7816"
	"github.com/mynaconform/mynaconform/formats/mynumber"
)

// carriesSecret reports a command whose data is a PIN, a password or a 照合番号: VERIFY, CHANGE
// REFERENCE DATA and RESET RETRY COUNTER (ISO/IEC 7816-4, even and odd INS), and the card's CHANGE
// KEY (80 32).
func carriesSecret(cmd []byte) bool {
	if len(cmd) < 4 {
		return false
	}
	switch cmd[1] &^ 1 {
	case iso7816.InsVerify, iso7816.InsChangeReferenceData, iso7816.InsResetRetryCounter:
		return true
	}
	return cmd[0]&mynumber.ClaProprietary != 0 && cmd[1] == mynumber.InsChangeKey
}

// dataField returns where the data field of a command APDU is (iso7816.ParseLayout), n = 0 when
// there is none. A command whose length structure does not parse is treated as all data after
// the header, so masking it hides everything that could be a secret.
func dataField(cmd []byte) (off, n int) {
	if l, ok := iso7816.ParseLayout(cmd); ok {
		if l.DataLen == 0 {
			return 4, 0
		}
		return l.DataOffset, l.DataLen
	}
	if len(cmd) <= 4 {
		return len(cmd), 0
	}
	return 4, len(cmd) - 4
}

func allMasked(b []byte) bool {
	for _, c := range b {
		if c != MaskByte {
			return false
		}
	}
	return true
}

// Mask returns ex with the data field of its command replaced by 0x2A bytes of the same length
// when the command carries a PIN or a 照合番号 (VERIFY, CHANGE REFERENCE DATA, RESET RETRY
// COUNTER) or when secret is true; with secret true the data of the response (not the status
// word) is masked too, for reads of secret files such as the My Number. The length structure
// (short or extended Lc) is kept, so the transcript still shows what the handset had to send.
// Masked is set when a byte was replaced. The slices of ex are not modified.
func Mask(ex Exchange, secret bool) Exchange {
	if secret || carriesSecret(ex.Command) {
		ex = maskCommand(ex)
	}
	if secret {
		ex = maskResponse(ex)
	}
	return ex
}

// maskCommand masks the data field of the command, if it has one.
func maskCommand(ex Exchange) Exchange {
	if off, n := dataField(ex.Command); n > 0 {
		ex.Command = slices.Clone(ex.Command)
		fill(ex.Command[off : off+n])
		ex.Masked = true
	}
	return ex
}

// maskResponse masks the response data, keeping the status word.
func maskResponse(ex Exchange) Exchange {
	n := len(ex.Response) - 2
	if n < 0 {
		n = len(ex.Response) // no status word: all of it may be secret
	}
	if n > 0 {
		ex.Response = slices.Clone(ex.Response)
		fill(ex.Response[:n])
		ex.Masked = true
	}
	return ex
}

func fill(b []byte) {
	for i := range b {
		b[i] = MaskByte
	}
}
