#!/usr/bin/env bash
# CPU per request with every process on one core: the proxy (one worker), the mock and
# wrk all pinned to the same CPU, for the bare Pingora floor and for tollgate with
# everything on.
#
# Why: on a loopback benchmark the sender of a packet pays, inside its own `sendto`,
# for waking the receiver. When the receiver's CPU is idle that is a cross-CPU wake-up
# (an inter-processor interrupt; in a VM a trap to the hypervisor), which costs far
# more than a wake-up on the sender's own CPU. The busier proxy finds the other CPU
# idle more often, so in the two-core runs of scripts/bench.sh part of its system time
# is the price of waking wrk and the mock, not work of its own. On one core every
# wake-up is local, so the difference to the floor is the proxy's own work. The
# script also reports each process's voluntary context switches per request (how
# often it slept and was woken).
#
#   scripts/bench/one_core.sh [seconds] [rounds]      # defaults: 5 s, 2 rounds
#   TOLLGATE=<another build> scripts/bench/one_core.sh  # that binary instead
#
# Runs after scripts/bench.sh (it uses that run's configuration and request bodies):
# the mock on 127.0.0.1:18181, the proxy on 18083, wrk at c=64 for a bounded time.
# CPU = utime+stime of the proxy's threads (/proc/<pid>/task/*/stat) over the run,
# divided by the requests wrk completed.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-5}
ROUNDS=${2:-2}
CPU=${ONE_CORE_CPU:-$(($(nproc) - 1))}
BIN=${CARGO_TARGET_DIR:-target}/release
TOLLGATE=${TOLLGATE:-$BIN/tollgate}
RUN=${CARGO_TARGET_DIR:-target}/bench/run
command -v wrk >/dev/null || { echo "wrk is required" >&2; exit 1; }
[ -f "$RUN/governed.yaml" ] || { echo "run scripts/bench.sh once first" >&2; exit 1; }
TICK=$(getconf CLK_TCK)
CONF=$RUN/governed-one-worker.yaml
sed 's/^  threads: .*/  threads: 1/' "$RUN/governed.yaml" >"$CONF"

# utime and stime ticks and voluntary switches, summed over a process's threads.
usage() {
  local pid=$1 user=0 sys=0 vol=0 t
  for t in /proc/"$pid"/task/*; do
    read -r u s < <(sed 's/.*) //' "$t/stat" | awk '{print $12, $13}')
    user=$((user + u))
    sys=$((sys + s))
    vol=$((vol + $(awk '/^voluntary_ctxt_switches/ {print $2}' "$t/status")))
  done
  echo "$user $sys $vol"
}

MOCK=""
PROXY=""
stop() {
  kill $PROXY $MOCK 2>/dev/null || true
  wait 2>/dev/null || true
  MOCK=""
  PROXY=""
}
trap stop EXIT

# measure <name> <body> <command...>: one round for one proxy.
measure() {
  local name=$1 body=$2
  shift 2
  taskset -c "$CPU" "$BIN/tollgate-mock" --port 18181 --threads 1 --tokens 8 >/dev/null 2>&1 &
  MOCK=$!
  taskset -c "$CPU" "$@" >/dev/null 2>"$RUN/one-core.$name.err" &
  PROXY=$!
  for _ in $(seq 100); do
    curl -s -o /dev/null --max-time 1 -X POST http://127.0.0.1:18083/ && break
    sleep 0.2
  done
  local wrk=(taskset -c "$CPU" wrk -t1 -c64 -s scripts/bench/post.lua http://127.0.0.1:18083/v1/chat/completions)
  BENCH_BODY_FILE=$body "${wrk[@]}" -d2s >/dev/null # warm-up
  read -r pu0 ps0 pv0 < <(usage $PROXY)
  read -r mu0 ms0 mv0 < <(usage $MOCK)
  local out n
  out=$(BENCH_BODY_FILE=$body "${wrk[@]}" -d"${SECS}s")
  read -r pu1 ps1 pv1 < <(usage $PROXY)
  read -r mu1 ms1 mv1 < <(usage $MOCK)
  n=$(echo "$out" | sed -n 's/.*BENCH requests=\([0-9]*\).*/\1/p')
  grep -q "non2xx=0 " <<<"$out" || echo "warning: $name answered errors: $(grep BENCH <<<"$out")" >&2
  awk -v name="$name" -v n="$n" -v s="$SECS" -v t="$TICK" -v pu=$((pu1 - pu0)) -v ps=$((ps1 - ps0)) \
    -v m=$((mu1 + ms1 - mu0 - ms0)) -v pv=$((pv1 - pv0)) -v mv=$((mv1 - mv0)) 'BEGIN {
      k = 1e6 / t / n
      printf "%-9s %6.0f req/s  proxy CPU %5.1f µs/req (user %4.1f, system %4.1f)  mock %4.1f µs/req  slept per request: proxy %.2f, mock %.2f\n",
        name, n / s, (pu + ps) * k, pu * k, ps * k, m * k, pv / n, mv / n }'
  stop
}

echo "== one core (CPU $CPU): proxy (1 worker), mock and wrk pinned together; c=64, ${SECS}s, $ROUNDS rounds"
for ((round = 1; round <= ROUNDS; round++)); do
  measure floor "$RUN/direct.json" "$BIN/examples/pingora_floor" 127.0.0.1:18083 127.0.0.1:18181 1
  measure tollgate "$RUN/same.json" "$TOLLGATE" -c "$CONF"
done
