#!/usr/bin/env bash
# Writes scripts/bench/hot-symbols.txt: the functions a proxied request runs, hottest
# first, as the linker names them. build.rs hands the file to the linker of release
# builds (`--symbol-ordering-file`), which then places those functions next to each
# other at the start of the code.
#
# Why: a request runs through ~450 KiB of code that the compiler scatters over ~12 MiB
# of text, so it touched ~560 distinct 4 KiB pages of code; ordered, ~280. Every page
# is an instruction-TLB entry, and in a virtual machine a TLB miss walks two page
# tables. It matters most when a request finds the caches cold (c=1); see docs/perf.
#
#   scripts/bench/hot_symbols.sh [binary]    # default target/release/tollgate
#
# Runs after scripts/bench.sh (it uses that run's configuration and request bodies):
# callgrind counts the instructions of each function (names not demangled) while N
# (200, env) requests of each kind go through the everything-on gateway: same-format
# and translated, non-stream and stream, one profile part per kind. Regenerate the
# file after larger changes to the request path: a function missing from it is still
# linked, only not placed with the hot ones.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/bench/lib.sh
source scripts/bench/lib.sh
BINARY=${1:-${CARGO_TARGET_DIR:-target}/release/tollgate}
N=${N:-200}
BIN=${CARGO_TARGET_DIR:-target}/release
RUN=${CARGO_TARGET_DIR:-target}/bench/run
OUT=${CARGO_TARGET_DIR:-target}/bench/hot-symbols
DEST=scripts/bench/hot-symbols.txt
command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install valgrind)" >&2; exit 1; }
[ -f "$RUN/governed.yaml" ] || { echo "run scripts/bench.sh once first" >&2; exit 1; }
mkdir -p "$OUT" && rm -f "$OUT"/cg.out*

"$BIN/tollgate-mock" --port 18181 --threads 1 --tokens 8 >/dev/null 2>&1 &
MOCK=$!
valgrind --tool=callgrind --demangle=no --instr-atstart=no --callgrind-out-file="$OUT/cg.out" \
  "$BINARY" -c "$RUN/governed.yaml" >/dev/null 2>"$OUT/valgrind.log" &
PROXY=$!
trap 'kill $PROXY $MOCK 2>/dev/null; wait 2>/dev/null' EXIT

KINDS=(same same-stream translated translated-stream)

wait_for_proxy
for kind in "${KINDS[@]}"; do post_keepalive "$RUN/$kind.json" 100; done
# One profile part per kind: cg.out.1 is the first kind's, and so on.
for kind in "${KINDS[@]}"; do
  callgrind_control -i on "$PROXY" >/dev/null 2>&1
  post_keepalive "$RUN/$kind.json" "$N"
  callgrind_control -i off "$PROXY" >/dev/null 2>&1
  callgrind_control -d "$PROXY" >/dev/null 2>&1
done
kill "$PROXY" "$MOCK" 2>/dev/null || true
wait 2>/dev/null || true

# Instructions per function and kind, only for the functions the binary defines (not
# the C library's).
nm --defined-only "$BINARY" | awk '{ print $3 }' | sort -u >"$OUT/defined"
for i in "${!KINDS[@]}"; do
  callgrind_annotate --auto=no --threshold=100 "$OUT/cg.out.$((i + 1))" 2>/dev/null |
    sed -E 's/\([ 0-9.]+%\)//' |
    awk -v k="$i" '$1 ~ /^[0-9,]+$/ && $2 ~ /:/ { gsub(",", "", $1); n = split($2, p, ":"); print k, $1, p[n] }'
done >"$OUT/per-kind"
# The order: first what every kind runs, then what fewer kinds run, the functions of
# the same kinds together (a request of one kind then touches few pages of the
# others' code), the same-format non-stream request's first; hottest first within.
python3 - "$OUT/defined" "$OUT/per-kind" "${#KINDS[@]}" >"$DEST.new" <<'EOF'
import collections, sys
defined = set(open(sys.argv[1]).read().split())
kinds = int(sys.argv[3])
ran, heat = collections.defaultdict(set), collections.Counter()
for line in open(sys.argv[2]):
    kind, ir, symbol = line.split()
    if symbol in defined:
        ran[symbol].add(int(kind))
        heat[symbol] += int(ir)
def key(symbol):
    used = ran[symbol]
    return (-len(used), tuple(k not in used for k in range(kinds)), -heat[symbol])
for symbol in sorted(ran, key=key):
    print(symbol)
EOF
[ -s "$DEST.new" ] || { echo "no function was counted; see $OUT/valgrind.log" >&2; exit 1; }
mv "$DEST.new" "$DEST"
echo "$DEST: $(wc -l <"$DEST") functions"
