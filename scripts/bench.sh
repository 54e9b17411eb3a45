#!/usr/bin/env bash
# Load benchmark of tollgate against the same mock upstream reached directly, through
# nginx as a plain reverse proxy, and through the floor: a bare Pingora proxy of the
# same version and layout (examples/pingora_floor.rs), so tollgate's own cost is the
# difference to it. Everything runs on this machine and on
# 127.0.0.1 only: the load tool, the mock, nginx and the gateway share the CPUs, so
# the numbers are ratios measured in one run, never absolute claims.
#
#   scripts/bench.sh                 # ~6 min with the defaults
#   DURATION=30 scripts/bench.sh     # longer runs, steadier numbers
#
# Environment: DURATION (s per run, 10), ROUNDS (interleaved rounds of every run,
# the best req/s of each kept, 2), WARMUP (s per target before the first run, 2), CONNS (concurrency of the throughput runs, 64), WRK_THREADS (1),
# TOKENS (mock tokens per answer, 8), BENCH_BASE_PORT (18000; ports base+80..+182),
# CARGO_TARGET_DIR (target), BASELINE (path of another tollgate binary, e.g. one built
# from an earlier commit: adds its everything-on gateway to every scenario, for A/B
# runs of a change in one run), MEM_STREAMS (concurrent streams of the memory
# scenario, 1000; 0 skips it). Output: a markdown table on stdout and in
# $CARGO_TARGET_DIR/bench/results.md; process logs next to it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=scripts/bench/lib.sh
source scripts/bench/lib.sh

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
WARMUP=${WARMUP:-2}
CONNS=${CONNS:-64}
WRK_THREADS=${WRK_THREADS:-1}
TOKENS=${TOKENS:-8}
BASE=${BENCH_BASE_PORT:-18000}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release
OUT=$TARGET_DIR/bench
RUN=$OUT/run

MOCK_PORT=$((BASE + 181))
TG_PORT=$((BASE + 80))
TG_ADMIN=$((BASE + 90))
TGQ_PORT=$((BASE + 81))  # second gateway: metrics on, access log off
TGQ_ADMIN=$((BASE + 91))
NGINX_PORT=$((BASE + 82))
GOV_PORT=$((BASE + 83))   # governance on: virtual key, rpm/tpm/concurrency limits, memory state
GOV_ADMIN=$((BASE + 93))
GOVR_PORT=$((BASE + 84))  # the same with the limits in Redis
GOVR_ADMIN=$((BASE + 94))
REDIS_PORT=$((BASE + 185))
FLOOR_PORT=$((BASE + 85)) # bare Pingora
MEM_PORT=$((BASE + 87))   # memory scenario: gateway in front of a slow mock
MEM_ADMIN=$((BASE + 97))
MEM_FLOOR_PORT=$((BASE + 88))
SLOW_PORT=$((BASE + 182)) # the slow mock: 50 tokens 200 ms apart
MEM_STREAMS=${MEM_STREAMS:-1000}
AB_PORT=$((BASE + 86))    # BASELINE binary, everything on
AB_ADMIN=$((BASE + 96))
BASELINE=${BASELINE:-}

command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }
HAVE_NGINX=0
command -v nginx >/dev/null && HAVE_NGINX=1
HAVE_REDIS=0
command -v redis-server >/dev/null && HAVE_REDIS=1

# ---------------------------------------------------------------- build ------
build_if_stale() {
  local stale=0 bin
  for bin in tollgate tollgate-mock examples/pingora_floor; do
    if [ ! -x "$BIN/$bin" ] || [ -n "$(find src crates Cargo.toml Cargo.lock -newer "$BIN/$bin" -print -quit)" ]; then
      stale=1
    fi
  done
  if [ "$stale" = 1 ]; then
    echo "== building release binaries (cargo build --release --workspace --bins)"
    CARGO_TARGET_DIR=$TARGET_DIR cargo build --release --workspace --bins
    CARGO_TARGET_DIR=$TARGET_DIR cargo build --release --example pingora_floor
  fi
}
build_if_stale

