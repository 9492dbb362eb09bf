/**
 * Channels of the Redis ephemeral store (./redis.ts), laid out for Redis Cluster:
 *
 * - each record is a hash on its own slot, `<prefix>{c:<opaque name>}` (r revision, e expiresAtMs,
 *   d the record as JSON, s its cap shard), so channel traffic spreads over every node;
 * - the live-channel cap is {@link LIVE_SHARDS} sorted sets `<prefix>{live:<n>}` (member: the opaque
 *   name, score: its expiry).
 *
 * On one Redis (or behind Sentinel) all of them sit on one server: create (duplicate check, expired
 * places dropped, cap check over every shard, place, record) and take (record and place) are each one
 * script, so the cap is exact and no crash splits an intent.
 *
 * On a cluster each shard has a fixed share of the cap (the shares add up to the cap). A create
 * reserves a place in its home shard (chosen by its name) or, when that share is full, in the next shard
 * with room. A shard admits while it holds less than its share, so racing creates never pass the cap;
 * and while it and the others hold less than the cap, the others as this process counted them at most
 * {@link COUNTS_FRESH_MS} ago plus its own reservations since, so the cap stays exact when it is lowered
 * or the shares fill unevenly, up to what other processes created or freed in that moment. Reserving and
 * storing are two scripts on two slots (a cluster runs no script across slots): a process that dies
 * between them, or between taking a record and freeing its place, leaves a place reserved for nothing
 * until that channel's expiry, never a record outside the count. The bound: at most the creates and
 * deletes in flight in the dead process, each for at most one channel lifetime.
 */
import type { ChannelRecord } from '../../core/rendezvous/channel.ts'
import type { ChannelStore, Clock, CreateOutcome, ReplaceOutcome } from '../../ports.ts'
import { nodeOpaqueKey as opaqueKey } from './opaque-key-node.ts'
import type { RedisClient } from './redis-client.ts'
import { redisFusedChannels, type FusedChannelParts } from './redis-fused.ts'
import { defineScripts, redisScript } from './redis-script.ts'

/** How many sorted sets share the live-channel cap (each on its own slot). */
export const LIVE_SHARDS = 8

/**
 * How long (on the store's clock) a process counts on the shards' live counts it last read, besides its
 * own reservations: other processes' creates and deletes of that last moment are what it may miss.
 */
const COUNTS_FRESH_MS = 100

