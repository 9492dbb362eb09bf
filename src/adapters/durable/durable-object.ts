/**
 * Durable Object durable store (Cloudflare Workers): one object per account and a fixed set of index
 * shards. The classes live in `src/runtime/` (account-object.ts, account-index-object.ts); this file
 * only speaks to their stubs, so it type-checks and bundles anywhere.
 *
 * Design:
 * - The account object (`acct:<accountId>`, SQLite storage) holds everything of one account: the
 *   account row, TOTP step, recovery codes, devices, access tokens, refresh families and their used
 *   hashes. Every intent that must be atomic (mint checks, rotation by `judgeRefresh`, revocations,
 *   CAS update, code consumption) is one method call of that one object: the object runs one event at
 *   a time and its method only touches its own storage synchronously, so nothing interleaves.
 * - Look-ups that start from something other than the account id go through index shards
 *   (`idx:<fnv1a(key) % shards>`): `u:<usernameKey>`, `at:<accessTokenId>`, `rf:<familyId>`, each
 *   mapping to an account id. Shards spread the load; the shard count is fixed for a deployment
 *   (changing it loses the entries).
 * - Username uniqueness: the name is claimed in its index shard first (atomic there), then the
 *   account is created in its own object, then the claim is confirmed; when the account object says
 *   `exists` a claim made by this call is released. A claim left unconfirmed (a crash between the
 *   steps) can be taken over after {@link STALE_CLAIM_MS}, but only after the holder's account object
 *   has either shown that it holds the name (then the name is taken) or promised never to create it.
 * - Token and family ids are claimed in their shard (entry expiring with the record) before the
 *   account object stores them; a refused mint releases the claim. Revocations leave index entries
 *   to expire: a look-up then finds the account object, which answers from its own rows. A session
 *   mint (device, first family, first access token, feed event) claims both ids, then is one
 *   transaction of the account object (`createSession`).
 * - Every call carries the adapter's clock (`nowMs`), so a token is gone exactly at `expiresAtMs`;
 *   the objects' alarms only free expired rows (so `purgeExpired` returns 0).
 */
import { usernameKey } from '../../core/accounts/records.ts'
import type {
  AccountStore,
  Clock,
  CredentialStore,
  DeviceStore,
  DurableStore,
  MintOutcome,
  RotateResult,
  SecurityStateStore,
  TokenStore,
} from '../../ports.ts'
import { hash32, type ObjectNamespace } from '../storage/durable-object.ts'
import type { AccountObjectApi, IndexObjectApi } from './durable-object-api.ts'
import { listAcrossShards } from './durable-object-list.ts'
import { accessKey, familyKey, mintSessionIndexed } from './durable-object-mint.ts'

/** Options of {@link durableObjectDurableStore}. */
export interface DurableObjectDurableOptions {
  accounts: ObjectNamespace<AccountObjectApi>
  index: ObjectNamespace<IndexObjectApi>
  clock: Clock
  /** Prefix of every object name: deployments (or tests) sharing the namespaces stay apart. */
  namePrefix?: string
  /** How many index shards (fixed for a deployment: changing it loses every look-up). */
  shards?: number
}

/** An unconfirmed username claim older than this may be taken over (after the holder gave it up). */
export const STALE_CLAIM_MS = 60_000
const DEFAULT_SHARDS = 32

const usernameIndexKey = (nameKey: string): string => `u:${nameKey}`

/** What the sub-stores share: the clock, the account objects and the index shards. */
interface ObjectsContext {
  clock: Clock
  account(id: string): AccountObjectApi
  index(key: string): IndexObjectApi
  /** The account id an index key points at, or null. */
  holderOf(key: string): Promise<string | null>
}

