/**
 * `POST /oauth2/token`, form-encoded with OAuth error bodies (RFC 6749 §5.2), two grants:
 * - `urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4): the new device polls with a DPoP
 *   proof (RFC 9449) by the key its grant is bound to; answers `authorization_pending`, `slow_down`
 *   (with the new `interval`), `access_denied`, `expired_token`, `invalid_grant`, or DPoP-bound tokens.
 *   With `Prefer: wait=N` (RFC 7240) a pending answer is held until the grant is decided, at most N s
 *   (≤ 30) and never past the grant's interval (a long poll); the answer says `Preference-Applied`.
 * - `refresh_token` (RFC 6749 §6): rotates; presenting a rotated-out token revokes the family
 *   (RFC 9700). A DPoP-bound family refreshes only with a proof by its key.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.4
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-5
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 */
import type { DeviceLoginService } from '../../services/device-login.ts'
import { MAX_GRANT_WAIT_SECONDS } from '../../services/grant-wait.ts'
import type { DpopProofs } from '../../services/dpop-proofs.ts'
import type { Sightings } from '../../services/sightings.ts'
import { RefreshError, type IssuedTokens, type SessionsService } from '../../services/sessions.ts'
import type { AppEnv } from '../context.ts'
import { honoAnswer, honoExchange, type OAuthAnswer, type OAuthExchange } from '../oauth-exchange.ts'
import type { RouteFn } from './account-shared.ts'
import { proofAnswer } from '../dpop-proof.ts'
import type { RateRule } from '../../core/policy/rate-limit.ts'
import type { RateLimiter } from '../../services/rate-limiter.ts'
import { errorAnswer, formOf, rateLimitAnswer } from './oauth-form.ts'
import * as v from 'valibot'
import { formText, parseForm } from '../openapi/fields.ts'

/** RFC 8628 §3.4 grant type of the device flow. */
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

/** The grant type comes first (an unknown one is `unsupported_grant_type`)… */
const GRANT_FORM = v.looseObject({ grant_type: v.string('grant_type is required') })
/** …then the device code of a device-flow poll (RFC 8628 §3.4)… */
const DEVICE_CODE_FORM = v.looseObject({ device_code: formText('device_code is required', 256) })
/** …or the refresh token of a refresh (RFC 6749 §6). */
const REFRESH_FORM = v.looseObject({ refresh_token: formText('refresh_token is required') })
/** The form of `POST /oauth2/token`, as the document shows it. */
export const TOKEN_REQUEST_FORM = v.intersect([GRANT_FORM, v.union([DEVICE_CODE_FORM, REFRESH_FORM])])

const DESCRIPTIONS: Record<RefreshError['outcome'], string> = {
  malformed: 'malformed refresh token',
  rotated: 'refresh refused',
  raced: 'this refresh token was just rotated by a concurrent request',
  reused: 'this refresh token was already used: the session is revoked',
  revoked: 'the session is revoked',
  denied: 'the account or device may not be given tokens',
  missing: 'unknown or expired refresh token',
  wrong_key: 'this refresh token is bound to a DPoP key: a proof by that key is required',
}

/** What the token endpoint needs. */
export interface OAuthTokenDeps {
  sessions: SessionsService
  /** The device flow; without it only `refresh_token` is served. */
  deviceLogin?: DeviceLoginService
  /** DPoP proofs (with server nonces when the operator turned them on). */
  dpop: DpopProofs
  sightings: Sightings
  publicBaseUrl: string | undefined
  /** Per-client limit of token requests. */
  limit?: { limiter: RateLimiter; rule: RateRule }
}

/**
 * The `wait` of a `Prefer` header (RFC 7240 §4.3), in whole seconds capped at
 * {@link MAX_GRANT_WAIT_SECONDS}: a device-code poll held while the grant is pending. None when absent,
 * zero or malformed (the header is a preference: one the server cannot read is ignored).
 */
export const preferredWait = (prefer: string | undefined): number | undefined => {
  const seconds = /(?:^|[,;]\s*)wait\s*=\s*"?(\d{1,6})"?\s*(?:[,;]|$)/i.exec(prefer?.trim() ?? '')?.[1]
  const value = seconds === undefined ? 0 : Math.min(Number(seconds), MAX_GRANT_WAIT_SECONDS)
  return value > 0 ? value : undefined
}

