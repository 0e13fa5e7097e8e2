#!/usr/bin/env bash
# The suite gives identical results however its devices are spread: one at a time in one
# process (-concurrency 1), several at once on goroutines in one process (the default of go
# test and mynaconform run), and across processes with the ginkgo CLI's -p. Run all three on the
# whole catalogue and compare the lists byte for byte (but for the run's start time) and the
# transcripts' shape. Part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
bin=conformance/parallel.test # ginkgo runs a compiled suite from its own directory (TESTPLAN.md)
trap 'rm -rf "$tmp" "$bin"' EXIT
go test -c -o "$bin" ./conformance
go build -o "$tmp/ginkgo" github.com/onsi/ginkgo/v2/ginkgo
(cd conformance && ./parallel.test -test.run '^TestConformance$' -concurrency 1 -out "$tmp/serial" >"$tmp/serial.log" 2>&1) ||
  { tail -30 "$tmp/serial.log"; exit 1; }
(cd conformance && ./parallel.test -test.run '^TestConformance$' -concurrency 2 -out "$tmp/concurrent" >"$tmp/concurrent.log" 2>&1) ||
  { tail -30 "$tmp/concurrent.log"; exit 1; }
"$tmp/ginkgo" -p --no-color "$bin" -- -out "$tmp/parallel" >"$tmp/parallel.log" 2>&1 ||
  { tail -30 "$tmp/parallel.log"; exit 1; }
# The start time of the run is the only line allowed to differ.
for f in supported-devices.md supported-devices.csv supported-devices.html supported-devices.json; do
  for run in serial concurrent parallel; do
    grep -v -e '"started"' -e 'Run started' -e '実行開始' "$tmp/$run/$f" >"$tmp/$run.$f"
  done
  cmp "$tmp/serial.$f" "$tmp/concurrent.$f" || { echo "parallel: $f differs between one and two devices at once"; diff "$tmp/serial.$f" "$tmp/concurrent.$f" | head -20; exit 1; }
  cmp "$tmp/serial.$f" "$tmp/parallel.$f" || { echo "parallel: $f differs between go test and ginkgo -p"; diff "$tmp/serial.$f" "$tmp/parallel.$f" | head -20; exit 1; }
done
# The envelope stage's transcripts (TRN-*.cbor) talk to the card alone and must be identical byte
# for byte. The others carry the service's random challenges (and so different signatures) in
# every run: compare their shape — each exchange's step, command, lengths, status and modelled time.
go build -o "$tmp/mynaconform" ./cmd/mynaconform
trn() { (cd "$1/transcripts" && find . -type f -name 'TRN-*.cbor' | sort | xargs sha256sum); }
trn "$tmp/serial" >"$tmp/s.trn"
trn "$tmp/concurrent" >"$tmp/c.trn"
trn "$tmp/parallel" >"$tmp/p.trn"
cmp "$tmp/s.trn" "$tmp/c.trn" || { echo "parallel: envelope transcripts differ (one vs two devices at once)"; diff "$tmp/s.trn" "$tmp/c.trn" | head -20; exit 1; }
cmp "$tmp/s.trn" "$tmp/p.trn" || { echo "parallel: envelope transcripts differ (go test vs ginkgo -p)"; diff "$tmp/s.trn" "$tmp/p.trn" | head -20; exit 1; }
shape() { (cd "$1/transcripts" && for f in $(find . -type f ! -name 'TRN-*.cbor' | sort); do echo "== $f"; "$tmp/mynaconform" transcript "$f" | grep -v -E '^ +([<>] )?([0-9A-F]{2} )*[0-9A-F]{2}$'; done); }
shape "$tmp/serial" >"$tmp/s.shape"
shape "$tmp/concurrent" >"$tmp/c.shape"
shape "$tmp/parallel" >"$tmp/p.shape"
cmp "$tmp/s.shape" "$tmp/c.shape" || { echo "parallel: transcripts differ (one vs two devices at once)"; diff "$tmp/s.shape" "$tmp/c.shape" | head -20; exit 1; }
cmp "$tmp/s.shape" "$tmp/p.shape" || { echo "parallel: transcripts differ (go test vs ginkgo -p)"; diff "$tmp/s.shape" "$tmp/p.shape" | head -20; exit 1; }
n=$(grep -c '^| ' "$tmp/serial/supported-devices.md" || true)
echo "parallel: one device at a time, two at once and ginkgo -p agree: lists, transcripts ($(grep -c "^== " "$tmp/s.shape") by shape, $(wc -l <"$tmp/s.trn") envelope ones byte for byte), $((n-1)) devices"