/** Wins the username claim for `accountId`, or says who holds it for good. */
const claimUsername = async (
  { clock, account, index }: ObjectsContext,
  nameKey: string,
  accountId: string,
): Promise<'new' | 'same' | 'taken'> => {
  const key = usernameIndexKey(nameKey)
  const shard = index(key)
  const claim = await shard.claim(key, accountId, clock.now(), null, false)
  if (claim.outcome !== 'other') return claim.outcome
  if (claim.confirmed || clock.now() - claim.claimedAtMs < STALE_CLAIM_MS) return 'taken'
  // A stale claim: its holder either holds the name (confirm it) or promises never to take it.
  if (await account(claim.holder).abandonUsername(nameKey)) {
    await shard.confirm(key, claim.holder)
    return 'taken'
  }
  return (await shard.takeOver(key, claim.holder, accountId, clock.now())) ? 'new' : 'taken'
}

const objectAccounts = (c: ObjectsContext): Omit<AccountStore, 'list'> => {
  const { account, index, holderOf } = c
  return {
    async create(record) {
      const nameKey = usernameKey(record.username)
      const claimed = await claimUsername(c, nameKey, record.id)
      if (claimed === 'taken') return 'exists'
      const outcome = await account(record.id).createAccount(record, nameKey)
      const key = usernameIndexKey(nameKey)
      if (outcome === 'ok') await index(key).confirm(key, record.id)
      else if (claimed === 'new') await index(key).release(key, record.id)
      return outcome
    },
    get: (id) => account(id).getAccount(),
    async findByUsername(username) {
      const nameKey = usernameKey(username)
      const holder = await holderOf(usernameIndexKey(nameKey))
      if (holder === null) return null
      const found = await account(holder).getAccount()
      // A claim whose account is not created (yet, or ever) finds nothing.
      return found !== null && usernameKey(found.username) === nameKey ? found : null
    },
    async update(id, expectedVersion, next) {
      const outcome = await account(id).updateAccount(expectedVersion, next)
      if (outcome === 'renamed') throw new Error('accounts.update may not change the id or the username')
      return outcome
    },
    async updateAndSignOut(id, expectedVersion, next, effects) {
      const result = await account(id).updateAndSignOut(expectedVersion, next, effects, c.clock.now())
      if (result === 'renamed') throw new Error('accounts.update may not change the id or the username')
      return result
    },
  }
}

/** Claims `key` for a mint, runs it, and releases a claim it made when the mint is refused. */
const mintIndexed = async (
  { clock, index }: ObjectsContext,
  key: string,
  accountId: string,
  expiresAtMs: number,
  mint: () => Promise<MintOutcome>,
) => {
  const claim = await index(key).claim(key, accountId, clock.now(), expiresAtMs, true)
  if (claim.outcome === 'other') return 'exists'
  const outcome = await mint()
  if (outcome !== 'ok' && claim.outcome === 'new') await index(key).release(key, accountId)
  return outcome
}

const objectTokens = (c: ObjectsContext): TokenStore => {
  const { clock, account, holderOf } = c
  return {
    putAccess: (token) =>
      mintIndexed(c, accessKey(token.id), token.accountId, token.expiresAtMs, () => account(token.accountId).putAccess(token, clock.now())),
    async getAccess(id) {
      const holder = await holderOf(accessKey(id))
      return holder === null ? null : account(holder).getAccess(id, clock.now())
    },
    async revokeAccess(id) {
      const holder = await holderOf(accessKey(id))
      return holder !== null && account(holder).revokeAccess(id, clock.now())
    },
    createRefreshFamily: (family) =>
      mintIndexed(c, familyKey(family.id), family.accountId, family.expiresAtMs, () =>
        account(family.accountId).createFamily(family, clock.now()),
      ),
    async getRefreshFamily(familyId) {
      const holder = await holderOf(familyKey(familyId))
      return holder === null ? null : account(holder).getFamily(familyId, clock.now())
    },
    async rotateRefresh(request): Promise<RotateResult> {
      const holder = await holderOf(familyKey(request.familyId))
      if (holder === null) return { outcome: 'missing', family: null }
      return account(holder).rotateRefresh(request, clock.now())
    },
    async revokeRefreshFamily(familyId) {
      const holder = await holderOf(familyKey(familyId))
      return holder !== null && account(holder).revokeFamily(familyId, clock.now())
    },
  }
}

