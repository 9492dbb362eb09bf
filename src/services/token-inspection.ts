/**
 * What resource servers and token holders may ask about a token: introspection (RFC 7662: is it
 * active, whose, bound to which DPoP key) and revocation (RFC 7009). Tokens are `<id>.<secret>`; the
 * secret part is compared in constant time against the stored hash before anything is said or done, so
 * a guessed id alone learns nothing and revokes nothing. Revoking either token of a device's session
 * signs that device out (MSC4254: how Matrix OAuth clients log out; finding 45).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7662
 * @see https://www.rfc-editor.org/rfc/rfc7009
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4254
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-6.2 (cnf.jkt in introspection)
 */
import { isAccountUsable } from '../core/accounts/records.ts'
import { parseDeviceToken } from '../core/auth/device-token.ts'
import { equalConstantTime, hashSecret } from '../core/crypto/secrets.ts'
import type { Clock, DurableStore, SecurityEvents } from '../ports.ts'
import { DEVICE_FLOW_SCOPE } from './device-grants.ts'
import { signOutDevice } from './device-sign-out.ts'

/** RFC 7662 §2.2 answer. Inactive tokens say nothing else. */
export type Introspection =
  | { active: false }
  | {
      active: true
      token_type: 'Bearer' | 'DPoP'
      scope?: string
      username: string
      sub: string
      device_id: string
      iat: number
      exp: number
      cnf?: { jkt: string }
    }

/** What {@link TokenInspection.revoke} did. */
export type RevokeOutcome = 'revoked' | 'unknown' | 'key_required'

/**
 * The introspection clients (`QRELAY_INTROSPECTION_CLIENTS`) with hashed secrets, so the comparison
 * never runs over the secrets themselves.
 */
export const hashedClients = (clients: ReadonlyMap<string, string>): ReadonlyMap<string, string> =>
  new Map([...clients].map(([id, secret]) => [id, hashSecret(secret)]))

/** RFC 7009 `token_type_hint` values qrelay understands. */
export type TokenTypeHint = 'access_token' | 'refresh_token'

/** The service. */
export interface TokenInspection {
  /** Describes a presented token; anything unknown, expired, revoked or whose account is unusable is inactive. */
  introspect(token: string, hint?: TokenTypeHint): Promise<Introspection>
  /**
   * Revokes a presented live token by signing its device out (MSC4254: "MUST revoke both the access
   * token and refresh token", "clean up any Matrix device"): the device, every access token and
   * refresh family of it, with `device_signed_out` (`self`, `via: "token_revocation"`) in the same
   * store step, as the device's own `POST /v1/logout` would (./device-sign-out.ts). Should its device
   * be gone already, only the token itself is revoked. A token bound to a DPoP key is revoked only
   * for a proof by that key (`proofJkt`, already verified): possession of the token alone is not
   * enough, as for any other use (RFC 9449 §1). `revoked` when something was revoked, `unknown` when
   * nothing matched (the endpoint answers 200 either way; nothing is reported), `key_required` when
   * a bound token came without its key's proof (nothing changes).
   */
  revoke(token: string, hint?: TokenTypeHint, proofJkt?: string): Promise<RevokeOutcome>
}

const INACTIVE = { active: false } as const
const seconds = (ms: number): number => Math.floor(ms / 1000)

/**
 * Builds the service.
 *
 * @example
 * const inspection = tokenInspection({ durable, clock, events })
 * await inspection.introspect(token) // { active: true, token_type: 'DPoP', cnf: { jkt }, … }
 */
export const tokenInspection = (deps: { durable: DurableStore; clock: Clock; events: SecurityEvents }): TokenInspection => {
  // A factory of two short methods and their shared look-up helpers, hence its length.
  const { durable, clock } = deps

  /** The live access token the text stands for, or null. */
  const accessOf = async (text: string) => {
    const parsed = parseDeviceToken(text)
    if (!parsed.ok) return null
    const record = await durable.tokens.getAccess(parsed.value.id)
    return record !== null && parsed.value.matches(record.secretHash) ? record : null
  }

  /** The live, current refresh family the text stands for, or null (rotated-out secrets do not count). */
  const familyOf = async (text: string) => {
    const parsed = parseDeviceToken(text)
    if (!parsed.ok) return null
    const family = await durable.tokens.getRefreshFamily(parsed.value.id)
    if (family === null || family.revokedAtMs !== undefined || family.expiresAtMs <= clock.now()) return null
    return parsed.value.matches(family.currentHash) ? family : null
  }

  const describe = async (
    kind: 'access' | 'refresh',
    record: { accountId: string; deviceId: string; jkt?: string; issuedAtMs?: number; createdAtMs?: number; expiresAtMs: number },
  ): Promise<Introspection> => {
    const account = await durable.accounts.get(record.accountId)
    if (account === null || !isAccountUsable(account, clock.now())) return INACTIVE
    if ((await durable.devices.get(record.accountId, record.deviceId)) === null) return INACTIVE
    return {
      active: true,
      token_type: kind === 'access' && record.jkt !== undefined ? 'DPoP' : 'Bearer',
      ...(record.jkt === undefined ? {} : { scope: DEVICE_FLOW_SCOPE }),
      username: account.username,
      sub: account.id,
      device_id: record.deviceId,
      iat: seconds(record.issuedAtMs ?? record.createdAtMs ?? 0),
      exp: seconds(record.expiresAtMs),
      ...(record.jkt === undefined ? {} : { cnf: { jkt: record.jkt } }),
    }
  }

  return {
    async introspect(token, hint) {
      // The hint only orders the look-ups (RFC 7662 §2.1); both kinds are always tried.
      const order = hint === 'refresh_token' ? (['refresh', 'access'] as const) : (['access', 'refresh'] as const)
      for (const kind of order) {
        const record = kind === 'access' ? await accessOf(token) : await familyOf(token)
        if (record !== null) return describe(kind, record)
      }
      return INACTIVE
    },
    async revoke(token, hint, proofJkt) {
      const order = hint === 'refresh_token' ? (['refresh', 'access'] as const) : (['access', 'refresh'] as const)
      for (const kind of order) {
        const record = kind === 'access' ? await accessOf(token) : await familyOf(token)
        if (record === null) continue
        if (record.jkt !== undefined && (proofJkt === undefined || !equalConstantTime(record.jkt, proofJkt))) return 'key_required'
        const signedOut = await signOutDevice(deps, record.accountId, record.deviceId, {
          byDevice: record.deviceId,
          via: 'token_revocation',
        })
        if (signedOut) return 'revoked'
        // The device was gone (or signed out meanwhile, and its tokens with it): the token alone.
        const revoked =
          kind === 'access' ? await durable.tokens.revokeAccess(record.id) : await durable.tokens.revokeRefreshFamily(record.id)
        return revoked ? 'revoked' : 'unknown'
      }
      return 'unknown'
    },
  }
}
