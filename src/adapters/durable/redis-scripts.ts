/**
 * Lua scripts of the Redis durable store, one per atomic intent. Every script runs on one account:
 * KEYS[1] is the account hash `<prefix>{a:<id>}:acct`, and the script derives the account's other
 * keys from it (`base` below), which all carry the same `{a:<id>}` hash tag and so live on the same
 * cluster slot. Deriving is how a script reaches a data-dependent set of keys (a device's tokens) and
 * is safe on Redis Cluster exactly because of that shared tag.
 *
 * Each rule here mirrors one in `src/core/accounts/records.ts` (`isAccountUsable`, `judgeRefresh`);
 * the conformance suite holds the two to the same behaviour. Times are the application's clock,
 * passed in as `now`, so expiry agrees with the other adapters even when Redis' clock drifts.
 */

import { DEVICE_TOUCH } from './redis-device-touch.ts'

// The prelude of every account script (also the session mint's, ./redis-session-mint.ts).
// Account layout (base = `<prefix>{a:<id>}:`):
//   acct          hash  j (record JSON), v (version), uk (username key), s (status), l (locked until),
//                       ts (last TOTP step), ae (the record's authEpoch, read by the session mint; absent: 0)
//   rc            set   recovery code hashes
//   devs          set   device ids;  dev:<id>  hash  j (record JSON at creation), n (name), t (last seen), net,
//                       rn (recent networks JSON, once touched)
//   at:<id>       hash  j (token JSON), e (expiresAtMs); expires at e
//   dat:<device>  zset  access token ids by expiry;  fat:<family>  the same per family
//   rf:<family>   hash  j (immutable JSON), cur, prev, rot, gen, rev, exp, dev; expires at exp
//   rfz:<family>  zset  hashes rotated out, scored by their generation: the newest REFRESH_USED_KEPT
//                       (finding 63);  rfu:<family>  set  the same, as written before (read, never written)
//   drf:<device>  set   family ids
export const PRELUDE = `
local base = string.sub(KEYS[1], 1, -5)
local function usable(now)
  local a = redis.call('HMGET', KEYS[1], 's', 'l')
  return a[1] == 'active' and tonumber(a[2]) <= now
end
local function has_device(id)
  return redis.call('EXISTS', base .. 'dev:' .. id) == 1
end
local function delete_tokens(index)
  for _, id in ipairs(redis.call('ZRANGE', index, 0, -1)) do redis.call('DEL', base .. 'at:' .. id) end
  redis.call('DEL', index)
end
-- now is passed as the ARGV string, so that stored times are written digit for digit.
local function revoke_family(fid, now)
  local rf = base .. 'rf:' .. fid
  local f = redis.call('HMGET', rf, 'exp', 'rev')
  if not f[1] or tonumber(f[1]) <= tonumber(now) or f[2] then return 0 end
  redis.call('HSET', rf, 'rev', now)
  delete_tokens(base .. 'fat:' .. fid)
  return 1
end
local function revoke_device(did, now)
  if redis.call('DEL', base .. 'dev:' .. did) == 0 then return 0 end
  redis.call('SREM', base .. 'devs', did)
  delete_tokens(base .. 'dat:' .. did)
  local drf = base .. 'drf:' .. did
  for _, fid in ipairs(redis.call('SMEMBERS', drf)) do revoke_family(fid, now) end
  redis.call('DEL', drf)
  return 1
end
`

