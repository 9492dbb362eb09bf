/**
 * Redis ephemeral store (ioredis): one Lua script per atomic intent, every script touching keys of
 * a single hash slot so the same code runs on Redis Cluster. Records expire through PEXPIREAT, so a
 * channel past its TTL is gone whether or not anybody looks at it.
 *
 * Channels, each on its own slot, and the live-channel cap, sharded over several slots, are in
 * ./redis-channels.ts. No channel id appears in a key name: channels are named by {@link opaqueKey} of
 * their id, and so is every counter (their keys embed channel ids and addresses); a counter's windows
 * keep one hash tag, the opaque name, so they still share a slot.
 */
import type { ChannelRecord } from '../../core/rendezvous/channel.ts'
import { isLive } from '../../core/rendezvous/channel.ts'
import { nodeOpaqueKey as opaqueKey } from './opaque-key-node.ts'
import type { RedisClient } from './redis-client.ts'
import { redisChannels } from './redis-channels.ts'
import { defineScripts, redisScript } from './redis-script.ts'
import type { Clock, CounterStore, EphemeralStore, KvStore, ReplaceOutcome } from '../../ports.ts'

/** Options of {@link redisStore}: a ready client (the runtime builds it) and a key prefix. */
export interface RedisStoreOptions {
  client: RedisClient
  keyPrefix?: string
  clock: Clock
}

// KEYS[1] counter. ARGV: ttlMs.
const INCREMENT = `
local v = redis.call('INCR', KEYS[1])
if v == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return v`
// KEYS[1] this window, KEYS[2] previous window (same hash slot). ARGV: ttlMs.
const HIT_WINDOW = `
local c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local p = redis.call('GET', KEYS[2])
return {c, tonumber(p) or 0}`
// KEYS[1] this window, KEYS[2] previous window. ARGV: ttlMs, previousWeight, currentWeight, capacity.
// Counts one only if the budget admits it: the check and the count are one step.
const RESERVE_WINDOW = `
local c = tonumber(redis.call('GET', KEYS[1]) or '0')
local p = tonumber(redis.call('GET', KEYS[2]) or '0')
if p * tonumber(ARGV[2]) + (c + 1) * tonumber(ARGV[3]) > tonumber(ARGV[4]) then return {0, c, p} end
c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {1, c, p}`
// KEYS[1] window. DECR keeps the TTL; never below 0, never on an absent (expired) key.
const RELEASE_WINDOW = `
local v = tonumber(redis.call('GET', KEYS[1]) or '0')
if v > 0 then redis.call('DECR', KEYS[1]) end
return 1`

// Values are hashes of v (the value) and e (expiresAtMs), compared with the caller's clock like channels.
// KEYS[1] value. ARGV: value, expiresAt.
const KV_PUT = `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'e', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1`
// KEYS[1] value. ARGV: now, delete (1 or 0). Returns the live value (deleting it when asked) or false.
const KV_READ = `
local cur = redis.call('HMGET', KEYS[1], 'v', 'e')
if not cur[1] then return false end
if ARGV[2] == '1' or tonumber(cur[2]) <= tonumber(ARGV[1]) then redis.call('DEL', KEYS[1]) end
if tonumber(cur[2]) <= tonumber(ARGV[1]) then return false end
return cur[1]`
// KEYS[1] value. ARGV: expected, next, now, expiresAt ('' keeps the expiry).
const KV_REPLACE_IF_MATCH = `
local cur = redis.call('HMGET', KEYS[1], 'v', 'e')
if not cur[1] or tonumber(cur[2]) <= tonumber(ARGV[3]) then return 'missing' end
if cur[1] ~= ARGV[1] then return 'mismatch' end
redis.call('HSET', KEYS[1], 'v', ARGV[2])
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[1], 'e', ARGV[4])
  redis.call('PEXPIREAT', KEYS[1], ARGV[4])
end
return 'ok'`

// The scripts of this file (their names are ioredis' on a cluster, see ./redis-script.ts).
const increment = redisScript<number>('qrIncrement', INCREMENT, 1)
const hitWindow = redisScript<[number, number]>('qrHitWindow', HIT_WINDOW, 2)
const reserveWindow = redisScript<[number, number, number]>('qrReserveWindow', RESERVE_WINDOW, 2)
const releaseWindow = redisScript<number>('qrReleaseWindow', RELEASE_WINDOW, 1)
const kvPut = redisScript<number>('qrKvPut', KV_PUT, 1)
const kvRead = redisScript<string | null>('qrKvRead', KV_READ, 1)
const kvReplaceIfMatch = redisScript<ReplaceOutcome>('qrKvReplaceIfMatch', KV_REPLACE_IF_MATCH, 1)

