/**
 * The fused channel intents of the Redis store (`ChannelStore.limitAndGet`, `limitAndTake`,
 * `limitAndCreate`, `limitAndWrite`): a rate-limit hit and a channel operation in one Lua script, so one command and one
 * round trip instead of two or three.
 *
 * The per-channel counters of reads and writes live beside the record they guard, under the record's
 * hash tag (`<prefix>{c:<opaque name>}:rl:<opaque counter name>:<window>`), so the script runs on a Redis
 * Cluster too. They are only ever hit through these intents. The per-client create counter is the
 * counter store's own key, on its own slot: on one Redis (or Sentinel) the create script counts it
 * beside the cap and the record; on a cluster the hit and the create stay two steps (hit first).
 */
import type { ChannelRecord, RendezvousApi } from '../../core/rendezvous/channel.ts'
import type { ChannelLimit, ChannelStore, Clock, CreateOutcome, Limited, WindowCounts } from '../../ports.ts'
import type { TokenWrite, TokenWriteOutcome } from '../../ports/channel-store.ts'
import { nodeOpaqueKey as opaqueKey } from './opaque-key-node.ts'
import type { RedisClient } from './redis-client.ts'
import { defineScripts, redisScript } from './redis-script.ts'
import { writeBySwap } from '../../services/channel-limits.ts'

// KEYS[1] record, KEYS[2] this window, KEYS[3] previous window. ARGV[1..4]: ttlMs, previousWeight,
// currentWeight, capacity. Counts the hit (always), and answers {0, current, previous} when refused.
const HIT = `
local c = redis.call('INCR', KEYS[2])
if c == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[1]) end
local p = tonumber(redis.call('GET', KEYS[3]) or '0')
if p * tonumber(ARGV[2]) + c * tonumber(ARGV[3]) > tonumber(ARGV[4]) then return {0, c, p} end
`
// Then the record's JSON (expiry checked by the caller, as for a plain read).
const LIMIT_GET = `${HIT}return {1, c, p, redis.call('HGET', KEYS[1], 'd')}`
// ARGV[5] api, ARGV[6] now, ARGV[7] member (one Redis only). Takes a record of this API, answering
// {1, c, p, JSON if it was live, its cap shard}; touches nothing of another API. On one Redis KEYS[4..]
// are the cap shards and the place is freed here; on a cluster the caller frees it.
const TAKE_BODY = `
local cur = redis.call('HMGET', KEYS[1], 'e', 'd', 's')
if not cur[1] then return {1, c, p} end
local live = tonumber(cur[1]) > tonumber(ARGV[6])
if live and cjson.decode(cur[2]).api ~= ARGV[5] then return {1, c, p} end
redis.call('DEL', KEYS[1])
if #KEYS > 3 then redis.call('ZREM', KEYS[tonumber(cur[3] or '0') + 4], ARGV[7]) end
return {1, c, p, live and cur[2] or false, cur[3] or '0'}`
const LIMIT_TAKE = `${HIT}${TAKE_BODY}`
// One Redis: KEYS[1] record, KEYS[2..3] the create counter's windows, KEYS[4..] the cap shards.
// ARGV[5..]: member, expiresAt, now, max, home shard, rev, json. As CREATE_ONE_NODE in ./redis-channels.ts.
const LIMIT_CREATE_ONE_NODE = `${HIT}
local now = tonumber(ARGV[7])
local e = redis.call('HGET', KEYS[1], 'e')
if e and tonumber(e) > now then return {1, c, p, 'exists'} end
local total = 0
for i = 4, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  total = total + redis.call('ZCARD', KEYS[i])
end
if total >= tonumber(ARGV[8]) then return {1, c, p, 'capacity'} end
redis.call('ZADD', KEYS[tonumber(ARGV[9]) + 4], ARGV[6], ARGV[5])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'r', ARGV[10], 'e', ARGV[6], 'd', ARGV[11], 's', ARGV[9])
redis.call('PEXPIREAT', KEYS[1], ARGV[6])
return {1, c, p, 'ok'}`

