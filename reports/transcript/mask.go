package transcript

import "slices"

// ISO/IEC 7816-4 instructions whose command data is a PIN or a 照合番号 (VERIFY 20/21, CHANGE
// REFERENCE DATA 24/25, RESET RETRY COUNTER 2C/2D).
func carriesSecret(cmd []byte) bool {
	if len(cmd) < 4 {
		return false
	}
	switch cmd[1] {
	case 0x20, 0x21, 0x24, 0x25, 0x2C, 0x2D:
		return true
	}
	return false
}

// dataField returns where the data field of a command APDU is (ISO/IEC 7816-4 5.1: short Lc of
// one byte, or extended Lc of 00 + two bytes), n = 0 when there is none. A command whose length
// structure does not parse is treated as all data after the header, so masking it hides
// everything that could be a secret.
func dataField(cmd []byte) (off, n int) {
	if len(cmd) <= 5 { // case 1, case 2S (or shorter than a header)
		return min(len(cmd), 4), 0
	}
	body := len(cmd) - 4
	if lc := int(cmd[4]); lc != 0 {
		if body == 1+lc || body == 2+lc { // case 3S, 4S
			return 5, lc
		}
		return 4, body
	}
	if body == 3 { // case 2E: 00 Le1 Le2
		return 4, 0
	}
	if body > 3 {
		lc := int(cmd[5])<<8 | int(cmd[6])
		if lc != 0 && (body == 3+lc || body == 5+lc) { // case 3E, 4E
			return 7, lc
		}
	}
	return 4, body
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
