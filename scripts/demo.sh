#!/usr/bin/env bash
# Starts a working gateway that needs no provider key: two bundled mock upstreams on
# 127.0.0.1:9001 and :9002 behind tollgate on 127.0.0.1:8080 (admin on :9090),
# configured by conf/demo.yaml. Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cmake >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake >/dev/null; }
cargo build --release --workspace --bins
pids=()
# SIGINT is Pingora's fast shutdown (SIGTERM would wait the whole grace period).
cleanup() { kill -INT "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
target/release/tollgate-mock --port 9001 --name mock-a --delay-ms 20 & pids+=($!)
target/release/tollgate-mock --port 9002 --name mock-b --delay-ms 20 & pids+=($!)
target/release/tollgate -c conf/demo.yaml & pids+=($!)
sleep 1
cat <<'MSG'

tollgate is running on http://127.0.0.1:8080 (admin: http://127.0.0.1:9090/metrics)
Try:
  curl -s http://127.0.0.1:8080/v1/chat/completions -H 'content-type: application/json' \
       -d '{"model":"demo","messages":[{"role":"user","content":"hello"}]}'
  curl -sN http://127.0.0.1:8080/v1/chat/completions -H 'content-type: application/json' \
       -d '{"model":"demo","stream":true,"messages":[{"role":"user","content":"hello"}]}'
MSG
wait "${pids[2]}"