// ARGV[5] api, ARGV[6] now, ARGV[7] expected token, ARGV[8] next token, ARGV[9] data, ARGV[10] '1' for an
// idempotent retry. A write of the Matrix APIs as decideTokenWrite (core/rendezvous/channel.ts) decides
// it, on the live record of this API: {1, c, p, outcome, JSON of the stored (written) or current record}.
// The record is decoded and encoded again here (cjson keeps integers below 10^14 exact: times in ms); one
// cjson cannot read (a lone surrogate's escape) is answered {2} before anything is counted.
const LIMIT_WRITE = `
local cur = redis.call('HMGET', KEYS[1], 'e', 'd')
local readable, rec = true, nil
if cur[2] then readable, rec = pcall(cjson.decode, cur[2]) end
if not readable then return {2, 0, 0} end
${HIT}
if not cur[1] or tonumber(cur[1]) <= tonumber(ARGV[6]) or rec.api ~= ARGV[5] then return {1, c, p, 'missing'} end
if rec.token ~= ARGV[7] then
  if ARGV[10] == '1' and rec.data == ARGV[9] then return {1, c, p, 'unchanged', cur[2]} end
  return {1, c, p, 'stale', cur[2]}
end
rec.data = ARGV[9]
rec.version = rec.version + 1
rec.token = ARGV[8]
rec.rev = rec.rev + 1
rec.updatedAtMs = tonumber(ARGV[6])
local json = cjson.encode(rec)
redis.call('HSET', KEYS[1], 'r', string.format('%d', rec.rev), 'd', json)
return {1, c, p, 'written', json}`

/** A lone surrogate: Redis would get its UTF-8 replacement, so such a write takes the composed path. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

type Answer<T> = [0 | 1 | 2, number, number, T?, string?]
type Args = Array<string | number>

/** What the fused intents need of the channel store they extend. */
export interface FusedChannelParts {
  client: RedisClient
  clock: Clock
  decode: (json: string | null) => ChannelRecord | null
  /** The record's key (its hash tag is the channel's slot). */
  recordKey: (id: string) => string
  /** The cap shards' keys. */
  shards: readonly string[]
  /** The home shard of an opaque name. */
  homeOf: (member: string) => number
  /** Frees the cap place of `member` in shard `n` (cluster). */
  release: (n: string | number, member: string) => Promise<void>
  /** The counter store's key of a counter name (its windows are `<key>:<index>`). */
  counterKey: (name: string) => string
  /** The plain create, for a cluster (the create counter is on another slot). */
  create: ChannelStore['create']
  /** The plain read and compare-and-swap, for a write the write script cannot represent. */
  get: ChannelStore['get']
  replaceIfMatch: ChannelStore['replaceIfMatch']
  /** The plain counter hit, for a cluster's create. */
  hitWindow: (name: string, windowIndex: number, ttlMs: number) => Promise<WindowCounts>
}

const budgetArgs = (limit: ChannelLimit): Args => [
  limit.ttlMs,
  limit.budget.previousWeight,
  limit.budget.currentWeight,
  limit.budget.capacity,
]

/** The outcome of the write script's answer (admitted). */
const writeOutcome = (answer: Answer<TokenWriteOutcome['outcome']>): TokenWriteOutcome => {
  const outcome = answer[3]
  if (outcome === undefined || outcome === 'missing' || outcome === 'busy') return { outcome: 'missing' }
  // The stored JSON as it is: the script checked the record's expiry.
  const record = JSON.parse(answer[4]!) as ChannelRecord
  return outcome === 'written' ? { outcome, record } : outcome === 'unchanged' ? { outcome, record } : { outcome: 'stale', record }
}

const limited = <T, U>(answer: Answer<T>, value: (answer: Answer<T>) => U): Limited<U> => {
  const counts = { current: Number(answer[1]), previous: Number(answer[2]) }
  return answer[0] === 1 ? { admitted: true, counts, value: value(answer) } : { admitted: false, counts }
}

/**
 * The fused intents over `parts`.
 *
 * @example
 * const channels = { ...plain, ...redisFusedChannels(parts) }
 */
