#!/usr/bin/env bash
# make hil: the hardware-in-the-loop path through the real PC/SC stack (pcscd + vsmartcard's
# vpcd) on this machine. Usage: conformance/hil/run.sh OUTDIR
#
#  1. installs the Debian packages when missing (as root or with sudo; otherwise says what to do);
#  2. runs the PC/SC tests (build tag pcsc) -> OUTDIR/go-test.log, and those of a handset in the
#     loop (conformance/hil/loop, the phone serve stand-in) -> OUTDIR/loop.log;
#  3. runs the PC/SC benchmarks -> OUTDIR/bench.txt; prints the Reader against the C floor of the
#     stack (floor.sh -> OUTDIR/floor.txt) and the whole path per device over several slots
#     beside in process (-> OUTDIR/device-path.txt);
#  4. smoke-tests the binary: `card serve` two personas, `readers -json -probe` -> OUTDIR/readers.json;
#  5. the Ginkgo suite on target pcsc -> OUTDIR/suite/ (the supported-reader list);
#  6. a lab-mode rehearsal: the suite on a named reader whose card secrets come from the environment.
# Every process started here is stopped by its PID, also on failure. The tests serialise on the
# same lock file as this script (package conformance/hil/stack), so only one user drives pcscd.
set -euo pipefail
cd "$(dirname "$0")/../.."

