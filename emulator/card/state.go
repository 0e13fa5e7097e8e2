package card

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// stateFile is the non-volatile memory of one card on disk: the retry counters and the salted
// hashes of the changeable PINs (never a clear PIN). Card binds it to the card by a fingerprint
// of the card's public keys.
type stateFile struct {
	Version int                 `json:"version"`
	Card    string              `json:"card"`
	Keys    map[string]keyState `json:"keys"`
}

type keyState struct {
	Tries int    `json:"tries"`
	Salt  []byte `json:"salt,omitempty"`
	Hash  []byte `json:"hash,omitempty"`
	Unset bool   `json:"unset,omitempty"`
}

// ErrStateFile reports a state file that cannot be used for this card (another card's, or
// corrupt).
var ErrStateFile = errors.New("card state file unusable")

// loadState applies the state file at path to the card's keys; a missing file is created from
// the current (initial) state.
func (c *Card) loadState() error {
	b, err := os.ReadFile(c.statePath)
	if errors.Is(err, os.ErrNotExist) {
		return c.saveState()
	}
	if err != nil {
		return err
	}
	var s stateFile
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrStateFile, c.statePath, err)
	}
	if s.Version != 1 || s.Card != c.fingerprint {
		return fmt.Errorf("%w: %s belongs to another card", ErrStateFile, c.statePath)
	}
	for _, p := range c.keys {
		k, ok := s.Keys[p.id]
		if !ok {
			continue
		}
		if k.Tries < 0 || k.Tries > p.max {
			return fmt.Errorf("%w: %s: counter of %s out of range", ErrStateFile, c.statePath, p.id)
		}
		p.tries = k.Tries
		if !p.spec.Changeable {
			continue // derived from the card face; not stored
		}
		switch {
		case k.Unset:
			p.set, p.salt, p.hash = false, nil, nil
		case len(k.Salt) > 0 && len(k.Hash) == 32:
			p.set, p.salt, p.hash = true, k.Salt, k.Hash
		}
	}
	return nil
}

// saveState writes the non-volatile state atomically (temp file, fsync, rename, fsync of the
// directory), as a card writes its EEPROM: after a crash the old or the new state is there.
func (c *Card) saveState() error {
	if c.statePath == "" {
		return nil
	}
	s := stateFile{Version: 1, Card: c.fingerprint, Keys: make(map[string]keyState, len(c.keys))}
	for _, p := range c.keys {
		k := keyState{Tries: p.tries}
		if p.spec.Changeable {
			if p.set {
				k.Salt, k.Hash = p.salt, p.hash
			} else {
				k.Unset = true
			}
		}
		s.Keys[p.id] = k
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(c.statePath)
	f, err := os.CreateTemp(dir, filepath.Base(c.statePath)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, c.statePath)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
