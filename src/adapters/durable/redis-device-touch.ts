/**
 * The Redis durable store's `devices.touch` (./redis-scripts.ts, with its prelude): moves the last
 * sighting forward only and keeps the device's recent networks (finding 49) in the same script. The
 * recent networks live in the device hash's `rn` field as JSON (absent: those of the creation record
 * `j`); the merge mirrors `touchedNetworks` and `rememberNetwork` of
 * src/core/accounts/recent-networks.ts step for step, and the durable conformance suite holds the two
 * to the same behaviour.
 */

// ARGV: deviceId, atMs, network, hasNetwork, most recent networks kept, their window (ms).
export const DEVICE_TOUCH = `
local dev = base .. 'dev:' .. ARGV[1]
local d = redis.call('HMGET', dev, 't', 'net', 'rn', 'j')
if not d[1] then return 0 end
local max, window = tonumber(ARGV[5]), tonumber(ARGV[6])
local function remember(list, network, at)
  local known
  for _, e in ipairs(list) do if e.network == network then known = e end end
  local merged = list
  if network ~= '' and (known == nil or known.atMs < at) then
    merged = {}
    for _, e in ipairs(list) do if e.network ~= network then merged[#merged + 1] = e end end
    local pos = #merged + 1
    for i, e in ipairs(merged) do if e.atMs <= at then pos = i break end end
    table.insert(merged, pos, { network = network, atMs = at })
  end
  local out = {}
  local newest = merged[1] and merged[1].atMs or 0
  for _, e in ipairs(merged) do
    if newest - e.atMs <= window and #out < max then out[#out + 1] = e end
  end
  return out
end
local recent
if d[3] then recent = cjson.decode(d[3]) else recent = cjson.decode(d[4]).recentNetworks end
if type(recent) ~= 'table' then recent = {} end
local t = tonumber(d[1])
if tonumber(ARGV[2]) == t then return 1 end
if d[2] then recent = remember(recent, d[2], t) end
if ARGV[4] == '1' then recent = remember(recent, ARGV[3], tonumber(ARGV[2])) end
if #recent == 0 then redis.call('HDEL', dev, 'rn') else redis.call('HSET', dev, 'rn', cjson.encode(recent)) end
if tonumber(ARGV[2]) > t then
  redis.call('HSET', dev, 't', ARGV[2])
  if ARGV[4] == '1' then redis.call('HSET', dev, 'net', ARGV[3]) else redis.call('HDEL', dev, 'net') end
end
return 1`
