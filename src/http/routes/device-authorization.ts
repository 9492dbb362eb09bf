/**
 * `POST /oauth2/device_authorization` (RFC 8628 §3.1), called by the new device once the channel is
 * confirmed: form-encoded, carrying the `channel_binding` the new device derived from the ECDH secret,
 * and naming the DPoP key (RFC 9449) the grant is bound to, in either of two ways:
 * - a `DPoP` proof header (qrelay's own clients), whose key is then the grant's;
 * - a `dpop_jkt` form parameter (RFC 9449 §10 semantics, for standard OAuth clients such as
 *   openid-client, which send no proof to this endpoint): the grant is bound to that thumbprint.
 * Either way only a proof by that key redeems the grant at the token endpoint. Both together must
 * name the same key. Errors are RFC 6749 §5.2 bodies (`invalid_request`, `invalid_dpop_proof`).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.2
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-10
 * @see SECURITY.md (the BCP mitigations: request binding, unique values); docs/qr-login.md
 */
import { formatUserCode } from '../../core/oauth/user-code.ts'
import type { DeviceGrantsService } from '../../services/device-grants.ts'
import type { DpopProofs } from '../../services/dpop-proofs.ts'
import type { Sightings } from '../../services/sightings.ts'
import type { RateRule } from '../../core/policy/rate-limit.ts'
import type { RateLimiter } from '../../services/rate-limiter.ts'
import { proofAnswer } from '../dpop-proof.ts'
import { errorAnswer, formOf, rateLimitAnswer } from './oauth-form.ts'
import type { WiderShares } from '../../core/policy/ipv6-prefixes.ts'
import type { AppEnv } from '../context.ts'
import type { RouteFn } from './account-shared.ts'
import { honoAnswer, honoExchange, type OAuthAnswer, type OAuthExchange } from '../oauth-exchange.ts'
import * as v from 'valibot'
import { base64Url32, parseForm } from '../openapi/fields.ts'

const MAX_DEVICE_NAME = 100
const DEVICE_NAME_MESSAGE = `device_name must be 1 to ${MAX_DEVICE_NAME} characters`

/** Checked first: the key named by parameter, an RFC 7638 SHA-256 thumbprint (32 bytes, base64url)… */
const NAMED_KEY_FORM = v.looseObject({ dpop_jkt: v.optional(base64Url32('dpop_jkt must be a 43-character RFC 7638 thumbprint')) })
/** …then, once the key is settled, the channel binding (32 bytes, base64url) and the optional name. */
const GRANT_REQUEST_FORM = v.looseObject({
  channel_binding: base64Url32('channel_binding must be 43 base64url characters'),
  device_name: v.optional(
    v.pipe(
      v.string(),
      v.check((name) => name.trim() !== '', DEVICE_NAME_MESSAGE),
      v.maxLength(MAX_DEVICE_NAME, DEVICE_NAME_MESSAGE),
    ),
  ),
})
/** The form of `POST /oauth2/device_authorization`, as the document shows it. */
export const DEVICE_AUTHORIZATION_FORM = v.intersect([NAMED_KEY_FORM, GRANT_REQUEST_FORM])

/** What the endpoint needs. */
export interface DeviceAuthorizationDeps {
  grants: DeviceGrantsService
  /** DPoP proofs (with server nonces when the operator turned them on). */
  dpop: DpopProofs
  sightings: Sightings
  publicBaseUrl: string | undefined
  /** Per-client limit of new grants (with `shares`, an IPv6 client's /56 and /48 too: finding 48). */
  limit?: { limiter: RateLimiter; rule: RateRule; shares?: WiderShares }
}

/**
 * The endpoint's steps on an exchange (the Hono route and the Node fast path both run them).
 *
 * @example
 * const answer = await deviceAuthorizationEndpoint(deps)(honoExchange(c))
 */
export const deviceAuthorizationEndpoint =
  (deps: DeviceAuthorizationDeps): ((x: OAuthExchange) => Promise<OAuthAnswer>) =>
  async (x) => {
    if (deps.limit !== undefined) {
      const limited = await rateLimitAnswer(x, deps.limit.limiter, 'device-authorization', deps.limit.rule, deps.limit.shares)
      if (limited !== null) return limited
    }
    const form = await formOf(x)
    if (!(form instanceof URLSearchParams)) return form
    const base = deps.publicBaseUrl ?? x.origin()
    const namedKey = parseForm(NAMED_KEY_FORM, form)
    if (!namedKey.ok) return errorAnswer(x, 'invalid_request', namedKey.message)
    const named = namedKey.value.dpop_jkt ?? null
    const hasProof = (x.header('dpop') ?? '') !== ''
    if (!hasProof && named === null) {
      return errorAnswer(x, 'invalid_dpop_proof', 'a DPoP proof or a dpop_jkt parameter is required')
    }
    let jkt: string
    if (hasProof) {
      const proved = await proofAnswer(x, deps.dpop, `${base}/oauth2/device_authorization`)
      if (typeof proved !== 'string') return proved
      if (named !== null && named !== proved) return errorAnswer(x, 'invalid_dpop_proof', 'dpop_jkt does not match the DPoP proof key')
      jkt = proved
    } else {
      jkt = named as string
    }
    const request = parseForm(GRANT_REQUEST_FORM, form)
    if (!request.ok) return errorAnswer(x, 'invalid_request', request.message)
    const channelBinding = request.value.channel_binding
    const deviceName = request.value.device_name ?? null
    const { grant, deviceCode, userCode } = await deps.grants.create({
      dpopJkt: jkt,
      channelBinding,
      ...(deviceName === null ? {} : { requestedDeviceName: deviceName.trim() }),
      sighting: await deps.sightings.of('device_authorization', x.clientAddress, x.request),
    })
    const shown = formatUserCode(userCode)
    return {
      status: 200,
      body: {
        device_code: deviceCode,
        user_code: shown,
        verification_uri: `${base}/approve`,
        verification_uri_complete: `${base}/approve?user_code=${encodeURIComponent(shown)}`,
        expires_in: Math.round((grant.expiresAtMs - grant.createdAtMs) / 1000),
        interval: grant.intervalSeconds,
      },
    }
  }

/**
 * Builds the handler.
 *
 * @example
 * app.post('/oauth2/device_authorization', deviceAuthorizationRoute({ grants, dpop, sightings, publicBaseUrl }))
 */
export const deviceAuthorizationRoute = (deps: DeviceAuthorizationDeps): RouteFn<AppEnv> => {
  const endpoint = deviceAuthorizationEndpoint(deps)
  return async function deviceAuthorization(c) {
    return honoAnswer(c, await endpoint(honoExchange(c)))
  }
}
