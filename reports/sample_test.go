package reports

import (
	"bytes"
	"image"
	"image/color"
	"testing"
	"time"

	jpeg2000 "github.com/ajroetker/go-jpeg2000"
)

// testPhoto is a synthetic 90x120 greyscale portrait (a light head and shoulders on a dark
// background) encoded as JP2, the form of DF27 on the card.
func testPhoto(t testing.TB) []byte {
	t.Helper()
	const w, h = 90, 120
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := uint8(60 + y/3)
			dx, dy := float64(x-45)/24, float64(y-48)/32
			if dx*dx+dy*dy <= 1 { // head
				v = 210
			}
			sx, sy := float64(x-45)/42, float64(y-125)/40
			if sx*sx+sy*sy <= 1 { // shoulders
				v = 150
			}
			img.SetGray(x, y, color.Gray{Y: v})
		}
	}
	var b bytes.Buffer
	if err := jpeg2000.Encode(&b, img, &jpeg2000.EncodeOptions{Lossless: true, FileFormat: jpeg2000.FormatJP2}); err != nil {
		t.Fatalf("encode test photo: %v", err)
	}
	return b.Bytes()
}

// sampleRun is a small hand-built run: an extended-capable Android phone passing both modes,
// a 261-byte phone failing 目視 at the terminal certificate, an iPhone with the 1693-byte
// response cap, and a PC/SC reader failing both, each path run three times (-repeat 3), with the
// envelopes the TRN specs would measure (none for the Pixel: its TRN specs did not run). Devices
// are deliberately out of order.
func sampleRun(t testing.TB) *Run {
	photo := testPhoto(t)
	return Localize(&Run{
		Schema:    Schema,
		Target:    "emulator",
		Catalogue: "fixtures/devices",
		Started:   time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC),
		Repeat:    3,
		Devices: []DeviceResult{
			{
				ID: "samsung-galaxy-s3-stock", Maker: "Samsung", Model: "Galaxy S3", OS: "Android 4.4",
				Platform: "android", Source: "StackOverflow question 25913480",
				MaxTransceive: 261, BitRate: 424,
				Envelope: &Envelope{LongestCommand: 261, LongestResponse: 5890, FirstFailedCommand: 262, CommandFailedBy: "TRN-C262", CommandCause: CauseTransceiveLength},
				PIN: ModeResult{Supported: true, Runs: 3, PassedRuns: 3, TapTime: 420 * time.Millisecond, Steps: []StepTime{
					{Step: "PIN-001 read auth certificate", Time: 180 * time.Millisecond, APDUs: 8, Bytes: 1320},
					{Step: "PIN-002 VERIFY 0018", Time: 40 * time.Millisecond, APDUs: 1, Bytes: 11},
					{Step: "PIN-003 sign challenge", Time: 200 * time.Millisecond, APDUs: 2, Bytes: 320},
				}},
				Visual: ModeResult{
					FailedStep: "VIS-002 terminal certificate (80 A2)",
					Cause:      CauseTransceiveLength,
					Reason:     "transceive length exceeds supported maximum (612 > 261)",
					TapTime:    180 * time.Millisecond,
					Runs:       3,
				},
			},
			{
				ID: "apple-iphone-ios13", Maker: "Apple", Model: "iPhone 11", OS: "iOS 13",
				Platform: "ios", Source: "Apple Developer Forums thread 120496", SourceURL: "https://developer.apple.com/forums/thread/120496",
				MaxTransceive: 65279, Extended: true, MaxResponse: 1693, BitRate: 424,
				Envelope: &Envelope{LongestCommand: 52148, LongestResponse: 1693, Extended: true,
					FirstFailedCommand: 52149, CommandFailedBy: "TRN-C65535", CommandCause: CauseTimeout,
					FirstFailedResponse: 1692, ResponseFailedBy: "TRN-R1693", ResponseCause: CauseResponseCap},
				PIN:       ModeResult{Supported: true, Runs: 3, PassedRuns: 3, TapTime: 380 * time.Millisecond},
				Visual:    ModeResult{Supported: true, Runs: 3, PassedRuns: 3, TapTime: 1234 * time.Millisecond},
				FacePhoto: photo,
			},
			{
				ID: "acme-reader-x|1", Maker: "ACME <Labs>", Model: "Reader X", OS: "pcsc-lite 2.0",
				Platform: "pcsc", Source: "synthetic",
				Envelope: &Envelope{Unreachable: CauseCardRemoved},
				PIN:      ModeResult{FailedStep: "PIN-002 VERIFY 0018", Cause: CauseCardRemoved, Reason: "card removed\nduring VERIFY", Runs: 3, PassedRuns: 1},
				Visual:   ModeResult{},
			},
			{
				ID: "google-pixel-8", Maker: "Google", Model: "Pixel 8", OS: "Android 14",
				Platform: "android", Source: "synthetic",
				MaxTransceive: 65279, Extended: true, BitRate: 848,
				PIN:       ModeResult{Supported: true, Runs: 3, PassedRuns: 3, TapTime: 300 * time.Millisecond},
				Visual:    ModeResult{Supported: true, Runs: 3, PassedRuns: 3, TapTime: 900 * time.Millisecond},
				FacePhoto: photo,
			},
		},
	}, LangEN)
}