# ------------------------------------------------------------- processes -----
PIDS=()
cleanup() {
  local pid i
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  # The gateways drain for grace_period_seconds (1 s in the bench config).
  for ((i = 0; i < 50; i++)); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for port in $MOCK_PORT $TG_PORT $TG_ADMIN $TGQ_PORT $TGQ_ADMIN $NGINX_PORT $FLOOR_PORT $AB_PORT $MEM_PORT $SLOW_PORT $MEM_FLOOR_PORT; do
  if port_in_use "$port"; then
    echo "127.0.0.1:$port is already in use; set BENCH_BASE_PORT to another base" >&2
    exit 1
  fi
done
rm -rf "$RUN" && mkdir -p "$RUN"

# Bodies: the same ~300-byte chat request, per model name and stream flag.
body() { # body <file> <model> <stream>
  sed -e "s/@MODEL@/$2/" -e "s/@STREAM@/$3/" scripts/bench/chat.json.tmpl >"$RUN/$1"
}
body direct.json mock-gpt false
body direct-stream.json mock-gpt true
body same.json bench-openai false
body same-stream.json bench-openai true
body cached.json bench-cached false
body cached-stream.json bench-cached true
body translated.json bench-anthropic false
body translated-stream.json bench-anthropic true
# A stream whose client asks for the usage chunk itself: the same upstream events go
# through the floor and tollgate (tollgate asks for that chunk anyway, to meter, and
# cuts it out when the client did not ask).
usage_body() { # usage_body <stream body>
  sed 's/"stream":true,/"stream":true,"stream_options":{"include_usage":true},/' \
    "$RUN/$1.json" >"$RUN/$1-usage.json"
}
usage_body direct-stream
usage_body same-stream

echo "== starting mock on 127.0.0.1:$MOCK_PORT"
"$BIN/tollgate-mock" --port "$MOCK_PORT" --threads 1 --tokens "$TOKENS" --name bench-mock \
  >"$RUN/mock.log" 2>&1 &
MOCK_PID=$!
PIDS+=("$MOCK_PID")
wait_http "http://127.0.0.1:$MOCK_PORT/health"

# gateway_config <port> <admin port> <access log true|false> <tag>
gateway_config() {
  mkdir -p "$RUN/$4"
  sed -e "s/127.0.0.1:18080/127.0.0.1:$1/" \
      -e "s/127.0.0.1:19090/127.0.0.1:$2/" \
      -e "s/127.0.0.1:18181/127.0.0.1:$MOCK_PORT/" \
      -e "s|/tmp/tollgate-bench|$RUN/$4|" \
      -e "s/access_log: true/access_log: $3/" \
      conf/bench.yaml >"$RUN/$4.yaml"
  "$BIN/tollgate" -t -c "$RUN/$4.yaml" >/dev/null
}

# start_gateway <port> <admin port> <access log> <tag>: the access log (stdout, one
# JSON line per request) goes to /dev/null as a log shipper would drain it;
# stderr (pingora and gateway warnings) is kept. Sets STARTED_PID.
start_gateway() {
  gateway_config "$@"
  "$BIN/tollgate" -c "$RUN/$4.yaml" >/dev/null 2>"$RUN/$4.err" &
  STARTED_PID=$!
  PIDS+=("$STARTED_PID")
  wait_http "http://127.0.0.1:$2/readyz" 200 30
}

echo "== starting tollgate on 127.0.0.1:$TG_PORT (access log on) and :$TGQ_PORT (access log off)"
start_gateway "$TG_PORT" "$TG_ADMIN" true tollgate
TG_PID=$STARTED_PID
start_gateway "$TGQ_PORT" "$TGQ_ADMIN" false tollgate-quiet
TGQ_PID=$STARTED_PID
# Governance on: the key wrk sends, with limits and a budget far above what the run
# can reach, so every request is authenticated, admitted, metered, priced and settled
# but none is refused.
governed_config() { # governed_config <port> <admin> <tag> <state yaml>
  gateway_config "$1" "$2" true "$3"
  local hash
  hash="sha256:$(printf %s sk-bench | sha256sum | cut -d' ' -f1)"
  sed -i "s|^auth: { mode: open }|auth: { mode: keys }\nstate: $4\nkeys:\n  - { name: bench, hash: \"$hash\", limits: { rpm: 100000000, tpm: 100000000000, max_concurrent: 100000 }, budget: { daily_usd: 1000000000 } }|" "$RUN/$3.yaml"
  "$BIN/tollgate" -t -c "$RUN/$3.yaml" >/dev/null
}
start_governed() { # start_governed <port> <admin> <tag> <state yaml> [binary]
  governed_config "$1" "$2" "$3" "$4"
  "${5:-$BIN/tollgate}" -c "$RUN/$3.yaml" >/dev/null 2>"$RUN/$3.err" &
  STARTED_PID=$!
  PIDS+=("$STARTED_PID")
  wait_http "http://127.0.0.1:$2/readyz" 200 30
}
echo "== starting tollgate with governance on :$GOV_PORT (memory state)"
start_governed "$GOV_PORT" "$GOV_ADMIN" governed "{ backend: memory }"
GOV_PID=$STARTED_PID
AB_PID=""
if [ -n "$BASELINE" ]; then
  echo "== starting the baseline $BASELINE with governance on :$AB_PORT (memory state)"
  start_governed "$AB_PORT" "$AB_ADMIN" baseline "{ backend: memory }" "$BASELINE"
  AB_PID=$STARTED_PID
fi
GOVR_PID=""
if [ "$HAVE_REDIS" = 1 ]; then
  echo "== starting redis-server on 127.0.0.1:$REDIS_PORT and tollgate with Redis state on :$GOVR_PORT"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >"$RUN/redis.log" 2>&1 &
  PIDS+=("$!")
  for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null && break; sleep 0.1; done
  start_governed "$GOVR_PORT" "$GOVR_ADMIN" governed-redis "{ backend: redis, redis_url: \"redis://127.0.0.1:$REDIS_PORT/\", timeout_ms: 100 }"
  GOVR_PID=$STARTED_PID
else
  echo "== redis-server not installed: the Redis-state row is skipped"
fi

# Give the first health checks a round so both providers count as healthy.
sleep 1.2
TG_IDLE_KIB=$(proc_kib VmRSS "$TG_PID")
TGQ_IDLE_KIB=$(proc_kib VmRSS "$TGQ_PID")

echo "== starting the floor (bare Pingora, 2 workers) on 127.0.0.1:$FLOOR_PORT"
"$BIN/examples/pingora_floor" "127.0.0.1:$FLOOR_PORT" "127.0.0.1:$MOCK_PORT" 2 \
  >"$RUN/floor.log" 2>&1 &
FLOOR_PID=$!
PIDS+=("$FLOOR_PID")
wait_http "http://127.0.0.1:$FLOOR_PORT/health"

NGINX_PID=""
if [ "$HAVE_NGINX" = 1 ]; then
  echo "== starting nginx on 127.0.0.1:$NGINX_PORT"
  mkdir -p "$RUN/nginx"
  sed -e "s|@PREFIX@|$RUN/nginx|g" -e "s/@MOCK_PORT@/$MOCK_PORT/" -e "s/@NGINX_PORT@/$NGINX_PORT/" \
    scripts/bench/nginx.conf.tmpl >"$RUN/nginx/nginx.conf"
  nginx -p "$RUN/nginx" -c "$RUN/nginx/nginx.conf" -e "$RUN/nginx/nginx-error.log" \
    >"$RUN/nginx/stdout.log" 2>&1 &
  NGINX_PID=$!
  PIDS+=("$NGINX_PID")
  wait_http "http://127.0.0.1:$NGINX_PORT/health"
else
  echo "== nginx not installed: its rows are skipped"
fi

# Pids whose CPU and memory count for a target: the nginx master and its workers.
target_pids() {
  case $1 in
    direct) echo "" ;;
    nginx) echo "$NGINX_PID $(child_pids "$NGINX_PID")" ;;
    pingora) echo "$FLOOR_PID" ;;
    tollgate | translated | cached) echo "$TG_PID" ;;
    tollgate-quiet) echo "$TGQ_PID" ;;
    governed) echo "$GOV_PID" ;;
    baseline) echo "$AB_PID" ;;
    governed-redis) echo "$GOVR_PID" ;;
  esac
}
target_url() {
  case $1 in
    direct) echo "http://127.0.0.1:$MOCK_PORT/v1/chat/completions" ;;
    nginx) echo "http://127.0.0.1:$NGINX_PORT/v1/chat/completions" ;;
    pingora) echo "http://127.0.0.1:$FLOOR_PORT/v1/chat/completions" ;;
    tollgate | translated | cached) echo "http://127.0.0.1:$TG_PORT/v1/chat/completions" ;;
    tollgate-quiet) echo "http://127.0.0.1:$TGQ_PORT/v1/chat/completions" ;;
    governed) echo "http://127.0.0.1:$GOV_PORT/v1/chat/completions" ;;
    baseline) echo "http://127.0.0.1:$AB_PORT/v1/chat/completions" ;;
    governed-redis) echo "http://127.0.0.1:$GOVR_PORT/v1/chat/completions" ;;
  esac
}
target_log() {
  case $1 in
    direct) echo "$RUN/mock.log" ;;
    nginx) echo "$RUN/nginx/nginx-error.log" ;;
    pingora) echo "$RUN/floor.log" ;;
    tollgate | translated | cached) echo "$RUN/tollgate.err" ;;
    tollgate-quiet) echo "$RUN/tollgate-quiet.err" ;;
    governed) echo "$RUN/governed.err" ;;
    baseline) echo "$RUN/baseline.err" ;;
    governed-redis) echo "$RUN/governed-redis.err" ;;
  esac
}
target_body() { # target_body <target> <stream 0|1|2 (2: the client asks for usage)>
  local base
  case $1 in
    direct | nginx | pingora) base=direct ;;
    tollgate | tollgate-quiet | governed | governed-redis | baseline) base=same ;;
    translated) base=translated ;;
    cached) base=cached ;;
  esac
  [ "$2" = 1 ] && base=$base-stream
  [ "$2" = 2 ] && base=$base-stream-usage
  echo "$RUN/$base.json"
}

