# Helpers for scripts/bench.sh and the scripts in scripts/bench: process accounting
# from /proc, readiness polling, keep-alive load for the counting scripts, and small
# float arithmetic. Sourced, not executed.

CLK_TCK=$(getconf CLK_TCK)

# utime + stime in clock ticks, summed over the given pids (threads included: the
# per-process counters of /proc/<pid>/stat cover every thread). Field 2 (comm) may
# contain spaces, so fields are counted after its closing parenthesis.
proc_ticks() {
  local total=0 pid user sys
  for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] || continue
    read -r user sys < <(proc_user_sys "$pid")
    total=$((total + user + sys))
  done
  echo "$total"
}

# "utime stime" of one pid, in clock ticks (all its threads).
proc_user_sys() {
  # After "pid (comm) ": state=1 ... utime=12, stime=13.
  sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12, $13}'
}

# A /proc/<pid>/status memory field (VmRSS, VmHWM) in KiB, summed over the pids.
proc_kib() {
  local field=$1 total=0 pid v
  shift
  for pid in "$@"; do
    v=$(awk -v f="$field:" '$1 == f {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

# Direct children of a pid (nginx workers of their master).
child_pids() {
  ps -o pid= --ppid "$1" | tr -d ' ' | tr '\n' ' '
}

# Connections opened by this host since boot (every connect(), loopback included).
# The delta over a run shows whether a proxy reuses its upstream connections.
active_opens() {
  awk '$1 == "Tcp:" && $2 ~ /^[0-9]+$/ {print $6}' /proc/net/snmp
}

# True when something accepts connections on 127.0.0.1:$1.
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Poll a URL until it answers $2 (default 200), for at most $3 seconds (default 20).
wait_http() {
  local url=$1 want=${2:-200} secs=${3:-20} i code
  for ((i = 0; i < secs * 10; i++)); do
    code=$(curl -s -o /dev/null -m 1 -w '%{http_code}' "$url" 2>/dev/null || true)
    [ "$code" = "$want" ] && return 0
    sleep 0.1
  done
  echo "timed out waiting for $url (last status ${code:-none})" >&2
  return 1
}

# `key=value` field of a BENCH line.
field() {
  sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"
}

# Float arithmetic: calc '<awk expression>' (values passed in already expanded).
calc() {
  awk "BEGIN { printf \"%s\", $1 }"
}

# Format helpers for the table; "–" when a value is missing.
fmt_int() { [ -n "${1:-}" ] && awk -v v="$1" 'BEGIN { printf "%.0f", v }' || echo "–"; }
fmt_ms() { [ -n "${1:-}" ] && awk -v v="$1" 'BEGIN { printf "%.2f ms", v / 1000 }' || echo "–"; }
fmt_mib() { [ -n "${1:-}" ] && awk -v v="$1" 'BEGIN { printf "%.1f MiB", v / 1024 }' || echo "–"; }
fmt_ratio() {
  if [ -n "${1:-}" ] && [ -n "${2:-}" ] && [ "$(awk -v d="$2" 'BEGIN { print (d > 0) }')" = 1 ]; then
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
  else
    echo "–"
  fi
}

# post_keepalive <body file> <count>: that many POSTs of the body to the proxy on
# 127.0.0.1:18083, one keep-alive connection, every answer's status checked (the
# counting scripts' load: python's client, so no wrk is needed under valgrind).
post_keepalive() {
  python3 - "$1" "$2" <<'EOF'
import http.client, sys
body, n = open(sys.argv[1], "rb").read(), int(sys.argv[2])
c = http.client.HTTPConnection("127.0.0.1", 18083, timeout=60)
h = {"authorization": "Bearer sk-bench", "content-type": "application/json"}
for _ in range(n):
    c.request("POST", "/v1/chat/completions", body, h)
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sys.exit(f"status {r.status}")
EOF
}

# wait_for_proxy: until the proxy on 127.0.0.1:18083 answers (at most 60 s).
wait_for_proxy() {
  for _ in $(seq 120); do
    curl -s -o /dev/null -m 1 -X POST http://127.0.0.1:18083/ && return 0
    sleep 0.5
  done
  return 1
}
