#!/usr/bin/env bash
# Wall time of the whole suite for N generated device profiles, as a Markdown table (`make
# scale`): one device at a time in one process, several at once on goroutines in one process
# (the default: one per CPU), the ginkgo CLI's -p (one process per CPU), and SHARDS processes of
# `mynaconform run -shard k/SHARDS -p 1` side by side (default: one per CPU) followed by
# `mynaconform merge`, whose list must equal the in-process run's. Times are wall clock on a
# shared machine: compare the rows of one run, not runs of different days.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${SIZES:-"10 100 1000"}
cpus=$(nproc)
shards=${SHARDS:-$cpus}
tmp=$(mktemp -d)
bin=conformance/scale.test # ginkgo runs a compiled suite from its own directory (TESTPLAN.md)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp" "$bin"
}
trap cleanup EXIT
go test -c -o "$bin" ./conformance
go build -o "$tmp/ginkgo" github.com/onsi/ginkgo/v2/ginkgo
go build -o "$tmp/mynaconform" ./cmd/mynaconform

now() { date +%s.%N; }
echo "| devices | specs | one at a time (s) | ms/device | $cpus at once in process (s) | ms/device | ginkgo -p (s) | ms/device | $shards shard processes + merge (s) | ms/device | of which merge (s) |"
echo "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
for n in $sizes; do
  t0=$(now)
  (cd conformance && ./scale.test -test.run '^TestConformance$' -generate "$n" -verdicts record -concurrency 1 >"$tmp/serial-$n.log" 2>&1) ||
    { echo "serial run of $n failed:"; tail -20 "$tmp/serial-$n.log"; exit 1; }
  t1=$(now)
  (cd conformance && ./scale.test -test.run '^TestConformance$' -generate "$n" -verdicts record -concurrency "$cpus" -out "$tmp/conc-$n" >"$tmp/conc-$n.log" 2>&1) ||
    { echo "concurrent run of $n failed:"; tail -20 "$tmp/conc-$n.log"; exit 1; }
  t2=$(now)
  ("$tmp/ginkgo" -p "$bin" -- -generate "$n" -verdicts record >"$tmp/par-$n.log" 2>&1) ||
    { echo "parallel run of $n failed:"; tail -20 "$tmp/par-$n.log"; exit 1; }
  t3=$(now)
  pids=()
  for k in $(seq "$shards"); do
    "$tmp/mynaconform" run -generate "$n" -verdicts record -p 1 -shard "$k/$shards" -out "$tmp/shards-$n/$k" >"$tmp/shard-$n-$k.log" 2>&1 &
    pids+=($!)
  done
  for k in $(seq "$shards"); do
    wait "${pids[$((k-1))]}" || { echo "shard $k/$shards of $n failed:"; tail -20 "$tmp/shard-$n-$k.log"; exit 1; }
  done
  pids=()
  t4=$(now)
  "$tmp/mynaconform" merge -out "$tmp/merged-$n" "$tmp/shards-$n"/* >"$tmp/merge-$n.log" 2>&1 ||
    { echo "merge of $n failed:"; tail -20 "$tmp/merge-$n.log"; exit 1; }
  t5=$(now)
  cmp -s "$tmp/conc-$n/supported-devices.md" "$tmp/merged-$n/supported-devices.md" ||
    { echo "the merged list of $n devices differs from the in-process run's"; exit 1; }
  specs=$(grep -o 'Ran [0-9]* of' "$tmp/serial-$n.log" | head -1 | awk '{print $2}')
  awk -v n="$n" -v s="$specs" -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v e="$t4" -v f="$t5" 'BEGIN {
    printf "| %d | %s | %.2f | %.1f | %.2f | %.1f | %.2f | %.1f | %.2f | %.1f | %.2f |\n", n, s, b-a, (b-a)*1000/n, c-b, (c-b)*1000/n, d-c, (d-c)*1000/n, f-d, (f-d)*1000/n, f-e }'
done