// ARGV: json, version, usernameKey, status, lockedUntilMs.
const ACCOUNT_CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'j', ARGV[1], 'v', ARGV[2], 'uk', ARGV[3], 's', ARGV[4], 'l', ARGV[5], 'ts', -1)
redis.call('HSET', KEYS[1], 'ae', string.format('%d', cjson.decode(ARGV[1]).authEpoch or 0))
return 1`

// The account's compare-and-swap over the seven ARGV from `a` (`accountUpdateArgs`): expectedVersion,
// json, nextVersion, usernameKey, status, lockedUntilMs, sameId ('1' or '0'). Also used by the update
// with its sign-out (./redis-account-change.ts).
export const ACCOUNT_SWAP = `
local function account_swap(a)
  local cur = redis.call('HMGET', KEYS[1], 'v', 'uk')
  if not cur[1] then return 'missing' end
  if cur[2] ~= ARGV[a + 3] or ARGV[a + 6] ~= '1' then return 'renamed' end
  if cur[1] ~= ARGV[a] then return 'mismatch' end
  redis.call('HSET', KEYS[1], 'j', ARGV[a + 1], 'v', ARGV[a + 2], 's', ARGV[a + 4], 'l', ARGV[a + 5])
  -- The sign-in epoch, copied from the record for the session mint (an update writes it rarely).
  redis.call('HSET', KEYS[1], 'ae', string.format('%d', cjson.decode(ARGV[a + 1]).authEpoch or 0))
  return 'ok'
end
`

const ACCOUNT_UPDATE = `${ACCOUNT_SWAP}return account_swap(1)`

// ARGV: step.
const TOTP_STEP = `
local ts = redis.call('HGET', KEYS[1], 'ts')
if not ts or tonumber(ARGV[1]) <= tonumber(ts) then return 0 end
redis.call('HSET', KEYS[1], 'ts', ARGV[1])
return 1`

// ARGV: code hashes.
const RECOVERY_REPLACE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('DEL', base .. 'rc')
for _, h in ipairs(ARGV) do redis.call('SADD', base .. 'rc', h) end
return 1`

// ARGV: now, deviceId, json, displayName, lastSeenAtMs, network, hasNetwork.
const DEVICE_CREATE = `
if not usable(tonumber(ARGV[1])) then return 'denied' end
local dev = base .. 'dev:' .. ARGV[2]
if redis.call('EXISTS', dev) == 1 then return 'exists' end
redis.call('HSET', dev, 'j', ARGV[3], 'n', ARGV[4], 't', ARGV[5])
if ARGV[7] == '1' then redis.call('HSET', dev, 'net', ARGV[6]) end
redis.call('SADD', base .. 'devs', ARGV[2])
return 'ok'`

const DEVICE_LIST = `
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', base .. 'devs')) do
  local d = redis.call('HMGET', base .. 'dev:' .. id, 'j', 'n', 't', 'net', 'rn')
  if d[1] then out[#out + 1] = d end
end
return out`

// ARGV: deviceId, displayName.
const DEVICE_RENAME = `
local dev = base .. 'dev:' .. ARGV[1]
if redis.call('EXISTS', dev) == 0 then return 0 end
redis.call('HSET', dev, 'n', ARGV[2])
return 1`

// ARGV: deviceId, now.
const DEVICE_REVOKE = `return revoke_device(ARGV[1], ARGV[2])`

// Signs out every device of the account but `keep` (when `has_keep` is '1'); how many. Needs the
// prelude; also used by the update with its sign-out (./redis-account-change.ts).
export const REVOKE_ALL_EXCEPT = `
local function revoke_all_except(keep, has_keep, now)
  local n = 0
  for _, id in ipairs(redis.call('SMEMBERS', base .. 'devs')) do
    if not (has_keep == '1' and id == keep) then n = n + revoke_device(id, now) end
  end
  return n
end
`

// ARGV: keepDeviceId, hasKeep, now.
const DEVICE_REVOKE_ALL_EXCEPT = `${REVOKE_ALL_EXCEPT}return revoke_all_except(ARGV[1], ARGV[2], ARGV[3])`

// Adds a token to an expiry index and lets the index expire with its last token (also used by the
// session mint, ./redis-session-mint.ts).
export const INDEX = `
local function index_token(index, id, expiresAt, now)
  redis.call('ZREMRANGEBYSCORE', index, '-inf', now)
  redis.call('ZADD', index, expiresAt, id)
  local last = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', index, last[2])
end
`