export const redisFusedChannels = (
  parts: FusedChannelParts,
): Required<Pick<ChannelStore, 'limitAndGet' | 'limitAndTake' | 'limitAndCreate' | 'limitAndWrite'>> => {
  const { client, clock, decode, recordKey, shards } = parts
  const limitGet = redisScript<Answer<string | null>>('qrChLimitGet', LIMIT_GET, 3)
  const limitTake = redisScript<Answer<string | null>>('qrChLimitTake', LIMIT_TAKE, 3)
  const limitTakeOneNode = redisScript<Answer<string | null>>('qrChLimitTakeOneNode', LIMIT_TAKE, 3 + shards.length)
  const limitCreateOneNode = redisScript<Answer<CreateOutcome>>('qrChLimitCreateOneNode', LIMIT_CREATE_ONE_NODE, 3 + shards.length)
  const limitWrite = redisScript<Answer<TokenWriteOutcome['outcome']>>('qrChLimitWrite', LIMIT_WRITE, 3)
  defineScripts(client, [limitGet, limitTake, limitTakeOneNode, limitCreateOneNode, limitWrite])
  const oneNode = !client.isCluster
  // The record's key, the channel counter's two windows (on the record's slot: no channel id or address
  // shows in their names) and the budget: the head of every channel script's arguments.
  const head = (id: string, limit: ChannelLimit): Args => {
    const record = recordKey(id)
    const base = `${record}:rl:${opaqueKey(limit.key)}`
    const { budget } = limit
    return [
      record,
      `${base}:${limit.windowIndex}`,
      `${base}:${limit.windowIndex - 1}`,
      limit.ttlMs,
      budget.previousWeight,
      budget.currentWeight,
      budget.capacity,
    ]
  }
  const limitAndGet = async (id: string, limit: ChannelLimit): Promise<Limited<ChannelRecord | null>> => {
    const answer = await limitGet(client, head(id, limit))
    return limited(answer, (a) => decode(a[3] ?? null))
  }
  const composedWrite = writeBySwap(limitAndGet, parts)
  return {
    limitAndGet,
    async limitAndWrite(id: string, write: TokenWrite, limit: ChannelLimit) {
      if (!LONE_SURROGATE.test(write.data)) {
        const args = head(id, limit)
        args.push(write.api, write.now, write.expectedToken, write.nextToken, write.data, write.idempotentRetry ? '1' : '0')
        const answer = await limitWrite(client, args)
        if (answer[0] !== 2) return limited(answer, writeOutcome)
      }
      return composedWrite(id, write, limit)
    },
    async limitAndTake(id: string, api: RendezvousApi, limit: ChannelLimit) {
      const member = opaqueKey(id)
      const args = head(id, limit)
      args.push(api, clock.now(), member)
      if (oneNode) {
        // The cap shards are keys too, after the channel's three.
        args.splice(3, 0, ...shards)
        const answer = await limitTakeOneNode(client, args)
        return limited(answer, (a) => decode(a[3] ?? null))
      }
      const answer = await limitTake(client, args)
      if (answer[0] === 1 && answer[4] !== undefined) await parts.release(answer[4], member)
      return limited(answer, (a) => decode(a[3] ?? null))
    },
    async limitAndCreate(record, maxLive, limit) {
      if (!oneNode) {
        const counts = await parts.hitWindow(limit.key, limit.windowIndex, limit.ttlMs)
        const { budget } = limit
        if (counts.previous * budget.previousWeight + counts.current * budget.currentWeight > budget.capacity) {
          return { admitted: false, counts }
        }
        return { admitted: true, counts, value: await parts.create(record, maxLive) }
      }
      const member = opaqueKey(record.id)
      const base = parts.counterKey(limit.key)
      const keys = [recordKey(record.id), `${base}:${limit.windowIndex}`, `${base}:${limit.windowIndex - 1}`, ...shards]
      const { rev, expiresAtMs } = record
      const args = [member, expiresAtMs, clock.now(), maxLive, parts.homeOf(member), rev, JSON.stringify(record)]
      const answer = await limitCreateOneNode(client, [...keys, ...budgetArgs(limit), ...args])
      return limited(answer, (a) => a[3] as CreateOutcome)
    },
  }
}
