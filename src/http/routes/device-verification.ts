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
import * as v from 'valibot'
import type { DeviceLoginService } from '../../services/device-login.ts'
import type { DpopProofs } from '../../services/dpop-proofs.ts'
import type { AppEnv } from '../context.ts'
import { noteRefusal } from '../middleware/request-context.ts'
import { checkDpop } from '../dpop-proof.ts'
import { NO_STORE, type RouteFn } from './account-shared.ts'
import { formText, parseForm } from '../openapi/fields.ts'
import { oauthError, readOAuthForm } from './oauth-form.ts'

/** Path of the endpoint. */
export const DEVICE_VERIFICATION_PATH = '/v1/device-verification'

/** The form: the grant's device code, then the code the approver was shown (checked in this order). */
export const DEVICE_VERIFICATION_FORM = v.looseObject({
  device_code: formText('device_code is required', 256),
  code: formText('code is required', 64),
})

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
    const checked = parseForm(DEVICE_VERIFICATION_FORM, form)
    if (!checked.ok) return oauthError(c, 'invalid_request', checked.message)
    const { device_code: deviceCode, code } = checked.value
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
