#!/usr/bin/env bash
# Soak: a bounded mixed load (non-streaming + streaming) through tollgate for
# MINUTES minutes (default 10) while faults are injected, reporting errors and the
# gateway's RSS over time. Loopback only; every process it starts is stopped.
#
# Upstream pool of three mocks: one healthy, one failing 50 % of requests, one that
# is killed for 20 s every minute (connection refused, then back). The config is
# rewritten (a reload) every 2 minutes. Success = 0 non-200 and 0 socket errors.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${MINUTES:-10}
CHUNK=${CHUNK:-30}
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)"; exit 1; }
cargo build --release --workspace --bins -q
BIN=target/release
RUN=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  pkill -f "tollgate-mock --port $P_FLAP " 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$RUN"
}
trap cleanup EXIT INT TERM

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P_OK=$(port); P_FLAKY=$(port); P_FLAP=$(port); P_GW=$(port); P_ADMIN=$(port)
$BIN/tollgate-mock --port "$P_OK" --name ok --tokens 16 --delay-ms 5 >/dev/null & pids+=($!)
$BIN/tollgate-mock --port "$P_FLAKY" --name flaky --tokens 16 --delay-ms 5 --fail-ratio 0.5 >/dev/null & pids+=($!)
# The flappy endpoint is killed for 20 s of every minute by a background loop.
flap_loop() {
  while true; do
    $BIN/tollgate-mock --port "$P_FLAP" --name flappy --tokens 16 --delay-ms 5 >/dev/null 2>&1 &
    local pid=$!
    sleep 40
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    sleep 20
  done
}
flap_loop & pids+=($!)

write_config() {
  cat > "$RUN/tollgate.yaml" <<YAML
server: { threads: 2, grace_period_seconds: 5, upgrade_sock: $RUN/up.sock, pid_file: $RUN/pid }
listeners: { data: ["127.0.0.1:$P_GW"], admin: "127.0.0.1:$P_ADMIN" }
logging: { access_log: false }
auth: { mode: open }
providers:
  - name: pool
    format: openai
    base_urls: ["http://127.0.0.1:$P_OK", "http://127.0.0.1:$P_FLAKY", "http://127.0.0.1:$P_FLAP"]
    health_check: { kind: http, path: /health, interval_ms: 1000 }
    timeouts: { connect_ms: 500, first_byte_ms: 5000, idle_ms: 5000 }
models:
  - name: soak
    targets: [{ provider: pool, model: soak-model }]
    strategy: $1
    retry: { attempts: 4, backoff_ms: 5, max_backoff_ms: 50 }
YAML
}
write_config weighted
$BIN/tollgate -c "$RUN/tollgate.yaml" >/dev/null 2>"$RUN/gw.err" & GW=$!; pids+=($GW)
for _ in $(seq 1 100); do curl -s "127.0.0.1:$P_ADMIN/healthz" >/dev/null && break; sleep 0.1; done

rss_kb() { awk '/VmRSS/ {print $2}' /proc/"$GW"/status; }
echo "soak: $MINUTES min, chunks of ${CHUNK}s; gateway pid $GW, idle RSS $(rss_kb) kB"
printf "%8s %10s %8s %8s %10s %10s %9s\n" "t(s)" "requests" "non200" "sockerr" "p50(us)" "p99(us)" "RSS(kB)"
total=0; bad=0; sockerr=0; start=$(date +%s); end=$((start + MINUTES * 60)); strategies=(least_inflight latency weighted)
i=0
while [ "$(date +%s)" -lt "$end" ]; do
  t=$(( $(date +%s) - start ))
  # A config reload (another balancing strategy) every 2 minutes.
  if [ $(( t % 120 )) -lt "$CHUNK" ] && [ "$t" -ge 60 ]; then
    write_config "${strategies[$((i % 3))]}"; i=$((i + 1))
  fi
  STREAM=0 wrk -t1 -c16 -d"${CHUNK}s" -s scripts/soak/post.lua "http://127.0.0.1:$P_GW/v1/chat/completions" > "$RUN/a.txt" &
  a=$!
  STREAM=1 wrk -t1 -c8 -d"${CHUNK}s" -s scripts/soak/post.lua "http://127.0.0.1:$P_GW/v1/chat/completions" > "$RUN/b.txt"
  wait "$a"
  for f in "$RUN/a.txt" "$RUN/b.txt"; do
    line=$(grep RESULT "$f")
    r=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$line"); n=$(sed 's/.*non200=\([0-9]*\).*/\1/' <<<"$line")
    s=$(sed 's/.*socket_errors=\([0-9]*\).*/\1/' <<<"$line")
    total=$((total + r)); bad=$((bad + n)); sockerr=$((sockerr + s))
  done
  p50=$(sed 's/.*p50_us=\([0-9]*\).*/\1/' <<<"$(grep RESULT "$RUN/a.txt")")
  p99=$(sed 's/.*p99_us=\([0-9]*\).*/\1/' <<<"$(grep RESULT "$RUN/a.txt")")
  printf "%8d %10d %8d %8d %10d %10d %9d\n" "$(( $(date +%s) - start ))" "$total" "$bad" "$sockerr" "$p50" "$p99" "$(rss_kb)"
done
echo "soak done: $total requests, $bad non-200, $sockerr socket errors; final RSS $(rss_kb) kB"
reloads=$(curl -s "127.0.0.1:$P_ADMIN/metrics" | grep '^tollgate_config_reloads_total' || true)
echo "reloads: ${reloads:-none}"
flaps=$(curl -s "127.0.0.1:$P_ADMIN/metrics" | grep '^tollgate_upstream_attempts_total' || true)
echo "upstream attempts: ${flaps:-none}"
[ "$bad" -eq 0 ] && [ "$sockerr" -eq 0 ]