// ARGV: now, tokenId, deviceId, familyId, hasFamily, json, expiresAtMs.
const ACCESS_PUT = `
local now = tonumber(ARGV[1])
if not usable(now) or not has_device(ARGV[3]) then return 'denied' end
if ARGV[5] == '1' then
  local f = redis.call('HMGET', base .. 'rf:' .. ARGV[4], 'dev', 'exp', 'rev')
  if f[1] ~= ARGV[3] or tonumber(f[2]) <= now or f[3] then return 'denied' end
end
local at = base .. 'at:' .. ARGV[2]
local e = redis.call('HGET', at, 'e')
if e and tonumber(e) > now then return 'exists' end
redis.call('DEL', at)
redis.call('HSET', at, 'j', ARGV[6], 'e', ARGV[7])
redis.call('PEXPIREAT', at, ARGV[7])
index_token(base .. 'dat:' .. ARGV[3], ARGV[2], ARGV[7], now)
if ARGV[5] == '1' then index_token(base .. 'fat:' .. ARGV[4], ARGV[2], ARGV[7], now) end
return 'ok'`

// ARGV: tokenId, now. 1 when a live token was deleted.
const ACCESS_REVOKE = `
local at = base .. 'at:' .. ARGV[1]
local e = redis.call('HGET', at, 'e')
if not e then return 0 end
redis.call('DEL', at)
if tonumber(e) > tonumber(ARGV[2]) then return 1 end
return 0`

// ARGV: now, familyId, deviceId, json, currentHash, generation, expiresAtMs, previousHash, rotatedAtMs, revokedAtMs
// ('' when absent).
const FAMILY_CREATE = `
local now = tonumber(ARGV[1])
if not usable(now) or not has_device(ARGV[3]) then return 'denied' end
local rf = base .. 'rf:' .. ARGV[2]
local exp = redis.call('HGET', rf, 'exp')
if exp and tonumber(exp) > now then return 'exists' end
redis.call('DEL', rf, base .. 'rfu:' .. ARGV[2], base .. 'rfz:' .. ARGV[2], base .. 'fat:' .. ARGV[2])
redis.call('HSET', rf, 'j', ARGV[4], 'cur', ARGV[5], 'gen', ARGV[6], 'exp', ARGV[7], 'dev', ARGV[3])
if ARGV[8] ~= '' then redis.call('HSET', rf, 'prev', ARGV[8]) end
if ARGV[9] ~= '' then redis.call('HSET', rf, 'rot', ARGV[9]) end
if ARGV[10] ~= '' then redis.call('HSET', rf, 'rev', ARGV[10]) end
redis.call('PEXPIREAT', rf, ARGV[7])
local drf = base .. 'drf:' .. ARGV[3]
for _, fid in ipairs(redis.call('SMEMBERS', drf)) do
  if redis.call('EXISTS', base .. 'rf:' .. fid) == 0 then redis.call('SREM', drf, fid) end
end
redis.call('SADD', drf, ARGV[2])
return 'ok'`

// ARGV: now, familyId, presentedHash, nextHash, graceMs, kept (REFRESH_USED_KEPT). Returns {outcome,
// HGETALL of the family...}.
const ROTATE = `
local now = tonumber(ARGV[1])
local fid = ARGV[2]
local rf = base .. 'rf:' .. fid
local rfz = base .. 'rfz:' .. fid
local f = redis.call('HMGET', rf, 'exp', 'rev', 'cur', 'prev', 'rot', 'dev', 'gen')
if not f[1] or tonumber(f[1]) <= now then return {'missing'} end
local outcome
if f[2] then
  outcome = 'revoked'
elseif ARGV[3] == f[3] then
  if not usable(now) or not has_device(f[6]) then
    outcome = 'denied'
  else
    -- The presented token's generation; only the newest ARGV[6] are kept (finding 63).
    local gen = tonumber(f[7] or '0')
    redis.call('ZADD', rfz, gen, ARGV[3])
    redis.call('ZREMRANGEBYSCORE', rfz, '-inf', gen - tonumber(ARGV[6]))
    redis.call('PEXPIREAT', rfz, f[1])
    redis.call('HSET', rf, 'cur', ARGV[4], 'prev', ARGV[3], 'rot', ARGV[1])
    redis.call('HINCRBY', rf, 'gen', 1)
    outcome = 'rotated'
  end
elseif f[4] and ARGV[3] == f[4] and now < tonumber(f[5]) + tonumber(ARGV[5]) then
  outcome = 'raced'
elseif redis.call('ZSCORE', rfz, ARGV[3]) or redis.call('SISMEMBER', base .. 'rfu:' .. fid, ARGV[3]) == 1 then
  revoke_family(fid, ARGV[1])
  outcome = 'reused'
else
  return {'missing'}
end
local out = redis.call('HGETALL', rf)
table.insert(out, 1, outcome)
return out`

