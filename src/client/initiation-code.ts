/**
 * Request-initiation verification on the new device: after the approver was shown a code (always for
 * a typed user code on `/device`, and for QR approvals when `QRELAY_INITIATION_VERIFY_CODE` is on), the
 * person types it on the new device, which submits it to `POST /v1/device-verification` with its
 * `device_code`, signed by the grant's own DPoP key (the device code alone is not enough). Until then
 * the token endpoint answers `authorization_pending`.
 *
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/ (request-initiation verification)
 * @see ../../docs/sdk.md
 */
import { ClientError } from './errors.ts'
import type { DpopKey } from './dpop-key.ts'
import { dpopFormPost, type DpopNonceBox } from './dpop-post.ts'
import { answerError, describeAnswer, loginHttp, type LoginEndpoints } from './login-http.ts'

/** Options of {@link submitInitiationCode}. */
export interface InitiationCodeOptions extends LoginEndpoints {
  /** The grant's `device_code` (from `POST /oauth2/device_authorization`). */
  deviceCode: string
  /** What the person typed: spaces and dashes are fine, the server folds them. */
  code: string
  /** The DPoP key the grant was requested with. */
  dpopKey: Pick<DpopKey, 'proof'>
  /** The last `DPoP-Nonce` of the server, when it uses nonces; updated from the answer. */
  nonces?: DpopNonceBox
  signal?: AbortSignal
}

/** The outcome: verified (poll the token endpoint now), or a wrong code with the tries left. */
export type InitiationCodeResult = { status: 'verified' } | { status: 'wrong_code'; attemptsLeft: number }

/**
 * Submits a request-initiation code for a grant. A wrong code is an answer, not an error (ask
 * again while `attemptsLeft` > 0). Errors: ACCESS_DENIED (burnt after too many wrong codes, or
 * declined), GRANT_EXPIRED, UNAUTHORIZED (another key, an unknown grant, a refused proof),
 * RATE_LIMITED, TRANSPORT_FAILED, CANCELLED.
 *
 * @example
 * const result = await submitInitiationCode({ baseUrl, deviceCode, code: typed, dpopKey })
 * if (result.status === 'wrong_code') askAgain(result.attemptsLeft)
 */
export const submitInitiationCode = async (options: InitiationCodeOptions): Promise<InitiationCodeResult> => {
  const http = loginHttp(options)
  const fields = { device_code: options.deviceCode, code: options.code }
  const nonces = options.nonces ?? { value: undefined }
  const answer = await dpopFormPost(http, options.dpopKey, nonces, '/v1/device-verification', fields, options.signal)
  const { status, body } = answer
  if (status === 200 && body.status === 'verified') return { status: 'verified' }
  if (status === 400 && body.error === 'invalid_code' && typeof body.attempts_left === 'number') {
    return { status: 'wrong_code', attemptsLeft: body.attempts_left }
  }
  const detail = `device verification: ${describeAnswer(answer)}`
  if (body.error === 'access_denied') throw new ClientError('ACCESS_DENIED', { detail, status })
  if (body.error === 'expired_token') throw new ClientError('GRANT_EXPIRED', { detail, status })
  if (status === 400) throw new ClientError('UNAUTHORIZED', { detail, status })
  throw answerError(answer, 'device verification')
}
