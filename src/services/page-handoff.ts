/**
 * The hand-over of a QR-login session to the page cookies (`POST /login/session`, docs/pages.md):
 * the browser device's DPoP-bound refresh family (and every access token minted from it) is revoked
 * in one atomic step, then a fresh family and access token bound to no key are minted for THE SAME
 * device. The revocation is the guard: only the caller that revoked a live family mints, so a second
 * hand-over of the same token (or a race of two) gets nothing.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
 * @see https://www.rfc-editor.org/rfc/rfc9449
 */
import { mintDeviceToken } from '../core/auth/device-token.ts'
import { RelayError } from '../core/errors.ts'
import type { Clock, DurableStore, Random } from '../ports.ts'
import type { IssuedTokens, Principal } from './sessions.ts'

/** What the hand-over needs: the stores, clock, randomness and the session lifetimes. */
export interface PageHandoffDeps {
  durable: DurableStore
  clock: Clock
  random: Random
  accessTokenTtlMs: number
  refreshTokenTtlMs: number
}

const refused = (detail: string): RelayError => new RelayError('INVALID_TOKEN', { detail })

/**
 * Trades an authenticated DPoP-bound principal (token and proof already checked) for unbound tokens
 * of the same device. Errors: INVALID_TOKEN (not bound, no family, already handed over), FORBIDDEN
 * (the account or device became unusable).
 *
 * @example
 * const tokens = await handOffToPage(deps, principal)
 */
export const handOffToPage = async (deps: PageHandoffDeps, principal: Principal): Promise<IssuedTokens> => {
  const { durable, clock, random } = deps
  const familyId = principal.token.familyId
  if (principal.token.jkt === undefined) throw refused('only a DPoP-bound session is handed over')
  if (familyId === undefined) throw refused('this access token has no refresh family')
  // Atomic: of two hand-overs of one token, exactly one finds the family live.
  if (!(await durable.tokens.revokeRefreshFamily(familyId))) throw refused('this session was already handed over or signed out')
  const now = clock.now()
  const refresh = mintDeviceToken(random)
  const family = await durable.tokens.createRefreshFamily({
    id: refresh.id,
    accountId: principal.accountId,
    deviceId: principal.deviceId,
    scopes: [],
    currentHash: refresh.secretHash(),
    generation: 0,
    createdAtMs: now,
    expiresAtMs: now + deps.refreshTokenTtlMs,
  })
  if (family !== 'ok') throw new RelayError('FORBIDDEN', { detail: 'this account or device is no longer usable' })
  const access = mintDeviceToken(random)
  const stored = await durable.tokens.putAccess({
    id: access.id,
    secretHash: access.secretHash(),
    accountId: principal.accountId,
    deviceId: principal.deviceId,
    familyId: refresh.id,
    scopes: [],
    issuedAtMs: now,
    expiresAtMs: now + deps.accessTokenTtlMs,
  })
  if (stored !== 'ok') {
    await durable.tokens.revokeRefreshFamily(refresh.id).catch(() => false)
    throw new RelayError('FORBIDDEN', { detail: 'this account or device is no longer usable' })
  }
  return {
    accessToken: access.bearer(),
    refreshToken: refresh.bearer(),
    expiresInMs: deps.accessTokenTtlMs,
    deviceId: principal.deviceId,
    accountId: principal.accountId,
  }
}

/**
 * The hand-over as the service graph holds it, with the session lifetimes of the config (seconds).
 *
 * @example
 * const pageHandoff = pageHandoffFor({ durable, clock, random }, config.auth)
 */
export const pageHandoffFor =
  (ports: Pick<PageHandoffDeps, 'durable' | 'clock' | 'random'>, auth: { accessTokenTtlSeconds: number; refreshTokenTtlSeconds: number }) =>
  (principal: Principal): Promise<IssuedTokens> =>
    handOffToPage(
      { ...ports, accessTokenTtlMs: auth.accessTokenTtlSeconds * 1000, refreshTokenTtlMs: auth.refreshTokenTtlSeconds * 1000 },
      principal,
    )