// ARGV: familyId, now.
const FAMILY_REVOKE = `return revoke_family(ARGV[1], ARGV[2])`

/** The scripts as ioredis commands (all take KEYS[1] = the account hash). */
export interface DurableScripts {
  qdAccountCreate(acct: string, json: string, version: number, usernameKey: string, status: string, lockedUntilMs: number): Promise<number>
  qdAccountUpdate(
    acct: string,
    expectedVersion: number,
    json: string,
    nextVersion: number,
    usernameKey: string,
    status: string,
    lockedUntilMs: number,
    sameId: string,
  ): Promise<'ok' | 'mismatch' | 'missing' | 'renamed'>
  qdTotpStep(acct: string, step: number): Promise<number>
  qdRecoveryReplace(acct: string, ...hashes: string[]): Promise<number>
  qdDeviceCreate(acct: string, ...args: Array<string | number>): Promise<'ok' | 'exists' | 'denied'>
  qdDeviceList(acct: string): Promise<Array<[string, string, string, string | null, string | null]>>
  qdDeviceRename(acct: string, deviceId: string, displayName: string): Promise<number>
  qdDeviceTouch(
    acct: string,
    deviceId: string,
    atMs: number,
    network: string,
    hasNetwork: string,
    maxNetworks: number,
    windowMs: number,
  ): Promise<number>
  qdDeviceRevoke(acct: string, deviceId: string, now: number): Promise<number>
  qdDeviceRevokeAllExcept(acct: string, keep: string, hasKeep: string, now: number): Promise<number>
  qdAccessPut(acct: string, ...args: Array<string | number>): Promise<'ok' | 'exists' | 'denied'>
  qdAccessRevoke(acct: string, tokenId: string, now: number): Promise<number>
  qdFamilyCreate(acct: string, ...args: Array<string | number>): Promise<'ok' | 'exists' | 'denied'>
  qdRotate(acct: string, now: number, familyId: string, presented: string, next: string, graceMs: number, kept: number): Promise<string[]>
  qdFamilyRevoke(acct: string, familyId: string, now: number): Promise<number>
}

/** [command name, Lua source]: each gets the prelude it needs and one declared key. */
export const DURABLE_SCRIPTS: ReadonlyArray<readonly [keyof DurableScripts, string]> = [
  ['qdAccountCreate', ACCOUNT_CREATE],
  ['qdAccountUpdate', ACCOUNT_UPDATE],
  ['qdTotpStep', TOTP_STEP],
  ['qdRecoveryReplace', PRELUDE + RECOVERY_REPLACE],
  ['qdDeviceCreate', PRELUDE + DEVICE_CREATE],
  ['qdDeviceList', PRELUDE + DEVICE_LIST],
  ['qdDeviceRename', PRELUDE + DEVICE_RENAME],
  ['qdDeviceTouch', PRELUDE + DEVICE_TOUCH],
  ['qdDeviceRevoke', PRELUDE + DEVICE_REVOKE],
  ['qdDeviceRevokeAllExcept', PRELUDE + DEVICE_REVOKE_ALL_EXCEPT],
  ['qdAccessPut', PRELUDE + INDEX + ACCESS_PUT],
  ['qdAccessRevoke', PRELUDE + ACCESS_REVOKE],
  ['qdFamilyCreate', PRELUDE + FAMILY_CREATE],
  ['qdRotate', PRELUDE + ROTATE],
  ['qdFamilyRevoke', PRELUDE + FAMILY_REVOKE],
]
