/**
 * Device-bound trust for the brute-force guard (OWASP "device cookies"): a successful password sign-in
 * hands the client an opaque `device_trust` token; sent back with a later sign-in to the same account,
 * it lets that client's guesses use a budget of their own instead of the account-wide one an attacker
 * elsewhere may have used up. Tokens are 256-bit random values stored only as SHA-256 (in the
 * ephemeral key-value store, for `ttlMs`; losing them costs the exemption, nothing else). A client on
 * a network where one of the account's devices was last seen counts as a known network. A device still
 * in QR quarantine vouches for nothing, neither as the session asking nor through the network it was
 * last seen on: it is the likeliest phished one, and its guesses would spend the owner's trusted budget.
 *
 * @see https://owasp.org/www-community/Slow_Down_Online_Guessing_Attacks_with_Device_Cookies
 */
import { hashSecret, toBase64Url } from '../core/crypto/secrets.ts'
import { isQuarantined } from '../core/oauth/scopes.ts'
import type { GuessOrigin } from '../core/policy/guess-limits.ts'
import type { Clock, DurableStore, KvStore, Random } from '../ports.ts'

/** What a client proved besides its network. */
export interface TrustProof {
  /** A `device_trust` token from an earlier sign-in. */
  token?: string
  /** The device of an authenticated session of the same account (bearer already checked). */
  sessionDeviceId?: string
}

/** The service. */
export interface DeviceTrust {
  /** Where a guess at `accountId` (null: unknown name) from network `clientKey` comes from. */
  originOf(accountId: string | null, clientKey: string, proof: TrustProof): Promise<GuessOrigin>
  /** A new token bound to the account; a valid `previous` one of the same account stops working. */
  issue(accountId: string, previous?: string): Promise<string>
}

/** What {@link deviceTrust} needs. */
export interface DeviceTrustDeps {
  kv: KvStore
  durable: DurableStore
  random: Random
  /** Decides whether a device is still in QR quarantine. */
  clock: Clock
  ttlMs: number
}

const keyOf = (token: string): string => `devtrust:${hashSecret(token)}`

/** An account id no account has (ids are base64url), read for unknown names so they cost the same. */
const UNKNOWN_ACCOUNT = '~unknown'

/** Longest token accepted (a real one is 43 characters). */
export const MAX_DEVICE_TRUST_CHARS = 128

/**
 * Builds the service.
 *
 * @example
 * const origin = await trust.originOf(account.id, clientKey, { token: body.device_trust })
 */
export const deviceTrust = ({ kv, durable, random, clock, ttlMs }: DeviceTrustDeps): DeviceTrust => {
  const holder = async (token: string | undefined): Promise<string | null> => {
    if (token === undefined || token.length === 0 || token.length > MAX_DEVICE_TRUST_CHARS) return null
    return kv.get(keyOf(token))
  }
  return {
    async originOf(accountId, clientKey, proof) {
      const now = clock.now()
      if (accountId !== null && proof.sessionDeviceId !== undefined) {
        const device = await durable.devices.get(accountId, proof.sessionDeviceId)
        // A session in QR quarantine is not the owner's device yet: it guesses as a stranger would.
        if (device !== null && !isQuarantined(device, now)) return { kind: 'trusted-device', key: `session:${proof.sessionDeviceId}` }
      }
      // The same reads whether or not the name exists: timing must not tell which names do.
      const bound = await holder(proof.token)
      const devices = await durable.devices.listByAccount(accountId ?? UNKNOWN_ACCOUNT)
      if (accountId === null) return { kind: 'unknown' }
      if (proof.token !== undefined && bound === accountId) {
        return { kind: 'trusted-device', key: `token:${hashSecret(proof.token).slice(0, 22)}` }
      }
      // A phished session makes the phisher's network "last seen": only devices out of quarantine count.
      if (devices.some((device) => device.lastSeenNetwork === clientKey && !isQuarantined(device, now))) return { kind: 'known-network' }
      return { kind: 'unknown' }
    },
    async issue(accountId, previous) {
      if (previous !== undefined && (await holder(previous)) === accountId) await kv.takeOnce(keyOf(previous))
      const token = toBase64Url(random.bytes(32))
      await kv.put(keyOf(token), accountId, ttlMs)
      return token
    },
  }
}