/**
 * Builds the durable store over the two namespace bindings (the runtime passes `env.RELAY_ACCOUNT`
 * and `env.RELAY_ACCOUNT_INDEX`).
 *
 * @example
 * const durable = durableObjectDurableStore({ accounts: env.RELAY_ACCOUNT, index: env.RELAY_ACCOUNT_INDEX, clock })
 */
export const durableObjectDurableStore = (options: DurableObjectDurableOptions): DurableStore => {
  const { clock, namePrefix = '', shards = DEFAULT_SHARDS } = options
  if (!Number.isInteger(shards) || shards < 1) throw new Error('shards must be a positive integer')
  const account = (id: string): AccountObjectApi => options.accounts.getByName(`${namePrefix}acct:${id}`)
  const index = (key: string): IndexObjectApi => options.index.getByName(`${namePrefix}idx:${hash32(key) % shards}`)
  const holderOf = (key: string): Promise<string | null> => index(key).lookup(key, clock.now())
  const c: ObjectsContext = { clock, account, index, holderOf }

  const credentials: CredentialStore = {
    useTotpStep: (accountId, step) => account(accountId).useTotpStep(step),
    replaceRecoveryCodes: (accountId, codeHashes) => account(accountId).replaceRecoveryCodes([...codeHashes]),
    consumeRecoveryCode: (accountId, codeHash) => account(accountId).consumeRecoveryCode(codeHash),
    countRecoveryCodes: (accountId) => account(accountId).countRecoveryCodes(),
  }

  const devices: DeviceStore = {
    create: (device) => account(device.accountId).createDevice(device, clock.now()),
    get: (accountId, deviceId) => account(accountId).getDevice(deviceId),
    listByAccount: (accountId) => account(accountId).listDevices(),
    rename: (accountId, deviceId, displayName) => account(accountId).renameDevice(deviceId, displayName),
    touch: (accountId, deviceId, seen) => account(accountId).touchDevice(deviceId, seen),
    revoke: (accountId, deviceId) => account(accountId).revokeDevice(deviceId, clock.now()),
    revokeAllExcept: (accountId, keepDeviceId) => account(accountId).revokeAllExcept(keepDeviceId, clock.now()),
    revokeMany: (accountId, deviceIds, append) => account(accountId).revokeMany([...deviceIds], append ?? null, clock.now()),
    createWithTokens: (device, records, append, planned, authorisedEpoch, maxDevices) =>
      mintSessionIndexed({ clock, account, index }, device, records, append, planned === true, authorisedEpoch, maxDevices),
  }
  const tokens = objectTokens(c)

  const security: SecurityStateStore = {
    markAuthenticated: (accountId, deviceId, atMs) => account(accountId).markAuthenticated(deviceId, atMs),
    lastAuthenticated: (accountId, deviceId) => account(accountId).lastAuthenticated(deviceId),
    appendEvent: (accountId, event, bounds) => account(accountId).appendEvent(event, bounds, clock.now()),
    readEvents: (accountId, since, limit) => account(accountId).readEvents(since, limit, clock.now()),
  }

  // Stubs are made per call, as everywhere here: a stub made in one request cannot be used in another.
  const shardList = () => Array.from({ length: shards }, (_, n) => options.index.getByName(`${namePrefix}idx:${n}`))
  return {
    kind: 'durable-object',
    accounts: { ...objectAccounts(c), list: (after, limit) => listAcrossShards(shardList(), account, after, limit) },
    credentials,
    devices,
    tokens,
    security,
    // The objects' alarms free expired rows; expired records are invisible already.
    purgeExpired: async () => 0,
    ping: () => options.index.getByName(`${namePrefix}idx:0`).ping(),
    async close() {},
  }
}
