#!/usr/bin/env bash
# Zero-downtime binary upgrade with Pingora's socket hand-over.
#
#   scripts/upgrade.sh <config.yaml> [new-binary]
#
# Starts the new binary in upgrade mode (`-u`, daemonized with `-d`): it waits on the
# config's `server.upgrade_sock` for the listening sockets. Then SIGQUIT tells the
# old process to hand them over; it keeps serving its in-flight requests and streams
# for `server.grace_period_seconds` and exits. The old process is found through the
# config's `server.pid_file` (written in daemon mode) or TOLLGATE_OLD_PID.
set -euo pipefail
conf=${1:?usage: scripts/upgrade.sh <config.yaml> [new-binary]}
bin=${2:-target/release/tollgate}

"$bin" -t -c "$conf" >/dev/null   # never hand over to a binary that rejects the config

pid_file=$(sed -n 's/^[[:space:]]*pid_file:[[:space:]]*"\{0,1\}\([^"]*\)"\{0,1\}[[:space:]]*$/\1/p' "$conf" | head -1)
pid_file=${pid_file:-/tmp/tollgate.pid}
old=${TOLLGATE_OLD_PID:-$(cat "$pid_file" 2>/dev/null || true)}
if [ -z "$old" ] || ! kill -0 "$old" 2>/dev/null; then
  echo "no running tollgate found (pid file $pid_file; set TOLLGATE_OLD_PID)" >&2
  exit 1
fi

"$bin" -u -d -c "$conf"
sleep 1   # the new process is now waiting on the upgrade socket
kill -QUIT "$old"
echo "upgrade started: old pid $old hands over its sockets and drains; new pid in $pid_file"
for _ in $(seq 1 120); do
  if ! kill -0 "$old" 2>/dev/null; then echo "old process exited"; exit 0; fi
  sleep 5
done
echo "old process still draining after 10 minutes (long grace period?)" >&2
