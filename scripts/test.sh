#!/usr/bin/env bash
# The test suite: unit, golden and end-to-end tests (the real binary against mock
# upstreams on loopback), shared-state tests against a local redis-server, and the
# official Python SDKs as clients, and the status page in headless Chromium. Installs what it needs first (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

# A private redis-server for the shared-state tests, stopped on exit.
REDIS_PORT=${TOLLGATE_TEST_REDIS_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
REDIS_DIR=$(mktemp -d)
cleanup() {
  for pid in "$REDIS_DIR"/redis.pid "$REDIS_DIR"/*/redis.pid; do
    if [ -f "$pid" ]; then kill "$(cat "$pid")" 2>/dev/null || true; fi
  done
  rm -rf "$REDIS_DIR"
}
trap cleanup EXIT
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$REDIS_DIR" --daemonize yes --pidfile "$REDIS_DIR/redis.pid" >/dev/null
# A private three-primary Redis Cluster for the redis_cluster backend tests.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
CLUSTER_PORTS=()
for _ in 1 2 3; do
  port=$(free_port)
  # Cluster nodes also listen on port + 10000 (the bus): both must be free.
  while [ "$port" -gt 55000 ]; do port=$(free_port); done
  CLUSTER_PORTS+=("$port")
  mkdir -p "$REDIS_DIR/$port"
  redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
    --cluster-config-file "$REDIS_DIR/$port/nodes.conf" --save '' --appendonly no \
    --dir "$REDIS_DIR/$port" --daemonize yes --pidfile "$REDIS_DIR/$port/redis.pid" >/dev/null
done
for _ in $(seq 50); do redis-cli -p "${CLUSTER_PORTS[2]}" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli --cluster create "${CLUSTER_PORTS[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes >/dev/null
for _ in $(seq 100); do
  redis-cli -p "${CLUSTER_PORTS[0]}" cluster info | grep -q 'cluster_state:ok' && break
  sleep 0.1
done
export TOLLGATE_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/"
TOLLGATE_TEST_REDIS_CLUSTER_URLS=$(printf 'redis://127.0.0.1:%s,' "${CLUSTER_PORTS[@]}")
export TOLLGATE_TEST_REDIS_CLUSTER_URLS=${TOLLGATE_TEST_REDIS_CLUSTER_URLS%,}
export TOLLGATE_TEST_PYTHON="$PWD/.venv/bin/python"
export TOLLGATE_TEST_CHROMIUM="$(command -v chromium)"
# Here the prerequisites above are guaranteed: a test missing one fails, never skips.
export TOLLGATE_TEST_REQUIRE_ENV=1

# --workspace: the mock upstream (crates/tollgate-mock) has its own unit tests.
cargo test --workspace --lib --bins --tests -- --test-threads 4
# The criterion benches, once each in test mode (they must keep running).
cargo test --benches
