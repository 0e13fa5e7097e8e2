#!/usr/bin/env bash
# The Reader against the floor of the PC/SC stack: BenchmarkPCSCFloor (conformance/hil) sends the
# same SELECT + READ BINARY pairs from a C loop over SCardTransmit, bare ebfe/scard and the
# project's Reader, in one run and to one virtual card, and this prints each one's APDU/s and
# its ratio to the C loop. Part of `make bench` and `make hil`.
#
# Usage: conformance/hil/floor.sh [LOG]   (FLOOR_BENCHTIME, default 10000x pairs per client)
# Needs the PC/SC stack (pcscd, vsmartcard-vpcd, libpcsclite-dev; `make hil` installs it); without
# it the benchmark is skipped and this says so (exit 0).
set -euo pipefail
cd "$(dirname "$0")/../.."
GO=${GO:-go}
log=${1:-}
if [ -z "$log" ]; then
  log=$(mktemp)
  trap 'rm -f "$log"' EXIT
fi
if ! pkg-config --exists libpcsclite 2>/dev/null; then
  echo "floor: skipped: libpcsclite-dev is not installed (make hil installs the PC/SC stack)"
  exit 0
fi
if ! $GO test -tags pcsc -count=1 -timeout 10m -run '^$' -bench '^BenchmarkPCSCFloor$' \
    -benchtime "${FLOOR_BENCHTIME:-10000x}" ./conformance/hil/ >"$log" 2>&1; then
  echo "floor: BenchmarkPCSCFloor failed:" >&2
  tail -20 "$log" >&2
  exit 1
fi
line=$(grep -E '^BenchmarkPCSCFloor' "$log" || true)
if [ -z "$line" ]; then
  echo "floor: skipped: $(grep -m1 -E 'SKIP|skip|not installed' "$log" || echo 'no benchmark line')"
  exit 0
fi
echo "$line"
# The line is: name N ns/op then value-unit pairs (floor-apdu/s, scard/floor, ...).
echo "$line" | awk '{
  for (i = 5; i < NF; i += 2) m[$(i+1)] = $i
  printf "PC/SC round trips, one run, one virtual card (SELECT EF + 32-byte READ BINARY):\n"
  printf "  %-44s %8s  %s\n", "client", "APDU/s", "of the C floor"
  printf "  %-44s %8.0f  %s\n", "C loop over SCardTransmit (the floor)", m["floor-apdu/s"], "1.00"
  printf "  %-44s %8.0f  %.2f\n", "Go loop, one cgo SCardTransmit per APDU", m["cgo-apdu/s"], m["cgo/floor"]
  printf "  %-44s %8.0f  %.2f\n", "bare ebfe/scard", m["scard-apdu/s"], m["scard/floor"]
  printf "  %-44s %8.0f  %.2f\n", "Reader (readers/pcsc), context.Background", m["reader-apdu/s"], m["reader/floor"]
  printf "  %-44s %8.0f  %.2f\n", "Reader, a context with a deadline", m["reader-ctx-apdu/s"], m["reader-ctx/floor"]
}'
