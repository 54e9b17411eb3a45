#!/usr/bin/env bash
# Where the time of a request goes that counting instructions cannot see: cache lines
# the worker threads take from each other (lock words, shared reference counts,
# counters updated by every thread). Samples the proxy's CPU (`perf record -e
# cpu-clock`) while wrk runs the everything-on configuration at c=64, then prints,
# per request:
#   - the own time of the proxy's hottest user-space symbols, in µs;
#   - for each, the share of its samples on or right after a `lock`-prefixed or `xchg`
#     instruction (where a core waits for a line another core wrote), and on lines
#     the compiler attributes to `Arc` clones and drops.
# A symbol whose time sits after its atomics pays for the line the atomic needed in
# exclusive ownership (often one another core wrote last), not for its instructions;
# an uncontended atomic on a cold line shows the same, so read the shares with the
# code (see docs/perf, thirteenth round).
#
#   scripts/bench/shared_lines.sh [binary] [seconds]   # target/release/tollgate, 4 s
#   scripts/bench/shared_lines.sh floor                # the bare Pingora proxy
#
# Runs after scripts/bench.sh (it uses that run's configuration and request bodies):
# the mock on 127.0.0.1:18181, the proxy on 18083. Needs perf (linux-perf) and wrk.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/bench/lib.sh
source scripts/bench/lib.sh
WHAT=${1:-${CARGO_TARGET_DIR:-target}/release/tollgate}
SECS=${2:-4}
TOP=${TOP:-40}
BIN=${CARGO_TARGET_DIR:-target}/release
RUN=${CARGO_TARGET_DIR:-target}/bench/run
OUT=${CARGO_TARGET_DIR:-target}/bench/shared-lines
command -v perf >/dev/null || { echo "perf is required (apt-get install linux-perf)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is required" >&2; exit 1; }
[ -f "$RUN/governed.yaml" ] || { echo "run scripts/bench.sh once first" >&2; exit 1; }
mkdir -p "$OUT"

body=$RUN/same.json
cmd=("$WHAT" -c "$RUN/governed.yaml")
if [ "$WHAT" = floor ]; then
  body=$RUN/direct.json
  cmd=("$BIN/examples/pingora_floor" 127.0.0.1:18083 127.0.0.1:18181 2)
fi
"$BIN/tollgate-mock" --port 18181 --threads 1 --tokens 8 >/dev/null 2>&1 &
MOCK=$!
"${cmd[@]}" >/dev/null 2>"$OUT/proxy.err" &
PROXY=$!
trap 'kill $PROXY $MOCK 2>/dev/null; wait 2>/dev/null' EXIT
wait_for_proxy

wrk_run() {
  BENCH_BODY_FILE=$body wrk -t1 -c64 -s scripts/bench/post.lua -d"$1" \
    http://127.0.0.1:18083/v1/chat/completions
}
wrk_run 2s >/dev/null
perf record -q -F 4999 -e cpu-clock -p "$PROXY" -o "$OUT/perf.data" -- sleep "$SECS" \
  >/dev/null 2>&1 &
PERF=$!
requests=$(field requests "$(wrk_run "${SECS}s" | grep '^BENCH ')")
wait "$PERF" || true
echo "$requests requests in ${SECS}s; µs per request from 4999 samples/s of proxy CPU"

# "samples symbol" of the hottest user-space symbols.
# (awk stops printing at TOP but reads on: an early exit would fail the pipeline.)
perf report -i "$OUT/perf.data" --no-children --sort sym -n -q -g none 2>/dev/null |
  awk -v top="$TOP" '$3 == "[.]" && k++ < top {
    n = $2; $1 = ""; $2 = ""; $3 = ""; sub(/^ +/, ""); print n "\t" $0 }' >"$OUT/symbols.tsv"

printf '%9s %8s %8s  %s\n' "µs/req" "atomics" "Arc" "symbol"
total=0
atomic_total=0
while IFS=$'\t' read -r samples sym; do
  # Per annotated instruction: its share of the symbol's samples; a share on or right
  # after a lock/xchg counts as waiting for a line; source lines naming Arc's clone or
  # drop mark the instructions that follow as reference counting.
  read -r atomic arc < <(perf annotate -i "$OUT/perf.data" --stdio -s "$sym" 2>/dev/null | awk '
    /^ +: +[0-9]+ / { arc = ($0 ~ /Arc<T,A>/); next }
    /^ +[0-9.]+ : +[0-9a-f]+:/ {
      pct = $1 + 0
      if (after) atomic += pct
      after = ($0 ~ /:[ \t]+(lock |xchg[ \t]+%[a-z0-9]+,\()/)
      if (after) atomic += pct
      if (arc) arcs += pct
    }
    END { printf "%.1f %.1f\n", atomic, arcs }')
  us=$(awk -v s="$samples" -v n="$requests" 'BEGIN { printf "%.3f", s / 4999 * 1e6 / n }')
  printf '%9s %7s%% %7s%%  %s\n' "$us" "$atomic" "$arc" "${sym:0:110}"
  total=$(awk -v a="$total" -v b="$us" 'BEGIN { print a + b }')
  atomic_total=$(awk -v a="$atomic_total" -v b="$us" -v p="$atomic" 'BEGIN { print a + b * p / 100 }')
done <"$OUT/symbols.tsv"
awk -v t="$total" -v a="$atomic_total" -v k="$TOP" 'BEGIN {
  printf "top %d symbols: %.2f µs/req of own time, %.2f µs/req on or right after atomics\n", k, t, a }'
