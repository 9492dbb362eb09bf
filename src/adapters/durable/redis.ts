/**
 * Redis durable store (ioredis): one Lua script per intent, and everything of one account under one
 * hash tag `{a:<accountId>}`, so each script touches one cluster slot. Three small indexes live on
 * their own slots and only point at an account: username → id (`{u:<key>}`), access token id → account
 * (`{t:<id>}`) and family id → account (`{f:<id>}`). A lookup reads the pointer, then runs the intent on
 * the account; the account's data alone decides every outcome, so a stale pointer can only lead to
 * "not found", never to a wrong answer.
 *
 * A session mint (device, first family, first access token, feed event) claims its token's and its
 * family's pointers with SET NX, then is one script on the account's slot.
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
import type { RedisClient } from '../storage/redis-client.ts'
import { RECENT_NETWORKS_MAX, RECENT_NETWORKS_WINDOW_MS } from '../../core/accounts/recent-networks.ts'
import { usernameKey, type AccountRecord, type DeviceRecord, type NetworkSighting } from '../../core/accounts/records.ts'
import type { Clock, DurableStore, ReplaceOutcome, StoredSecurityEvent } from '../../ports.ts'
import { ACCOUNT_CHANGE_SCRIPTS, accountUpdateArgs, redisRevokeMany, redisUpdateAndSignOut } from './redis-account-change.ts'
import { accountListKeys, listAccounts } from './redis-account-list.ts'
import { DURABLE_SCRIPTS } from './redis-scripts.ts'
import { SECURITY_SCRIPTS } from './redis-security-scripts.ts'
import { eventJson, MINT_SCRIPTS, redisSessionMint } from './redis-session-mint.ts'
import { deviceArgs, flag, redisTokens, type RedisDurableContext } from './redis-tokens.ts'
import { storedEvent } from './security-feed.ts'

/** Options of {@link redisDurableStore}: a ready client (the runtime builds it), a key prefix and the clock. */
export interface RedisDurableOptions {
  client: RedisClient
  /** Must not contain `{` or `}`: the hash tags that follow it decide the cluster slot. */
  keyPrefix?: string
  clock: Clock
}

const define = (client: RedisClient): RedisDurableContext['redis'] => {
  for (const [name, lua] of [...DURABLE_SCRIPTS, ...SECURITY_SCRIPTS, ...MINT_SCRIPTS, ...ACCOUNT_CHANGE_SCRIPTS]) {
    if (!(name in client)) client.defineCommand(name, { numberOfKeys: 1, lua })
  }
  return client as unknown as RedisDurableContext['redis']
}

/** A member of the feed zset, `<expiresAtMs>:<id>:<JSON without id>`, as an event (null once expired). */
const feedEventFrom = (member: string, nowMs: number): StoredSecurityEvent | null => {
  const [, expires, id, json] = /^(\d+):(\d+):(.*)$/s.exec(member) ?? []
  if (json === undefined || Number(expires) <= nowMs) return null
  return { id: Number(id), ...(JSON.parse(json) as Omit<StoredSecurityEvent, 'id'>) }
}

// `rn` (the recent networks once touched) replaces those of the creation record.
const deviceFrom = ([json, name, seenAt, network, recent]: [string, string, string, string | null, string | null]): DeviceRecord => {
  const device = JSON.parse(json) as DeviceRecord
  device.displayName = name
  device.lastSeenAtMs = Number(seenAt)
  if (network === null) delete device.lastSeenNetwork
  else device.lastSeenNetwork = network
  if (recent !== null) device.recentNetworks = (JSON.parse(recent) as NetworkSighting[]).map(({ network, atMs }) => ({ network, atMs }))
  return device
}

const getAccount = async ({ client, acct }: RedisDurableContext, id: string): Promise<AccountRecord | null> => {
  const json = await client.hget(acct(id), 'j')
  return json === null ? null : (JSON.parse(json) as AccountRecord)
}

const redisAccounts = (c: RedisDurableContext, keyPrefix: string): DurableStore['accounts'] => {
  const { client, redis, acct, usernameIndex } = c
  const accounts: DurableStore['accounts'] = {
    async create(account) {
      const key = usernameKey(account.username)
      const { id, version, status, lockedUntilMs } = account
      const created = await redis.qdAccountCreate(acct(id), JSON.stringify(account), version, key, status, lockedUntilMs)
      if (created === 0) return 'exists'
      // Second step, on the username's own slot: whoever claims the name first owns it.
      if ((await client.set(usernameIndex(key), id, 'NX')) === 'OK') {
        await client.zadd(accountListKeys(keyPrefix).list, 0, key)
        return 'ok'
      }
      await client.del(acct(account.id))
      return 'exists'
    },
    get: (id) => getAccount(c, id),
    async findByUsername(username) {
      const key = usernameKey(username)
      const id = await client.get(usernameIndex(key))
      const account = id === null ? null : await getAccount(c, id)
      return account !== null && usernameKey(account.username) === key ? account : null
    },
    async update(id, expectedVersion, next): Promise<ReplaceOutcome> {
      const outcome = await redis.qdAccountUpdate(acct(id), ...accountUpdateArgs(id, expectedVersion, next))
      if (outcome === 'renamed') throw new Error('accounts.update may not change the id or the username')
      return outcome
    },
    updateAndSignOut: redisUpdateAndSignOut(c),
    list: (after, limit) => listAccounts(client, keyPrefix, after, limit, (key) => accounts.findByUsername(key)),
  }
  return accounts
}

