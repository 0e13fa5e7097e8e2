//go:build pcsc && linux

package loop_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mynaconform/mynaconform/conformance/hil/stack"
	"github.com/mynaconform/mynaconform/emulator/phone"
	"github.com/mynaconform/mynaconform/fixtures/devices"
)

// The chain a lab walks with its handset: `readers -probe -profile-out` measures the handset
// behind the reader into a profile (source: measured, with the reader, the ATR, the date and the
// tool); the suite runs that profile in process; its verdicts equal those of the suite on target
// pcsc on the same reader, and those of the catalogue profile the stand-in runs.
func TestChainProbeProfileVerdicts(t *testing.T) {
	need(t)
	for _, tc := range []struct {
		profile string
		check   func(t *testing.T, p devices.Row)
	}{
		{"synthetic-max-261", func(t *testing.T, p devices.Row) {
			if p.MaxTransceive != 261 || p.Extended || p.MaxResponse != 0 {
				t.Errorf("measured %d bytes, extended %v, response cap %d; want 261, false, none", p.MaxTransceive, p.Extended, p.MaxResponse)
			}
		}},
		{"synthetic-max-65279", func(t *testing.T, p devices.Row) {
			// Commands above ~6 KB take longer than its 618 ms timeout at 106 kbit/s.
			if p.MaxTransceive < 4096 || p.MaxTransceive >= 65279 || !p.Extended || p.MaxResponse != 0 {
				t.Errorf("measured %d bytes, extended %v, response cap %d; want 4096..65278 (timeout-bound), true, none", p.MaxTransceive, p.Extended, p.MaxResponse)
			}
		}},
		{"synthetic-response-cap-1693", func(t *testing.T, p devices.Row) {
			if p.MaxResponse != 1693 || !p.Extended || p.MaxTransceive < 4096 {
				t.Errorf("measured %d bytes, extended %v, response cap %d; want >= 4096, true, 1693", p.MaxTransceive, p.Extended, p.MaxResponse)
			}
		}},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			t.Parallel()
			n := slot(t)
			s := serve(t, tc.profile, n)
			s.present(t)
			dir := t.TempDir()
			file := filepath.Join(dir, "measured-"+tc.profile+".yaml")
			stdout, stderr, code := run(t, "readers", "-probe", "-profile-out", file, "-persona", adult.ID, "-reader", stack.ReaderName(n))
			if code != 0 {
				t.Fatalf("readers -probe -profile-out: exit %d\n%s%s", code, stdout, stderr)
			}
			t.Log(stdout)
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			p, err := devices.Parse(b)
			if err != nil {
				t.Fatalf("the measured profile does not load: %v\n%s", err, b)
			}
			m, err := devices.ParseMeasurement(b)
			if err != nil || m == nil {
				t.Fatalf("measured block: %v", err)
			}
			if p.Source != devices.SourceMeasured || m.Reader != stack.ReaderName(n) || m.ATR != "3B888001000005E0B381A1106F" || m.Tool == "" || m.Date.IsZero() || len(m.RoundTrips) == 0 {
				t.Errorf("source %q, measured block %+v", p.Source, m)
			}
			tc.check(t, devices.Rows([]phone.Profile{p})[0])

			measured, _ := suite(t, "-devices", dir)
			pcscRows, _ := suite(t, "-target", "pcsc", "-reader", stack.ReaderName(n))
			inProc, ok := measured["measured-"+tc.profile]
			if !ok {
				t.Fatalf("the in-process run has no row of the measured profile: %v", measured)
			}
			reader := onlyRow(t, pcscRows)
			sameModes(t, "in process on the measured profile vs target pcsc", inProc, reader, true)
			sameModes(t, "target pcsc vs the catalogue profile in process", reader, catalogue(t)[tc.profile], true)
			if reader.MaxTransceive != p.MaxTransceive || reader.MaxResponse != p.MaxResponse || reader.Extended != p.ExtendedAPDU() {
				t.Errorf("the pcsc target measured %d/%d/%v, the profile %d/%d/%v", reader.MaxTransceive, reader.MaxResponse, reader.Extended,
					p.MaxTransceive, p.MaxResponse, p.ExtendedAPDU())
			}
		})
	}
}
