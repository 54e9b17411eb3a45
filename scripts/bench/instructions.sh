#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind: unlike CPU time on a
# shared machine this does not drift with load, so an A/B of two builds shows changes
# of 1 % and a profile says which function they come from. User-space instructions
# only (system calls and scheduling are not counted) and no cache effects: a guide to
# where the work is, not a replacement for the timings of scripts/bench.sh.
#
#   scripts/bench/instructions.sh floor                 # the bare Pingora proxy
#   scripts/bench/instructions.sh target/release/tollgate [stream]
#   CONFIG=<yaml> scripts/bench/instructions.sh target/release/tollgate   # another config
#   CACHE_SIM=1 scripts/bench/instructions.sh floor   # also simulated cache and branch misses
#
# Runs after scripts/bench.sh (it uses that run's configuration and request bodies):
# the mock on 127.0.0.1:18181, the proxy on 18083 (admin 18093, the everything-on
# configuration), 300 warm-up requests on one keep-alive connection, then N (400, env)
# counted ones. Leaves the profile in $OUT (target/bench/instructions) for
# `callgrind_annotate --inclusive=yes`.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/bench/lib.sh
source scripts/bench/lib.sh
WHAT=${1:?usage: instructions.sh floor|<tollgate binary> [stream]}
KIND=${2:-}
N=${N:-400}
BIN=${CARGO_TARGET_DIR:-target}/release
RUN=${CARGO_TARGET_DIR:-target}/bench/run
OUT=${CARGO_TARGET_DIR:-target}/bench/instructions
command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install valgrind)" >&2; exit 1; }
[ -f "$RUN/governed.yaml" ] || { echo "run scripts/bench.sh once first" >&2; exit 1; }
mkdir -p "$OUT" && rm -f "$OUT"/cg.out*
suffix=""
if [ "$KIND" = stream ]; then suffix=-stream; fi
body=$RUN/same$suffix.json
cmd=("$WHAT" -c "${CONFIG:-$RUN/governed.yaml}")
if [ "$WHAT" = floor ]; then
  body=$RUN/direct$suffix.json
  cmd=("$BIN/examples/pingora_floor" 127.0.0.1:18083 127.0.0.1:18181 2)
fi

"$BIN/tollgate-mock" --port 18181 --threads 1 --tokens 8 >/dev/null 2>&1 &
MOCK=$!
sim=()
if [ -n "${CACHE_SIM:-}" ]; then sim=(--cache-sim=yes --branch-sim=yes); fi
valgrind --tool=callgrind "${sim[@]}" --instr-atstart=no --callgrind-out-file="$OUT/cg.out" \
  "${cmd[@]}" >/dev/null 2>"$OUT/valgrind.log" &
PROXY=$!
trap 'kill $PROXY $MOCK 2>/dev/null; wait 2>/dev/null' EXIT

wait_for_proxy
post_keepalive "$body" 300
callgrind_control -i on "$PROXY" >/dev/null 2>&1
post_keepalive "$body" "$N"
callgrind_control -i off "$PROXY" >/dev/null 2>&1
callgrind_control -d "$PROXY" >/dev/null 2>&1
kill "$PROXY" "$MOCK" 2>/dev/null || true
wait 2>/dev/null || true
total=0
for f in "$OUT"/cg.out*; do
  n=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1 + 0}' || true)
  total=$((total + ${n:-0}))
done
echo "$(basename "$WHAT")${KIND:+ $KIND}: $((total / N)) instructions per request ($N requests)"
if [ -n "${CACHE_SIM:-}" ]; then
  # Per request, summed over the profile's parts: instruction-cache misses, data-cache
  # read and write misses, mispredicted conditional and indirect branches (the cache
  # geometry is this host's, as valgrind reads it; the predictor is a simple model).
  for f in "$OUT"/cg.out*; do
    callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ {
      out = ""
      for (i = 1; i <= NF; i++) { gsub(",", "", $i); if ($i ~ /^[0-9]+$/) out = out " " $i }
      print out }'
  done | awk -v n="$N" '{ for (i = 1; i <= 13; i++) t[i] += $i }
    END { if (n > 0) printf "  per request: I1 misses %d, D1 read misses %d, D1 write misses %d, mispredicted branches %d conditional + %d indirect\n", t[4]/n, t[5]/n, t[6]/n, t[11]/n, t[13]/n }'
fi
