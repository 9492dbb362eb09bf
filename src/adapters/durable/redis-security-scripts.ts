/**
 * Lua scripts of the Redis durable store's security state (see `SecurityStateStore` in
 * `src/ports.ts`), on the account's slot like every other intent (`./redis-scripts.ts`):
 * - the last-authenticated mark is the field `la` of the device hash `dev:<id>`, so it goes with the device;
 * - the feed is the zset `ev` of the account: score = the event id, member = `<expiresAtMs>:<id>:<JSON>`
 *   (the event without its id), so identical events stay distinct and expiry needs no JSON in Lua.
 * The rules mirror `./security-feed.ts` (next id `max(last + 1, now)`, expired events dropped, the
 * newest `maxEvents` kept); times are the application's clock, passed in as `now`.
 */

const PRELUDE = `
local base = string.sub(KEYS[1], 1, -5)
`

// ARGV: deviceId, atMs.
const MARK_AUTHENTICATED = `
local dev = base .. 'dev:' .. ARGV[1]
if redis.call('EXISTS', dev) == 0 then return 0 end
local la = redis.call('HGET', dev, 'la')
if not la or tonumber(ARGV[2]) > tonumber(la) then redis.call('HSET', dev, 'la', ARGV[2]) end
return 1`

/**
 * The feed's append, as a Lua function for every script that appends an event (`qdAppendEvent`, and the
 * session mint of `./redis-session-mint.ts`, which stores its event in the same step): the next id is
 * `max(last + 1, now)`, expired events are dropped, the newest `maxEvents` kept. Returns the new id.
 */
export const FEED_APPEND = `
local function append_event(ev, now, retention_ms, max_events, json)
  local id = now
  local last = redis.call('ZRANGE', ev, -1, -1, 'WITHSCORES')
  if last[2] then id = math.max(tonumber(last[2]) + 1, now) end
  for _, m in ipairs(redis.call('ZRANGE', ev, 0, -1)) do
    if tonumber(string.match(m, '^(%d+):')) <= now then redis.call('ZREM', ev, m) end
  end
  local expires = now + retention_ms
  redis.call('ZADD', ev, id, string.format('%d:%d:', expires, id) .. json)
  redis.call('ZREMRANGEBYRANK', ev, 0, -(math.max(1, max_events) + 1))
  redis.call('PEXPIREAT', ev, expires)
  return id
end
`

// ARGV: now, retentionMs, maxEvents, event JSON (without id). Returns the new id, or nil for an unknown account.
const APPEND_EVENT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local id = append_event(base .. 'ev', tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4])
return string.format('%d', id)`

/** The scripts as ioredis commands (KEYS[1] = the account hash). */
export interface SecurityScripts {
  qdMarkAuthenticated(acct: string, deviceId: string, atMs: number): Promise<number>
  qdAppendEvent(acct: string, now: number, retentionMs: number, maxEvents: number, json: string): Promise<string | null>
}

/** [command name, Lua source]. */
export const SECURITY_SCRIPTS: ReadonlyArray<readonly [keyof SecurityScripts, string]> = [
  ['qdMarkAuthenticated', PRELUDE + MARK_AUTHENTICATED],
  ['qdAppendEvent', PRELUDE + FEED_APPEND + APPEND_EVENT],
]