# One request before each run: the answer must be a real completion (a fast 404
# would otherwise count as throughput).
sanity() { # sanity <target> <stream 0|1|2>
  local url body resp status
  url=$(target_url "$1")
  body=$(target_body "$1" "$2")
  resp=$(curl -s -m 10 -w '\n%{http_code}' -H 'content-type: application/json' \
    -H 'authorization: Bearer sk-bench' --data-binary "@$body" "$url" || true)
  status=${resp##*$'\n'}
  resp=${resp%$'\n'*}
  if [ "$status" != 200 ]; then
    echo "status $status: ${resp:0:300}"
    return 1
  fi
  if [ "$2" != 0 ]; then
    grep -q '^data: \[DONE\]' <<<"$resp" && grep -q '"chat.completion.chunk"' <<<"$resp" \
      || { echo "stream without chat.completion.chunk events or [DONE]: ${resp:0:300}"; return 1; }
    if [ "$2" = 2 ]; then
      grep -q '"usage":{' <<<"$resp" || { echo "usage asked for, no usage chunk: ${resp:0:300}"; return 1; }
    fi
  else
    grep -q '"chat.completion"' <<<"$resp" && grep -q '"choices"' <<<"$resp" \
      || { echo "not a chat.completion: ${resp:0:300}"; return 1; }
  fi
}

declare -A RPS P50 P99 CPU MOCKCPU RSS ERRS OPENS NOTE
FAILED=0
TG_SENT=0 # requests wrk completed against the access-logged gateway (+ sanity checks)
count_sent() { # count_sent <target> <requests>
  case $1 in tollgate | translated | cached) TG_SENT=$((TG_SENT + ${2:-0})) ;; esac
}

