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
import { sightingOf } from '../sighting.ts'
import type { DeviceGrantsService } from '../../services/device-grants.ts'
import type { DpopProofs } from '../../services/dpop-proofs.ts'
import type { Sightings } from '../../services/sightings.ts'
import type { RateRule } from '../../core/policy/rate-limit.ts'
import type { RateLimiter } from '../../services/rate-limiter.ts'
import { checkDpop } from '../dpop-proof.ts'
import { oauthError, oauthRateLimit, readOAuthForm } from './oauth-form.ts'
import type { AppEnv } from '../context.ts'
import { NO_STORE, type RouteFn } from './account-shared.ts'
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

/**
 * Builds the handler.
 *
 * @example
 * app.post('/oauth2/device_authorization', deviceAuthorizationRoute({ grants, dpop, sightings, publicBaseUrl }))
 */
export const deviceAuthorizationRoute = (deps: {
  grants: DeviceGrantsService
  /** DPoP proofs (with server nonces when the operator turned them on). */
  dpop: DpopProofs
  sightings: Sightings
  publicBaseUrl: string | undefined
  /** Per-client limit of new grants. */
  limit?: { limiter: RateLimiter; rule: RateRule }
}): RouteFn<AppEnv> =>
  async function deviceAuthorization(c) {
    if (deps.limit !== undefined) {
      const limited = await oauthRateLimit(c, deps.limit.limiter, 'device-authorization', deps.limit.rule)
      if (limited !== null) return limited
    }
    const form = await readOAuthForm(c)
    if (form instanceof Response) return form
    const base = deps.publicBaseUrl ?? new URL(c.req.url).origin
    const namedKey = parseForm(NAMED_KEY_FORM, form)
    if (!namedKey.ok) return oauthError(c, 'invalid_request', namedKey.message)
    const named = namedKey.value.dpop_jkt ?? null
    const hasProof = (c.req.header('dpop') ?? '') !== ''
    if (!hasProof && named === null) {
      return oauthError(c, 'invalid_dpop_proof', 'a DPoP proof or a dpop_jkt parameter is required')
    }
    let jkt: string
    if (hasProof) {
      const proved = await checkDpop(c, deps.dpop, `${base}/oauth2/device_authorization`)
      if (proved instanceof Response) return proved
      if (named !== null && named !== proved) return oauthError(c, 'invalid_dpop_proof', 'dpop_jkt does not match the DPoP proof key')
      jkt = proved
    } else {
      jkt = named as string
    }
    const request = parseForm(GRANT_REQUEST_FORM, form)
    if (!request.ok) return oauthError(c, 'invalid_request', request.message)
    const channelBinding = request.value.channel_binding
    const deviceName = request.value.device_name ?? null
    const { grant, deviceCode, userCode } = await deps.grants.create({
      dpopJkt: jkt,
      channelBinding,
      ...(deviceName === null ? {} : { requestedDeviceName: deviceName.trim() }),
      sighting: await sightingOf(c, 'device_authorization', deps.sightings),
    })
    const shown = formatUserCode(userCode)
    return c.json(
      {
        device_code: deviceCode,
        user_code: shown,
        verification_uri: `${base}/approve`,
        verification_uri_complete: `${base}/approve?user_code=${encodeURIComponent(shown)}`,
        expires_in: Math.round((grant.expiresAtMs - grant.createdAtMs) / 1000),
        interval: grant.intervalSeconds,
      },
      200,
      NO_STORE,
    )
  }
