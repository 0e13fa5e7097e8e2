#!/usr/bin/env bash
# The suite gives identical results under `go test` (one process) and `ginkgo -p` (parallel
# processes): run both on the whole catalogue and compare the lists byte for byte (but for the
# run's start time) and the transcripts' shape. Part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
bin=conformance/parallel.test # ginkgo runs a compiled suite from its own directory (TESTPLAN.md)
trap 'rm -rf "$tmp" "$bin"' EXIT
go test -c -o "$bin" ./conformance
go build -o "$tmp/ginkgo" github.com/onsi/ginkgo/v2/ginkgo
(cd conformance && ./parallel.test -test.run '^TestConformance$' -out "$tmp/serial" >"$tmp/serial.log" 2>&1) ||
  { tail -30 "$tmp/serial.log"; exit 1; }
"$tmp/ginkgo" -p --no-color "$bin" -- -out "$tmp/parallel" >"$tmp/parallel.log" 2>&1 ||
  { tail -30 "$tmp/parallel.log"; exit 1; }
# The start time of the run is the only line allowed to differ.
for f in supported-devices.md supported-devices.csv supported-devices.html supported-devices.json; do
  grep -v -e '"started"' -e 'Run started' "$tmp/serial/$f" >"$tmp/s.$f"
  grep -v -e '"started"' -e 'Run started' "$tmp/parallel/$f" >"$tmp/p.$f"
  cmp "$tmp/s.$f" "$tmp/p.$f" || { echo "parallel: $f differs between go test and ginkgo -p"; diff "$tmp/s.$f" "$tmp/p.$f" | head -20; exit 1; }
done
# Transcripts carry the service's random challenges (and so different signatures) in every run:
# compare their shape — each exchange's step, command, lengths, status and modelled time.
go build -o "$tmp/mynaconform" ./cmd/mynaconform
shape() { (cd "$1/transcripts" && for f in $(find . -type f | sort); do echo "== $f"; "$tmp/mynaconform" transcript "$f" | grep -v -E '^ +([<>] )?([0-9A-F]{2} )*[0-9A-F]{2}$'; done); }
shape "$tmp/serial" >"$tmp/s.shape"
shape "$tmp/parallel" >"$tmp/p.shape"
cmp "$tmp/s.shape" "$tmp/p.shape" || { echo "parallel: transcripts differ"; diff "$tmp/s.shape" "$tmp/p.shape" | head -20; exit 1; }
n=$(grep -c '^| ' "$tmp/serial/supported-devices.md" || true)
echo "parallel: go test and ginkgo -p agree: lists, transcripts ($(grep -c "^== " "$tmp/s.shape") files), $((n-1)) devices"
