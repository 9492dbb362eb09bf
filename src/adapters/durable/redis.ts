/**
 * Redis durable store (ioredis): one Lua script per intent, and everything of one account under one
 * hash tag `{a:<accountId>}`, so each script touches one cluster slot. Three small indexes live on
 * their own slots and only point at an account: username → id (`{u:<key>}`), access token id → account
 * (`{t:<id>}`) and family id → account (`{f:<id>}`). A lookup reads the pointer, then runs the intent on
 * the account; the account's data alone decides every outcome, so a stale pointer can only lead to
 * "not found", never to a wrong answer.
 *
 * Two steps where a name must be unique across accounts: `accounts.create` writes the account, then
 * claims the username with SET NX (the claim decides; a loser deletes its account). A crash between
 * the two leaves an account nobody can find by name, never two accounts with one name. Token and
 * family pointers are written after their record; a crash in between leaves a token that does not
 * work (fail closed). Token and family ids are 128-bit random: uniqueness is checked per account.
 *
 * Durability is the operator's Redis configuration: run it with AOF (`appendonly yes`,
 * `appendfsync everysec` or `always`) and no eviction (`maxmemory-policy noeviction`), or accounts and
 * revocations can be lost or evicted. Needs Redis ≥ 6.2 (SET PXAT).
 */
import type { Redis } from 'ioredis'
import {
  usernameKey,
  type AccessTokenRecord,
  type AccountRecord,
  type DeviceRecord,
  type RefreshFamilyRecord,
} from '../../core/accounts/records.ts'
import type { Clock, DurableStore, ReplaceOutcome, RotateOutcome, StoredSecurityEvent } from '../../ports.ts'
import { DURABLE_SCRIPTS, type DurableScripts } from './redis-scripts.ts'
import { SECURITY_SCRIPTS, type SecurityScripts } from './redis-security-scripts.ts'
import { storedEvent } from './security-feed.ts'

/** Options of {@link redisDurableStore}: a ready client (the runtime builds it), a key prefix and the clock. */
export interface RedisDurableOptions {
  client: Redis
  /** Must not contain `{` or `}`: the hash tags that follow it decide the cluster slot. */
  keyPrefix?: string
  clock: Clock
}

const define = (client: Redis): DurableScripts & SecurityScripts => {
  for (const [name, lua] of [...DURABLE_SCRIPTS, ...SECURITY_SCRIPTS]) {
    if (!(name in client)) client.defineCommand(name, { numberOfKeys: 1, lua })
  }
  return client as unknown as DurableScripts & SecurityScripts
}

/** A member of the feed zset, `<expiresAtMs>:<id>:<JSON without id>`, as an event (null once expired). */
const feedEventFrom = (member: string, nowMs: number): StoredSecurityEvent | null => {
  const [, expires, id, json] = /^(\d+):(\d+):(.*)$/s.exec(member) ?? []
  if (json === undefined || Number(expires) <= nowMs) return null
  return { id: Number(id), ...(JSON.parse(json) as Omit<StoredSecurityEvent, 'id'>) }
}

const flag = (value: unknown): string => (value === undefined ? '0' : '1')

const deviceFrom = ([json, name, seenAt, network]: [string, string, string, string | null]): DeviceRecord => {
  const device = JSON.parse(json) as DeviceRecord
  device.displayName = name
  device.lastSeenAtMs = Number(seenAt)
  if (network === null) delete device.lastSeenNetwork
  else device.lastSeenNetwork = network
  return device
}

// The family hash: `j` holds the fields that never change, the rest are the rotation state.
const familyFrom = (fields: Record<string, string>): RefreshFamilyRecord => {
  const family = JSON.parse(fields.j as string) as RefreshFamilyRecord
  family.currentHash = fields.cur as string
  family.generation = Number(fields.gen)
  if (fields.prev !== undefined) family.previousHash = fields.prev
  if (fields.rot !== undefined) family.rotatedAtMs = Number(fields.rot)
  if (fields.rev !== undefined) family.revokedAtMs = Number(fields.rev)
  return family
}

const pairs = (flat: readonly string[]): Record<string, string> => {
  const out: Record<string, string> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string
  return out
}

