package conformance

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/mynaconform/mynaconform/conformance/target"
)

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Shard
		err  string
	}{
		{"1/1", Shard{1, 1}, ""},
		{"2/3", Shard{2, 3}, ""},
		{" 3 / 3 ", Shard{3, 3}, ""},
		{"7/1000", Shard{7, 1000}, ""}, // more shards than devices: allowed, some are empty
		{"0/3", Shard{}, "-shard: shard 0 of 3 is outside 1..3 (shards are numbered from 1)"},
		{"4/3", Shard{}, "-shard: shard 4 of 3 is outside 1..3"},
		{"-1/3", Shard{}, "-shard: shard -1 of 3 is outside 1..3"},
		{"1/0", Shard{}, "-shard: 0 shards is outside 1..100000"},
		{"1/100001", Shard{}, "-shard: 100001 shards is outside 1..100000"},
		{"3", Shard{}, `-shard: "3" is not K/N`},
		{"a/b", Shard{}, `-shard: "a/b" is not K/N`},
		{"1/2/3", Shard{}, `-shard: "1/2/3" is not K/N`},
		{"", Shard{}, `-shard: "" is not K/N`},
		{"1.5/3", Shard{}, `-shard: "1.5/3" is not K/N`},
	} {
		got, err := ParseShard(tc.in)
		var ue *UsageError
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("ParseShard(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		case tc.err != "" && (!errors.As(err, &ue) || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseShard(%q): error %v, want a usage error with %q", tc.in, err, tc.err)
		}
	}
	o := Options{Shard: Shard{K: 5, N: 4}}
	if err := o.normalize(); err == nil || !strings.Contains(err.Error(), "-shard: shard 5 of 4") {
		t.Errorf("Options with shard 5/4: %v", err)
	}
}

func genIDs(m int) []string {
	ids := make([]string, m)
	for i := range ids {
		ids[i] = fmt.Sprintf("gen-%04d", i)
	}
	return ids
}

// assignment is the shard (1..n) of each ID.
func assignment(ids []string, n int) map[string]int {
	out := map[string]int{}
	for k := 1; k <= n; k++ {
		for _, i := range shardPositions(ids, k, n) {
			out[ids[i]] = k
		}
	}
	return out
}

// TestShardRule: the shards of a selection are disjoint, cover it, differ in size by at most
// one, keep the target's order inside, and depend only on the IDs.
func TestShardRule(t *testing.T) {
	for _, m := range []int{0, 1, 2, 20, 100, 1000} {
		for _, n := range []int{1, 2, 3, 7, 16, 150} {
			ids := genIDs(m)
			seen := make([]bool, m)
			minSize, maxSize := m, 0
			for k := 1; k <= n; k++ {
				pos := shardPositions(ids, k, n)
				if !slices.IsSorted(pos) {
					t.Errorf("M=%d N=%d shard %d: positions not in the target's order", m, n, k)
				}
				for _, p := range pos {
					if seen[p] {
						t.Fatalf("M=%d N=%d: %s in two shards", m, n, ids[p])
					}
					seen[p] = true
				}
				minSize, maxSize = min(minSize, len(pos)), max(maxSize, len(pos))
			}
			if slices.Contains(seen, false) {
				t.Errorf("M=%d N=%d: a device in no shard", m, n)
			}
			if maxSize-minSize > 1 {
				t.Errorf("M=%d N=%d: shard sizes %d..%d, want within one", m, n, minSize, maxSize)
			}
		}
	}
	// The same IDs in another order: each ID in the same shard.
	ids := genIDs(100)
	want := assignment(ids, 7)
	shuffled := slices.Clone(ids)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for id, k := range assignment(shuffled, 7) {
		if want[id] != k {
			t.Errorf("%s: shard %d in catalogue order, %d shuffled", id, want[id], k)
		}
	}
	// Neighbours in the catalogue are spread: gen-0000..gen-0013 are not all in one shard.
	first := map[int]bool{}
	for _, id := range ids[:14] {
		first[want[id]] = true
	}
	if len(first) < 4 {
		t.Errorf("the first 14 devices fall in %d of 7 shards", len(first))
	}
}

// TestShardRuleStable: adding a device to the catalogue moves at most N-1 of the others to
// another shard (dealing the catalogue out in turn would move every device after it).
func TestShardRuleStable(t *testing.T) {
	for _, n := range []int{2, 3, 7} {
		for _, added := range []string{"aaa-first", "gen-0050a", "zzz-last"} {
			ids := genIDs(100)
			before := assignment(ids, n)
			after := assignment(append(slices.Clone(ids), added), n)
			moved := 0
			for _, id := range ids {
				if before[id] != after[id] {
					moved++
				}
			}
			if moved > n-1 {
				t.Errorf("N=%d, adding %s moved %d devices, want at most %d", n, added, moved, n-1)
			}
		}
	}
}

func TestPickShard(t *testing.T) {
	var devs []target.Device
	for _, id := range genIDs(10) {
		devs = append(devs, target.Device{ID: id})
	}
	all, idx := pickShard(devs, Shard{})
	if len(all) != 10 || !slices.Equal(idx, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Errorf("no shard: %d devices, positions %v", len(all), idx)
	}
	total := 0
	for k := 1; k <= 4; k++ {
		part, idx := pickShard(devs, Shard{K: k, N: 4})
		for i, d := range part {
			if devs[idx[i]].ID != d.ID {
				t.Errorf("shard %d/4: %s at position %d, which is %s", k, d.ID, idx[i], devs[idx[i]].ID)
			}
		}
		total += len(part)
	}
	if total != 10 {
		t.Errorf("4 shards hold %d of 10 devices", total)
	}
}
