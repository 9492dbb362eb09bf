/**
 * The token sub-store of the Redis durable store (./redis.ts): access tokens and refresh families,
 * each record in its account's slot with a pointer on its own slot (`{t:<id>}`, `{f:<id>}`).
 */
import type { RedisClient } from '../storage/redis-client.ts'
import { REFRESH_USED_KEPT, type AccessTokenRecord, type DeviceRecord, type RefreshFamilyRecord } from '../../core/accounts/records.ts'
import type { Clock, DurableStore, RotateOutcome } from '../../ports.ts'
import type { AccountChangeScripts } from './redis-account-change.ts'
import type { DurableScripts } from './redis-scripts.ts'
import type { SecurityScripts } from './redis-security-scripts.ts'
import type { MintScripts } from './redis-session-mint.ts'

/** What the sub-stores share: the client, its scripts, the clock and the key builders. */
export interface RedisDurableContext {
  client: RedisClient
  redis: DurableScripts & SecurityScripts & MintScripts & AccountChangeScripts
  clock: Clock
  /** The prefix of every key of one account (one hash tag, one cluster slot). */
  base(accountId: string): string
  /** The account hash, the key every account script runs on. */
  acct(accountId: string): string
  usernameIndex(key: string): string
  tokenPointer(id: string): string
  familyPointer(id: string): string
}

/** A script's boolean for an optional field: '1' when it is present, else '0'. */
export const flag = (value: unknown): string => (value === undefined ? '0' : '1')

/** A new device as the device-creating scripts take it (`qdDeviceCreate`, and the session mint's first six). */
export const deviceArgs = (d: DeviceRecord): Array<string | number> => [
  d.id,
  JSON.stringify(d),
  d.displayName,
  d.lastSeenAtMs,
  d.lastSeenNetwork ?? '',
  flag(d.lastSeenNetwork),
]

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

const liveFamily = async (
  { client, base, clock }: RedisDurableContext,
  accountId: string,
  familyId: string,
): Promise<RefreshFamilyRecord | null> => {
  const fields = await client.hgetall(`${base(accountId)}rf:${familyId}`)
  if (fields.j === undefined) return null
  const family = familyFrom(fields)
  return family.expiresAtMs > clock.now() ? family : null
}

/** The token sub-store over the account hashes and the pointers. */
export const redisTokens = (c: RedisDurableContext): DurableStore['tokens'] => {
  const { client, redis, clock, acct, base, tokenPointer, familyPointer } = c
  return {
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
      return accountId === null ? null : liveFamily(c, accountId, familyId)
    },
    async rotateRefresh({ familyId, presentedHash, nextHash, graceMs }) {
      const accountId = await client.get(familyPointer(familyId))
      if (accountId === null) return { outcome: 'missing', family: null }
      const reply = await redis.qdRotate(acct(accountId), clock.now(), familyId, presentedHash, nextHash, graceMs, REFRESH_USED_KEPT)
      const [outcome, ...fields] = reply
      if (outcome === 'missing' || fields.length === 0) return { outcome: 'missing', family: null }
      return { outcome: outcome as RotateOutcome, family: familyFrom(pairs(fields)) }
    },
    async revokeRefreshFamily(familyId) {
      const accountId = await client.get(familyPointer(familyId))
      return accountId !== null && (await redis.qdFamilyRevoke(acct(accountId), familyId, clock.now())) === 1
    },
  }
}