const tokenBody = (tokens: IssuedTokens, scope?: string) => ({
  access_token: tokens.accessToken,
  token_type: tokens.jkt === undefined ? 'Bearer' : 'DPoP',
  expires_in: Math.floor(tokens.expiresInMs / 1000),
  refresh_token: tokens.refreshToken,
  ...(scope === undefined ? {} : { scope }),
  device_id: tokens.deviceId,
})

/**
 * The endpoint's steps on an exchange (the Hono route and the Node fast path both run them).
 *
 * @example
 * const answer = await oauthTokenEndpoint(deps)(honoExchange(c))
 */
export const oauthTokenEndpoint =
  (deps: OAuthTokenDeps): ((x: OAuthExchange) => Promise<OAuthAnswer>) =>
  async (x) => {
    if (deps.limit !== undefined) {
      const limited = await rateLimitAnswer(x, deps.limit.limiter, 'token', deps.limit.rule)
      if (limited !== null) return limited
    }
    const form = await formOf(x)
    if (!(form instanceof URLSearchParams)) return form
    const grant = parseForm(GRANT_FORM, form)
    if (!grant.ok) return errorAnswer(x, 'invalid_request', grant.message)
    const grantType = grant.value.grant_type
    const url = `${deps.publicBaseUrl ?? x.origin()}/oauth2/token`

    if (grantType === DEVICE_CODE_GRANT && deps.deviceLogin !== undefined) {
      const poll = parseForm(DEVICE_CODE_FORM, form)
      if (!poll.ok) return errorAnswer(x, 'invalid_request', poll.message)
      const deviceCode = poll.value.device_code
      const jkt = await proofAnswer(x, deps.dpop, url)
      if (typeof jkt !== 'string') return jkt
      const waitSeconds = preferredWait(x.header('prefer'))
      // RFC 7240 §3: the preference honoured (held at most this long, and never past the grant's interval).
      if (waitSeconds !== undefined) x.setHeader('Preference-Applied', `wait=${waitSeconds}`)
      const result = await deps.deviceLogin.poll({
        deviceCode,
        proofJkt: jkt,
        sighting: await deps.sightings.of('poll', x.clientAddress, x.request),
        network: x.clientKey,
        ...(waitSeconds === undefined ? {} : { waitSeconds, signal: x.signal() }),
      })
      if (result.kind === 'tokens') return { status: 200, body: tokenBody(result.tokens, result.scope) }
      if (result.error === 'slow_down') {
        x.refuse('slow_down', result.description)
        return { status: 400, body: { error: 'slow_down', error_description: result.description, interval: result.intervalSeconds } }
      }
      return errorAnswer(x, result.error, result.description)
    }

    if (grantType !== 'refresh_token') {
      const supported = deps.deviceLogin === undefined ? 'refresh_token' : `refresh_token and ${DEVICE_CODE_GRANT}`
      return errorAnswer(x, 'unsupported_grant_type', `supported grant types: ${supported}`)
    }
    const refresh = parseForm(REFRESH_FORM, form)
    if (!refresh.ok) return errorAnswer(x, 'invalid_request', refresh.message)
    const refreshToken = refresh.value.refresh_token
    let proofJkt: string | undefined
    if (x.header('dpop') !== undefined) {
      const jkt = await proofAnswer(x, deps.dpop, url)
      if (typeof jkt !== 'string') return jkt
      proofJkt = jkt
    }
    try {
      return { status: 200, body: tokenBody(await deps.sessions.refresh(refreshToken, proofJkt)) }
    } catch (error) {
      if (error instanceof RefreshError) return errorAnswer(x, 'invalid_grant', DESCRIPTIONS[error.outcome])
      throw error
    }
  }

/**
 * Builds the handler.
 *
 * @example
 * app.post('/oauth2/token', oauthTokenRoute({ sessions, deviceLogin, dpop, sightings, publicBaseUrl }))
 */
export const oauthTokenRoute = (deps: OAuthTokenDeps): RouteFn<AppEnv> => {
  const endpoint = oauthTokenEndpoint(deps)
  return async function oauthToken(c) {
    return honoAnswer(c, await endpoint(honoExchange(c)))
  }
}
