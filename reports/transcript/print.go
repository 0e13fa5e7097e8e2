package transcript

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mynaconform/mynaconform/formats/iso7816"
	"github.com/mynaconform/mynaconform/formats/mynumber"
)

// lengths describes the form of a command: "short Lc=10", "extended Lc=612 Le=65536".
func lengths(cmd []byte) string {
	if len(cmd) < 4 {
		return ""
	}
	l, ok := iso7816.ParseLayout(cmd)
	if !ok {
		return "malformed length"
	}
	form := "short"
	if l.Extended {
		form = "extended"
	}
	switch l.Case {
	case 1:
		return "no data"
	case 2:
		return fmt.Sprintf("%s Le=%d", form, l.Ne)
	case 3:
		return fmt.Sprintf("%s Lc=%d", form, l.DataLen)
	}
	return fmt.Sprintf("%s Lc=%d Le=%d", form, l.DataLen, l.Ne)
}

// statusMeaning explains a status word (the one table of formats/iso7816).
func statusMeaning(sw1, sw2 byte) string {
	return iso7816.StatusWord(uint16(sw1)<<8 | uint16(sw2)).Meaning()
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
		fmt.Fprintf(bw, "\n#%d  %s\n    %s", i+1, oneLine(ex.Step), mynumber.CommandName(ex.Command))
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
