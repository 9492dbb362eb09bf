/**
 * `/account` and its device actions: sign another device out (confirmed with the password and the
 * second factor, like `DELETE /v1/devices/{id}`), and "not me" (confirmed; a step-up only when the
 * acting session's authentication is stale, like `POST /v1/devices/{id}/not-me`). Both are refused to
 * a session in QR quarantine by the same device-action guard as the API.
 *
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/ (detect and remediate)
 */
import type { Hono } from 'hono'
import { RelayError } from '../../core/errors.ts'
import type { AccountServices, Services } from '../../services/services.ts'
import type { AppEnv } from '../context.ts'
import { ConfirmAction, type Confirmation } from './account-flow-views.tsx'
import { accountPage, accountRoute, messagePage } from './account-kit.tsx'
import { type C, frameOf, render, type SignedIn } from './page-context.ts'
import { proofOf, stepUp, type StepUpResult } from './step-up.ts'

const DEVICE_ID = /^[A-Za-z0-9_-]{1,64}$/

/** Thrown inside the not-me service's step-up when the typed proof did not do. */
class StepUpRefused extends Error {
  readonly problem: Exclude<StepUpResult, { ok: true }>['problem']
  constructor(problem: Exclude<StepUpResult, { ok: true }>['problem']) {
    super(problem)
    this.problem = problem
  }
}

/** The device the form names, of this account; NOT_FOUND otherwise. */
const targetOf = async (accounts: AccountServices, who: SignedIn, form: Record<string, string>) => {
  const id = form.device_id ?? ''
  if (!DEVICE_ID.test(id)) throw new RelayError('NOT_FOUND', { detail: 'no such device' })
  const device = (await accounts.auth.sessions.listDevices(who.account.id)).find((d) => d.id === id)
  if (device === undefined) throw new RelayError('NOT_FOUND', { detail: 'no such device' })
  return device
}

const confirmPage = (c: C, services: Services, confirm: Confirmation, status: 200 | 403 = 200) =>
  render(c, services, <ConfirmAction frame={frameOf(c)} confirm={confirm} />, status)

/**
 * Mounts `/account` and the device actions.
 *
 * @example
 * mountAccountDevices(app, services, accounts)
 */
export const mountAccountDevices = (app: Hono<AppEnv>, services: Services, accounts: AccountServices): void => {
  const { secondFactors } = accounts.auth
  const guard = accounts.deviceGuard

  accountRoute(app, services, accounts, 'get', '/account', (c, who) => accountPage(c, services, accounts, who))

  accountRoute(app, services, accounts, 'post', '/account/devices/sign-out', async (c, who, form) => {
    const { t } = frameOf(c)
    const actor = { accountId: who.account.id, deviceId: who.principal.deviceId }
    if (form.device_id === actor.deviceId) return c.redirect('/account', 303)
    // Before anything about the target is shown: a quarantined session acts on no other device.
    await guard.check(actor, 'revoke_devices')
    const device = await targetOf(accounts, who, form)
    const confirm: Confirmation = {
      title: t('signOutDeviceTitle', { name: device.displayName }),
      text: t('signOutDeviceText'),
      action: '/account/devices/sign-out',
      hidden: { device_id: device.id },
      submit: t('signOut'),
      proof: true,
      totp: secondFactors.hasTotp(who.account),
      danger: true,
    }
    if (form.confirm !== '1') return confirmPage(c, services, confirm)
    // Always a fresh step-up, as for `DELETE /v1/devices/{id}`.
    const request = { path: '/account/devices/sign-out', fields: { device_id: device.id }, clientKey: c.get('clientKey'), ...actor }
    const proved = await stepUp(accounts, { ...request, account: who.account }, proofOf(form))
    if (!proved.ok) return confirmPage(c, services, { ...confirm, problem: t(proved.problem) }, 403)
    await guard.markAuthenticated(actor)
    if (!(await accounts.devices.signOut(actor, device.id))) throw new RelayError('NOT_FOUND', { detail: 'no such device' })
    return accountPage(c, services, accounts, who, { notice: t('deviceSignedOut', { name: device.displayName }) })
  })

  accountRoute(app, services, accounts, 'post', '/account/devices/not-me', async (c, who, form) => {
    const frame = frameOf(c)
    const { t } = frame
    const actor = { accountId: who.account.id, deviceId: who.principal.deviceId }
    if (form.device_id === actor.deviceId) return messagePage(c, services, frame, t('cannotReportSelf'), 400)
    const { stale } = await guard.check(actor, 'report_not_me')
    const device = await targetOf(accounts, who, form)
    const confirm: Confirmation = {
      title: t('notMeTitle', { name: device.displayName }),
      text: t('notMeText'),
      action: '/account/devices/not-me',
      hidden: { device_id: device.id },
      submit: t('notMeConfirm'),
      proof: stale,
      totp: secondFactors.hasTotp(who.account),
      danger: true,
    }
    if (form.confirm !== '1') return confirmPage(c, services, confirm)
    try {
      const outcome = await accounts.notMe.report({
        reporter: actor,
        reporterNetwork: c.get('clientKey'),
        deviceId: device.id,
        stepUp: async () => {
          const request = { path: '/account/devices/not-me', fields: { device_id: device.id }, clientKey: c.get('clientKey'), ...actor }
          const proved = await stepUp(accounts, { ...request, account: who.account }, proofOf(form))
          if (!proved.ok) throw new StepUpRefused(proved.problem)
        },
      })
      c.get('log').warn({ revoked: outcome.revokedDeviceIds.length, networkDenyScope: outcome.networkDenyScope }, 'device reported not me')
      const done = t('notMeDone', { name: device.displayName, count: String(outcome.revokedDeviceIds.length) })
      const hours = Math.round(outcome.networkDeniedMs / 3_600_000)
      const notice = outcome.networkDeniedMs > 0 ? `${done} ${t('notMeNetworkBlocked', { hours: String(hours) })}` : done
      return accountPage(c, services, accounts, who, { notice })
    } catch (error) {
      if (!(error instanceof StepUpRefused)) throw error
      return confirmPage(c, services, { ...confirm, proof: true, problem: t(error.problem) }, 403)
    }
  })
}