out=${1:?usage: conformance/hil/run.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
GO=${GO:-go}

# --- 1. packages ------------------------------------------------------------------------------
pkgs=(pcscd libpcsclite-dev vsmartcard-vpcd pkg-config gcc opensc pcsc-tools python3-pykcs11)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"
  else
    echo "hil: missing Debian packages: ${missing[*]}" >&2
    echo "hil: install them as root: apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  echo "hil: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- process bookkeeping: everything started here is stopped by PID ----------------------------
pids=()
stop_pid() { # SIGTERM, then wait (pcscd takes up to ~1.7 s); SIGKILL after 10 s
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local i
  for ((i=${#pids[@]}-1; i>=0; i--)); do stop_pid "${pids[$i]}"; done
  pids=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

status=0

# --- 2. tests ---------------------------------------------------------------------------------
echo "hil: go test -tags pcsc (log: $out/go-test.log)"
if ! $GO test -tags pcsc -count=1 -timeout 10m -v \
    ./readers/pcsc/... ./emulator/vpcd/... $($GO list ./conformance/hil/... | grep -v '/hil/loop$') ./conformance/target/... >"$out/go-test.log" 2>&1; then
  status=1
  echo "hil: TESTS FAILED" >&2
  grep -E '^(--- FAIL|FAIL|panic)' "$out/go-test.log" >&2 || tail -50 "$out/go-test.log" >&2
fi
grep -E '^(ok|FAIL|---)' "$out/go-test.log" | grep -v -- '--- PASS' || true

# --- 2b. a handset in the loop: `mynaconform phone serve` stands in for a handset running the
# Remote Smart Card Reader app; the chain probe -> measured profile -> in-process verdicts =
# pcsc verdicts, every catalogue device through the stand-in, replay of a pcscd transcript.
echo "hil: a handset in the loop, through the stand-in (log: $out/loop.log)"
loop_start=$(date +%s)
if ! $GO test -tags pcsc -count=1 -timeout 20m -v ./conformance/hil/loop/ >"$out/loop.log" 2>&1; then
  status=1
  echo "hil: HANDSET-IN-THE-LOOP TESTS FAILED" >&2
  grep -E '^(\s*--- FAIL|FAIL|panic)' "$out/loop.log" >&2 || tail -50 "$out/loop.log" >&2
fi
grep -E '^(ok|FAIL)' "$out/loop.log" || true
echo "hil: handset in the loop: $(( $(date +%s) - loop_start )) s"

# --- 3. benchmarks ----------------------------------------------------------------------------
echo "hil: PC/SC benchmarks (log: $out/bench.txt)"
if ! $GO test -tags pcsc -count=1 -timeout 10m -run '^$' -bench . -skip '^BenchmarkPCSCFloor$' -benchtime 2s \
    ./emulator/vpcd/... ./conformance/hil/... >"$out/bench.txt" 2>&1; then
  status=1
  echo "hil: BENCHMARKS FAILED" >&2
  tail -30 "$out/bench.txt" >&2
fi
grep -E '^Benchmark' "$out/bench.txt" || true
echo "hil: the Reader against the floor (log: $out/floor.txt)"
GO=$GO bash conformance/hil/floor.sh "$out/floor.txt" || status=1
echo "hil: whole path per device, PC/SC slots beside in process (log: $out/device-path.txt)"
if ! $GO test -tags pcsc -count=1 -timeout 10m -run '^$' -bench 'DevicePath' -benchtime 40x \
    ./conformance >"$out/device-path.txt" 2>&1; then
  status=1
  echo "hil: DEVICE-PATH BENCHMARKS FAILED" >&2
  tail -30 "$out/device-path.txt" >&2
fi
grep -E '^Benchmark' "$out/device-path.txt" || true

# --- 4. the binary: card serve + readers -probe -----------------------------------------------
echo "hil: mynaconform card serve + readers -probe (log: $out/card-serve.log)"
$GO build -tags pcsc -o "$out/mynaconform" ./cmd/mynaconform
exec 9>/tmp/mynaconform-pcscd.lock # conformance/hil/stack.LockPath: fixed, not under $TMPDIR
flock -w 300 9 || { echo "hil: pcscd lock busy for 300 s" >&2; exit 1; }
pcscd_running() { grep -qx pcscd /proc/[0-9]*/comm 2>/dev/null; }
vpcd_listening() { grep -qE ':8C7B [0-9A-F]+:0000 0A' /proc/net/tcp /proc/net/tcp6 2>/dev/null; } # 35963, LISTEN
if ! pcscd_running; then
  pcscd --foreground --error >"$out/pcscd.log" 2>&1 &
  pids+=($!)
fi
for _ in $(seq 500); do vpcd_listening && break; sleep 0.01; done
vpcd_listening || { echo "hil: vpcd not listening on 35963: $(cat "$out/pcscd.log" 2>/dev/null)" >&2; exit 1; }
"$out/mynaconform" card serve --persona adult --persona child --state "$out/adult-state.json" >"$out/card-serve.log" 2>&1 &
serve=$!
pids+=($serve)
readers_ok=0
for _ in $(seq 50); do # the cards show up within ~0.4 s of dialling in
  if "$out/mynaconform" readers -json -probe >"$out/readers.json" 2>>"$out/card-serve.log" &&
     [ "$(grep -c '"extended": true' "$out/readers.json")" -ge 2 ]; then readers_ok=1; break; fi
  sleep 0.1
done
if [ $readers_ok -ne 1 ]; then
  status=1
  echo "hil: readers -probe did not show two cards with extended APDUs:" >&2
  cat "$out/readers.json" >&2 || true
fi
stop_pid "$serve"
[ -s "$out/adult-state.json" ] || { status=1; echo "hil: card serve left no state file" >&2; }

cleanup
flock -u 9

# --- 5. the Ginkgo suite on target pcsc --------------------------------------------------------
# With it, TestCardRemovedMidPath: the card taken away mid-consent is a clean, typed failure.
# The pcsc target takes the pcscd lock itself (conformance/hil/stack), starts pcscd when none
# runs, and presents a fresh virtual card of each persona through vpcd; its verdicts must equal
# those of the in-process profile with the same capabilities (conformance/expected.yaml).
echo "hil: the conformance suite on target pcsc (reports: $out/suite, log: $out/suite.log)"
if ! $GO test -tags pcsc -count=1 -timeout 15m ./conformance -run '^(TestCardRemovedMidPath|TestEnvelopeRepresentsCardPCSC|TestConformance)$' \
    -args -target pcsc -out "$out/suite" >"$out/suite.log" 2>&1; then
  status=1
  echo "hil: SUITE ON TARGET pcsc FAILED" >&2
  grep -E '\[FAIL\]|FAILED' "$out/suite.log" | head -20 >&2 || tail -30 "$out/suite.log" >&2
fi
grep -E '^(ok|FAIL)' "$out/suite.log" || true
[ -f "$out/suite/supported-devices.md" ] && grep -E '^\| pcsc-' "$out/suite/supported-devices.md" || true

# --- 6. lab mode, rehearsed: a card served by `mynaconform card serve` in slot 1 plays a lab's
# physical test card; the suite takes its secrets from the environment (never printed) and
# enrolls its auth certificate to the adult's synthetic insured record.
echo "hil: lab-mode rehearsal on Virtual PCD 00 01 (reports: $out/lab, log: $out/lab.log)"
exec 9>/tmp/mynaconform-pcscd.lock # conformance/hil/stack.LockPath: fixed, not under $TMPDIR
flock -w 300 9 || { echo "hil: pcscd lock busy for 300 s" >&2; exit 1; }
if ! pcscd_running; then
  pcscd --foreground --error >>"$out/pcscd.log" 2>&1 &
  pids+=($!)
fi
for _ in $(seq 500); do vpcd_listening && break; sleep 0.01; done
"$out/mynaconform" card serve --vpcd 127.0.0.1:35964 --persona adult -q >"$out/lab-card.log" 2>&1 &
pids+=($!)
if ! MYNACONFORM_LAB_AUTH_PIN=1234 MYNACONFORM_LAB_VERIFICATION_B=55021720352285 \
    $GO test -tags pcsc -count=1 -timeout 10m ./conformance -run '^TestConformance$' \
    -args -target pcsc -reader "Virtual PCD 00 01" -lab -out "$out/lab" >"$out/lab.log" 2>&1; then
  status=1
  echo "hil: LAB-MODE REHEARSAL FAILED" >&2
  grep -E '\[FAIL\]|FAILED' "$out/lab.log" | head -20 >&2 || tail -30 "$out/lab.log" >&2
fi
grep -E '^(ok|FAIL)' "$out/lab.log" || true
if grep -rl 55021720352285 "$out/lab" 2>/dev/null; then
  status=1
  echo "hil: the lab card's 照合番号B appears in the reports above" >&2
fi
cleanup
flock -u 9

exit $status
