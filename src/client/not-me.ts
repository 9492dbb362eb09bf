/**
 * "Not me" from the device SDK: report another device of the account that the person does not
 * recognise (`POST /v1/devices/{id}/not-me`). The server signs it (and every device from the same
 * QR code) out and may deny its network. It asks for a step-up (401 UIA) when this device's last
 * authentication is old, answered through the app's `stepUp` like an approval's; a device signed in
 * by QR in quarantine is refused (POLICY_DENIED, detail `quarantined`).
 *
 * @see ../../docs/qr-login.md
 */
import { accountCall, challengeOf, type AccountCallOptions, type StepUpChallenge } from './approve.ts'
import { ClientError } from './errors.ts'
import { answerError, loginHttp, type LoginEndpoints } from './login-http.ts'

const MAX_STEP_UP_ROUNDS = 5

/** Options of {@link reportNotMe}. */
export interface NotMeOptions extends LoginEndpoints, AccountCallOptions {
  /** Answers a step-up with one stage's `auth` dict (the SDK adds `session`), or null to give up. */
  stepUp?(challenge: StepUpChallenge): Record<string, unknown> | null | Promise<Record<string, unknown> | null>
}

/** What the report did. */
export interface NotMeResult {
  revokedDeviceIds: string[]
  networkDeniedForSeconds: number
  /** `account`: denied for this account; `global`: for everybody; `none`: not denied. */
  networkDenyScope: 'account' | 'global' | 'none'
  /**
   * Why the network was not denied (scope `none`), or not to everybody (scope `account`: e.g.
   * `reporter_not_established` for an account younger than the server's minimum age).
   */
  networkKeptBecause?: string
}

/**
 * Reports `deviceId`. Errors: STEP_UP_FAILED, POLICY_DENIED (`quarantined`), UNAUTHORIZED,
 * RATE_LIMITED, TRANSPORT_FAILED (404 for an unknown device, with `status`).
 *
 * @example
 * const result = await reportNotMe(deviceId, { baseUrl, accessToken, stepUp: () => ({ type: 'm.login.password', password }) })
 */
export const reportNotMe = async (deviceId: string, options: NotMeOptions): Promise<NotMeResult> => {
  const http = loginHttp(options)
  const path = `/v1/devices/${encodeURIComponent(deviceId)}/not-me`
  let answer = await accountCall(http, options, 'POST', path, {})
  for (let round = 0; answer.status === 401 && round < MAX_STEP_UP_ROUNDS; round++) {
    const challenge = challengeOf(answer.body)
    if (challenge === null) break
    const auth = options.stepUp === undefined ? null : await options.stepUp(challenge)
    if (auth === null) throw new ClientError('STEP_UP_FAILED', { detail: 'the server asked for a step-up and none was given', status: 401 })
    answer = await accountCall(http, options, 'POST', path, { auth: { ...auth, session: answer.body.session } })
  }
  if (answer.status === 401 && challengeOf(answer.body) !== null) {
    throw new ClientError('STEP_UP_FAILED', { detail: `the step-up did not succeed in ${MAX_STEP_UP_ROUNDS} rounds`, status: 401 })
  }
  if (answer.status === 403 && answer.body.reason === 'quarantined')
    throw new ClientError('POLICY_DENIED', { detail: 'quarantined', status: 403 })
  if (answer.status !== 200) throw answerError(answer, 'not me')
  const scope = answer.body.network_deny_scope
  const result: NotMeResult = {
    revokedDeviceIds: Array.isArray(answer.body.revoked_device_ids) ? (answer.body.revoked_device_ids as string[]) : [],
    networkDeniedForSeconds: typeof answer.body.network_denied_for_seconds === 'number' ? answer.body.network_denied_for_seconds : 0,
    networkDenyScope: scope === 'account' || scope === 'global' ? scope : 'none',
  }
  if (typeof answer.body.network_kept_because === 'string') result.networkKeptBecause = answer.body.network_kept_because
  return result
}
