package conformance

import (
	"bytes"
	_ "embed"
	"sync"

	"go.yaml.in/yaml/v3"
)

// expectedYAML is what each catalogue profile's source implies (docs/expected.md explains the
// rule); embedded so that the command needs no checkout.
//
//go:embed expected.yaml
var expectedYAML []byte

// expectation is what a device's source implies for each mode.
type expectation struct {
	PIN    bool   `yaml:"pin"`
	Visual bool   `yaml:"visual"`
	Why    string `yaml:"why"`
}

var (
	expOnce sync.Once
	exps    map[string]expectation
	expErr  error
)

func expectations() (map[string]expectation, error) {
	expOnce.Do(func() {
		dec := yaml.NewDecoder(bytes.NewReader(expectedYAML))
		dec.KnownFields(true)
		expErr = dec.Decode(&exps)
	})
	return exps, expErr
}

// mustPass tells whether a spec's failure on this device is a test failure: always in strict
// mode, never in record mode, and in expect mode when the device's expectation says the mode
// (or, for specs of both modes, everything) works. Devices without an expectation (a user's own
// profiles) are held to strict verdicts in expect mode; generated profiles, which have none
// either, are only recorded.
func (s *suite) mustPass(device, mode string) bool {
	switch s.opts.Verdicts {
	case "strict":
		return true
	case "record":
		return false
	}
	e, ok := s.exps[device]
	if !ok {
		return s.opts.Generate == 0
	}
	switch mode {
	case "pin":
		return e.PIN
	case "visual":
		return e.Visual
	}
	return true
}
