//go:build pcsc && linux

package conformance

import (
	"testing"

	"github.com/mynaconform/mynaconform/conformance/hil/stack"
	"github.com/mynaconform/mynaconform/conformance/target"
)

// BenchmarkDevicePathPCSC is BenchmarkDevicePath through the real pcscd + vpcd: run both in one
// run (go test -tags pcsc -bench DevicePath ./conformance) to compare. Each fresh card is
// dialled in and taken out again, and pcscd sees each change only at its ~0.4 s presence poll:
// that polling, not the APDUs, is most of the time.
func BenchmarkDevicePathPCSC(b *testing.B) {
	if err := stack.Available(); err != nil {
		b.Skip(err)
	}
	t, err := target.Open("pcsc", target.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer t.(interface{ Close() error }).Close()
	ds, err := t.Devices()
	if err != nil {
		b.Fatal(err)
	}
	benchDevicePath(b, ds[0])
}
