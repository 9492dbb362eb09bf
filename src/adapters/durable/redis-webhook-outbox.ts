/**
 * Webhook outbox in Redis: a sorted set of message ids by due time (`{wh}:due`, the score is
 * `nextAttemptAtMs`, so a leased message is scored at its lease's end), a hash per message
 * (`{wh}:m:<id>`: b body, c createdAtMs, a attempts, e last error, k order key), a sorted set of dead
 * ids (`{wh}:dead`) and, per order key, a sorted set of its live ids by `createdAtMs` (`{wh}:k:<key>`;
 * ties are ordered by id, as Redis orders equal scores by member): a message is claimable only while
 * it is the first of its key's set (head of line). The claimable ones (the heads, and the messages
 * without a key) are also in `{wh}:ready`, scored as in `due`: a claim reads only that set, so the
 * messages waiting behind their head cost it nothing however many they are (finding 69; an outbox
 * written before `ready` existed gets it built by its first claim). The ids of completed messages stay in a sorted set
 * (`{wh}:done`, scored by their last due time) until a claim forgets them: an enqueue of one is a no-op. One Lua script per intent; every key carries the `{wh}` hash tag, so a claim of many
 * messages is one script on one cluster slot. Durability is the operator's Redis configuration (AOF,
 * no eviction), as for the durable store.
 */
import type { RedisClient } from '../storage/redis-client.ts'
import { COMPLETED_ID_MEMORY_MS, type WebhookMessage, type WebhookOutbox } from '../../ports.ts'

/** Options of {@link redisWebhookOutbox}: a ready client (the runtime builds it) and a key prefix. */
export interface RedisWebhookOutboxOptions {
  client: RedisClient
  /** Must not contain `{` or `}`. */
  keyPrefix?: string
}

// KEYS[1] is `<prefix>{wh}:due`; the other keys are derived from it and share its hash tag.
const PRELUDE = `
local base = string.sub(KEYS[1], 1, -4)
local dead = base .. 'dead'
local done = base .. 'done'
local function msg(id) return base .. 'm:' .. id end
local function ofKey(k) return base .. 'k:' .. k end
local ready = base .. 'ready'
local function unorder(id)
  local k = redis.call('HGET', msg(id), 'k')
  if k then redis.call('ZREM', ofKey(k), id) end
  return k
end
-- The head of key k (if any) is claimable, at its due score.
local function promote(k)
  if not k then return end
  local head = redis.call('ZRANGE', ofKey(k), 0, 0)[1]
  if head then redis.call('ZADD', ready, redis.call('ZSCORE', KEYS[1], head), head) end
end
`
// ARGV: id, body, createdAtMs, nextAttemptAtMs, orderKey ('' for none).
const ENQUEUE = `
if redis.call('EXISTS', msg(ARGV[1])) == 1 or redis.call('ZSCORE', done, ARGV[1]) then return 0 end
redis.call('HSET', msg(ARGV[1]), 'b', ARGV[2], 'c', ARGV[3], 'a', 0)
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
if ARGV[5] == '' then
  redis.call('ZADD', ready, ARGV[4], ARGV[1])
else
  redis.call('HSET', msg(ARGV[1]), 'k', ARGV[5])
  redis.call('ZADD', ofKey(ARGV[5]), ARGV[3], ARGV[1])
  -- Claimable only as the head; a new head (older than the one before) takes the place of the old one.
  local first = redis.call('ZRANGE', ofKey(ARGV[5]), 0, 1)
  if first[1] == ARGV[1] then
    redis.call('ZADD', ready, ARGV[4], ARGV[1])
    if first[2] then redis.call('ZREM', ready, first[2]) end
  end
end
return 1`
// ARGV: nowMs, limit, leaseEndMs, forgetUpToMs. Returns [id, body, createdAtMs, attempts, lastError|false,
// orderKey|false] per message. First forgets a bounded batch of completed ids due up to forgetUpToMs.
// Reads only the ready set (heads and messages without a key), never a message waiting behind its head.
const CLAIM = `
local forget = redis.call('ZRANGEBYSCORE', done, '-inf', ARGV[4], 'LIMIT', 0, 500)
if #forget > 0 then redis.call('ZREM', done, unpack(forget)) end
-- An outbox written before the ready set: build it once, from the heads and the messages without a key.
if redis.call('EXISTS', ready) == 0 and redis.call('ZCARD', KEYS[1]) > 0 then
  local all = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
  for i = 1, #all, 2 do
    local k = redis.call('HGET', msg(all[i]), 'k')
    if not k or redis.call('ZRANGE', ofKey(k), 0, 0)[1] == all[i] then redis.call('ZADD', ready, all[i + 1], all[i]) end
  end
end
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', ready, '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))) do
  local a = redis.call('HINCRBY', msg(id), 'a', 1)
  redis.call('ZADD', KEYS[1], ARGV[3], id)
  redis.call('ZADD', ready, ARGV[3], id)
  local f = redis.call('HMGET', msg(id), 'b', 'c', 'e', 'k')
  out[#out + 1] = { id, f[1], f[2], a, f[3], f[4] }
end
return out`
// ARGV: id. The id is remembered in the done set, scored by its last due (or dead) time.
const COMPLETE = `
local at = redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZSCORE', dead, ARGV[1])
if not at then return 0 end
local k = unorder(ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', ready, ARGV[1])
redis.call('ZREM', dead, ARGV[1])
redis.call('ZADD', done, at, ARGV[1])
promote(k)
return redis.call('DEL', msg(ARGV[1]))`
// ARGV: id, attempts, nextAttemptAtMs, lastError.
const RESCHEDULE = `
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
if redis.call('HGET', msg(ARGV[1]), 'a') ~= ARGV[2] then return 0 end
redis.call('HSET', msg(ARGV[1]), 'e', ARGV[4])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('ZADD', ready, 'XX', ARGV[3], ARGV[1])
return 1`
// ARGV: id, attempts, lastError.
const DEAD_LETTER = `
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then return 0 end
if redis.call('HGET', msg(ARGV[1]), 'a') ~= ARGV[2] then return 0 end
redis.call('HSET', msg(ARGV[1]), 'e', ARGV[3])
local k = unorder(ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', ready, ARGV[1])
redis.call('ZADD', dead, score, ARGV[1])
-- A dead message holds nothing back: the next of its key is the head now.
promote(k)
return 1`
// ARGV: limit. Returns [id, body, createdAtMs, attempts, lastError|false, orderKey|false, score] per message.
const LIST_DEAD = `
local out = {}
for _, id in ipairs(redis.call('ZRANGE', dead, 0, tonumber(ARGV[1]) - 1)) do
  local f = redis.call('HMGET', msg(id), 'b', 'c', 'a', 'e', 'k')
  out[#out + 1] = { id, f[1], f[2], f[3], f[4], f[5], redis.call('ZSCORE', dead, id) }
end
return out`