# run_case <target> <case> <conns> <stream 0|1|2> [seconds]
run_case() {
  local target=$1 case=$2 conns=$3 stream=$4 secs=${5:-$DURATION} id="$1.$2"
  local pids url body line t0 t1 m0 m1 o0 o1 reqs why pid log log_before=0
  [ "$target" = nginx ] && [ "$HAVE_NGINX" = 0 ] && return 0
  [ "$target" = governed-redis ] && [ "$HAVE_REDIS" = 0 ] && return 0
  pids=$(target_pids "$target")
  url=$(target_url "$target")
  body=$(target_body "$target" "$stream")
  for pid in $pids; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "   $id: FAILED: process $pid is gone (its log: $(target_log "$target"))"
      NOTE[$id]="failed: process exited"
      FAILED=1
      return 0
    fi
  done
  if ! why=$(sanity "$target" "$stream"); then
    echo "   $id: FAILED sanity check: $why"
    NOTE[$id]="failed: ${why:0:80}"
    FAILED=1
    return 0
  fi
  count_sent "$target" 1
  log=$(target_log "$target")
  [ -f "$log" ] && log_before=$(wc -l <"$log")
  # shellcheck disable=SC2086
  t0=$(proc_ticks $pids)
  m0=$(proc_ticks "$MOCK_PID")
  o0=$(active_opens)
  line=$(BENCH_BODY_FILE=$body timeout $((secs + 30)) \
    wrk -t"$WRK_THREADS" -c"$conns" -d"${secs}s" --timeout 5s -s scripts/bench/post.lua "$url" \
    | grep '^BENCH ' || true)
  o1=$(active_opens)
  m1=$(proc_ticks "$MOCK_PID")
  # shellcheck disable=SC2086
  t1=$(proc_ticks $pids)
  if [ -z "$line" ]; then
    echo "   $id: FAILED: wrk printed no result"
    NOTE[$id]="failed: no wrk result"
    FAILED=1
    return 0
  fi
  reqs=$(field requests "$line")
  count_sent "$target" "$reqs"
  local rps errs cpu="" mockcpu="" rss=""
  rps=$(field rps "$line")
  errs=$(($(field non2xx "$line") + $(field connect "$line") + $(field read "$line") + $(field write "$line") + $(field timeout "$line")))
  if [ "$reqs" -gt 0 ]; then
    mockcpu=$(calc "($m1 - $m0) * 1000000 / $CLK_TCK / $reqs")
    if [ -n "$pids" ]; then
      cpu=$(calc "($t1 - $t0) * 1000000 / $CLK_TCK / $reqs")
      # shellcheck disable=SC2086
      rss=$(proc_kib VmHWM $pids)
    fi
  fi
  # Errors add up over the rounds; everything else comes from the round with the
  # best throughput (the one least disturbed by the rest of the machine).
  ERRS[$id]=$((${ERRS[$id]:-0} + errs))
  if [ -z "${RPS[$id]:-}" ] || [ "$(awk -v a="$rps" -v b="${RPS[$id]}" 'BEGIN { print (a > b) }')" = 1 ]; then
    RPS[$id]=$rps
    P50[$id]=$(field p50_us "$line")
    P99[$id]=$(field p99_us "$line")
    OPENS[$id]=$((o1 - o0))
    MOCKCPU[$id]=$mockcpu
    CPU[$id]=$cpu
    RSS[$id]=$rss
  fi
  # Warnings and errors logged during the run, except the requests wrk abandons
  # when it stops (at most one per connection, logged as a downstream error).
  if [ -f "$log" ]; then
    local unexpected
    unexpected=$(tail -n +"$((log_before + 1))" "$log" | grep -E 'WARN|ERROR|\[(warn|error|crit|alert)\]' \
      | grep -cv 'Fail to proxy: Downstream' || true)
    if [ "${unexpected:-0}" -gt 0 ]; then NOTE[$id]="$unexpected warn/error log lines"; fi
  fi
  printf '   %s %-22s %9s req/s  p50 %-10s p99 %-10s cpu %6s µs/req  mock %6s µs/req  errors %s  new TCP conns (host-wide) %s\n' \
    "$(date +%T)" "$id" "$(fmt_int "$rps")" "$(fmt_ms "$(field p50_us "$line")")" "$(fmt_ms "$(field p99_us "$line")")" \
    "$(fmt_int "$cpu")" "$(fmt_int "$mockcpu")" "$errs" "$((o1 - o0))"
}