/**
 * Builds the Redis durable store over a ready ioredis client (the caller owns and closes it).
 *
 * @example
 * const durable = redisDurableStore({ client: new Redis(url), keyPrefix: 'qrelay:', clock: systemClock })
 */
export const redisDurableStore = ({ client, keyPrefix = 'qrelay:', clock }: RedisDurableOptions): DurableStore => {
  if (/[{}]/.test(keyPrefix)) throw new Error('keyPrefix must not contain { or }')
  const redis = define(client)
  const base = (accountId: string): string => `${keyPrefix}{a:${accountId}}:`
  const acct = (accountId: string): string => `${base(accountId)}acct`
  const usernameIndex = (key: string): string => `${keyPrefix}{u:${key}}`
  const tokenPointer = (id: string): string => `${keyPrefix}{t:${id}}`
  const familyPointer = (id: string): string => `${keyPrefix}{f:${id}}`

  const getAccount = async (id: string): Promise<AccountRecord | null> => {
    const json = await client.hget(acct(id), 'j')
    return json === null ? null : (JSON.parse(json) as AccountRecord)
  }
  const liveFamily = async (accountId: string, familyId: string): Promise<RefreshFamilyRecord | null> => {
    const fields = await client.hgetall(`${base(accountId)}rf:${familyId}`)
    if (fields.j === undefined) return null
    const family = familyFrom(fields)
    return family.expiresAtMs > clock.now() ? family : null
  }

  return {
    kind: 'redis',
    accounts: {
      async create(account) {
        const key = usernameKey(account.username)
        const { id, version, status, lockedUntilMs } = account
        const created = await redis.qdAccountCreate(acct(id), JSON.stringify(account), version, key, status, lockedUntilMs)
        if (created === 0) return 'exists'
        // Second step, on the username's own slot: whoever claims the name first owns it.
        if ((await client.set(usernameIndex(key), id, 'NX')) === 'OK') return 'ok'
        await client.del(acct(account.id))
        return 'exists'
      },
      get: getAccount,
      async findByUsername(username) {
        const key = usernameKey(username)
        const id = await client.get(usernameIndex(key))
        const account = id === null ? null : await getAccount(id)
        return account !== null && usernameKey(account.username) === key ? account : null
      },
      async update(id, expectedVersion, next): Promise<ReplaceOutcome> {
        const outcome = await redis.qdAccountUpdate(
          acct(id),
          expectedVersion,
          JSON.stringify(next),
          next.version,
          usernameKey(next.username),
          next.status,
          next.lockedUntilMs,
          next.id === id ? '1' : '0',
        )
        if (outcome === 'renamed') throw new Error('accounts.update may not change the id or the username')
        return outcome
      },
    },
    credentials: {
      useTotpStep: async (accountId, step) => (await redis.qdTotpStep(acct(accountId), step)) === 1,
      replaceRecoveryCodes: async (accountId, hashes) =>
        (await redis.qdRecoveryReplace(acct(accountId), ...hashes)) === 1,
      consumeRecoveryCode: async (accountId, hash) => (await client.srem(`${base(accountId)}rc`, hash)) === 1,
      countRecoveryCodes: (accountId) => client.scard(`${base(accountId)}rc`),
    },
    devices: {
      create: (d) =>
        redis.qdDeviceCreate(
          acct(d.accountId),
          clock.now(),
          d.id,
          JSON.stringify(d),
          d.displayName,
          d.lastSeenAtMs,
          d.lastSeenNetwork ?? '',
          flag(d.lastSeenNetwork),
        ),
      async get(accountId, deviceId) {
        const fields = await client.hmget(`${base(accountId)}dev:${deviceId}`, 'j', 'n', 't', 'net')
        return fields[0] === null ? null : deviceFrom(fields as [string, string, string, string | null])
      },
      async listByAccount(accountId) {
        const list = (await redis.qdDeviceList(acct(accountId))).map(deviceFrom)
        return list.sort((a, b) => a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      },
      rename: async (accountId, deviceId, name) => (await redis.qdDeviceRename(acct(accountId), deviceId, name)) === 1,
      touch: async (accountId, deviceId, seen) =>
        (await redis.qdDeviceTouch(acct(accountId), deviceId, seen.atMs, seen.network ?? '', flag(seen.network))) === 1,
      revoke: async (accountId, deviceId) => (await redis.qdDeviceRevoke(acct(accountId), deviceId, clock.now())) === 1,
      revokeAllExcept: (accountId, keep) =>
        redis.qdDeviceRevokeAllExcept(acct(accountId), keep ?? '', keep === null ? '0' : '1', clock.now()),
    },
    tokens: {
      async putAccess(t) {
        const outcome = await redis.qdAccessPut(
          acct(t.accountId),
          clock.now(),
          t.id,
          t.deviceId,
          t.familyId ?? '',
          flag(t.familyId),
          JSON.stringify(t),
          t.expiresAtMs,
        )
        if (outcome === 'ok') await client.set(tokenPointer(t.id), t.accountId, 'PXAT', t.expiresAtMs)
        return outcome
      },
      async getAccess(id) {
        const accountId = await client.get(tokenPointer(id))
        if (accountId === null) return null
        const json = await client.hget(`${base(accountId)}at:${id}`, 'j')
        const token = json === null ? null : (JSON.parse(json) as AccessTokenRecord)
        return token !== null && token.expiresAtMs > clock.now() ? token : null
      },
      async revokeAccess(id) {
        const accountId = await client.get(tokenPointer(id))
        if (accountId === null) return false
        const revoked = await redis.qdAccessRevoke(acct(accountId), id, clock.now())
        await client.del(tokenPointer(id))
        return revoked === 1
      },
      async createRefreshFamily(f) {
        const { currentHash, previousHash, rotatedAtMs, revokedAtMs, generation, ...fixed } = f
        const outcome = await redis.qdFamilyCreate(
          acct(f.accountId),
          clock.now(),
          f.id,
          f.deviceId,
          JSON.stringify(fixed),
          currentHash,
          generation,
          f.expiresAtMs,
          previousHash ?? '',
          rotatedAtMs ?? '',
          revokedAtMs ?? '',
        )
        if (outcome === 'ok') await client.set(familyPointer(f.id), f.accountId, 'PXAT', f.expiresAtMs)
        return outcome
      },
      async getRefreshFamily(familyId) {
        const accountId = await client.get(familyPointer(familyId))
        return accountId === null ? null : liveFamily(accountId, familyId)
      },
      async rotateRefresh({ familyId, presentedHash, nextHash, graceMs }) {
        const accountId = await client.get(familyPointer(familyId))
        if (accountId === null) return { outcome: 'missing', family: null }
        const reply = await redis.qdRotate(acct(accountId), clock.now(), familyId, presentedHash, nextHash, graceMs)
        const [outcome, ...fields] = reply
        if (outcome === 'missing' || fields.length === 0) return { outcome: 'missing', family: null }
        return { outcome: outcome as RotateOutcome, family: familyFrom(pairs(fields)) }
      },
      async revokeRefreshFamily(familyId) {
        const accountId = await client.get(familyPointer(familyId))
        return accountId !== null && (await redis.qdFamilyRevoke(acct(accountId), familyId, clock.now())) === 1
      },
    },
    security: {
      markAuthenticated: async (accountId, deviceId, atMs) =>
        (await redis.qdMarkAuthenticated(acct(accountId), deviceId, atMs)) === 1,
      async lastAuthenticated(accountId, deviceId) {
        const la = await client.hget(`${base(accountId)}dev:${deviceId}`, 'la')
        return la === null ? null : Number(la)
      },
      async appendEvent(accountId, event, bounds) {
        const { id: _ignored, ...rest } = storedEvent(0, event)
        const json = JSON.stringify(rest)
        const id = await redis.qdAppendEvent(acct(accountId), clock.now(), bounds.retentionMs, bounds.maxEvents, json)
        return id === null ? null : storedEvent(Number(id), event)
      },
      async readEvents(accountId, since, limit) {
        const members = await client.zrangebyscore(`${base(accountId)}ev`, `(${since}`, '+inf')
        const now = clock.now()
        return members
          .map((m) => feedEventFrom(m, now))
          .filter((e): e is StoredSecurityEvent => e !== null)
          .slice(0, Math.max(0, limit))
      },
    },
    async purgeExpired() {
      return 0 // every expiring key carries PEXPIREAT; Redis frees them itself
    },
    async ping() {
      if ((await client.ping()) !== 'PONG') throw new Error('redis did not answer PONG')
    },
    async close() {},
  }
}
