package transcript

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// commandName names a command APDU by its instruction (ISO/IEC 7816-4 and JPKI, card.md).
func commandName(cmd []byte) string {
	if len(cmd) < 4 {
		return "malformed command"
	}
	cla, ins, p1 := cmd[0], cmd[1], cmd[2]
	proprietary := cla&0x80 != 0
	switch ins {
	case 0xA4:
		switch p1 {
		case 0x04:
			return "SELECT by AID"
		case 0x02:
			return "SELECT EF"
		case 0x00:
			return "SELECT MF"
		}
		return "SELECT"
	case 0xB0, 0xB1:
		if p1&0x80 != 0 {
			return "READ BINARY (short EF)"
		}
		return "READ BINARY"
	case 0x20, 0x21:
		if _, n := dataField(cmd); n == 0 {
			return "VERIFY (retry counter)"
		}
		return "VERIFY"
	case 0x24, 0x25:
		return "CHANGE REFERENCE DATA"
	case 0x2C, 0x2D:
		return "RESET RETRY COUNTER"
	case 0x2A:
		if proprietary {
			return "COMPUTE DIGITAL SIGNATURE"
		}
		return "PERFORM SECURITY OPERATION"
	case 0xA2:
		if proprietary {
			return "TERMINAL CERTIFICATE (80 A2)"
		}
	case 0x84:
		return "GET CHALLENGE"
	case 0xC0:
		return "GET RESPONSE"
	case 0x88:
		return "INTERNAL AUTHENTICATE"
	case 0x82:
		return "EXTERNAL AUTHENTICATE"
	case 0x22:
		return "MANAGE SECURITY ENVIRONMENT"
	case 0xCA, 0xCB:
		return "GET DATA"
	case 0xD6, 0xD7:
		return "UPDATE BINARY"
	}
	return fmt.Sprintf("INS %02X", ins)
}

// lengths describes the form of a command: "short Lc=10", "extended Lc=612 Le=65536".
func lengths(cmd []byte) string {
	if len(cmd) < 4 {
		return ""
	}
	body := len(cmd) - 4
	off, n := dataField(cmd)
	switch {
	case body == 0:
		return "no data"
	case body == 1:
		return fmt.Sprintf("short Le=%d", shortLe(cmd[4]))
	case body == 3 && cmd[4] == 0:
		return fmt.Sprintf("extended Le=%d", extLe(cmd[5], cmd[6]))
	case n == 0 || off == 4:
		return "malformed length"
	case off == 5:
		s := fmt.Sprintf("short Lc=%d", n)
		if body == 2+n {
			s += fmt.Sprintf(" Le=%d", shortLe(cmd[len(cmd)-1]))
		}
		return s
	default:
		s := fmt.Sprintf("extended Lc=%d", n)
		if body == 5+n {
			s += fmt.Sprintf(" Le=%d", extLe(cmd[len(cmd)-2], cmd[len(cmd)-1]))
		}
		return s
	}
}

func shortLe(b byte) int {
	if b == 0 {
		return 256
	}
	return int(b)
}

func extLe(hi, lo byte) int {
	if le := int(hi)<<8 | int(lo); le != 0 {
		return le
	}
	return 65536
}