# Warm-up: connection pools, allocator arenas and caches of every target, unmeasured.
warm() {
  local target line
  for target in direct nginx pingora tollgate tollgate-quiet translated cached governed governed-redis ${BASELINE:+baseline}; do
    [ "$target" = nginx ] && [ "$HAVE_NGINX" = 0 ] && continue
    [ "$target" = governed-redis ] && [ "$HAVE_REDIS" = 0 ] && continue
    line=$(BENCH_BODY_FILE=$(target_body "$target" 0) timeout $((WARMUP + 30)) \
      wrk -t"$WRK_THREADS" -c"$CONNS" -d"${WARMUP}s" -s scripts/bench/post.lua "$(target_url "$target")" \
      | grep '^BENCH ' || true)
    count_sent "$target" "$(field requests "$line")"
  done
}

START=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== warm-up (${WARMUP}s per target)"
warm

# Scenario-major order: the rows that are compared run next to each other in time,
# and every round runs all of them again (interleaved, not one target's rounds in a
# row), so a disturbance of the machine does not favour one target.
C1_TARGETS="direct nginx pingora tollgate governed translated cached"
C64_TARGETS="direct nginx pingora tollgate tollgate-quiet governed governed-redis translated cached"
STREAM_TARGETS="direct nginx pingora tollgate governed translated cached"
USAGE_TARGETS="pingora governed"
if [ -n "$BASELINE" ]; then
  C1_TARGETS="$C1_TARGETS baseline"
  C64_TARGETS="$C64_TARGETS baseline"
  STREAM_TARGETS="$STREAM_TARGETS baseline"