/**
 * A 32-byte secret shared by every process on this Redis: the first caller generates it (`SET NX`),
 * the others read it. It has no TTL and lives as long as the Redis data (channel ids minted under it
 * live at most one channel lifetime, so deleting it only ends the channels alive at that moment).
 *
 * @example
 * const key = await redisSharedSecret(client, 'qrelay:', 'channel-id-key', random.bytes(32))
 */
export const redisSharedSecret = async (
  client: RedisClient,
  keyPrefix: string,
  name: string,
  candidate: Uint8Array,
): Promise<Uint8Array> => {
  const key = `${keyPrefix}secret:${name}`
  await client.set(key, Buffer.from(candidate).toString('hex'), 'NX')
  const stored = await client.get(key)
  if (stored === null || !/^([0-9a-f]{2}){32,64}$/.test(stored)) throw new Error(`redis: the shared secret ${name} is missing or malformed`)
  return new Uint8Array(Buffer.from(stored, 'hex'))
}

/**
 * Builds the Redis store over a ready ioredis client (the caller owns and closes the client).
 *
 * @example
 * const store = redisStore({ client: new Redis(url), keyPrefix: 'qrelay:', clock: systemClock })
 */
export const redisStore = ({ client, keyPrefix = 'qrelay:', clock }: RedisStoreOptions): EphemeralStore => {
  defineScripts(client, [increment, hitWindow, reserveWindow, releaseWindow, kvPut, kvRead, kvReplaceIfMatch])
  // Hash tags ({…}) pin each key, and each window pair, to one cluster slot.
  const counterKey = (key: string): string => `${keyPrefix}ct:{${opaqueKey(key)}}`
  const decode = (json: string | null): ChannelRecord | null => {
    if (json === null) return null
    const record = JSON.parse(json) as ChannelRecord
    return isLive(record, clock.now()) ? record : null
  }
  const counters: CounterStore = {
    async increment(key, ttlMs) {
      return increment(client, [counterKey(key), ttlMs])
    },
    async read(key) {
      return Number((await client.get(counterKey(key))) ?? 0)
    },
    async hitWindow(key, windowIndex, ttlMs) {
      const base = counterKey(key)
      const [current, previous] = await hitWindow(client, [`${base}:${windowIndex}`, `${base}:${windowIndex - 1}`, ttlMs])
      return { current, previous }
    },
    async reserveWindow(key, windowIndex, ttlMs, budget) {
      const base = counterKey(key)
      const [reserved, current, previous] = await reserveWindow(client, [
        `${base}:${windowIndex}`,
        `${base}:${windowIndex - 1}`,
        ttlMs,
        budget.previousWeight,
        budget.currentWeight,
        budget.capacity,
      ])
      return { reserved: reserved === 1, current, previous }
    },
    async releaseWindow(key, windowIndex) {
      await releaseWindow(client, [`${counterKey(key)}:${windowIndex}`])
    },
  }

  const channels = redisChannels(client, keyPrefix, clock, decode, { counterKey, hitWindow: counters.hitWindow })

  const kvKey = (key: string): string => `${keyPrefix}kv:{${key}}`
  // PEXPIREAT needs a whole millisecond after now.
  const expiresAt = (ttlMs: number): number => clock.now() + Math.max(1, Math.ceil(ttlMs))
  const kv: KvStore = {
    async put(key, value, ttlMs) {
      await kvPut(client, [kvKey(key), value, expiresAt(ttlMs)])
    },
    async get(key) {
      return kvRead(client, [kvKey(key), clock.now(), 0])
    },
    async replaceIfMatch(key, expected, next, ttlMs) {
      return kvReplaceIfMatch(client, [kvKey(key), expected, next, clock.now(), ttlMs === undefined ? '' : expiresAt(ttlMs)])
    },
    async takeOnce(key) {
      return kvRead(client, [kvKey(key), clock.now(), 1])
    },
  }

  return {
    kind: 'redis',
    channels,
    counters,
    kv,
    async ping() {
      const answer = await client.ping()
      if (answer !== 'PONG') throw new Error('redis did not answer PONG')
    },
    async close() {},
  }
}
