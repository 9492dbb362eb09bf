/**
 * `/account` credentials: TOTP enrolment (QR image and manual key, confirmed with a code), turning
 * it off, recovery codes (shown once, downloadable, regenerated), and the password change with "sign
 * out my other devices" checked by default (MSC2457). Each is refused to a session in QR quarantine
 * and steps up with the password (and the second factor) through the same UIA service as the API.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/2457
 * @see https://github.com/matrix-org/matrix-spec-proposals/issues/1997
 */
import type { Hono } from 'hono'
import type { DeviceAction } from '../../core/oauth/scopes.ts'
import { RelayError } from '../../core/errors.ts'
import type { AccountServices, Services } from '../../services/services.ts'
import type { AppEnv } from '../context.ts'
import { ConfirmAction, type Confirmation, RecoveryCodes, TotpSetup } from './account-flow-views.tsx'
import { accountPage, accountRoute, messagePage, type AccountHandler } from './account-kit.tsx'
import { type C, frameOf, render, type SignedIn } from './page-context.ts'
import { proofOf, stepUp } from './step-up.ts'

/**
 * Mounts the credential pages.
 *
 * @example
 * mountAccountSecurity(app, services, accounts)
 */
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: five short handlers sharing the confirmation step
export const mountAccountSecurity = (app: Hono<AppEnv>, services: Services, accounts: AccountServices): void => {
  const { secondFactors } = accounts.auth
  const allowed = (who: SignedIn, action: DeviceAction) =>
    accounts.deviceGuard.ensureAllowed({ accountId: who.account.id, deviceId: who.principal.deviceId }, action)

  /**
   * The confirmation of a credential action: the page first, then the step-up; `then` runs once the
   * person proved it is them.
   */
  const confirmed =
    (path: string, copy: (c: C) => Pick<Confirmation, 'title' | 'text' | 'submit' | 'danger'>, then: AccountHandler): AccountHandler =>
    async (c, who, form) => {
      const { t } = frameOf(c)
      const confirm: Confirmation = { ...copy(c), action: path, hidden: {}, proof: true, totp: secondFactors.hasTotp(who.account) }
      const page = (problem?: string) =>
        render(
          c,
          services,
          <ConfirmAction frame={frameOf(c)} confirm={problem === undefined ? confirm : { ...confirm, problem }} />,
          problem === undefined ? 200 : 403,
        )
      if (form.confirm !== '1') return page()
      const request = { path, fields: {}, clientKey: c.get('clientKey'), deviceId: who.principal.deviceId, account: who.account }
      const proved = await stepUp(accounts, request, proofOf(form))
      if (!proved.ok) return page(t(proved.problem))
      return then(c, who, form)
    }

  const beginTotp = confirmed(
    '/account/totp/begin',
    (c) => ({ title: frameOf(c).t('totpSetupTitle'), text: frameOf(c).t('totpScan'), submit: frameOf(c).t('continue') }),
    async (c, who) => {
      const offer = await secondFactors.beginTotp(who.account.id, who.principal.deviceId)
      const qrSvg = accounts.totpQrSvg(offer.uri)
      return render(c, services, <TotpSetup frame={frameOf(c)} offer={{ qrSvg, secret: offer.secret }} />)
    },
  )
  accountRoute(app, services, accounts, 'post', '/account/totp/begin', async (c, who, form) => {
    await allowed(who, 'manage_2fa')
    if (secondFactors.hasTotp(who.account)) return messagePage(c, services, frameOf(c), frameOf(c).t('totpAlreadyOn'), 400)
    return beginTotp(c, who, form)
  })

  accountRoute(app, services, accounts, 'post', '/account/totp/confirm', async (c, who, form) => {
    await allowed(who, 'manage_2fa')
    const frame = frameOf(c)
    const code = (form.code ?? '').replace(/\s/g, '').slice(0, 32)
    const { deviceId } = who.principal
    // A signed-in device: its guesses use its own budget, as for `POST /v1/account/totp/confirm`.
    const origin = { kind: 'trusted-device', key: `session:${deviceId}` } as const
    let codes: readonly string[] = []
    let refused = false
    await accounts.auth.failures.attempt({ accountKey: who.account.id, clientKey: c.get('clientKey'), origin }, async () => {
      try {
        codes = await secondFactors.confirmTotp(who.account.id, code, deviceId)
        return true
      } catch (error) {
        if (!(error instanceof RelayError && (error.code === 'TOTP_INVALID' || error.code === 'TOTP_REPLAYED'))) throw error
        refused = true
        return false
      }
    })
    if (refused) return render(c, services, <TotpSetup frame={frame} problem={frame.t('wrongSecondFactor')} />, 403)
    return render(c, services, <RecoveryCodes frame={frame} codes={codes} lead={frame.t('twoFactorOn')} />)
  })

  const disableTotp = confirmed(
    '/account/totp/disable',
    (c) => ({ title: frameOf(c).t('turnOffTotp'), text: frameOf(c).t('twoFactorOff'), submit: frameOf(c).t('turnOffTotp'), danger: true }),
    async (c, who) => {
      await secondFactors.disableTotp(who.account.id, who.principal.deviceId)
      const account = (await accounts.auth.accounts.get(who.account.id)) ?? who.account
      return accountPage(c, services, accounts, { ...who, account }, { notice: frameOf(c).t('totpOff') })
    },
  )
  const regenerate = confirmed(
    '/account/recovery-codes',
    (c) => ({ title: frameOf(c).t('newRecoveryCodes'), text: frameOf(c).t('recoveryOnce'), submit: frameOf(c).t('newRecoveryCodes') }),
    async (c, who) => {
      const codes = await secondFactors.regenerateRecoveryCodes(who.account.id, who.principal.deviceId)
      return render(c, services, <RecoveryCodes frame={frameOf(c)} codes={codes} />)
    },
  )
  for (const [path, handler] of [
    ['/account/totp/disable', disableTotp],
    ['/account/recovery-codes', regenerate],
  ] as const) {
    accountRoute(app, services, accounts, 'post', path, async (c, who, form) => {
      await allowed(who, 'manage_2fa')
      // A removal sent again after one cut before its wipe still wipes the codes left (finding 58).
      const finishes = handler === disableTotp && (await secondFactors.leftoverRecoveryCodes(who.account)) > 0
      if (!(secondFactors.hasTotp(who.account) || finishes)) return messagePage(c, services, frameOf(c), frameOf(c).t('totpNotOn'), 400)
      return handler(c, who, form)
    })
  }

  accountRoute(app, services, accounts, 'post', '/account/password', async (c, who, form) => {
    await allowed(who, 'change_password')
    const { t } = frameOf(c)
    const newPassword = form.new_password ?? ''
    const logoutDevices = form.logout_devices === 'on'
    try {
      accounts.auth.accounts.assertStrong(newPassword, who.account.username)
    } catch (error) {
      if (!(error instanceof RelayError && error.code === 'PASSWORD_TOO_WEAK')) throw error
      return accountPage(c, services, accounts, who, { passwordProblem: t('passwordTooWeak') })
    }
    const fields = { logout_devices: logoutDevices }
    const request = {
      path: '/account/password',
      fields,
      clientKey: c.get('clientKey'),
      deviceId: who.principal.deviceId,
      account: who.account,
    }
    const proved = await stepUp(accounts, request, proofOf(form))
    if (!proved.ok) return accountPage(c, services, accounts, who, { passwordProblem: t(proved.problem) })
    const revoked = await accounts.auth.accounts.changePassword(who.account.id, newPassword, who.principal.deviceId, logoutDevices)
    return accountPage(c, services, accounts, who, { notice: t('passwordChanged', { count: String(revoked) }) })
  })
}
