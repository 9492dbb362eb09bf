/**
 * Token authentication for account and device endpoints: `Authorization: Bearer <access token>`, or
 * `Authorization: DPoP <access token>` with a `DPoP` proof (RFC 9449 §7) for tokens bound to a key
 * (sessions minted by QR login). The token is checked against the token store (hash compared in
 * constant time); a bound token is refused without a fresh proof by its key for this very request
 * (method, URL, `ath` = hash of the token), and each proof's `jti` is accepted once. Sets `principal`.
 * Errors: MISSING_TOKEN (401 M_MISSING_TOKEN), INVALID_TOKEN (401 M_UNKNOWN_TOKEN), INVALID_DPOP_PROOF
 * (401, `WWW-Authenticate: DPoP error="invalid_dpop_proof"`).
 *
 * @see https://spec.matrix.org/v1.16/client-server-api/#using-access-tokens
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7.1
 */
import type { MiddlewareHandler } from 'hono'
import { RelayError } from '../../core/errors.ts'
import type { DpopProofs } from '../../services/dpop-proofs.ts'
import type { Principal, SessionsService } from '../../services/sessions.ts'
import type { AppEnv } from '../context.ts'

/** The app environment of routes behind {@link bearerAuth}. */
export type AuthedEnv = AppEnv & { Variables: { principal: Principal } }

const AUTHORIZATION = /^(Bearer|DPoP) +(\S+) *$/i

/** The scheme and token of an `Authorization` header; undefined when there is none. Errors: INVALID_TOKEN. */
export const credentialsOf = (header: string | undefined): { scheme: 'bearer' | 'dpop'; token: string } | undefined => {
  if (header === undefined) return undefined
  const match = AUTHORIZATION.exec(header)
  if (match === null) throw new RelayError('INVALID_TOKEN', { detail: 'Authorization must be "Bearer <token>" or "DPoP <token>"' })
  return { scheme: match[1]!.toLowerCase() === 'dpop' ? 'dpop' : 'bearer', token: match[2]! }
}

/** The token of an `Authorization: Bearer` header, undefined when there is no header. Errors: INVALID_TOKEN. */
export const bearerOf = (header: string | undefined): string | undefined => credentialsOf(header)?.token

/** What DPoP checking needs; without it bound tokens are refused outright. */
export interface DpopCheckDeps {
  proofs: DpopProofs
  publicBaseUrl: string | undefined
}

const refuseProof = (detail: string): RelayError => new RelayError('INVALID_DPOP_PROOF', { detail })

/**
 * Builds the middleware.
 *
 * @example
 * app.use('/v1/devices/*', bearerAuth(sessions, { proofs, publicBaseUrl }))
 */
export const bearerAuth = (sessions: SessionsService, dpop?: DpopCheckDeps): MiddlewareHandler<AuthedEnv> =>
  async function bearerAuth(c, next) {
    // Mounted on overlapping patterns, this runs once: a second run would spend the proof's jti again.
    if (c.get('principal') !== undefined) return next()
    const credentials = credentialsOf(c.req.header('authorization'))
    const principal = await sessions.authenticate(credentials?.token)
    const bound = principal.token.jkt
    try {
      if (bound !== undefined || credentials?.scheme === 'dpop') {
        if (bound === undefined)
          throw new RelayError('INVALID_TOKEN', { detail: 'this access token is not DPoP-bound: use the Bearer scheme' })
        if (credentials?.scheme !== 'dpop') throw refuseProof('this access token is DPoP-bound: use the DPoP scheme with a proof')
        const proof = c.req.header('dpop')
        if (dpop === undefined || proof === undefined || proof === '') throw refuseProof('a DPoP proof is required')
        const url = `${dpop.publicBaseUrl ?? new URL(c.req.url).origin}${c.req.path}`
        await dpop.proofs.accept(proof, { method: c.req.method, url, accessToken: credentials.token, boundJkt: bound })
      }
    } catch (error) {
      if (error instanceof RelayError && error.code === 'INVALID_DPOP_PROOF') {
        c.header('WWW-Authenticate', `DPoP error="invalid_dpop_proof", algs="ES256 EdDSA"`)
      }
      throw error
    }
    // Only a fully authenticated request (proof included) counts as the device's last sighting.
    sessions.markSeen(principal, c.get('clientKey'))
    c.set('principal', principal)
    await next()
  }
