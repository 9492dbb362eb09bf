/**
 * The session mint of the Redis durable store (`DeviceStore.createWithTokens`): the device, its first
 * refresh family and access token, and the feed event, written by one script on the account's slot
 * after the token's and the family's pointers (on their own slots) were claimed. The rules of a
 * planned mint (a redemption plan's retry) are those of every adapter (`./session-mint.ts`).
 */
import type { RedisClient } from '../storage/redis-client.ts'
import type { DurableStore, SecurityEvent, SessionMintOutcome } from '../../ports.ts'
import { INDEX, PRELUDE } from './redis-scripts.ts'
import { FEED_APPEND } from './redis-security-scripts.ts'
import { deviceArgs, flag, type RedisDurableContext } from './redis-tokens.ts'
import { storedEvent } from './security-feed.ts'
import { tokensFitDevice } from './session-mint.ts'

// The session mint (`DeviceStore.createWithTokens`), one script: the device, its first family and
// access token, and the feed event (`append_event` of FEED_APPEND in ./redis-security-scripts.ts). A
// planned mint keeps records of its plan already stored and appends its event once
// (./session-mint.ts: `missingParts`, `reportedIn`).
// ARGV: now, planned, deviceId, deviceJson, displayName, lastSeenAtMs, network, hasNetwork,
//       familyId, familyFixedJson, currentHash, familyExpiresAtMs, accessId, accessJson, accessExpiresAtMs,
//       hasEvent, retentionMs, maxEvents, eventJson (without id), authorisedEpoch ('' when not compared),
//       maxDevices ('' when not capped; finding 62: at the cap, the account's devices with no live family
//       are signed out, unless that still leaves it at the cap: then 'full', nothing written).
const SESSION_MINT = `
local now = tonumber(ARGV[1])
if not usable(now) then return 'denied' end
if ARGV[20] ~= '' and tonumber(redis.call('HGET', KEYS[1], 'ae') or '0') > tonumber(ARGV[20]) then return 'denied' end
local did, fid, aid = ARGV[3], ARGV[9], ARGV[13]
local dev, rf, at, ev = base .. 'dev:' .. did, base .. 'rf:' .. fid, base .. 'at:' .. aid, base .. 'ev'
local function live(key, field)
  local e = redis.call('HGET', key, field)
  return e ~= false and tonumber(e) > now
end
local has_dev, has_rf, has_at = redis.call('EXISTS', dev) == 1, live(rf, 'exp'), live(at, 'e')
local with_event = ARGV[16] == '1'
if ARGV[2] ~= '1' then
  if has_dev or has_rf or has_at then return 'exists' end
else
  if with_event then
    local e = cjson.decode(ARGV[19])
    for _, m in ipairs(redis.call('ZRANGE', ev, 0, -1)) do
      local exp, json = string.match(m, '^(%d+):%d+:(.*)$')
      if exp and tonumber(exp) > now then
        local o = cjson.decode(json)
        if o.type == e.type and o.deviceId ~= nil and o.deviceId == e.deviceId then return 'exists' end
      end
    end
  end
  if has_dev then
    local d, n = cjson.decode(redis.call('HGET', dev, 'j')), cjson.decode(ARGV[4])
    if d.accountId ~= n.accountId or d.origin ~= n.origin or d.approvedByDeviceId ~= n.approvedByDeviceId
      or d.channelHash ~= n.channelHash then return 'exists' end
  end
  if has_rf then
    local f = redis.call('HMGET', rf, 'dev', 'rev', 'cur', 'gen', 'j')
    local j, n = cjson.decode(f[5]), cjson.decode(ARGV[10])
    if f[1] ~= did or f[2] or f[3] ~= ARGV[11] or f[4] ~= '0' or j.accountId ~= n.accountId or j.jkt ~= n.jkt then
      return 'exists'
    end
  end
  if has_at then
    local a, n = cjson.decode(redis.call('HGET', at, 'j')), cjson.decode(ARGV[14])
    if a.accountId ~= n.accountId or a.deviceId ~= n.deviceId or a.familyId ~= n.familyId
      or a.secretHash ~= n.secretHash or a.jkt ~= n.jkt then return 'exists' end
  end
  if has_dev and has_rf and has_at and not with_event then return 'exists' end
end
if not has_dev and ARGV[21] ~= '' then
  local devs, max = base .. 'devs', tonumber(ARGV[21])
  local count = redis.call('SCARD', devs)
  if count >= max then
    local dead = {}
    for _, other in ipairs(redis.call('SMEMBERS', devs)) do
      local alive = false
      for _, f in ipairs(redis.call('SMEMBERS', base .. 'drf:' .. other)) do
        local x = redis.call('HMGET', base .. 'rf:' .. f, 'exp', 'rev')
        if x[1] and tonumber(x[1]) > now and not x[2] then alive = true break end
      end
      if not alive then table.insert(dead, other) end
    end
    if count - #dead >= max then return 'full' end
    for _, other in ipairs(dead) do
      if revoke_device(other, ARGV[1]) == 0 then redis.call('SREM', devs, other) end
    end
  end
end
if not has_dev then
  redis.call('HSET', dev, 'j', ARGV[4], 'n', ARGV[5], 't', ARGV[6])
  if ARGV[8] == '1' then redis.call('HSET', dev, 'net', ARGV[7]) end
  redis.call('SADD', base .. 'devs', did)
end
if not has_rf then
  redis.call('DEL', rf, base .. 'rfu:' .. fid, base .. 'rfz:' .. fid, base .. 'fat:' .. fid)
  redis.call('HSET', rf, 'j', ARGV[10], 'cur', ARGV[11], 'gen', 0, 'exp', ARGV[12], 'dev', did)
  redis.call('PEXPIREAT', rf, ARGV[12])
  local drf = base .. 'drf:' .. did
  for _, other in ipairs(redis.call('SMEMBERS', drf)) do
    if redis.call('EXISTS', base .. 'rf:' .. other) == 0 then redis.call('SREM', drf, other) end
  end
  redis.call('SADD', drf, fid)
end
if not has_at then
  redis.call('DEL', at)
  redis.call('HSET', at, 'j', ARGV[14], 'e', ARGV[15])
  redis.call('PEXPIREAT', at, ARGV[15])
  index_token(base .. 'dat:' .. did, aid, ARGV[15], now)
  index_token(base .. 'fat:' .. fid, aid, ARGV[15], now)
end
if with_event then append_event(ev, now, tonumber(ARGV[17]), tonumber(ARGV[18]), ARGV[19]) end
return 'ok'`

