package iso7816

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// Every status word the card answers has a meaning in both languages, and errors.Is reaches a
// status word through wrapping.
func TestStatusWords(t *testing.T) {
	for sw, m := range meanings {
		if m.en == "" || m.ja == "" {
			t.Errorf("%v: meaning missing", sw)
		}
		if !strings.HasPrefix(sw.Error(), sw.String()+" ") {
			t.Errorf("%v: Error() = %q", sw, sw.Error())
		}
		wrapped := fmt.Errorf("read binary: %w", sw)
		if !errors.Is(wrapped, sw) {
			t.Errorf("%v: errors.Is through a wrap", sw)
		}
	}
	// The words the card answers that the session layer could not match before (issue 9).
	for _, sw := range []StatusWord{SWVerifyFailed, SWNoCurrentEF, SWChainingNotSupported, SWMemoryFailure, SWSMNoSession, SWNoSecurityEnv, SWFileStructure} {
		if _, ok := meanings[sw]; !ok {
			t.Errorf("%v has no meaning", sw)
		}
	}
	if !errors.Is(WrongSecret(2), SWWrongSecret) || !errors.Is(WrongSecret(0), SWBlocked) || errors.Is(WrongSecret(2), SWBlocked) {
		t.Error("63Cx groupings")
	}
	if errors.Is(SWSecurityStatus, SWWrongSecret) || errors.Is(SWOK, SWBlocked) {
		t.Error("unrelated words match")
	}
	if n, ok := WrongSecret(3).Retries(); !ok || n != 3 {
		t.Errorf("Retries = %d %v", n, ok)
	}
	if _, ok := SWBlocked.Retries(); ok {
		t.Error("6984 has no counter")
	}
	for sw, want := range map[StatusWord]string{0x63C2: "2 tries left", 0x6110: "16 more bytes", 0x6C00: "256 bytes", 0x6A99: "error", 0x1234: "unknown"} {
		if !strings.Contains(sw.Meaning(), want) {
			t.Errorf("%v: %q, want %q", sw, sw.Meaning(), want)
		}
	}
	if WrongSecret(1).MeaningJA() != "照合不一致（残り1回）" || WrongSecret(99) != 0x63CF || WrongSecret(-1) != 0x63C0 {
		t.Error("WrongSecret")
	}
}