// KEYS[1] a cap shard. ARGV: member, expiresAt, now, share, max, others (the other shards' live count, read
// just before). 'ok' (reserved), 'dup' (member live here) or 'full'.
const RESERVE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 'dup' end
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[4]) or n + tonumber(ARGV[6]) >= tonumber(ARGV[5]) then return 'full' end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 'ok'`
// Besides PEXPIREAT, every script compares e with the caller's clock, so a record is gone the moment the
// application's clock passes its expiry, even if Redis' own clock is a little behind.
// KEYS[1] record. ARGV: rev, json, expiresAt, now, shard.
const CREATE = `
local e = redis.call('HGET', KEYS[1], 'e')
if e and tonumber(e) > tonumber(ARGV[4]) then return 'exists' end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'r', ARGV[1], 'e', ARGV[3], 'd', ARGV[2], 's', ARGV[5])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return 'ok'`
// KEYS[1] record. ARGV: expectedRev, nextRev, json, expiresAt, now.
const REPLACE_IF_MATCH = `
local cur = redis.call('HMGET', KEYS[1], 'r', 'e')
if not cur[1] or tonumber(cur[2]) <= tonumber(ARGV[5]) then return 'missing' end
if cur[1] ~= ARGV[1] then return 'mismatch' end
redis.call('HSET', KEYS[1], 'r', ARGV[2], 'e', ARGV[4], 'd', ARGV[3])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
return 'ok'`
// KEYS[1] record. ARGV: now. Deletes the record; returns {shard, JSON of the record if it was live}.
const TAKE_ONCE = `
local cur = redis.call('HMGET', KEYS[1], 'e', 'd', 's')
if not cur[1] then return false end
redis.call('DEL', KEYS[1])
if tonumber(cur[1]) <= tonumber(ARGV[1]) then return {cur[3] or '0'} end
return {cur[3] or '0', cur[2]}`

// One Redis (or Sentinel): every shard sits on the one server, so create and take are each one script over
// the record and all the shards; the cap is then global and exact, and no crash can split an intent.
// KEYS[1] record, KEYS[2..] the shards. ARGV: member, expiresAt, now, max, home shard, rev, json.
const CREATE_ONE_NODE = `
local now = tonumber(ARGV[3])
local e = redis.call('HGET', KEYS[1], 'e')
if e and tonumber(e) > now then return 'exists' end
local total = 0
for i = 2, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  total = total + redis.call('ZCARD', KEYS[i])
end
if total >= tonumber(ARGV[4]) then return 'capacity' end
redis.call('ZADD', KEYS[tonumber(ARGV[5]) + 2], ARGV[2], ARGV[1])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'r', ARGV[6], 'e', ARGV[2], 'd', ARGV[7], 's', ARGV[5])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 'ok'`
// KEYS[1] record, KEYS[2..] the shards. ARGV: member, now. The JSON of a live record, deleted with its place.
const TAKE_ONE_NODE = `
local cur = redis.call('HMGET', KEYS[1], 'e', 'd', 's')
if not cur[1] then return false end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[tonumber(cur[3] or '0') + 2], ARGV[1])
if tonumber(cur[1]) <= tonumber(ARGV[2]) then return false end
return cur[2]`

// The scripts of this file (their names are ioredis' on a cluster, see ./redis-script.ts).
const reserveScript = redisScript<'ok' | 'dup' | 'full'>('qrChReserve', RESERVE, 1)
const createScript = redisScript<CreateOutcome>('qrChCreate', CREATE, 1)
const replaceScript = redisScript<ReplaceOutcome>('qrChReplace', REPLACE_IF_MATCH, 1)
const takeScript = redisScript<[string, string?] | null>('qrChTake', TAKE_ONCE, 1)
const createOneNodeScript = redisScript<CreateOutcome>('qrChCreateOneNode', CREATE_ONE_NODE, 1 + LIVE_SHARDS)
const takeOneNodeScript = redisScript<string | null>('qrChTakeOneNode', TAKE_ONE_NODE, 1 + LIVE_SHARDS)

/** Shard `n`'s part of a cap of `max`: the parts of all shards add up to `max`. */
const shareOf = (max: number, n: number): number => Math.floor(max / LIVE_SHARDS) + (n < max % LIVE_SHARDS ? 1 : 0)

/** A channel's home shard, from its opaque name. */
const homeOf = (member: string): number => (member.charCodeAt(0) * 64 + member.charCodeAt(1)) % LIVE_SHARDS

/** The cap over the shards `shards` on a cluster: reserving and freeing places, counting them. */
const shardedCap = (client: RedisClient, clock: Clock, shards: readonly string[]) => {
  // The shards' live counts as last read, kept for COUNTS_FRESH_MS of the clock and updated by this
  // process's own reservations and releases; liveCount() always reads afresh.
  let seen: { atMs: number; counts: number[] } | null = null
  const liveCounts = async (): Promise<number[]> => {
    const atMs = clock.now()
    const counts = await Promise.all(shards.map((key) => client.zcount(key, `(${atMs}`, '+inf')))
    seen = { atMs, counts }
    return counts
  }
  const recentCounts = (): Promise<number[]> => {
    const age = seen === null ? -1 : clock.now() - seen.atMs
    return seen !== null && age >= 0 && age < COUNTS_FRESH_MS ? Promise.resolve(seen.counts) : liveCounts()
  }
  const adjust = (n: number, by: number): void => {
    if (seen !== null) seen.counts[n] = Math.max(0, (seen.counts[n] as number) + by)
  }

  /**
   * Reserves a place: in the home shard, else in the next shard with room. A shard admits while it holds
   * less than its share (never above the cap, however many creates race) and while it and the others,
   * as counted recently, hold less than the cap (exact when the cap was lowered, or creates are spread
   * unevenly over the shares).
   */
  const reserve = async (member: string, expiresAt: number, max: number): Promise<number | 'dup' | 'full'> => {
    const counts = [...(await recentCounts())]
    const total = counts.reduce((sum, count) => sum + count, 0)
    const home = homeOf(member)
    for (let step = 0; step < LIVE_SHARDS; step++) {
      const n = (home + step) % LIVE_SHARDS
      const share = shareOf(max, n)
      if (step > 0 && (counts[n] as number) >= share) continue
      const others = total - (counts[n] as number)
      const outcome = await reserveScript(client, [shards[n] as string, member, expiresAt, clock.now(), share, max, others])
      if (outcome === 'dup') return 'dup'
      if (outcome === 'ok') {
        adjust(n, 1)
        return n
      }
    }
    return 'full'
  }
  const release = async (n: string | number, member: string): Promise<void> => {
    if ((await client.zrem(shards[Number(n)] as string, member)) === 1) adjust(Number(n), -1)
  }

  return { reserve, release, liveCounts }
}

/**
 * The channel store over `client`, its keys under `keyPrefix`, with the fused rate-limited intents of
 * ./redis-fused.ts (`counting`: the counter store's key names and its plain hit, for the create counter).
 *
 * @example
 * const channels = redisChannels(client, 'qrelay:', systemClock, (json) => JSON.parse(json), counting)
 */
export const redisChannels = (
  client: RedisClient,
  keyPrefix: string,
  clock: Clock,
  decode: (json: string | null) => ChannelRecord | null,
  counting: Pick<FusedChannelParts, 'counterKey' | 'hitWindow'>,
): ChannelStore => {
  defineScripts(client, [reserveScript, createScript, replaceScript, takeScript, createOneNodeScript, takeOneNodeScript])
  const recordKey = (id: string): string => `${keyPrefix}{c:${opaqueKey(id)}}`
  const shardKey = (n: number): string => `${keyPrefix}{live:${n}}`
  const shards = Array.from({ length: LIVE_SHARDS }, (_, n) => shardKey(n))

  const { reserve, release, liveCounts } = shardedCap(client, clock, shards)

  const oneNode = !client.isCluster
  const channels: ChannelStore = {
    async create(record, maxLive) {
      const member = opaqueKey(record.id)
      const json = JSON.stringify(record)
      const { rev, expiresAtMs } = record
      if (oneNode) {
        const home = homeOf(member)
        return createOneNodeScript(client, [recordKey(record.id), ...shards, member, expiresAtMs, clock.now(), maxLive, home, rev, json])
      }
      const place = await reserve(member, expiresAtMs, maxLive)
      if (place === 'full') return 'capacity'
      // A live place for this name: a create of the same id got there first (it stores the record).
      if (place === 'dup') return 'exists'
      const outcome = await createScript(client, [recordKey(record.id), rev, json, expiresAtMs, clock.now(), place])
      // Two creates of one id that reserved on two shards: the one refused here gives its place back.
      if (outcome === 'exists') await release(place, member)
      return outcome
    },
    async get(id) {
      return decode(await client.hget(recordKey(id), 'd'))
    },
    replaceIfMatch: (id, expectedRev, next) =>
      replaceScript(client, [recordKey(id), expectedRev, next.rev, JSON.stringify(next), next.expiresAtMs, clock.now()]),
    async takeOnce(id) {
      if (oneNode) return decode(await takeOneNodeScript(client, [recordKey(id), ...shards, opaqueKey(id), clock.now()]))
      const taken = await takeScript(client, [recordKey(id), clock.now()])
      if (taken === null) return null
      await release(taken[0], opaqueKey(id))
      return decode(taken[1] ?? null)
    },
    async delete(id) {
      return (await channels.takeOnce(id)) !== null
    },
    async liveCount() {
      return (await liveCounts()).reduce((sum, count) => sum + count, 0)
    },
  }
  const fused = redisFusedChannels({
    ...{ client, clock, decode, recordKey, shards, homeOf, release, create: channels.create, ...counting },
    get: channels.get,
    replaceIfMatch: channels.replaceIfMatch,
  })
  return { ...channels, ...fused }
}