/** The script as an ioredis command (KEYS[1] = the account hash). */
export interface MintScripts {
  qdSessionMint(acct: string, ...args: Array<string | number>): Promise<SessionMintOutcome>
}

/** [command name, Lua source]. */
export const MINT_SCRIPTS: ReadonlyArray<readonly [keyof MintScripts, string]> = [
  ['qdSessionMint', PRELUDE + INDEX + FEED_APPEND + SESSION_MINT],
]

/** An event as a feed member stores it: its JSON without the id (the score holds the id). */
export const eventJson = (event: SecurityEvent): string => {
  const { id: _ignored, ...rest } = storedEvent(0, event)
  return JSON.stringify(rest)
}

/** Claims a pointer for `accountId`: `new` (set here), `same` (already this account's) or `other`. */
const claimPointer = async (
  client: RedisClient,
  key: string,
  accountId: string,
  expiresAtMs: number,
): Promise<'new' | 'same' | 'other'> => {
  if ((await client.set(key, accountId, 'PXAT', expiresAtMs, 'NX')) === 'OK') return 'new'
  return (await client.get(key)) === accountId ? 'same' : 'other'
}

/**
 * `DeviceStore.createWithTokens`: the family's and the token's pointers are claimed first (SET NX; a
 * retry of the same plan finds them its own), then one script writes the session on the account's
 * slot. Until then the pointers point at nothing there. A refused mint deletes the pointers it
 * claimed, except a planned one's: its ids are its plan's alone, and a concurrent retry may hold
 * them. A pointer claimed by an earlier try is set again to expire with the records written now.
 */
export const redisSessionMint =
  ({ client, redis, clock, acct, tokenPointer, familyPointer }: RedisDurableContext): DurableStore['devices']['createWithTokens'] =>
  async (d, records, append, planned, authorisedEpoch, maxDevices) => {
    if (!tokensFitDevice(d, records)) return 'denied'
    const { family, access } = records
    const pointers = [
      { key: familyPointer(family.id), expiresAtMs: family.expiresAtMs },
      { key: tokenPointer(access.id), expiresAtMs: access.expiresAtMs },
    ]
    const claims = await Promise.all(pointers.map(({ key, expiresAtMs }) => claimPointer(client, key, d.accountId, expiresAtMs)))
    let outcome: SessionMintOutcome = 'exists'
    if (!claims.includes('other')) {
      const { currentHash, previousHash: _p, rotatedAtMs: _r, revokedAtMs: _v, generation: _g, ...fixed } = family
      outcome = await redis.qdSessionMint(
        acct(d.accountId),
        clock.now(),
        planned === true ? '1' : '0',
        ...deviceArgs(d),
        family.id,
        JSON.stringify(fixed),
        currentHash,
        family.expiresAtMs,
        access.id,
        JSON.stringify(access),
        access.expiresAtMs,
        flag(append),
        append?.bounds.retentionMs ?? 0,
        append?.bounds.maxEvents ?? 0,
        append === undefined ? '' : eventJson(append.event),
        authorisedEpoch ?? '',
        maxDevices ?? '',
      )
    }
    if (outcome === 'ok') {
      await Promise.all(
        pointers.map(({ key, expiresAtMs }, n) => (claims[n] === 'same' ? client.set(key, d.accountId, 'PXAT', expiresAtMs) : undefined)),
      )
    } else if (planned !== true) {
      await Promise.all(pointers.map(({ key }, n) => (claims[n] === 'new' ? client.del(key) : undefined)))
    }
    return outcome
  }
