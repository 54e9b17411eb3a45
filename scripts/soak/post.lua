-- wrk script: POST a chat request (STREAM=1 in the environment asks for SSE) and
-- count the statuses that were not 200.
local stream = os.getenv("STREAM") == "1"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"soak","stream":' .. tostring(stream) ..
  ',"messages":[{"role":"user","content":"soak test request"}]}'

local bad = 0
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout + summary.errors.status
  io.write(string.format("RESULT requests=%d non200=%d socket_errors=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.errors.status, errors - summary.errors.status,
    latency:percentile(50), latency:percentile(99)))
end
