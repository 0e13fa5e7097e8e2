package conformance

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/mynaconform/mynaconform/conformance/target"
	"github.com/mynaconform/mynaconform/reports"
	"github.com/mynaconform/mynaconform/reports/certify"
)

// Sharding: `mynaconform run -shard K/N` runs the K-th of N parts of the selected devices, so N
// machines (or processes) share a run, and `mynaconform merge` puts their N result sets back
// together as the one result set a single run would have written (MergeShards).
//
// The rule (docs/ci.md): order the selected devices by the SHA-256 of their ID and cut that
// order into N consecutive blocks; shard K holds positions floor((K-1)*M/N) up to, not
// including, floor(K*M/N) of the M devices. So
//   - the shards are balanced by count: their sizes differ by at most one (N > M gives empty
//     shards, each still a whole result set);
//   - the split depends only on the IDs, not on the catalogue's order or the machine;
//   - adding or removing one device moves at most N-1 others to another shard (one across each
//     block boundary), where dealing the catalogue out in turn would move every device after it;
//   - devices of one maker, next to each other in the catalogue, land on different shards, so no
//     shard gets all the handsets that take longest.
// Within a shard the devices run in the target's order, each under its position in the whole
// selection (the accounts the suite creates for it are the same as in a single run).

// Shard is one part of a run: the K-th of N (1 <= K <= N). The zero Shard is the whole run.
type Shard struct{ K, N int }

// MaxShards bounds N: more shards than devices are allowed (the extra ones are empty).
const MaxShards = MaxGenerate

// ShardFile is the file a shard's result set carries besides a whole run's: which shard it is,
// of which selection, made by which suite. A merged result set does not have it.
const ShardFile = "shard.json"

const shardSchema = "mynaconform.shard/v1"

func (s Shard) String() string { return strconv.Itoa(s.K) + "/" + strconv.Itoa(s.N) }

// IsZero reports whether s is the whole run (no -shard).
func (s Shard) IsZero() bool { return s == Shard{} }

// ParseShard reads -shard's value "K/N".
func ParseShard(v string) (Shard, error) {
	ks, ns, ok := strings.Cut(strings.TrimSpace(v), "/")
	k, errK := strconv.Atoi(strings.TrimSpace(ks))
	n, errN := strconv.Atoi(strings.TrimSpace(ns))
	if !ok || errK != nil || errN != nil {
		return Shard{}, usagej("-shard: %q is not K/N (write the shard's number and the number of shards, e.g. -shard 2/3)",
			"-shard: %q は K/N の形ではありません（シャード番号とシャード数を書いてください。例: -shard 2/3）", v)
	}
	s := Shard{K: k, N: n}
	return s, s.check()
}

func (s Shard) check() error {
	switch {
	case s.IsZero():
		return nil
	case s.N < 1 || s.N > MaxShards:
		return usagej("-shard: %d shards is outside 1..%d", "-shard: シャード数 %d は 1〜%d の範囲外です", s.N, MaxShards)
	case s.K < 1 || s.K > s.N:
		return usagej("-shard: shard %d of %d is outside 1..%d (shards are numbered from 1)", "-shard: シャード %d/%d は 1〜%d の範囲外です（シャード番号は 1 から）", s.K, s.N, s.N)
	}
	return nil
}

// shardPositions is the rule above: the positions (into ids, ascending) of shard k of n.
func shardPositions(ids []string, k, n int) []int {
	order := make([]int, len(ids))
	keys := make([]string, len(ids))
	for i, id := range ids {
		order[i] = i
		h := sha256.Sum256([]byte(id))
		keys[i] = string(h[:]) + id
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(keys[a], keys[b]) })
	m := len(ids)
	lo, hi := (k-1)*m/n, k*m/n
	out := slices.Clone(order[lo:hi])
	slices.Sort(out)
	return out
}

// pickShard keeps shard s of devs; index gives each kept device's position in devs.
func pickShard(devs []target.Device, s Shard) (kept []target.Device, index []int) {
	if s.IsZero() {
		index = make([]int, len(devs))
		for i := range devs {
			index[i] = i
		}
		return devs, index
	}
	ids := make([]string, len(devs))
	for i, d := range devs {
		ids[i] = d.ID
	}
	index = shardPositions(ids, s.K, s.N)
	kept = make([]target.Device, 0, len(index))
	for _, i := range index {
		kept = append(kept, devs[i])
	}
	return kept, index
}

