/**
 * What resource servers and token holders may ask about a token: introspection (RFC 7662: is it
 * active, whose, bound to which DPoP key) and revocation (RFC 7009). Tokens are `<id>.<secret>`; the
 * secret part is compared in constant time against the stored hash before anything is said or done, so
 * a guessed id alone learns nothing and revokes nothing.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7662
 * @see https://www.rfc-editor.org/rfc/rfc7009
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-6.2 (cnf.jkt in introspection)
 */
import { isAccountUsable } from '../core/accounts/records.ts'
import { parseDeviceToken } from '../core/auth/device-token.ts'
import { equalConstantTime, hashSecret } from '../core/crypto/secrets.ts'
import type { Clock, DurableStore } from '../ports.ts'
import { DEVICE_FLOW_SCOPE } from './device-grants.ts'

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
   * Revokes a presented token: an access token alone, or a refresh token with its family and the
   * access tokens minted from it. A token bound to a DPoP key is revoked only for a proof by that key
   * (`proofJkt`, already verified): possession of the token alone is not enough, as for any other use
   * (RFC 9449 §1). `revoked` when something was revoked, `unknown` when nothing matched (the endpoint
   * answers 200 either way), `key_required` when a bound token came without its key's proof.
   */
  revoke(token: string, hint?: TokenTypeHint, proofJkt?: string): Promise<RevokeOutcome>
}

const INACTIVE = { active: false } as const
const seconds = (ms: number): number => Math.floor(ms / 1000)

/**
 * Builds the service.
 *
 * @example
 * const inspection = tokenInspection({ durable, clock })
 * await inspection.introspect(token) // { active: true, token_type: 'DPoP', cnf: { jkt }, … }
 */
export const tokenInspection = (deps: { durable: DurableStore; clock: Clock }): TokenInspection => {
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
      const byKey = (bound: string | undefined): boolean =>
        bound === undefined || (proofJkt !== undefined && equalConstantTime(bound, proofJkt))
      const done = (revoked: boolean): RevokeOutcome => (revoked ? 'revoked' : 'unknown')
      for (const kind of order) {
        if (kind === 'access') {
          const record = await accessOf(token)
          if (record !== null) return byKey(record.jkt) ? done(await durable.tokens.revokeAccess(record.id)) : 'key_required'
        } else {
          const family = await familyOf(token)
          if (family !== null) return byKey(family.jkt) ? done(await durable.tokens.revokeRefreshFamily(family.id)) : 'key_required'
        }
      }
      return 'unknown'
    },
  }
}