fi
for ((round = 1; round <= ROUNDS; round++)); do
  echo "== round $round of $ROUNDS"
  echo "== non-stream, c=1 (added latency)"
  for t in $C1_TARGETS; do run_case "$t" c1 1 0; done
  echo "== non-stream, c=$CONNS (throughput)"
  for t in $C64_TARGETS; do run_case "$t" "c$CONNS" "$CONNS" 0; done
  echo "== stream, c=$CONNS ($TOKENS tokens per answer)"
  for t in $STREAM_TARGETS; do run_case "$t" "stream$CONNS" "$CONNS" 1; done
  echo "== stream, c=$CONNS, the client asks for usage"
  for t in $USAGE_TARGETS; do run_case "$t" "usage$CONNS" "$CONNS" 2; done
done

# Memory: MEM_STREAMS concurrent streams of 50 tokens 200 ms apart (10 s each) through
# a proxy of its own in front of a slow mock, tollgate and then the floor; RSS idle, at
# the peak, and 5 s after the streams ended. Sets MEM_<tag>_{IDLE,PEAK,AFTER,DONE}.
memory_of() { # memory_of <tag> <pid> <url> <body>
  local line
  sleep 1.2
  printf -v "MEM_$1_IDLE" %s "$(proc_kib VmRSS "$2")"
  line=$(BENCH_BODY_FILE=$4 timeout 60 wrk -t1 -c"$MEM_STREAMS" -d13s --timeout 20s \
    -s scripts/bench/post.lua "$3" | grep '^BENCH ' || true)
  printf -v "MEM_$1_PEAK" %s "$(proc_kib VmHWM "$2")"
  printf -v "MEM_$1_DONE" %s "$(field requests "$line")"
  sleep 5
  printf -v "MEM_$1_AFTER" %s "$(proc_kib VmRSS "$2")"
  local idle="MEM_$1_IDLE" peak="MEM_$1_PEAK" after="MEM_$1_AFTER" done="MEM_$1_DONE"
  echo "   memory, $1: ${!done:-0} of $MEM_STREAMS streams completed; RSS idle $(fmt_mib "${!idle}"), peak $(fmt_mib "${!peak}"), 5 s after $(fmt_mib "${!after}")"
}
memory_case() {
  local pid
  "$BIN/tollgate-mock" --port "$SLOW_PORT" --threads 1 --tokens 50 --delay-ms 200 --name slow-mock \
    >"$RUN/slow-mock.log" 2>&1 &
  PIDS+=("$!")
  wait_http "http://127.0.0.1:$SLOW_PORT/health"
  mkdir -p "$RUN/memory"
  sed -e "s/127.0.0.1:18080/127.0.0.1:$MEM_PORT/" -e "s/127.0.0.1:19090/127.0.0.1:$MEM_ADMIN/" \
    -e "s/127.0.0.1:18181/127.0.0.1:$SLOW_PORT/" -e "s|/tmp/tollgate-bench|$RUN/memory|" \
    conf/bench.yaml >"$RUN/memory.yaml"
  "$BIN/tollgate" -c "$RUN/memory.yaml" >/dev/null 2>"$RUN/memory.err" &
  pid=$!
  PIDS+=("$pid")
  wait_http "http://127.0.0.1:$MEM_ADMIN/readyz" 200 30
  memory_of TOLLGATE "$pid" "http://127.0.0.1:$MEM_PORT/v1/chat/completions" "$RUN/same-stream.json"
  kill -TERM "$pid" 2>/dev/null || true
  "$BIN/examples/pingora_floor" "127.0.0.1:$MEM_FLOOR_PORT" "127.0.0.1:$SLOW_PORT" 2 \
    >"$RUN/memory-floor.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait_http "http://127.0.0.1:$MEM_FLOOR_PORT/health"
  memory_of FLOOR "$pid" "http://127.0.0.1:$MEM_FLOOR_PORT/v1/chat/completions" "$RUN/direct-stream.json"
  kill -TERM "$pid" 2>/dev/null || true
}
if [ "$MEM_STREAMS" -gt 0 ]; then
  echo "== memory: $MEM_STREAMS concurrent streams (50 tokens, 200 ms apart)"
  memory_case
