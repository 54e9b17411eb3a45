#!/usr/bin/env bash
# Zero-downtime binary upgrade with Pingora's socket hand-over.
#
#   scripts/upgrade.sh <config.yaml> [new-binary]
#
# 1. Checks the config with the new binary (`-t`), which also prints the effective pid
#    file, upgrade socket, grace period and admin listener.
# 2. Starts the new binary in upgrade mode (`-u -d`) in the background. It binds the
#    config's `server.upgrade_sock` and waits there for the listening sockets; it only
#    daemonizes once it has them, so it must not run in the foreground here.
# 3. Once the new process listens on the upgrade socket, SIGQUIT tells the old one to
#    hand its sockets over; the old one keeps serving its in-flight requests and
#    streams for `server.grace_period_seconds`, then exits.
# 4. Checks that the new process took over (its daemon parent exits 0, the pid file
#    names a live process other than the old one, `/healthz` answers on the admin
#    listener when curl is available), then waits for the old process to exit.
#
# The old process is found through TOLLGATE_OLD_PID or the config's `server.pid_file`
# (written in daemon mode). Exit status: 0 when the new process serves and the old one
# exited; 1 otherwise (the old process is never signalled unless the new one is ready
# to take the sockets). TOLLGATE_UPGRADE_WAIT bounds the wait for the old process
# (default: grace period + shutdown timeout + 30 s).
set -euo pipefail
conf=${1:?usage: scripts/upgrade.sh <config.yaml> [new-binary]}
bin=${2:-target/release/tollgate}

# Never hand over to a binary that rejects the config.
facts=$("$bin" -t -c "$conf")
fact() { printf '%s\n' "$facts" | sed -n "s/^$1: //p" | head -1; }
pid_file=$(fact server.pid_file)
sock=$(fact server.upgrade_sock)
grace=$(fact server.grace_period_seconds)
shutdown=$(fact server.graceful_shutdown_timeout_seconds)
admin=$(fact listeners.admin)

# A zombie (exited, not yet reaped by its parent) is not running.
alive() {
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null && ! grep -qs '^State:[[:space:]]*Z' "/proc/$1/status"
}

old=${TOLLGATE_OLD_PID:-$(cat "$pid_file" 2>/dev/null || true)}
if ! alive "$old"; then
  echo "no running tollgate found (pid file $pid_file; set TOLLGATE_OLD_PID)" >&2
  exit 1
fi

# A stale socket file from an earlier upgrade would look like a ready new process.
rm -f "$sock"
"$bin" -u -d -c "$conf" &
starter=$!

# Wait (bounded) until the new process listens on the upgrade socket.
for _ in $(seq 1 200); do
  [ -S "$sock" ] && break
  if ! alive "$starter"; then
    wait "$starter" || true
    echo "new process exited before taking the sockets; old pid $old left untouched" >&2
    exit 1
  fi
  sleep 0.05
done
if [ ! -S "$sock" ]; then
  kill "$starter" 2>/dev/null || true
  echo "new process never opened $sock; old pid $old left untouched" >&2
  exit 1
fi

kill -QUIT "$old"
echo "SIGQUIT sent: old pid $old hands over its sockets and drains for ${grace}s"

# The daemon's parent exits 0 once the sockets arrived and the daemon forked.
if ! wait "$starter"; then
  echo "new process failed to take the sockets over (see its log)" >&2
  exit 1
fi
new=""
for _ in $(seq 1 100); do
  new=$(cat "$pid_file" 2>/dev/null || true)
  if [ "$new" != "$old" ] && alive "$new"; then break; fi
  new=""
  sleep 0.1
done
if [ -z "$new" ]; then
  echo "new process not running (pid file $pid_file)" >&2
  exit 1
fi
if command -v curl >/dev/null 2>&1; then
  host=${admin%:*}
  case $host in 0.0.0.0) host=127.0.0.1 ;; "[::]") host="[::1]" ;; esac
  if ! curl -fsS -m 5 --retry 10 --retry-connrefused --retry-delay 1 \
      -o /dev/null "http://$host:${admin##*:}/healthz"; then
    echo "new pid $new does not answer /healthz on $admin" >&2
    exit 1
  fi
fi
echo "new pid $new serves"

wait_s=${TOLLGATE_UPGRADE_WAIT:-$((grace + shutdown + 30))}
for _ in $(seq 1 $((wait_s * 10))); do
  if ! alive "$old"; then echo "old process exited"; exit 0; fi
  sleep 0.1
done
echo "old pid $old still draining after ${wait_s}s (long grace period?)" >&2
exit 1
