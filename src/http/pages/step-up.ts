/**
 * User-interactive auth for a page form, in one POST: the form carries the password and, when the
 * account has TOTP, the authenticator or a recovery code; this runs the UIA rounds of the same
 * service the API uses (same stages, guess budgets and failure accounting), bound to the page action
 * and its fields. Nothing secret goes back to the browser between rounds.
 *
 * @see https://spec.matrix.org/v1.16/client-server-api/#user-interactive-authentication-api
 */
import type { AccountRecord } from '../../core/accounts/records.ts'
import type { UiaFlow } from '../../core/auth/uia.ts'
import type { AccountServices } from '../../services/services.ts'
import { UiaChallengeError, type UiaRequest } from '../../services/uia.ts'

/** What the person typed to prove it is them. */
export interface Proof {
  password?: string
  totp?: string
  recovery?: string
}

/** How a step-up ended: done, or what to tell the person. */
export type StepUpResult = { ok: true } | { ok: false; problem: 'wrongPassword' | 'wrongSecondFactor' | 'needSecondFactor' }

/** The proof fields of a page form. */
export const proofOf = (form: Record<string, string>): Proof => ({
  ...(form.password === undefined ? {} : { password: form.password }),
  ...((form.totp ?? '') === '' ? {} : { totp: (form.totp ?? '').replace(/\s/g, '') }),
  ...((form.recovery ?? '') === '' ? {} : { recovery: (form.recovery ?? '').trim() }),
})

/** One page action to authorize: where (the action's path), for which fields, for whom. */
export interface StepUpRequest {
  path: string
  /** The action's own fields: the UIA session is bound to them. */
  fields: Record<string, unknown>
  clientKey: string
  deviceId: string
  account: AccountRecord
  /** The flows a policy asks for instead of the default ones. */
  flows?: readonly UiaFlow[]
}

const challengeOf = async (run: () => Promise<unknown>): Promise<UiaChallengeError | null> => {
  try {
    await run()
    return null
  } catch (error) {
    if (error instanceof UiaChallengeError) return error
    throw error
  }
}

/**
 * Runs the UIA rounds for `request` with `proof`. Errors other than a failed stage (rate limits, a
 * locked account) are thrown as the service throws them.
 */
export const stepUp = async (accounts: AccountServices, request: StepUpRequest, proof: Proof): Promise<StepUpResult> => {
  const uiaRequest = (auth?: Record<string, unknown>): UiaRequest => ({
    method: 'POST',
    path: request.path,
    body: auth === undefined ? request.fields : { ...request.fields, auth },
    clientKey: request.clientKey,
    sessionDeviceId: request.deviceId,
  })
  const subject = { kind: 'account' as const, account: request.account }
  const options = request.flows === undefined ? {} : { flows: request.flows }
  const authorize = (auth?: Record<string, unknown>) => accounts.auth.uia.authorize(uiaRequest(auth), subject, options)
  let challenge = await challengeOf(() => authorize())
  if (challenge === null) return { ok: true }
  const session = challenge.body.session
  for (let round = 0; round < 3; round++) {
    const next = challenge.body.flows.flatMap((flow) =>
      flow.stages.filter((stage) => !challenge?.body.completed.includes(stage)).slice(0, 1),
    )
    let auth: Record<string, unknown>
    if (next.includes('m.login.password') && proof.password !== undefined)
      auth = { type: 'm.login.password', password: proof.password, session }
    else if (next.includes('m.login.2fa.totp') && proof.totp !== undefined) auth = { type: 'm.login.2fa.totp', code: proof.totp, session }
    else if (next.includes('m.login.2fa.recovery') && proof.recovery !== undefined)
      auth = { type: 'm.login.2fa.recovery', code: proof.recovery, session }
    else return { ok: false, problem: next.includes('m.login.password') ? 'wrongPassword' : 'needSecondFactor' }
    challenge = await challengeOf(() => authorize(auth))
    if (challenge === null) return { ok: true }
    if (challenge.body.errcode !== undefined) {
      return { ok: false, problem: auth.type === 'm.login.password' ? 'wrongPassword' : 'wrongSecondFactor' }
    }
  }
  return { ok: false, problem: 'needSecondFactor' }
}
