/**
 * Device-bound trust for the brute-force guard (OWASP "device cookies"): a successful password sign-in
 * hands the client an opaque `device_trust` token; sent back with a later sign-in to the same account,
 * it lets that client's guesses use a budget of their own instead of the account-wide one an attacker
 * elsewhere may have used up. Tokens are 256-bit random values stored only as SHA-256 (in the
 * ephemeral key-value store, for `ttlMs`; losing them costs the exemption, nothing else). A client on
 * a network where one of the account's devices was last seen counts as a known network. A device still
 * in QR quarantine vouches for nothing, neither as the session asking nor through the network it was
 * last seen on: it is the likeliest phished one, and its guesses would spend the owner's trusted budget.
 * A token is bound to the account's sign-in epoch when it is issued (`AccountRecord.authEpoch`): once a
 * password change that signs the other devices out, a disable or a TOTP enrolment moves the epoch on,
 * tokens handed out before it are unknown (finding 56: a thief's tokens from the stolen password would
 * otherwise keep spending the owner's trusted budget for their whole lifetime).
 *
 * @see https://owasp.org/www-community/Slow_Down_Online_Guessing_Attacks_with_Device_Cookies
 */
import type { RateRule } from '../core/policy/rate-limit.ts'
import type { RateLimiter } from './rate-limiter.ts'
import { hashSecret, toBase64Url } from '../core/crypto/secrets.ts'
import { isQuarantined } from '../core/oauth/scopes.ts'
import { authEpochOf, type AccountRecord } from '../core/accounts/records.ts'
import type { GuessOrigin } from '../core/policy/guess-limits.ts'
import type { Clock, DurableStore, KvStore, Random } from '../ports.ts'

/** What a client proved besides its network. */
export interface TrustProof {
  /** A `device_trust` token from an earlier sign-in. */
  token?: string
  /** The device of an authenticated session of the same account (bearer already checked). */
  sessionDeviceId?: string
}

/** What the service reads of an account: its id and its sign-in epoch. */
export type TrustedAccount = Pick<AccountRecord, 'id' | 'authEpoch'>

/** The service. */
export interface DeviceTrust {
  /** Where a guess at `account` (null: unknown name) from network `clientKey` comes from. */
  originOf(account: TrustedAccount | null, clientKey: string, proof: TrustProof): Promise<GuessOrigin>
  /**
   * A new token bound to the account and its current sign-in epoch (the record whose password was
   * checked); a valid `previous` one of the same account stops working. Undefined when the account has
   * used up its new tokens for now (a renewal of a valid `previous` is never refused): the sign-in
   * goes on without one (finding 61).
   */
  issue(account: TrustedAccount, previous?: string): Promise<string | undefined>
}

/** What {@link deviceTrust} needs. */
export interface DeviceTrustDeps {
  kv: KvStore
  durable: DurableStore
  random: Random
  /** Decides whether a device is still in QR quarantine. */
  clock: Clock
  ttlMs: number
  /**
   * New tokens per account (renewals not counted): each is stored for `ttlMs`, so without a budget one
   * account signing in over and over would store one per sign-in (finding 61).
   */
  issues: { limiter: RateLimiter; rule: RateRule }
}

const keyOf = (token: string): string => `devtrust:${hashSecret(token)}`

/** An account id no account has (ids are base64url), read for unknown names so they cost the same. */
const UNKNOWN_ACCOUNT = '~unknown'

/**
 * The stored value of a token: `<accountId>:<authEpoch>` (account ids are base64url, without `:`). A
 * value of an earlier release is the account id alone: epoch 0, the epoch of an account no change has
 * moved yet.
 */
const boundValue = (account: TrustedAccount): string => `${account.id}:${authEpochOf(account)}`

/** True when the stored value `bound` vouches for `account` as it is now: same account, epoch not moved past. */
const vouchesFor = (bound: string | null, account: TrustedAccount): boolean => {
  if (bound === null) return false
  const colon = bound.indexOf(':')
  const id = colon < 0 ? bound : bound.slice(0, colon)
  const epoch = colon < 0 ? 0 : Number(bound.slice(colon + 1))
  return id === account.id && Number.isSafeInteger(epoch) && authEpochOf(account) <= epoch
}

/** Longest token accepted (a real one is 43 characters). */
export const MAX_DEVICE_TRUST_CHARS = 128

/**
 * Builds the service.
 *
 * @example
 * const origin = await trust.originOf(account, clientKey, { token: body.device_trust })
 */
export const deviceTrust = ({ kv, durable, random, clock, ttlMs, issues }: DeviceTrustDeps): DeviceTrust => {
  const holder = async (token: string | undefined): Promise<string | null> => {
    if (token === undefined || token.length === 0 || token.length > MAX_DEVICE_TRUST_CHARS) return null
    return kv.get(keyOf(token))
  }
  return {
    async originOf(account, clientKey, proof) {
      const now = clock.now()
      const accountId = account?.id ?? null
      if (accountId !== null && proof.sessionDeviceId !== undefined) {
        const device = await durable.devices.get(accountId, proof.sessionDeviceId)
        // A session in QR quarantine is not the owner's device yet: it guesses as a stranger would.
        if (device !== null && !isQuarantined(device, now)) return { kind: 'trusted-device', key: `session:${proof.sessionDeviceId}` }
      }
      // The same reads whether or not the name exists: timing must not tell which names do.
      const bound = await holder(proof.token)
      const devices = await durable.devices.listByAccount(accountId ?? UNKNOWN_ACCOUNT)
      if (account === null) return { kind: 'unknown' }
      // A token from before the account's sign-in epoch moved on selects nothing (finding 56).
      if (proof.token !== undefined && vouchesFor(bound, account)) {
        return { kind: 'trusted-device', key: `token:${hashSecret(proof.token).slice(0, 22)}` }
      }
      // A phished session makes the phisher's network "last seen": only devices out of quarantine count.
      if (devices.some((device) => device.lastSeenNetwork === clientKey && !isQuarantined(device, now))) return { kind: 'known-network' }
      return { kind: 'unknown' }
    },
    async issue(account, previous) {
      const renewal = previous !== undefined && vouchesFor(await holder(previous), account)
      if (!renewal && !(await issues.limiter.hit(`trust-issue:${account.id}`, issues.rule)).allowed) return undefined
      if (renewal) await kv.takeOnce(keyOf(previous))
      const token = toBase64Url(random.bytes(32))
      await kv.put(keyOf(token), boundValue(account), ttlMs)
      return token
    },
  }
}
