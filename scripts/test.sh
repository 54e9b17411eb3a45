#!/usr/bin/env bash
# The test suite: unit, golden and end-to-end tests (the real binary against mock
# upstreams on loopback), shared-state tests against a local redis-server, and the
# official Python SDKs as clients. Installs what it needs first (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

# A private redis-server for the shared-state tests, stopped on exit.
REDIS_PORT=${TOLLGATE_TEST_REDIS_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
REDIS_DIR=$(mktemp -d)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$REDIS_DIR" --daemonize yes --pidfile "$REDIS_DIR/redis.pid" >/dev/null
cleanup() {
  if [ -f "$REDIS_DIR/redis.pid" ]; then kill "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null || true; fi
  rm -rf "$REDIS_DIR"
}
trap cleanup EXIT
export TOLLGATE_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/"
export TOLLGATE_TEST_PYTHON="$PWD/.venv/bin/python"
# Here the prerequisites above are guaranteed: a test missing one fails, never skips.
export TOLLGATE_TEST_REQUIRE_ENV=1

# --workspace: the mock upstream (crates/tollgate-mock) has its own unit tests.
cargo test --workspace --lib --bins --tests -- --test-threads 4
# The criterion benches, once each in test mode (they must keep running).
cargo test --benches
