/**
 * The signed-in account: `GET /v1/account/whoami`, `POST /v1/logout`, password change (MSC2457),
 * TOTP enrolment, confirmation and removal, and recovery-code regeneration (MSC1997). Every route is
 * behind bearer auth; the ones that change credentials also ask for user-interactive auth.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/2457
 * @see https://github.com/matrix-org/matrix-spec-proposals/issues/1997
 */
import { RelayError } from '../../core/errors.ts'
import type { AccountRecord } from '../../core/accounts/records.ts'
import type { AccountsService } from '../../services/accounts.ts'
import type { AuthFailures } from '../../services/auth-failures.ts'
import type { DeviceManagement } from '../../services/device-management.ts'
import type { SecondFactorsService } from '../../services/second-factors.ts'
import type { UiaService } from '../../services/uia.ts'
import type { AuthedEnv } from '../middleware/bearer-auth.ts'
import { body, flag, parseWith, text } from '../openapi/fields.ts'
import { NO_STORE, readOptionalJson, uiaRequestOf, withUia, type RouteFn } from './account-shared.ts'
import type { Context } from 'hono'

/** `POST /v1/account/password` (MSC2457; `auth` for UIA). `logout_devices` defaults to true. */
export const CHANGE_PASSWORD_BODY = body({ new_password: text('new_password', 1024), logout_devices: flag('logout_devices') })
/** `POST /v1/account/totp/confirm`: the first code of the authenticator app. */
export const CONFIRM_TOTP_BODY = body({ code: text('code', 32) })

/** What the account routes need. */
export interface AccountRoutesDeps {
  accounts: AccountsService
  /** `POST /v1/logout` signs this device out through it (reported as `device_signed_out`). */
  devices: DeviceManagement
  secondFactors: SecondFactorsService
  uia: UiaService
  failures: AuthFailures
  /** Draws the QR code (SVG) of a TOTP enrolment URI, for an authenticator app to scan. */
  totpQrSvg: (uri: string) => string
}

/**
 * Builds the handlers (mount them behind `bearerAuth`).
 *
 * @example
 * const r = accountRoutes({ accounts, devices, secondFactors, uia, failures, totpQrSvg })
 * app.post('/v1/account/password', r.changePassword)
 */
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: a factory of seven short handlers sharing `currentAccount` and `authorize`
export const accountRoutes = (deps: AccountRoutesDeps) => {
  const { accounts, secondFactors, uia } = deps

  const currentAccount = async (c: Context<AuthedEnv>): Promise<AccountRecord> => {
    const account = await accounts.get(c.get('principal').accountId)
    if (account === null) throw new RelayError('INVALID_TOKEN', { detail: 'unknown or expired access token' })
    return account
  }

  /** Runs UIA for the signed-in account; resolves once the request is authorized. */
  const authorize = async (c: Context<AuthedEnv>, body: Record<string, unknown>): Promise<AccountRecord> => {
    const account = await currentAccount(c)
    await uia.authorize(uiaRequestOf(c, body), { kind: 'account', account })
    return account
  }

  const whoami: RouteFn<AuthedEnv> = async (c) => {
    const account = await currentAccount(c)
    const { deviceId } = c.get('principal')
    return c.json({ user_id: account.username, account_id: account.id, device_id: deviceId }, 200, NO_STORE)
  }

  const logout: RouteFn<AuthedEnv> = async (c) => {
    const { accountId, deviceId } = c.get('principal')
    await deps.devices.signOut({ accountId, deviceId }, deviceId)
    return c.json({}, 200, NO_STORE)
  }

  const changePassword: RouteFn<AuthedEnv> = withUia(async (c) => {
    const body = await readOptionalJson(c.req.raw)
    const { new_password: newPassword, logout_devices: logoutDevices = true } = parseWith(CHANGE_PASSWORD_BODY, body)
    const account = await currentAccount(c)
    accounts.assertStrong(newPassword, account.username)
    await authorize(c, body)
    const { deviceId } = c.get('principal')
    await accounts.changePassword(account.id, newPassword, deviceId, logoutDevices)
    return c.json({}, 200, NO_STORE)
  })

  const beginTotp: RouteFn<AuthedEnv> = withUia(async (c) => {
    const body = await readOptionalJson(c.req.raw)
    const account = await currentAccount(c)
    if (secondFactors.hasTotp(account)) throw new RelayError('INVALID_PARAM', { detail: 'TOTP is already enabled; disable it first' })
    await authorize(c, body)
    const offer = await secondFactors.beginTotp(account.id, c.get('principal').deviceId)
    const qrSvg = deps.totpQrSvg(offer.uri)
    return c.json({ secret: offer.secret, uri: offer.uri, qr_svg: qrSvg }, 200, NO_STORE)
  })

  const confirmTotp: RouteFn<AuthedEnv> = async (c) => {
    const { code } = parseWith(CONFIRM_TOTP_BODY, await readOptionalJson(c.req.raw))
    const { accountId, deviceId } = c.get('principal')
    // A signed-in device: its guesses use its own budget, not the account-wide one.
    const origin = { kind: 'trusted-device', key: `session:${deviceId}` } as const
    let codes: readonly string[] = []
    let refused: unknown
    await deps.failures.attempt({ accountKey: accountId, clientKey: c.get('clientKey'), origin }, async () => {
      try {
        codes = await secondFactors.confirmTotp(accountId, code, deviceId)
        return true
      } catch (error) {
        if (!(error instanceof RelayError && (error.code === 'TOTP_INVALID' || error.code === 'TOTP_REPLAYED'))) throw error
        refused = error
        return false
      }
    })
    if (refused !== undefined) throw refused
    return c.json({ enabled: true, recovery_codes: codes }, 200, NO_STORE)
  }

  const disableTotp: RouteFn<AuthedEnv> = withUia(async (c) => {
    const body = await readOptionalJson(c.req.raw)
    const account = await currentAccount(c)
    // With TOTP off, a retry of a removal cut before its wipe still wipes the codes left (finding 58):
    // behind the same step-up, answering 200 as the removal it finishes.
    if (account.totp === undefined && (await secondFactors.leftoverRecoveryCodes(account)) === 0) {
      throw new RelayError('INVALID_PARAM', { detail: 'TOTP is not enabled' })
    }
    await authorize(c, body)
    await secondFactors.disableTotp(account.id, c.get('principal').deviceId)
    return c.json({}, 200, NO_STORE)
  })

  const regenerateRecoveryCodes: RouteFn<AuthedEnv> = withUia(async (c) => {
    const body = await readOptionalJson(c.req.raw)
    const account = await currentAccount(c)
    if (!secondFactors.hasTotp(account)) {
      throw new RelayError('INVALID_PARAM', { detail: 'recovery codes go with TOTP: enable TOTP first' })
    }
    await authorize(c, body)
    const codes = await secondFactors.regenerateRecoveryCodes(account.id, c.get('principal').deviceId)
    return c.json({ recovery_codes: codes }, 200, NO_STORE)
  })

  return { whoami, logout, changePassword, beginTotp, confirmTotp, disableTotp, regenerateRecoveryCodes, authorize }
}
