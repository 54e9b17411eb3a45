#!/usr/bin/env bash
# Interleaved A/B of several proxy builds at one concurrency: each round starts every
# build in turn (the everything-on configuration of scripts/bench.sh, two workers),
# warms it for 2 s and runs wrk -t1 for the given time, then prints req/s, p50, p99
# and the proxy's CPU per request (utime+stime of its threads from /proc over the
# run, divided by the requests wrk completed). `floor` is the bare Pingora proxy.
#
#   scripts/bench/ab.sh <seconds> <rounds> <connections> floor|<binary>...
#   scripts/bench/ab.sh 5 3 1 floor target/release/tollgate /tmp/tollgate-before
#
# Runs after scripts/bench.sh (it uses that run's configuration and request bodies):
# the mock on 127.0.0.1:18181, each proxy on 18083, one at a time.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/bench/lib.sh
source scripts/bench/lib.sh
[ $# -ge 4 ] || { echo "usage: ab.sh <seconds> <rounds> <connections> floor|<binary>..." >&2; exit 1; }
SECS=$1
ROUNDS=$2
CONNS=$3
shift 3
BIN=${CARGO_TARGET_DIR:-target}/release
RUN=${CARGO_TARGET_DIR:-target}/bench/run
command -v wrk >/dev/null || { echo "wrk is required" >&2; exit 1; }
[ -f "$RUN/governed.yaml" ] || { echo "run scripts/bench.sh once first" >&2; exit 1; }

PROXY=""
"$BIN/tollgate-mock" --port 18181 --threads 1 --tokens 8 >/dev/null 2>&1 &
MOCK=$!
trap 'kill $MOCK $PROXY 2>/dev/null || true; wait 2>/dev/null || true' EXIT

# measure <build>: one round of one build.
measure() {
  local build=$1 body=$RUN/same.json
  if [ "$build" = floor ]; then
    body=$RUN/direct.json
    "$BIN/examples/pingora_floor" 127.0.0.1:18083 127.0.0.1:18181 2 >/dev/null 2>&1 &
  else
    "$build" -c "$RUN/governed.yaml" >/dev/null 2>"$RUN/ab.err" &
  fi
  PROXY=$!
  wait_for_proxy
  local wrk=(wrk -t1 -c"$CONNS" -s scripts/bench/post.lua http://127.0.0.1:18083/v1/chat/completions)
  BENCH_BODY_FILE=$body "${wrk[@]}" -d2s >/dev/null
  local u0 s0 u1 s1 out
  read -r u0 s0 < <(proc_user_sys "$PROXY")
  out=$(BENCH_BODY_FILE=$body "${wrk[@]}" -d"${SECS}s")
  read -r u1 s1 < <(proc_user_sys "$PROXY")
  grep -q "non2xx=0 " <<<"$out" || echo "warning: $build answered errors: $(grep BENCH <<<"$out")" >&2
  out=$(grep '^BENCH ' <<<"$out")
  awk -v b="$(basename "$build")" -v s="$SECS" -v t="$CLK_TCK" -v u=$((u1 - u0)) -v y=$((s1 - s0)) \
    -v n="$(field requests "$out")" -v p50="$(field p50_us "$out")" -v p99="$(field p99_us "$out")" 'BEGIN {
      k = 1e6 / t / n
      printf "%-20s %7.0f req/s  p50 %5d µs  p99 %6d µs  proxy CPU %6.1f µs/req (user %5.1f, system %5.1f)\n",
        b, n / s, p50, p99, (u + y) * k, u * k, y * k }'
  kill "$PROXY" 2>/dev/null || true
  wait "$PROXY" 2>/dev/null || true
  PROXY=""
}

echo "== A/B, c=$CONNS, ${SECS}s, $ROUNDS rounds, builds interleaved"
for ((round = 1; round <= ROUNDS; round++)); do
  for build in "$@"; do measure "$build"; done
done