fi

TG_METRIC_TOTAL=$(curl -s -m 5 "http://127.0.0.1:$TG_ADMIN/metrics" \
  | awk '/^tollgate_requests_total/ {s += $NF} END {printf "%.0f", s}' || true)
ELAPSED=$(($(date +%s) - START))

# ---------------------------------------------------------------- report -----
label() {
  case $1 in
    direct) echo "direct to mock" ;;
    nginx) echo "nginx (reverse proxy)" ;;
    pingora) echo "bare Pingora (the floor)" ;;
    tollgate) echo "tollgate, same format" ;;
    tollgate-quiet) echo "tollgate, same format, access log off" ;;
    translated) echo "tollgate, OpenAI → Anthropic" ;;
    governed) echo "tollgate, same format, everything on (key, rpm/tpm/concurrency limits, budget, metrics, access log; memory)" ;;
    governed-redis) echo "tollgate, everything on, limits in Redis" ;;
    baseline) echo "baseline binary ($BASELINE), everything on" ;;
    cached) echo "tollgate, response cache hit (memory)" ;;
  esac
}
row() { # row <target> <case> <scenario text>
  local id="$1.$2"
  [ "$1" = nginx ] && [ "$HAVE_NGINX" = 0 ] && return 0
  [ "$1" = governed-redis ] && [ "$HAVE_REDIS" = 0 ] && return 0
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$3" "$(label "$1")" \
    "$(fmt_int "${RPS[$id]:-}")" "$(fmt_ratio "${RPS[$id]:-}" "${RPS[nginx.$2]:-}")" \
    "$(fmt_ratio "${RPS[$id]:-}" "${RPS[pingora.$2]:-}")" \
    "$(fmt_ms "${P50[$id]:-}")" "$(fmt_ms "${P99[$id]:-}")" \
    "$(fmt_int "${CPU[$id]:-}")" "$(fmt_int "${MOCKCPU[$id]:-}")" "$(fmt_mib "${RSS[$id]:-}")" \
    "${ERRS[$id]:-–}${NOTE[$id]:+ (${NOTE[$id]})}"
}
p50_delta() { # p50_delta <id> <id>: p50 difference in µs, or –
  [ -n "${P50[$1]:-}" ] && [ -n "${P50[$2]:-}" ] && echo "$((P50[$1] - P50[$2])) µs" || echo "–"
}
cpu_delta() { # cpu_delta <id> <id>: CPU per request difference in µs, or –
  [ -n "${CPU[$1]:-}" ] && [ -n "${CPU[$2]:-}" ] && echo "$(calc "${CPU[$1]} - ${CPU[$2]}" | xargs printf '%+.0f') µs" || echo "–"
}

