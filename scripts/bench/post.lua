-- wrk script: POST the JSON body in $BENCH_BODY_FILE to the target URL's path and,
-- when the run ends, print one parseable line with the request count, latency
-- percentiles (µs) and every error counter, e.g.
--   BENCH requests=123 duration_us=10000000 rps=12.3 p50_us=810 p90_us=... p99_us=2450
--         max_us=... non2xx=0 connect=0 read=0 write=0 timeout=0
-- wrk counts a non-2xx/3xx reply as a completed request, so `non2xx` must be read
-- alongside `requests`: a fast error is not throughput.

local path = os.getenv("BENCH_BODY_FILE")
if path == nil or path == "" then
  error("BENCH_BODY_FILE is not set")
end
local f = assert(io.open(path, "rb"))
local body = f:read("*a")
f:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
-- The gateway runs with `auth: {mode: open}`; a key is still sent so the request
-- has the shape an SDK client sends.
wrk.headers["Authorization"] = "Bearer sk-bench"

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, summary.requests / secs,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end
