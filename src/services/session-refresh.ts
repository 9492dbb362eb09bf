/**
 * Refresh-token rotation of device sessions (RFC 9700 §4.14.2): DPoP binding, reuse detection by the
 * store's atomic rotation, and the sealed successor that answers a retried refresh within the grace
 * with the same new token (see `core/auth/refresh-successor.ts`). A reuse is a theft signal: the store
 * revokes the family, and the device, left without a live token, is signed out and reported
 * (`device_signed_out`, `via: "refresh_token_reuse"`) so that its owner sees it (finding 46).
 *
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
 */
import { equalConstantTime, hashSecret, newOpaqueId } from '../core/crypto/secrets.ts'
import { DEVICE_TOKEN_SECRET_BYTES, parseDeviceToken } from '../core/auth/device-token.ts'
import { openSuccessor, sealSuccessor } from '../core/auth/refresh-successor.ts'
import { RelayError } from '../core/errors.ts'
import type { Clock, DurableStore, KvStore, Random, RotateOutcome, SecurityEvents } from '../ports.ts'
import { signOutDevice } from './device-sign-out.ts'
import type { IssuedTokens } from './sessions.ts'

/** Why a refresh failed, as RFC 6749 `invalid_grant` descriptions tell it. */
export class RefreshError extends Error {
  readonly outcome: RotateOutcome | 'malformed' | 'wrong_key'
  constructor(outcome: RotateOutcome | 'malformed' | 'wrong_key') {
    super(`refresh refused: ${outcome}`)
    this.name = 'RefreshError'
    this.outcome = outcome
  }
}

/** What a refresh needs: the stores, randomness, the grace, and how the sessions service mints an access token. */
export interface RefreshDeps {
  durable: DurableStore
  random: Random
  refreshGraceMs: number
  /** Where successors are sealed; none: a retried refresh within the grace is refused as `raced`. */
  kv?: KvStore
  /**
   * The account's feed and other sinks, with the clock of the event: a reused token's device is signed
   * out and reported there. Without them a reuse revokes the family alone.
   */
  report?: { events: SecurityEvents; clock: Clock }
  /** Stores a new access token of the family; throws RelayError FORBIDDEN when the store refuses. */
  putAccess(accountId: string, deviceId: string, familyId: string, jkt: string | undefined): Promise<{ bearer: string; ttl: number }>
}

/** A seal outlives the grace by this much (it is written just before the rotation it belongs to). */
const SEAL_MARGIN_MS = 5_000

const successorKey = (familyId: string, presentedHash: string): string => `refresh-successor:${familyId}:${presentedHash}`
/** The secret part of a well-formed `<id>.<secret>` token. */
const secretOf = (token: string): string => token.slice(token.indexOf('.') + 1)

/**
 * Builds the refresh of the sessions service: rotates a refresh token; throws {@link RefreshError}
 * (reuse revokes the whole family). A family bound to a DPoP key refreshes only for a proof by that
 * key (`proofJkt`, already verified).
 *
 * @example
 * const refresh = refreshSessions({ durable, random, refreshGraceMs, kv, putAccess })
 * const tokens = await refresh(refreshToken, proof.jkt)
 */
export const refreshSessions = (deps: RefreshDeps) => {
  const { durable, random, putAccess } = deps

  const openSeal = async (key: string, presentedSecret: string): Promise<string | null> => {
    const seal = deps.kv === undefined ? null : await deps.kv.get(key)
    return seal === null ? null : openSuccessor(seal, presentedSecret)
  }

  return async (refreshToken: string, proofJkt?: string): Promise<IssuedTokens> => {
    const parsed = parseDeviceToken(refreshToken)
    if (!parsed.ok) throw new RefreshError('malformed')
    // The binding never changes, so reading it ahead of the atomic rotation is safe. A stolen
    // DPoP-bound refresh token is worthless without the key: nothing rotates, nothing is revoked.
    const known = await durable.tokens.getRefreshFamily(parsed.value.id)
    const bound = known?.jkt
    if (bound !== undefined && (proofJkt === undefined || !equalConstantTime(bound, proofJkt))) {
      throw new RefreshError('wrong_key')
    }
    const familyId = parsed.value.id
    const presentedSecret = secretOf(refreshToken)
    const presentedHash = parsed.value.secretHash()
    // The successor is sealed under the presented token before anything rotates: a retry of this
    // very refresh (the first answer lost to a transient error, or a concurrent duplicate) opens
    // the seal and gets the same new token rather than being judged a replay.
    const sealKey = successorKey(familyId, presentedHash)
    const opened = await openSeal(sealKey, presentedSecret)
    const nextSecret = opened ?? newOpaqueId(random, DEVICE_TOKEN_SECRET_BYTES)
    // Sealed only for the current token (hashes, compared plainly as the stores do): a stale or forged
    // one never writes anything.
    if (opened === null && deps.kv !== undefined && known?.currentHash === presentedHash) {
      await deps.kv.put(sealKey, sealSuccessor(nextSecret, presentedSecret), deps.refreshGraceMs + SEAL_MARGIN_MS)
    }
    const nextHash = hashSecret(nextSecret)
    const { outcome, family } = await durable.tokens.rotateRefresh({ familyId, presentedHash, nextHash, graceMs: deps.refreshGraceMs })
    if (outcome === 'reused' && family !== null && deps.report !== undefined) {
      // The family is revoked already (the store's step); its device goes with its event, once: a
      // second replay finds the family revoked (`revoked`), and a device signed out meanwhile is not
      // reported again.
      const { events, clock } = deps.report
      await signOutDevice({ durable, events, clock }, family.accountId, family.deviceId, {
        byDevice: family.deviceId,
        via: 'refresh_token_reuse',
      })
    }
    if (family === null || (outcome !== 'rotated' && outcome !== 'raced')) throw new RefreshError(outcome)
    let successor = nextSecret
    if (outcome === 'raced') {
      // Within the grace, the same token again: the same successor if the seal says which it is.
      const current = family.currentHash
      const sealed = current === nextHash ? nextSecret : await openSeal(sealKey, presentedSecret)
      if (sealed === null || !equalConstantTime(hashSecret(sealed), current)) throw new RefreshError('raced')
      successor = sealed
    }
    let access: { bearer: string; ttl: number }
    try {
      access = await putAccess(family.accountId, family.deviceId, family.id, family.jkt)
    } catch (error) {
      // Only a refusal by the store is a denial; anything else (store unavailable) propagates as
      // such, and the client's retry within the grace gets this same successor.
      if (error instanceof RelayError && error.code === 'FORBIDDEN') throw new RefreshError('denied')
      throw error
    }
    // The family id stays the lookup key; only the secret part rotates.
    return {
      accessToken: access.bearer,
      refreshToken: `${family.id}.${successor}`,
      expiresInMs: access.ttl,
      deviceId: family.deviceId,
      accountId: family.accountId,
      ...(family.jkt === undefined ? {} : { jkt: family.jkt }),
    }
  }
}