const redisCredentials = ({ client, redis, acct, base }: RedisDurableContext): DurableStore['credentials'] => ({
  useTotpStep: async (accountId, step) => (await redis.qdTotpStep(acct(accountId), step)) === 1,
  replaceRecoveryCodes: async (accountId, hashes) => (await redis.qdRecoveryReplace(acct(accountId), ...hashes)) === 1,
  consumeRecoveryCode: async (accountId, hash) => (await client.srem(`${base(accountId)}rc`, hash)) === 1,
  countRecoveryCodes: (accountId) => client.scard(`${base(accountId)}rc`),
})

// The session mint and the sign-out with its event are in ./redis-session-mint.ts and ./redis-account-change.ts.
type SimpleDeviceIntents = Omit<DurableStore['devices'], 'createWithTokens' | 'revokeMany'>

const redisDevices = ({ client, redis, clock, acct, base }: RedisDurableContext): SimpleDeviceIntents => ({
  create: (d) => redis.qdDeviceCreate(acct(d.accountId), clock.now(), ...deviceArgs(d)),
  async get(accountId, deviceId) {
    const fields = await client.hmget(`${base(accountId)}dev:${deviceId}`, 'j', 'n', 't', 'net', 'rn')
    return fields[0] === null ? null : deviceFrom(fields as [string, string, string, string | null, string | null])
  },
  async listByAccount(accountId) {
    const list = (await redis.qdDeviceList(acct(accountId))).map(deviceFrom)
    return list.sort((a, b) => a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  },
  rename: async (accountId, deviceId, name) => (await redis.qdDeviceRename(acct(accountId), deviceId, name)) === 1,
  touch: async (accountId, deviceId, seen) =>
    (await redis.qdDeviceTouch(
      acct(accountId),
      deviceId,
      seen.atMs,
      seen.network ?? '',
      flag(seen.network),
      RECENT_NETWORKS_MAX,
      RECENT_NETWORKS_WINDOW_MS,
    )) === 1,
  revoke: async (accountId, deviceId) => (await redis.qdDeviceRevoke(acct(accountId), deviceId, clock.now())) === 1,
  revokeAllExcept: (accountId, keep) => redis.qdDeviceRevokeAllExcept(acct(accountId), keep ?? '', keep === null ? '0' : '1', clock.now()),
})

const redisSecurity = ({ client, redis, clock, acct, base }: RedisDurableContext): DurableStore['security'] => ({
  markAuthenticated: async (accountId, deviceId, atMs) => (await redis.qdMarkAuthenticated(acct(accountId), deviceId, atMs)) === 1,
  async lastAuthenticated(accountId, deviceId) {
    const la = await client.hget(`${base(accountId)}dev:${deviceId}`, 'la')
    return la === null ? null : Number(la)
  },
  async appendEvent(accountId, event, bounds) {
    const id = await redis.qdAppendEvent(acct(accountId), clock.now(), bounds.retentionMs, bounds.maxEvents, eventJson(event))
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
})

/**
 * Builds the Redis durable store over a ready ioredis client (the caller owns and closes it).
 *
 * @example
 * const durable = redisDurableStore({ client: new Redis(url), keyPrefix: 'qrelay:', clock: systemClock })
 */
export const redisDurableStore = ({ client, keyPrefix = 'qrelay:', clock }: RedisDurableOptions): DurableStore => {
  if (/[{}]/.test(keyPrefix)) throw new Error('keyPrefix must not contain { or }')
  const base = (accountId: string): string => `${keyPrefix}{a:${accountId}}:`
  const c: RedisDurableContext = {
    client,
    redis: define(client),
    clock,
    base,
    acct: (accountId) => `${base(accountId)}acct`,
    usernameIndex: (key) => `${keyPrefix}{u:${key}}`,
    tokenPointer: (id) => `${keyPrefix}{t:${id}}`,
    familyPointer: (id) => `${keyPrefix}{f:${id}}`,
  }
  const tokens = redisTokens(c)
  const security = redisSecurity(c)
  const devices: DurableStore['devices'] = { ...redisDevices(c), createWithTokens: redisSessionMint(c), revokeMany: redisRevokeMany(c) }
  return {
    kind: 'redis',
    accounts: redisAccounts(c, keyPrefix),
    credentials: redisCredentials(c),
    devices,
    tokens,
    security,
    async purgeExpired() {
      return 0 // every expiring key carries PEXPIREAT; Redis frees them itself
    },
    async ping() {
      if ((await client.ping()) !== 'PONG') throw new Error('redis did not answer PONG')
    },
    async close() {},
  }
}
