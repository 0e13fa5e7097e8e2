#!/usr/bin/env bash
# Wall time of the whole suite for N generated device profiles, as a Markdown table (`make
# scale`): one device at a time in one process, several at once on goroutines in one process
# (the default: one per CPU), and the ginkgo CLI's -p (one process per CPU). Times are wall clock
# on a shared machine: compare the rows of one run, not runs of different days.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${SIZES:-"10 100 1000"}
tmp=$(mktemp -d)
bin=conformance/scale.test # ginkgo runs a compiled suite from its own directory (TESTPLAN.md)
trap 'rm -rf "$tmp" "$bin"' EXIT
go test -c -o "$bin" ./conformance
go build -o "$tmp/ginkgo" github.com/onsi/ginkgo/v2/ginkgo

now() { date +%s.%N; }
cpus=$(nproc)
echo "| devices | specs | one at a time (s) | ms/device | $cpus at once in process (s) | ms/device | ginkgo -p (s) | ms/device |"
echo "|--:|--:|--:|--:|--:|--:|--:|--:|"
for n in $sizes; do
  t0=$(now)
  (cd conformance && ./scale.test -test.run '^TestConformance$' -generate "$n" -verdicts record -concurrency 1 >"$tmp/serial-$n.log" 2>&1) ||
    { echo "serial run of $n failed:"; tail -20 "$tmp/serial-$n.log"; exit 1; }
  t1=$(now)
  (cd conformance && ./scale.test -test.run '^TestConformance$' -generate "$n" -verdicts record -concurrency "$cpus" >"$tmp/conc-$n.log" 2>&1) ||
    { echo "concurrent run of $n failed:"; tail -20 "$tmp/conc-$n.log"; exit 1; }
  t2=$(now)
  ("$tmp/ginkgo" -p "$bin" -- -generate "$n" -verdicts record >"$tmp/par-$n.log" 2>&1) ||
    { echo "parallel run of $n failed:"; tail -20 "$tmp/par-$n.log"; exit 1; }
  t3=$(now)
  specs=$(grep -o 'Ran [0-9]* of' "$tmp/serial-$n.log" | head -1 | awk '{print $2}')
  awk -v n="$n" -v s="$specs" -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN {
    printf "| %d | %s | %.2f | %.1f | %.2f | %.1f | %.2f | %.1f |\n", n, s, b-a, (b-a)*1000/n, c-b, (c-b)*1000/n, d-c, (d-c)*1000/n }'
done