type Row = [string, string, string, number | string, string | null, string | null, string?]

interface OutboxScripts {
  qwEnqueue(due: string, id: string, body: string, createdAtMs: number, nextAttemptAtMs: number, orderKey: string): Promise<number>
  qwClaim(due: string, nowMs: number, limit: number, leaseEndMs: number, forgetUpToMs: number): Promise<Row[]>
  qwComplete(due: string, id: string): Promise<number>
  qwReschedule(due: string, id: string, attempts: number, nextAttemptAtMs: number, lastError: string): Promise<number>
  qwDeadLetter(due: string, id: string, attempts: number, lastError: string): Promise<number>
  qwListDead(due: string, limit: number): Promise<Row[]>
}

const SCRIPTS: ReadonlyArray<readonly [keyof OutboxScripts, string]> = [
  ['qwEnqueue', PRELUDE + ENQUEUE],
  ['qwClaim', PRELUDE + CLAIM],
  ['qwComplete', PRELUDE + COMPLETE],
  ['qwReschedule', PRELUDE + RESCHEDULE],
  ['qwDeadLetter', PRELUDE + DEAD_LETTER],
  ['qwListDead', PRELUDE + LIST_DEAD],
]

const toMessage = ([id, body, createdAtMs, attempts, lastError, orderKey]: Row, nextAttemptAtMs: number): WebhookMessage => ({
  id,
  body,
  createdAtMs: Number(createdAtMs),
  ...(orderKey === null || orderKey === undefined ? {} : { orderKey }),
  nextAttemptAtMs,
  attempts: Number(attempts),
  ...(lastError === null || lastError === undefined ? {} : { lastError }),
})

/**
 * Builds the Redis outbox over a ready ioredis client (the caller owns and closes it).
 *
 * @example
 * const outbox = redisWebhookOutbox({ client, keyPrefix: 'qrelay:' })
 */
export const redisWebhookOutbox = ({ client, keyPrefix = 'qrelay:' }: RedisWebhookOutboxOptions): WebhookOutbox => {
  if (/[{}]/.test(keyPrefix)) throw new Error('keyPrefix must not contain { or }')
  for (const [name, lua] of SCRIPTS) {
    if (!(name in client)) client.defineCommand(name, { numberOfKeys: 1, lua })
  }
  const redis = client as unknown as OutboxScripts
  const due = `${keyPrefix}{wh}:due`
  const dead = `${keyPrefix}{wh}:dead`
  return {
    enqueue: async (m) => (await redis.qwEnqueue(due, m.id, m.body, m.createdAtMs, m.nextAttemptAtMs, m.orderKey ?? '')) === 1,
    async claimDue(nowMs, limit, leaseMs) {
      const rows = await redis.qwClaim(due, nowMs, limit, nowMs + leaseMs, nowMs - COMPLETED_ID_MEMORY_MS)
      return rows.map((row) => toMessage(row, nowMs + leaseMs))
    },
    complete: async (id) => (await redis.qwComplete(due, id)) === 1,
    reschedule: async (id, attempts, nextAttemptAtMs, lastError) =>
      (await redis.qwReschedule(due, id, attempts, nextAttemptAtMs, lastError)) === 1,
    deadLetter: async (id, attempts, lastError) => (await redis.qwDeadLetter(due, id, attempts, lastError)) === 1,
    async listDead(limit) {
      if (limit <= 0) return []
      return (await redis.qwListDead(due, limit)).map((row) => toMessage(row, Number(row[6])))
    },
    async counts() {
      const [pending, deadCount] = await Promise.all([client.zcard(due), client.zcard(dead)])
      return { pending, dead: deadCount }
    },
  }
}