// shardManifest is ShardFile.
type shardManifest struct {
	Schema    string `json:"schema"`
	Shard     int    `json:"shard"`  // K
	Shards    int    `json:"shards"` // N
	Target    string `json:"target"`
	Selection string `json:"selection"` // what the devices were selected from (the catalogue, -only)
	Verdicts  string `json:"verdicts"`
	Lang      string `json:"lang"`
	Lab       bool   `json:"lab,omitempty"`
	// Signer is the key ID (certify.KeyID) of -certify's key: every shard's signed results are
	// checked with one public key.
	Signer string `json:"signer,omitempty"`
	// Suite is the suite that ran: the binary's build and a digest of the test plan.
	Suite suiteVersion `json:"suite"`
	// Selected is the number of devices of the whole selection, SelectedSHA256 the SHA-256 of
	// their IDs in the target's order, one per line.
	Selected       int    `json:"selected"`
	SelectedSHA256 string `json:"selected_sha256"`
	// Devices are this shard's, each with its position in the whole selection.
	Devices []shardDevice `json:"devices"`
}

type shardDevice struct {
	ID    string `json:"id"`
	Index int    `json:"index"`
}

// suiteVersion names the suite that produced a result set: shards of different builds or plans
// do not merge.
type suiteVersion struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Revision string `json:"revision,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go,omitempty"`
	Plan     string `json:"plan"` // SHA-256 of the plan's rows (ID, stage, mode, title)
}

func (v suiteVersion) String() string {
	s := v.Module + " " + v.Version
	if v.Revision != "" {
		s += " " + v.Revision
		if v.Modified {
			s += "+modified"
		}
	}
	if v.Go != "" {
		s += " (" + v.Go + ")"
	}
	return s + " plan " + v.Plan[:min(12, len(v.Plan))]
}

// Version names this build of the suite as result sets record it: module, version, VCS revision
// (when the build has one), Go version and the hash of the test plan.
func Version() string { return thisSuite().String() }

func thisSuite() suiteVersion {
	t := certify.ToolInfo()
	h := sha256.New()
	for _, sd := range plan {
		fmt.Fprintf(h, "%s\t%s\t%s\t%t\t%s\n", sd.ID, sd.Stage, sd.Mode, sd.Consent, sd.Title)
	}
	return suiteVersion{Module: t.Module, Version: t.Version, Revision: t.Revision, Modified: t.Modified, Go: t.Go, Plan: hex.EncodeToString(h.Sum(nil))}
}

func selectionDigest(ids []string) string {
	h := sha256.New()
	for _, id := range ids {
		h.Write([]byte(id))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// writeShardManifest writes ShardFile into the staging folder of a -shard run.
func (s *suite) writeShardManifest() error {
	if s.opts.Shard.IsZero() || s.staging == "" {
		return nil
	}
	ids := make([]string, len(s.all))
	for i, d := range s.all {
		ids[i] = d.ID
	}
	m := shardManifest{
		Schema: shardSchema, Shard: s.opts.Shard.K, Shards: s.opts.Shard.N,
		Target: s.opts.Target, Selection: s.selection(), Verdicts: s.opts.Verdicts, Lang: s.opts.Lang, Lab: s.opts.Lab,
		Suite: thisSuite(), Selected: len(ids), SelectedSHA256: selectionDigest(ids), Devices: []shardDevice{},
	}
	for i, d := range s.devs {
		m.Devices = append(m.Devices, shardDevice{ID: d.ID, Index: s.index[i]})
	}
	if s.signer != nil {
		id, err := certify.KeyID(s.signer.Public())
		if err != nil {
			return err
		}
		m.Signer = id
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.staging, ShardFile), append(b, '\n'), 0o644)
}

// selection says what the devices were selected from, as the shards of one run must agree.
func (s *suite) selection() string {
	sel := s.where.en
	if len(s.opts.Only) > 0 {
		sel += " -only " + strings.Join(s.opts.Only, ",")
	}
	return sel
}

// readShardManifest reads dir's ShardFile, strictly.
func readShardManifest(dir string) (*shardManifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ShardFile))
	if errors.Is(err, fs.ErrNotExist) {
		if _, jerr := os.Stat(filepath.Join(dir, reports.JSONFile)); jerr == nil {
			return nil, usagef("%s is a whole run's result set, not a shard's (it has no %s: run the shards with -shard K/N)", dir, ShardFile)
		}
		return nil, usagef("%s is not a shard's result set (no %s)", dir, ShardFile)
	}
	if err != nil {
		return nil, usagef("%s: %v", dir, err)
	}
	var m shardManifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, usagef("%s: %v", filepath.Join(dir, ShardFile), err)
	}
	if m.Schema != shardSchema {
		return nil, usagef("%s: schema %q, want %q (made by another version of mynaconform)", filepath.Join(dir, ShardFile), m.Schema, shardSchema)
	}
	if err := (Shard{K: m.Shard, N: m.Shards}).check(); err != nil || m.Shards == 0 {
		return nil, usagef("%s: shard %d/%d is not a shard", filepath.Join(dir, ShardFile), m.Shard, m.Shards)
	}
	return &m, nil
}
