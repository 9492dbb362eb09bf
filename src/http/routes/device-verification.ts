/**
 * `POST /v1/device-verification` (request-initiation verification, when `QRELAY_INITIATION_VERIFY_CODE`
 * is on): the new device types the code its approver was shown. Form-encoded `device_code` and `code`,
 * signed with a DPoP proof by the grant's key (the device code alone is not enough). Answers 200
 * `{ status: 'verified' }`, or an RFC 6749-style error: `invalid_code` (with `attempts_left`),
 * `access_denied` (burnt after too many wrong codes, or declined), `expired_token`, `invalid_grant`.
 *
 * @see ../../core/policy/initiation.ts
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/ (request-initiation verification)
 */
import type { DeviceLoginService } from '../../services/device-login.ts'
import type { DpopProofs } from '../../services/dpop-proofs.ts'
import type { AppEnv } from '../context.ts'
import { noteRefusal } from '../middleware/request-context.ts'
import { checkDpop } from '../dpop-proof.ts'
import { NO_STORE, type RouteFn } from './account-shared.ts'
import { oauthError, readOAuthForm } from './oauth-form.ts'

/** Path of the endpoint. */
export const DEVICE_VERIFICATION_PATH = '/v1/device-verification'

/**
 * Builds the handler.
 *
 * @example
 * app.post(DEVICE_VERIFICATION_PATH, deviceVerificationRoute({ deviceLogin, dpop, publicBaseUrl }))
 */
export const deviceVerificationRoute = (deps: {
  deviceLogin: DeviceLoginService
  /** DPoP proofs (with server nonces when the operator turned them on). */
  dpop: DpopProofs
  publicBaseUrl: string | undefined
}): RouteFn<AppEnv> =>
  async function deviceVerification(c) {
    const form = await readOAuthForm(c)
    if (form instanceof Response) return form
    const deviceCode = form.get('device_code')
    const code = form.get('code')
    if (deviceCode === null || deviceCode === '' || deviceCode.length > 256)
      return oauthError(c, 'invalid_request', 'device_code is required')
    if (code === null || code === '' || code.length > 64) return oauthError(c, 'invalid_request', 'code is required')
    const jkt = await checkDpop(c, deps.dpop, `${deps.publicBaseUrl ?? new URL(c.req.url).origin}${DEVICE_VERIFICATION_PATH}`)
    if (jkt instanceof Response) return jkt
    const result = await deps.deviceLogin.enterCode({ deviceCode, proofJkt: jkt, code })
    if (result.kind === 'verified') return c.json({ status: 'verified' }, 200, NO_STORE)
    if (result.error === 'invalid_code') {
      noteRefusal(c, 'invalid_code', result.description)
      return c.json({ error: 'invalid_code', error_description: result.description, attempts_left: result.attemptsLeft }, 400, NO_STORE)
    }
    return oauthError(c, result.error, result.description)
  }
