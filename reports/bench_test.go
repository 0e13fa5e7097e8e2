package reports

import (
	"fmt"
	"io"
	"testing"
	"time"
)

// bigRun is a run of n devices shaped like the sample: a quarter fail 目視 at the terminal
// certificate, one in ten fails PIN; passing visual runs carry the persona's face photo.
func bigRun(b *testing.B, n int) *Run {
	photo := testPhoto(b)
	r := &Run{Target: "emulator", Catalogue: "fixtures/devices", Started: time.Unix(0, 0)}
	for i := range n {
		d := DeviceResult{
			ID: fmt.Sprintf("maker%02d-model-%04d", i%37, i), Maker: fmt.Sprintf("Maker %d", i%37), Model: fmt.Sprintf("Model %d", i),
			OS: "Android 14", Platform: "android", Source: "synthetic",
			MaxTransceive: 65279, Extended: true, BitRate: 424,
			PIN: ModeResult{Supported: i%10 != 0, TapTime: 420 * time.Millisecond, Steps: []StepTime{
				{Step: "PIN-001 read auth certificate", Time: 180 * time.Millisecond, APDUs: 8, Bytes: 1320},
				{Step: "PIN-002 VERIFY 0018", Time: 40 * time.Millisecond, APDUs: 1, Bytes: 11},
			}},
			Visual: ModeResult{Supported: i%4 != 0, TapTime: 1200 * time.Millisecond},
		}
		if !d.PIN.Supported {
			d.PIN.FailedStep, d.PIN.Reason = "PIN-002 VERIFY 0018", "tag lost"
		}
		if d.Visual.Supported {
			d.FacePhoto = photo
		} else {
			d.MaxTransceive, d.Extended = 261, false
			d.Visual.FailedStep = "VIS-002 terminal certificate (80 A2)"
			d.Visual.Reason = "transceive length exceeds supported maximum (612 > 261)"
		}
		r.Devices = append(r.Devices, d)
	}
	return r
}

func BenchmarkWriteMarkdown(b *testing.B) {
	r := bigRun(b, 1000)
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteMarkdown(io.Discard, r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteHTML includes decoding the face photo: once per page, since the devices of a
// run read the same persona's card.
func BenchmarkWriteHTML(b *testing.B) {
	r := bigRun(b, 1000)
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteHTML(io.Discard, r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkThumbnail(b *testing.B) {
	photo := testPhoto(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Thumbnail(photo); err != nil {
			b.Fatal(err)
		}
	}
}
