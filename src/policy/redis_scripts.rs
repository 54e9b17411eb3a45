//! The Lua scripts of the Redis store. Each runs atomically on the Redis server, so one
//! admission or settlement is one round trip and never half-applied.
//!
//! Time comes from the server (`TIME`), so replicas with skewed clocks agree. Bucket
//! arithmetic is the GCRA of [`super::gcra`] on microseconds (Lua numbers are doubles:
//! exact up to 2^53 µs, ~285 years). Buckets and slot sets carry a `PEXPIRE` just past
//! the moment they become irrelevant, so idle keys disappear by themselves.

/// Admission. KEYS: buckets, budgets, slots.
/// ARGV: nb, nc, ns, lease member, lease µs, nb × (limit, period µs, cost), nc × limit, ns × max.
/// Returns `{0, 0, 0, until_full µs...}` or `{1, i, retry µs | -1}` (rate),
/// `{2, i, spent}` (budget), `{3, i, in_use}` (concurrency); `i` is 0-based.
pub const ADMIT: &str = r#"
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nb, nc, ns = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local lease, lease_us = ARGV[4], tonumber(ARGV[5])
local ba, ca, sa = 6, 6 + 3 * nb, 6 + 3 * nb + nc
for i = 1, nc do
  local spent = tonumber(redis.call('GET', KEYS[nb + i]) or '0')
  if spent >= tonumber(ARGV[ca + i - 1]) then return {2, i - 1, spent} end
end
local new = {}
for i = 1, nb do
  local a = ba + 3 * (i - 1)
  local limit, period, cost = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local inc = math.floor(cost * period / limit)
  if inc > period then return {1, i - 1, -1} end
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  local n = tat + inc
  if n - now > period then return {1, i - 1, n - now - period} end
  new[i] = n
end
for i = 1, ns do
  local key = KEYS[nb + nc + i]
  redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%.0f', now))
  local used = redis.call('ZCARD', key)
  if used >= tonumber(ARGV[sa + i - 1]) then return {3, i - 1, used} end
end
for i = 1, ns do
  local key = KEYS[nb + nc + i]
  redis.call('ZADD', key, string.format('%.0f', now + lease_us), lease)
  redis.call('PEXPIRE', key, math.ceil(lease_us / 1000) + 1000)
end
local out = {0, 0, 0}
for i = 1, nb do
  redis.call('SET', KEYS[i], string.format('%.0f', new[i]), 'PX', math.ceil((new[i] - now) / 1000) + 1000)
  out[#out + 1] = new[i] - now
end
return out
"#;

/// Settlement. KEYS: adjusted buckets, counters, slots to release, sets.
/// ARGV: na, nc, nr, nm, lease member, na × (limit, period µs, delta),
/// nc × (delta, ttl ms or 0), nm × member. Returns the new counter values.
pub const SETTLE: &str = r#"
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local na, nc, nr, nm = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local lease = ARGV[5]
for i = 1, na do
  local a = 6 + 3 * (i - 1)
  local limit, period, delta = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local inc = math.floor(math.abs(delta) * period / limit)
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  local n
  if delta >= 0 then n = tat + inc else n = tat - inc end
  if n <= now then
    redis.call('DEL', KEYS[i])
  else
    redis.call('SET', KEYS[i], string.format('%.0f', n), 'PX', math.ceil((n - now) / 1000) + 1000)
  end
end
local out = {}
local ca = 6 + 3 * na
for i = 1, nc do
  local key = KEYS[na + i]
  out[i] = redis.call('INCRBY', key, ARGV[ca + 2 * (i - 1)])
  local ttl = tonumber(ARGV[ca + 2 * (i - 1) + 1])
  if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
end
for i = 1, nr do
  redis.call('ZREM', KEYS[na + nc + i], lease)
end
local ma = ca + 2 * nc
for i = 1, nm do
  redis.call('SADD', KEYS[na + nc + nr + i], ARGV[ma + i - 1])
end
return out
"#;

/// Read-only snapshot. KEYS: buckets, counters, slots, sets. ARGV: nb, nc, ns, nm.
/// Returns `{until_full µs[], counters[], slots in use[], set members[][]}`.
pub const READ: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nb, nc, ns, nm = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local b, c, s, m = {}, {}, {}, {}
for i = 1, nb do
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat > now then b[i] = tat - now else b[i] = 0 end
end
for i = 1, nc do c[i] = tonumber(redis.call('GET', KEYS[nb + i]) or '0') end
for i = 1, ns do s[i] = redis.call('ZCOUNT', KEYS[nb + nc + i], string.format('(%.0f', now), '+inf') end
for i = 1, nm do m[i] = redis.call('SMEMBERS', KEYS[nb + nc + ns + i]) end
return {b, c, s, m}
"#;
