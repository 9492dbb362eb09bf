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
import { RelayError } from '../core/errors.ts'
import type { IssuedTokens, Principal } from './sessions.ts'
import { mintTokenFamily, type TokenMintDeps } from './token-mint.ts'

/** What the hand-over needs: the stores, clock, randomness and the session lifetimes. */
export type PageHandoffDeps = TokenMintDeps

const refused = (detail: string): RelayError => new RelayError('INVALID_TOKEN', { detail })
const unusable = (): RelayError => new RelayError('FORBIDDEN', { detail: 'this account or device is no longer usable' })

/**
 * Trades an authenticated DPoP-bound principal (token and proof already checked) for unbound tokens
 * of the same device. Errors: INVALID_TOKEN (not bound, no family, already handed over), FORBIDDEN
 * (the account or device became unusable).
 *
 * @example
 * const tokens = await handOffToPage(deps, principal)
 */
export const handOffToPage = async (deps: PageHandoffDeps, principal: Principal): Promise<IssuedTokens> => {
  const familyId = principal.token.familyId
  if (principal.token.jkt === undefined) throw refused('only a DPoP-bound QR-login session is handed over')
  if (familyId === undefined) throw refused('this access token has no refresh family')
  // Atomic: of two hand-overs of one token, exactly one finds the family live.
  if (!(await deps.durable.tokens.revokeRefreshFamily(familyId))) throw refused('this session was already handed over or signed out')
  return mintTokenFamily(deps, { accountId: principal.accountId, deviceId: principal.deviceId }, unusable)
}
