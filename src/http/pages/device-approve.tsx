/**
 * The consent of a typed user code (`/device`): the screen, and its two buttons. A typed code has no
 * channel, so an approval is never silently weaker than a QR login: the approvals service approves it
 * only together with a request-initiation code, shown here once, that the person types on the new
 * device (which submits it to `POST /v1/device-verification` before any token is issued). Decline
 * burns the request: the new device's poll hears `access_denied`. The step-up the policy asks for is
 * asked inline, on the consent form, with the same UIA service as every other page action.
 *
 * @see ../../services/approvals.ts (binding 'typed_code'), ../../services/initiation-codes.ts
 * @see ../../../docs/pages.md ("What a typed code cannot prove")
 */
import * as v from 'valibot'
import { RelayError } from '../../core/errors.ts'
import type { UiaStage } from '../../core/auth/uia.ts'
import type { AccountServices, Services } from '../../services/services.ts'
import { DEVICE_DECISION_FORM } from '../openapi/page-forms.ts'
import { sightingOf } from '../sighting.ts'
import { formatTime } from './account-views.tsx'
import { type C, formOf, frameOf, render, type SignedIn, signedIn } from './page-context.ts'
import { proofOf, stepUp } from './step-up.ts'
import { CodeEntry, Consent, type ConsentStepUp, Message, SigninForm, TypedApproved } from './views.tsx'

/** Thrown by the step-up callback when the form does not (yet) prove it is the person. */
class StepUpNeeded extends Error {
  constructor(readonly problem: ConsentStepUp['problem']) {
    super('step-up needed')
  }
}

/**
 * The refusal of a session in QR quarantine, which approves, declines and looks up nothing here, as
 * `/v1/approvals/*` refuses it: a look-up spends the account's user-code budget (the owner's approvals
 * would wait) and a Decline burns the login. Undefined for any other session.
 */
const quarantineRefusal = async (c: C, services: Services, accounts: AccountServices, who: SignedIn): Promise<Response | undefined> => {
  try {
    await accounts.deviceGuard.ensureAllowed({ accountId: who.account.id, deviceId: who.principal.deviceId }, 'approve_login')
    return undefined
  } catch (error) {
    if (!(error instanceof RelayError && error.reason === 'quarantined')) throw error
    const frame = frameOf(c)
    const device = (await accounts.auth.sessions.listDevices(who.account.id)).find((d) => d.id === who.principal.deviceId)
    const text = frame.t('quarantined', { until: formatTime(frame.lang, device?.quarantineUntilMs ?? 0) })
    return render(c, services, <Message frame={frame} title={frame.t('consentTitle')} text={text} back="/account" />, 403)
  }
}

/** The consent screen of `userCode` for `who` (a look-up under the user-code guard), with the step-up fields when asked. */
export const consentPage = async (
  c: C,
  services: Services,
  accounts: AccountServices,
  who: SignedIn,
  userCode: string,
  step?: ConsentStepUp,
): Promise<Response> => {
  const frame = frameOf(c)
  try {
    const lookup = { accountId: who.account.id, clientKey: c.get('clientKey'), userCode }
    const seen = await accounts.approvalRequests.context(lookup, () => sightingOf(c, 'approval', services.sightings))
    const data = {
      userCode,
      username: who.account.username,
      requestedName: seen.grant.requestedDeviceName ?? null,
      startedAt: new Date(seen.grant.createdAtMs).toISOString(),
      networks: seen.newDeviceNetworks.map((n) => n.network ?? '?'),
    }
    const status = step?.problem === undefined ? 200 : 403
    return render(c, services, <Consent frame={frame} data={data} {...(step === undefined ? {} : { stepUp: step })} />, status)
  } catch (error) {
    if (!(error instanceof RelayError)) throw error
    const key = error.code === 'RATE_LIMITED' ? 'tooManyAttempts' : 'unknownCode'
    return render(c, services, <CodeEntry frame={frame} value="" problem={frame.t(key)} />, error.code === 'RATE_LIMITED' ? 429 : 400)
  }
}

/** `POST /device/decide`: Decline (burns the request) or Approve (shows the code for the new device). */
export const decideTyped = async (c: C, services: Services, accounts: AccountServices): Promise<Response> => {
  const frame = frameOf(c)
  const form = await formOf(c)
  const { user_code: userCode, decision } = v.parse(DEVICE_DECISION_FORM, form)
  const who = await signedIn(c, services, accounts)
  const message = (key: 'declined' | 'typedNotApproved' | 'typedPolicyDenied', status: 200 | 400 | 403 = 200) =>
    render(c, services, <Message frame={frame} title={frame.t('consentTitle')} text={frame.t(key)} />, status)
  if (userCode === null) return message(decision === 'approve' ? 'typedNotApproved' : 'declined', 400)
  if (who === null) return render(c, services, <SigninForm frame={frame} step={{ userCode }} />)
  const refused = await quarantineRefusal(c, services, accounts, who)
  if (refused !== undefined) return refused
  const approver = { accountId: who.account.id, deviceId: who.principal.deviceId }
  const totp = accounts.auth.secondFactors.hasTotp(who.account)
  const runStepUp = async (flows: UiaStage[][]): Promise<void> => {
    if ((form.password ?? '') === '') throw new StepUpNeeded(undefined)
    const request = { path: '/device/decide', fields: { user_code: userCode }, clientKey: c.get('clientKey'), ...approver }
    const done = await stepUp(accounts, { ...request, account: who.account, flows: flows.map((stages) => ({ stages })) }, proofOf(form))
    if (!done.ok) throw new StepUpNeeded(done.problem)
  }
  try {
    const stored = await accounts.approvalRequests.loadPending({ accountId: approver.accountId, clientKey: c.get('clientKey'), userCode })
    const outcome = await accounts.approvals.decide({
      stored,
      approver,
      decision,
      binding: 'typed_code',
      sighting: await sightingOf(c, 'approval', services.sightings),
      stepUp: runStepUp,
    })
    c.get('log').info({ grant: outcome.grant.id, status: outcome.status, risk: outcome.risk?.action }, 'typed code decided')
    if (outcome.status !== 'approved' || outcome.verificationCode === undefined) return message('declined')
    return render(c, services, <TypedApproved frame={frame} code={outcome.verificationCode} />)
  } catch (error) {
    if (error instanceof StepUpNeeded) return consentPage(c, services, accounts, who, userCode, { totp, problem: error.problem })
    if (!(error instanceof RelayError)) throw error
    // Already decided, gone or expired: nothing happened, and the page says so.
    if (decision === 'decline') return message('declined')
    return message(error.code === 'POLICY_DENIED' ? 'typedPolicyDenied' : 'typedNotApproved', 403)
  }
}

/** Whether `/device` may go on to the consent screen: signed in, else the sign-in form carrying the code. */
export const proceedWithCode = async (c: C, services: Services, accounts: AccountServices, userCode: string): Promise<Response> => {
  const who = await signedIn(c, services, accounts)
  if (who === null) return render(c, services, <SigninForm frame={frameOf(c)} step={{ userCode }} />)
  return (await quarantineRefusal(c, services, accounts, who)) ?? consentPage(c, services, accounts, who, userCode)
}