report() {
  local c="c$CONNS" s="stream$CONNS" u="usage$CONNS" t
  echo "### tollgate benchmark"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) CPUs shared by wrk ($WRK_THREADS thread), the mock (1 thread), nginx (2 workers), bare Pingora (2 workers) and tollgate (2 workers); ${DURATION}s per run, $ROUNDS interleaved rounds, the best round of each row kept; load average before: $LOAD_BEFORE. POST of a $(wc -c <"$RUN/direct.json")-byte OpenAI chat request; the mock answers at once ($TOKENS tokens). Ratios within this run are the result, not the absolute numbers."
  echo
  echo "| scenario | path | req/s | × nginx | × Pingora | p50 | p99 | proxy CPU µs/req | mock CPU µs/req | proxy peak RSS | errors |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for t in $C1_TARGETS; do row "$t" c1 "non-stream c=1"; done
  for t in $C64_TARGETS; do row "$t" "$c" "non-stream c=$CONNS"; done
  for t in $STREAM_TARGETS; do row "$t" "$s" "stream c=$CONNS"; done
  for t in $USAGE_TARGETS; do row "$t" "$u" "stream c=$CONNS, usage asked"; done
  echo
  echo "| against the floor (bare Pingora) | measured | target |"
  echo "| --- | ---: | ---: |"
  echo "| CPU per request, everything on − Pingora, same format c=$CONNS | $(cpu_delta "governed.$c" "pingora.$c") | ≤ +10 µs |"
  echo "| CPU per request, open same format − Pingora, c=$CONNS | $(cpu_delta "tollgate.$c" "pingora.$c") | |"
  echo "| CPU per request, translated − Pingora, c=$CONNS | $(cpu_delta "translated.$c" "pingora.$c") | ≤ +20 µs |"
  echo "| req/s, everything on / Pingora, c=$CONNS | $(fmt_ratio "${RPS[governed.$c]:-}" "${RPS[pingora.$c]:-}") | ≥ 0.85 |"
  echo "| added p50 at c=1, everything on − Pingora | $(p50_delta governed.c1 pingora.c1) | ≤ 15 µs |"
  echo "| CPU per request, stream everything on − Pingora, c=$CONNS | $(cpu_delta "governed.$s" "pingora.$s") | ≤ +10 µs |"
  echo "| the same, the client asking for usage (the same upstream events through both) | $(cpu_delta "governed.$u" "pingora.$u") | |"
  echo "| req/s, cache hit (memory) / nginx, c=$CONNS | $(fmt_ratio "${RPS[cached.$c]:-}" "${RPS[nginx.$c]:-}") | > 1 |"
  echo "| CPU per request, cache hit − same-format pass-through, c=$CONNS | $(cpu_delta "cached.$c" "tollgate.$c") | < 0 |"
  echo "| added p50 at c=1, cache hit − direct to mock | $(p50_delta cached.c1 direct.c1) | |"
  if [ -n "$BASELINE" ]; then
    echo
    echo "| A/B: this build − baseline, everything on | measured |"
    echo "| --- | ---: |"
    echo "| CPU per request, c=$CONNS | $(cpu_delta "governed.$c" "baseline.$c") |"
    echo "| CPU per request, stream c=$CONNS | $(cpu_delta "governed.$s" "baseline.$s") |"
    echo "| req/s ratio, c=$CONNS | $(fmt_ratio "${RPS[governed.$c]:-}" "${RPS[baseline.$c]:-}") |"
    echo "| p50 at c=1 | $(p50_delta governed.c1 baseline.c1) |"
  fi
  echo
  echo "| other ratios | measured |"
  echo "| --- | ---: |"
  echo "| governance on (memory) / open tollgate req/s, c=$CONNS | $(fmt_ratio "${RPS[governed.$c]:-}" "${RPS[tollgate.$c]:-}") |"
  echo "| governance on (Redis) / open tollgate req/s, c=$CONNS | $(fmt_ratio "${RPS[governed-redis.$c]:-}" "${RPS[tollgate.$c]:-}") |"
  echo "| Pingora / nginx req/s, c=$CONNS | $(fmt_ratio "${RPS[pingora.$c]:-}" "${RPS[nginx.$c]:-}") |"
  echo "| added p50 at c=1: nginx / Pingora / tollgate everything on − direct | $(p50_delta nginx.c1 direct.c1) / $(p50_delta pingora.c1 direct.c1) / $(p50_delta governed.c1 direct.c1) |"
  echo "| tollgate idle RSS (access log on / off) | $(fmt_mib "$TG_IDLE_KIB") / $(fmt_mib "$TGQ_IDLE_KIB") |"
  echo "| $MEM_STREAMS concurrent streams, tollgate: RSS idle / peak / 5 s after (target peak ≤ 60 MiB, after ≤ idle + 10 %) | $(fmt_mib "${MEM_TOLLGATE_IDLE:-}") / $(fmt_mib "${MEM_TOLLGATE_PEAK:-}") / $(fmt_mib "${MEM_TOLLGATE_AFTER:-}") |"
  echo "| $MEM_STREAMS concurrent streams, bare Pingora: RSS idle / peak / 5 s after | $(fmt_mib "${MEM_FLOOR_IDLE:-}") / $(fmt_mib "${MEM_FLOOR_PEAK:-}") / $(fmt_mib "${MEM_FLOOR_AFTER:-}") |"
  echo
  echo "CPU is utime+stime from /proc/<pid>/stat over the run (nginx: master + workers) divided by completed requests; peak RSS is VmHWM after the run (nginx: summed over its processes). errors = non-2xx + socket errors + timeouts reported by wrk, summed over the rounds."
}

echo
report | tee "$OUT/results.md"
echo
echo "results: $OUT/results.md; logs: $RUN; elapsed ${ELAPSED}s"
echo "tollgate_requests_total on the access-logged gateway: ${TG_METRIC_TOTAL:-?}; requests wrk completed against it: $TG_SENT"
echo "(the counter may exceed wrk's count by up to $CONNS per run: requests in flight when wrk stops)"
exit "$FAILED"
