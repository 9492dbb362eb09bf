/**
 * The bearer-token area of the route table: sign-out, the account (password, TOTP, recovery codes),
 * the account's devices ("not me" included), its event feed and QR-login approvals. Every endpoint
 * here needs `Authorization: Bearer <access token>` (or `DPoP <token>` + proof when bound); the
 * quarantine guards of each are mounted right above it. Mounted by `app.ts` after the OAuth area.
 */
import type { Hono } from 'hono'
import type { Config } from '../config.ts'
import type { DeviceAction } from '../core/oauth/scopes.ts'
import type { AccountServices, Services } from '../services/services.ts'
import type { AppEnv } from './context.ts'
import { bearerAuth, type AuthedEnv } from './middleware/bearer-auth.ts'
import { requireDeviceAction } from './middleware/device-action.ts'
import { methodNotAllowed } from './method-not-allowed.ts'
import { accountRoutes } from './routes/account.ts'
import { approvalContextRoute, approvalDecisionRoute } from './routes/approvals.ts'
import { deviceRoutes } from './routes/devices.ts'
import { eventsRoute } from './routes/events.ts'
import { notMeRoute } from './routes/not-me.ts'

/**
 * Mounts the area.
 *
 * @example
 * mountAccount(app, config, services.accounts, services)
 */
export const mountAccount = (
  app: Hono<AppEnv>,
  config: Config,
  accounts: AccountServices,
  services: Pick<Services, 'sightings' | 'tickets'>,
): void => {
  const { sessions, secondFactors, uia, failures } = accounts.auth
  const { publicBaseUrl } = config.server
  const authed = app as unknown as Hono<AuthedEnv>
  const requireToken = bearerAuth(sessions, { proofs: accounts.dpop, publicBaseUrl })
  // `/v1/devices/*` matches `/v1/devices` too: listing it separately ran the auth twice (a DPoP
  // proof then counted as replayed, so a DPoP-bound session could not list its devices).
  for (const path of ['/v1/logout', '/v1/account/*', '/v1/devices/*', '/v1/approvals/*', '/v1/events']) {
    authed.use(path, requireToken)
  }
  // Quarantine: a session minted by QR cannot take the account over (BCP "limited scopes").
  const guard = (action: DeviceAction) => requireDeviceAction(action, accounts.deviceGuard)
  authed.use('/v1/account/password', guard('change_password'))
  // '/v1/account/totp/*' matches '/v1/account/totp' too: one mount, so the guard runs once.
  for (const path of ['/v1/account/totp/*', '/v1/account/recovery-codes']) authed.use(path, guard('manage_2fa'))
  authed.use('/v1/approvals/*', guard('approve_login'))
  const account = accountRoutes({
    accounts: accounts.auth.accounts,
    devices: accounts.devices,
    secondFactors,
    uia,
    failures,
    totpQrSvg: accounts.totpQrSvg,
  })
  authed.post('/v1/logout', account.logout)
  authed.get('/v1/account/whoami', account.whoami)
  authed.post('/v1/account/password', account.changePassword)
  authed.post('/v1/account/totp', account.beginTotp)
  authed.delete('/v1/account/totp', account.disableTotp)
  authed.post('/v1/account/totp/confirm', account.confirmTotp)
  authed.post('/v1/account/recovery-codes', account.regenerateRecoveryCodes)
  // Actions on ANOTHER device (sign out, rename, not me) depend on the target: `deviceGuard` refuses
  // them to a quarantined session and steps up a stale one inside the handlers.
  const devices = deviceRoutes({ sessions, authorize: account.authorize, guard: accounts.deviceGuard, devices: accounts.devices })
  authed.get('/v1/devices', devices.list)
  authed.patch('/v1/devices/:id', devices.rename)
  authed.delete('/v1/devices/:id', devices.remove)
  authed.post('/v1/devices/:id/not-me', notMeRoute({ notMe: accounts.notMe, accounts: accounts.auth.accounts, uia }))
  app.all('/v1/devices/:id/not-me', methodNotAllowed)
  authed.get('/v1/events', eventsRoute(accounts.feed, sessions))
  app.all('/v1/events', methodNotAllowed)
  const approvalDeps = { requests: accounts.approvalRequests, sightings: services.sightings }
  authed.get('/v1/approvals/:user_code', approvalContextRoute(approvalDeps))
  authed.post(
    '/v1/approvals/:user_code',
    approvalDecisionRoute({
      ...approvalDeps,
      approvals: accounts.approvals,
      accounts: accounts.auth.accounts,
      uia,
      tickets: services.tickets,
      oauth: config.oauth,
      publicBaseUrl,
    }),
  )
  app.all('/v1/approvals/:user_code', methodNotAllowed)
  for (const path of ['/v1/logout', '/v1/account/whoami', '/v1/account/password', '/v1/account/totp']) app.all(path, methodNotAllowed)
  for (const path of ['/v1/account/totp/confirm', '/v1/account/recovery-codes', '/v1/devices', '/v1/devices/:id']) {
    app.all(path, methodNotAllowed)
  }
}
