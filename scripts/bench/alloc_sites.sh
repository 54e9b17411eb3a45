#!/usr/bin/env bash
# Where a request's heap allocations come from, by the code that asked for them.
# Callgrind counts allocations per caller, but the caller it names is whatever was not
# inlined (often an async closure); this puts a uprobe on mimalloc's entry points
# (mi_malloc, mi_zalloc, mi_realloc, mi_malloc_aligned), records each call's stack
# with DWARF unwinding over N keep-alive requests of the everything-on configuration,
# and prints, per request:
#   - the total, and how many of them have a tollgate function on their stack;
#   - those, by the innermost tollgate function (inlined ones included), the function
#     that called it, and the library call that allocated.
# The rest are Pingora's, tokio's and http's own (the floor makes ~89 a request).
#
#   scripts/bench/alloc_sites.sh [binary] [requests]   # target/release/tollgate, 100
#
# Runs after scripts/bench.sh (it uses that run's configuration and request bodies):
# the mock on 127.0.0.1:18181, the proxy on 18083. Needs perf with uprobes (root) and
# a binary with debug info (the release profile keeps it).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/bench/lib.sh
source scripts/bench/lib.sh
WHAT=${1:-${CARGO_TARGET_DIR:-target}/release/tollgate}
N=${2:-100}
BIN=${CARGO_TARGET_DIR:-target}/release
RUN=${CARGO_TARGET_DIR:-target}/bench/run
OUT=${CARGO_TARGET_DIR:-target}/bench/alloc-sites
command -v perf >/dev/null || { echo "perf is required (apt-get install linux-perf)" >&2; exit 1; }
[ -f "$RUN/governed.yaml" ] || { echo "run scripts/bench.sh once first" >&2; exit 1; }
mkdir -p "$OUT"

perf probe -q -d 'tgalloc:*' >/dev/null 2>&1 || true
for fn in mi_malloc mi_zalloc mi_realloc mi_malloc_aligned; do
  perf probe -q -x "$WHAT" --add "tgalloc:${fn}=${fn}" >/dev/null
done
"$BIN/tollgate-mock" --port 18181 --threads 1 --tokens 8 >/dev/null 2>&1 &
MOCK=$!
"$WHAT" -c "$RUN/governed.yaml" >/dev/null 2>"$OUT/proxy.err" &
PROXY=$!
PERF=""
cleanup() {
  [ -n "$PERF" ] && kill -INT "$PERF" 2>/dev/null
  kill "$PROXY" "$MOCK" 2>/dev/null
  wait 2>/dev/null
  perf probe -q -d 'tgalloc:*' >/dev/null 2>&1 || true
}
trap cleanup EXIT
wait_for_proxy
post_keepalive "$RUN/same.json" 300
perf record -q -e 'tgalloc:*' --call-graph dwarf,16384 -p "$PROXY" -o "$OUT/perf.data" \
  -- sleep 60 >/dev/null 2>&1 &
PERF=$!
sleep 1
post_keepalive "$RUN/same.json" "$N"
kill -INT "$PERF" 2>/dev/null || true
wait "$PERF" 2>/dev/null || true
PERF=""
perf script -i "$OUT/perf.data" --inline 2>/dev/null >"$OUT/stacks.txt"

python3 - "$OUT/stacks.txt" "$N" <<'EOF'
import collections, re, sys
samples = open(sys.argv[1]).read().split("\n\n")
n = float(sys.argv[2])
frame = re.compile(r"[0-9a-f]+ (.*?)(\+0x[0-9a-f]+)? \((inlined|/.*)\)$")
total, ours, sites = 0, 0, collections.Counter()
for s in samples:
    lines = [l.strip() for l in s.strip().split("\n") if l.strip()]
    # Worker threads only (the access-log flusher and the background services aside).
    if not lines or not lines[0].startswith("tollgate"):
        continue
    total += 1
    frames = [m.group(1) for m in map(frame.match, lines[1:]) if m]
    mine = [f for f in frames if "tollgate::" in f and "tollgate::alloc" not in f
            and "EdgeApp" not in f]
    if not mine:
        continue
    ours += 1
    at = frames.index(mine[0])
    below = re.sub(r"^<?(\w+::)*", "", frames[at - 1])[:40] if at > 0 else ""
    caller = mine[1][:70] if len(mine) > 1 else ""
    sites[(mine[0][:80], caller, below)] += 1
print(f"{total / n:.1f} allocations a request, {ours / n:.1f} of them under tollgate code")
for (fn, caller, call), count in sites.most_common(60):
    print(f"{count / n:5.2f}  {fn}  <- {caller}  [{call}]")
EOF