// statusMeaning explains a status word (ISO/IEC 7816-4 and the card's use of it, card.md).
func statusMeaning(sw1, sw2 byte) string {
	switch sw1 {
	case 0x61:
		return fmt.Sprintf("%d more bytes: GET RESPONSE", shortLe(sw2))
	case 0x6C:
		return fmt.Sprintf("wrong Le: exact length %d", shortLe(sw2))
	case 0x63:
		if sw2&0xF0 == 0xC0 {
			if x := sw2 & 0x0F; x > 0 {
				return fmt.Sprintf("wrong PIN, %d left", x)
			}
			return "wrong PIN, none left: blocked"
		}
		return "verification failed"
	}
	switch uint16(sw1)<<8 | uint16(sw2) {
	case 0x9000:
		return "ok"
	case 0x6281:
		return "returned data may be corrupted"
	case 0x6282:
		return "end of file before Le bytes"
	case 0x6581:
		return "memory failure"
	case 0x6700:
		return "wrong length"
	case 0x6881:
		return "logical channel not supported"
	case 0x6882:
		return "secure messaging not supported"
	case 0x6982:
		return "security status not satisfied"
	case 0x6983:
		return "authentication method blocked"
	case 0x6984:
		return "reference data not usable: PIN blocked"
	case 0x6985:
		return "conditions of use not satisfied"
	case 0x6986:
		return "command not allowed: no current EF"
	case 0x69FC:
		return "secure messaging refused"
	case 0x6A80:
		return "incorrect data"
	case 0x6A82:
		return "file not found"
	case 0x6A84:
		return "not enough memory"
	case 0x6A86:
		return "incorrect P1/P2"
	case 0x6A88:
		return "referenced data not found"
	case 0x6B00:
		return "wrong P1/P2: offset beyond end of file"
	case 0x6D00:
		return "INS not supported"
	case 0x6E00:
		return "CLA not supported"
	case 0x6F00:
		return "no precise diagnosis"
	}
	return "unknown status"
}

// A hex dump shows bytesPerLine bytes a line and at most maxDump bytes of one APDU: enough to
// recognise a certificate or a record; the JSON form keeps every byte.
const (
	bytesPerLine = 32
	maxDump      = 4 * bytesPerLine
)

func hexLines(bw *bufio.Writer, first, next string, b []byte) {
	shown := min(len(b), maxDump)
	defer func() {
		if rest := len(b) - shown; rest > 0 {
			fmt.Fprintf(bw, "%s... %d more bytes (%d in all)\n", next, rest, len(b))
		}
	}()
	for i := 0; i < shown; i += bytesPerLine {
		prefix := next
		if i == 0 {
			prefix = first
		}
		bw.WriteString(prefix)
		for j, c := range b[i:min(i+bytesPerLine, shown)] {
			if j > 0 {
				bw.WriteByte(' ')
			}
			fmt.Fprintf(bw, "%02X", c)
		}
		bw.WriteByte('\n')
	}
}

// oneLine keeps a step name or an error on its line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Print writes f readably: a header, then per exchange its number, the step that sent it, the
// command's name and length form, the elapsed time and a "[masked]" note, the command after
// "> " and the response after "< " in hex (32 bytes a line, the first 128 bytes of each), the
// status word with its meaning, and a transport error after "! ".
func Print(w io.Writer, f *File) error {
	if f == nil {
		return errors.New("transcript: nil file")
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "transcript v%d  target=%s  device=%s  mode=%s  persona=%s\n",
		f.Version, oneLine(f.Target), oneLine(f.Device), oneLine(f.Mode), oneLine(f.Persona))
	var total time.Duration
	for _, ex := range f.Exchanges {
		total += ex.Elapsed
	}
	fmt.Fprintf(bw, "%d exchanges, %s in all\n", len(f.Exchanges), total)
	for i, ex := range f.Exchanges {
		fmt.Fprintf(bw, "\n#%d  %s\n    %s", i+1, oneLine(ex.Step), commandName(ex.Command))
		if l := lengths(ex.Command); l != "" {
			fmt.Fprintf(bw, " [%s]", l)
		}
		fmt.Fprintf(bw, "  %s", ex.Elapsed)
		if ex.Masked {
			bw.WriteString("  [masked]")
		}
		bw.WriteByte('\n')
		hexLines(bw, "  > ", "    ", ex.Command)
		if n := len(ex.Response); n >= 2 {
			hexLines(bw, "  < ", "    ", ex.Response[:n-2])
			sw1, sw2 := ex.Response[n-2], ex.Response[n-1]
			fmt.Fprintf(bw, "  < %02X %02X  (%s)", sw1, sw2, statusMeaning(sw1, sw2))
			if n > 2 {
				fmt.Fprintf(bw, "  %d data bytes", n-2)
			}
			bw.WriteByte('\n')
		} else if n > 0 {
			hexLines(bw, "  < ", "    ", ex.Response)
			bw.WriteString("  < (no status word)\n")
		}
		if ex.Err != "" {
			fmt.Fprintf(bw, "  ! %s\n", oneLine(ex.Err))
		}
	}
	return bw.Flush()
}
