/**
 * `POST /oauth2/introspect` (RFC 7662) for resource servers, authenticated with HTTP Basic client
 * credentials from `QRELAY_INTROSPECTION_CLIENTS` (RFC 6749 §2.3.1), and `POST /oauth2/revoke`
 * (RFC 7009) for token holders. Revocation needs no client authentication: qrelay's device clients
 * are public (they hold no secret), and possession of a valid token is the proof (RFC 7009 §5 allows
 * it) — except for a token bound to a DPoP key (QR sessions), which also needs a `DPoP` proof by that
 * key for this endpoint, as every other use of it does (else 401 `invalid_dpop_proof`). A revoke
 * answers 200 whether or not the token was known (§2.2).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2
 */
import type { Context } from 'hono'
import { equalConstantTime, hashSecret } from '../../core/crypto/secrets.ts'
import type { RateRule } from '../../core/policy/rate-limit.ts'
import type { DpopProofs } from '../../services/dpop-proofs.ts'
import type { RateLimiter } from '../../services/rate-limiter.ts'
import type { TokenInspection, TokenTypeHint } from '../../services/token-inspection.ts'
import type { AppEnv } from '../context.ts'
import { NO_STORE, type RouteFn } from './account-shared.ts'
import { oauthError, oauthRateLimit, readOAuthForm } from './oauth-form.ts'
import { checkDpop } from '../dpop-proof.ts'
import * as v from 'valibot'
import { formText, parseForm } from '../openapi/fields.ts'
import { publicOriginOf } from '../public-origin.ts'

const MAX_TOKEN = 512

/** The form of `POST /oauth2/revoke` and `POST /oauth2/introspect`; an unknown hint is ignored. */
export const TOKEN_FORM = v.looseObject({ token: formText('token is required'), token_type_hint: v.optional(v.string()) })

const decodeBasic = (header: string | undefined): { id: string; secret: string } | null => {
  const match = header === undefined ? null : /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header)
  if (match === null) return null
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(
      Uint8Array.from(atob(match[1] as string), (ch) => ch.charCodeAt(0)),
    )
  } catch {
    // Not Base64 or not UTF-8: no credentials, answered as such (401 invalid_client).
    return null
  }
  const colon = text.indexOf(':')
  if (colon < 0) return null
  try {
    // RFC 6749 §2.3.1: both parts are form-urlencoded before Base64.
    return {
      id: decodeURIComponent(text.slice(0, colon).replace(/\+/g, ' ')),
      secret: decodeURIComponent(text.slice(colon + 1).replace(/\+/g, ' ')),
    }
  } catch {
    // A malformed percent-escape: no credentials, answered as such (401 invalid_client).
    return null
  }
}

/** Checks the caller's Basic credentials against the configured clients in constant time per secret. */
const authenticClient = (c: Context<AppEnv>, clients: ReadonlyMap<string, string>): string | null => {
  const presented = decodeBasic(c.req.header('authorization'))
  if (presented === null) return null
  const expected = clients.get(presented.id)
  // An unknown id still costs one comparison, so timing does not tell ids apart.
  const matches = equalConstantTime(hashSecret(presented.secret), expected ?? hashSecret(`unknown:${presented.id}`))
  return expected !== undefined && matches ? presented.id : null
}

const hintOf = (value: string | null): TokenTypeHint | undefined =>
  value === 'access_token' || value === 'refresh_token' ? value : undefined

/**
 * Builds the introspection handler.
 *
 * @example
 * app.post('/oauth2/introspect', introspectRoute({ inspection, clients: accounts.introspectionClients, limit }))
 */
export const introspectRoute = (deps: {
  inspection: TokenInspection
  clients: ReadonlyMap<string, string>
  limit: { limiter: RateLimiter; rule: RateRule }
}): RouteFn<AppEnv> =>
  async function introspect(c) {
    const limited = await oauthRateLimit(c, deps.limit.limiter, 'introspect', deps.limit.rule)
    if (limited !== null) return limited
    if (authenticClient(c, deps.clients) === null) {
      c.header('WWW-Authenticate', 'Basic realm="qrelay introspection"')
      return oauthError(c, 'invalid_client', 'valid client credentials (HTTP Basic) are required', 401)
    }
    const form = await readOAuthForm(c)
    if (form instanceof Response) return form
    const checked = parseForm(TOKEN_FORM, form)
    if (!checked.ok) return oauthError(c, 'invalid_request', checked.message)
    const { token } = checked.value
    if (token.length > MAX_TOKEN) return c.json({ active: false }, 200, NO_STORE)
    return c.json(await deps.inspection.introspect(token, hintOf(form.get('token_type_hint'))), 200, NO_STORE)
  }

/**
 * Builds the revocation handler.
 *
 * @example
 * app.post('/oauth2/revoke', revokeRoute({ inspection, limit }))
 */
export const revokeRoute = (deps: {
  inspection: TokenInspection
  limit: { limiter: RateLimiter; rule: RateRule }
  /** DPoP proofs (bound tokens are revoked only with a proof by their key; no server nonce here). */
  dpop: DpopProofs
  publicBaseUrl: string | undefined
}): RouteFn<AppEnv> =>
  async function revoke(c) {
    const limited = await oauthRateLimit(c, deps.limit.limiter, 'revoke', deps.limit.rule)
    if (limited !== null) return limited
    const form = await readOAuthForm(c)
    if (form instanceof Response) return form
    const checked = parseForm(TOKEN_FORM, form)
    if (!checked.ok) return oauthError(c, 'invalid_request', checked.message)
    const { token } = checked.value
    let proofJkt: string | undefined
    if (c.req.header('dpop') !== undefined) {
      const jkt = await checkDpop(c, deps.dpop, `${publicOriginOf(c, deps.publicBaseUrl)}/oauth2/revoke`, false)
      if (jkt instanceof Response) return jkt
      proofJkt = jkt
    }
    if (token.length <= MAX_TOKEN) {
      const outcome = await deps.inspection.revoke(token, hintOf(form.get('token_type_hint')), proofJkt)
      if (outcome === 'key_required') {
        c.header('WWW-Authenticate', 'DPoP error="invalid_dpop_proof", algs="ES256 EdDSA"')
        return oauthError(c, 'invalid_dpop_proof', 'this token is bound to a DPoP key: a proof by that key is required', 401)
      }
      if (outcome === 'revoked') c.get('log').info({}, 'token revoked')
    }
    return c.body(null, 200, NO_STORE)
  }
