/**
 * The services, counted: decorators the composition root puts around the rendezvous, approval,
 * device-login, refresh and sign-in services when metrics are on. Each passes every call through
 * unchanged and records what came out (an outcome, a reason code, never an id, a token or a code).
 */
import { RelayError } from '../core/errors.ts'
import type { Metrics } from '../ports/metrics.ts'
import type { ApprovalsService } from './approvals.ts'
import type { DeviceLoginService } from './device-login.ts'
import type { RendezvousService } from './rendezvous.ts'
import type { AccountServices } from './services.ts'
import { RefreshError, type SessionsService } from './sessions.ts'
import { UiaChallengeError, type UiaService } from './uia.ts'

/** The stable, lower-case code of a thrown value (`internal` for anything but a RelayError). */
const codeOf = (error: unknown): string => (error instanceof RelayError ? error.code.toLowerCase() : 'internal')

/** Records a policy refusal (a denied network, an abuse block, a risk decision) carried by `error`. */
const notePolicyDenial = (metrics: Metrics, error: unknown): void => {
  if (!(error instanceof RelayError)) return
  if (error.code === 'POLICY_DENIED') metrics.policyDenial(error.reason ?? 'policy_denied')
  // A creator's refusal: a listed network (QRELAY_POLICY_DENIED_NETWORKS), or a block that runs out.
  else if (error.code === 'NETWORK_DENIED') metrics.policyDenial(error.retryAfterMs === undefined ? 'network_denied' : 'abuse_blocked')
}

/**
 * Rendezvous, counted: channels created, completed (claimed by a joiner on native channels; answered
 * for the first time on the Matrix APIs), aborted and deleted, by API; policy refusals of creators.
 *
 * @example
 * const rendezvous = countedRendezvous(rendezvousService(deps), metrics)
 */
export const countedRendezvous = (rendezvous: RendezvousService, metrics: Metrics): RendezvousService => ({
  ...rendezvous,
  async create(api, data, caller) {
    try {
      const created = await rendezvous.create(api, data, caller)
      metrics.channel(api, 'created')
      return created
    } catch (error) {
      notePolicyDenial(metrics, error)
      throw error
    }
  },
  async read(api, id, caller, secret) {
    const view = await rendezvous.read(api, id, caller, secret)
    if (view.party === 'claim') metrics.channel(api, 'completed')
    return view
  },
  async write(api, id, data, expectedToken, caller, secret) {
    const result = await rendezvous.write(api, id, data, expectedToken, caller, secret)
    const answered = api !== 'native' && result.changed && result.record.version === 1
    if (result.party === 'claim' || answered) metrics.channel(api, 'completed')
    return result
  },
  async remove(api, id, caller, secret) {
    await rendezvous.remove(api, id, caller, secret)
    metrics.channel(api, 'deleted')
  },
  async abort(id, secret, reason, caller) {
    await rendezvous.abort(id, secret, reason, caller)
    metrics.channel('native', 'aborted')
  },
})

/**
 * Approvals, counted by outcome (`approved`, `declined`, `refused`) and reason: the policy's reason
 * code on a refusal (`far_away`, `network_denied`…), else the error code; `none` otherwise. A step-up
 * challenge is no outcome yet.
 */
const countedApprovals = (approvals: ApprovalsService, metrics: Metrics): ApprovalsService => ({
  ...approvals,
  async decide(request) {
    try {
      const outcome = await approvals.decide(request)
      metrics.approval(outcome.status, 'none')
      return outcome
    } catch (error) {
      if (!(error instanceof UiaChallengeError)) {
        metrics.approval('refused', error instanceof RelayError ? (error.reason ?? codeOf(error)) : 'internal')
        notePolicyDenial(metrics, error)
      }
      throw error
    }
  },
})

/** The poll answers that end a QR sign-in (the others only say "not yet"). */
const FINAL_POLL_ERRORS = new Set(['access_denied', 'expired_token', 'invalid_grant'])

/**
 * The device flow's token polls, counted as token requests (`device_code`, by error) and, once the
 * sign-in ends, as a QR login (`success`, or the error that ended it).
 */
const countedDeviceLogin = (deviceLogin: DeviceLoginService, metrics: Metrics): DeviceLoginService => ({
  ...deviceLogin,
  async poll(request) {
    try {
      const result = await deviceLogin.poll(request)
      const error = result.kind === 'tokens' ? 'none' : result.error
      metrics.tokenRequest('device_code', error)
      if (error === 'none') metrics.login('qr', 'success')
      else if (FINAL_POLL_ERRORS.has(error)) metrics.login('qr', error)
      return result
    } catch (thrown) {
      metrics.tokenRequest('device_code', codeOf(thrown))
      throw thrown
    }
  },
})

/** Sessions, with refresh-token rotations counted as token requests (`refresh_token`, by error). */
const countedSessions = (sessions: SessionsService, metrics: Metrics): SessionsService => ({
  ...sessions,
  async refresh(refreshToken, proofJkt) {
    try {
      const tokens = await sessions.refresh(refreshToken, proofJkt)
      metrics.tokenRequest('refresh_token', 'none')
      return tokens
    } catch (error) {
      metrics.tokenRequest('refresh_token', error instanceof RefreshError ? 'invalid_grant' : codeOf(error))
      throw error
    }
  },
})

/** The outcome of a sign-in whose stage failed (the UIA answer repeats the challenge with an error). */
const FAILED_STAGE: Readonly<Record<string, string>> = {
  'm.login.password': 'wrong_password',
  'm.login.2fa.totp': 'wrong_totp',
  'm.login.2fa.recovery': 'wrong_recovery_code',
}

/** The login outcome a UIA challenge stands for: a failed stage, or undefined while the sign-in simply goes on. */
const failedStageOf = (error: UiaChallengeError, body: Record<string, unknown>): string | undefined => {
  if (error.body.errcode === undefined) return undefined
  const stage = (body.auth as { type?: unknown } | undefined)?.type
  return (typeof stage === 'string' ? FAILED_STAGE[stage] : undefined) ?? 'refused'
}

/**
 * User-interactive auth, with password sign-ins (a username subject) counted: `success` when the
 * last stage passed, `wrong_password` (or `wrong_totp`, `wrong_recovery_code`) when a stage failed,
 * else the error code that refused it. A challenge for the next stage is no outcome yet; step-ups of
 * a signed-in account are not sign-ins.
 */
const countedUia = (uia: UiaService, metrics: Metrics): UiaService => ({
  ...uia,
  async authorize(request, subject, options) {
    if (subject.kind !== 'username') return uia.authorize(request, subject, options)
    try {
      const account = await uia.authorize(request, subject, options)
      metrics.login('password', 'success')
      return account
    } catch (error) {
      const outcome = error instanceof UiaChallengeError ? failedStageOf(error, request.body) : codeOf(error)
      if (outcome !== undefined) metrics.login('password', outcome)
      throw error
    }
  },
})

/**
 * The account services with sign-ins, token requests and approvals counted (the services inside
 * them keep the uncounted ones: only what the routes call is counted, once).
 *
 * @example
 * const accounts = countedAccounts(composeAccounts(config, ports, shared), metrics)
 */
export const countedAccounts = (accounts: AccountServices, metrics: Metrics): AccountServices => ({
  ...accounts,
  auth: { ...accounts.auth, sessions: countedSessions(accounts.auth.sessions, metrics), uia: countedUia(accounts.auth.uia, metrics) },
  deviceLogin: countedDeviceLogin(accounts.deviceLogin, metrics),
  approvals: countedApprovals(accounts.approvals, metrics),
})
