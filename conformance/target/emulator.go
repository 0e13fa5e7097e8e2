package target

import (
	"fmt"
	"io/fs"
	"os"
	"slices"
	"testing/fstest"
	"time"

	"github.com/mynaconform/mynaconform/emulator/card"
	"github.com/mynaconform/mynaconform/emulator/phone"
	"github.com/mynaconform/mynaconform/fixtures"
	"github.com/mynaconform/mynaconform/fixtures/devices"
	"github.com/mynaconform/mynaconform/readers"
)

func init() { Register("emulator", openEmulator) }

func openEmulator(opts Options) (Target, error) {
	var profiles []phone.Profile
	var files fstest.MapFS
	var err error
	switch {
	case opts.Generate > 0:
		profiles = Generated(opts.Generate)
	case opts.DevicesDir != "":
		files, err = snapshot(os.DirFS(opts.DevicesDir))
	default:
		files, err = snapshot(devices.FS())
	}
	if err != nil {
		return nil, fmt.Errorf("devices: %w", err)
	}
	if files != nil {
		if profiles, err = devices.LoadDir(files); err != nil {
			return nil, err
		}
	}
	e := &Emulator{Files: map[string][]byte{}}
	for _, p := range profiles {
		if len(opts.Only) == 0 || slices.Contains(opts.Only, p.ID) {
			e.Profiles = append(e.Profiles, p)
			if f, ok := files[p.ID+".yaml"]; ok {
				e.Files[p.ID] = f.Data
			}
		}
	}
	return e, nil
}

// snapshot reads the profile files of fsys once, so that the profiles are parsed from exactly
// the bytes a signed result hashes (a file edited during the run changes neither).
func snapshot(fsys fs.FS) (fstest.MapFS, error) {
	out := fstest.MapFS{}
	for _, pattern := range []string{"*.yaml", "*.yml"} {
		names, err := fs.Glob(fsys, pattern)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			b, err := fs.ReadFile(fsys, n)
			if err != nil {
				return nil, err
			}
			out[n] = &fstest.MapFile{Data: b, Mode: 0o644}
		}
	}
	return out, nil
}

// Emulator runs every profile as a virtual phone with its own virtual cards.
type Emulator struct {
	Profiles []phone.Profile
	// Files are the profile files as loaded, by ID (none for generated profiles).
	Files map[string][]byte
}

func (e *Emulator) Name() string { return "emulator" }

// Concurrency is 0: every Open builds its own phone and card, so devices may all run at once.
func (e *Emulator) Concurrency() int { return 0 }

func (e *Emulator) Devices() ([]Device, error) {
	out := make([]Device, 0, len(e.Profiles))
	for _, p := range e.Profiles {
		p := p
		ph := phone.New(p, nil)
		out = append(out, Device{
			ID:        p.ID,
			Info:      ph.Info(),
			Platform:  p.Platform,
			Source:    p.Source,
			SourceURL: p.SourceURL,
			BitRate:   p.BitRate,
			Profile:   &p,
			File:      e.Files[p.ID],
			Open: func(per *fixtures.Persona) (readers.Reader, func(), error) {
				prof, err := per.CardProfile()
				if err != nil {
					return nil, nil, err
				}
				c, err := card.New(prof)
				if err != nil {
					return nil, nil, err
				}
				r := phone.New(p, c)
				return r, func() { r.Close() }, nil
			},
		})
	}
	return out, nil
}

// Generated returns n synthetic profiles for scaling runs: a deterministic mix of extended-capable
// Android handsets, short-only ones and iOS-like response caps.
func Generated(n int) []phone.Profile {
	out := make([]phone.Profile, n)
	for i := range out {
		p := phone.Profile{
			ID:         fmt.Sprintf("gen-%04d", i),
			Maker:      "Synthetic",
			Model:      fmt.Sprintf("Gen %d", i),
			OS:         "Android 14",
			Platform:   "android",
			NFC:        true,
			ISODep:     true,
			BitRate:    []int{106, 212, 424, 848}[i%4],
			FSD:        256,
			Timeout:    5 * time.Second,
			Processing: phone.DefaultProcessing(),
			Source:     "synthetic",
		}
		switch i % 3 {
		case 0:
			p.MaxTransceive = 65279
		case 1:
			p.MaxTransceive = 261
		case 2:
			p.Platform, p.OS, p.MaxTransceive, p.MaxResponse = "ios", "iOS 17", 65279, 1693
		}
		out[i] = p
	}
	return out
}
