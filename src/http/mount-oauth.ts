/**
 * The sign-in and OAuth area of the route table: password login and registration, the operator's
 * admin endpoints, and the OAuth endpoints of the device flow (token, revoke, introspect, device
 * authorization, initiation-code verification). Mounted by `app.ts` before the bearer-token area.
 */
import type { Hono } from 'hono'
import type { Config } from '../config.ts'
import type { AccountServices, Services } from '../services/services.ts'
import type { Sightings } from '../services/sightings.ts'
import type { AppEnv } from './context.ts'
import { methodNotAllowed } from './method-not-allowed.ts'
import { abuseAdminRoutes } from './routes/abuse-admin.ts'
import { adminKeyRoutes } from './routes/admin-keys.ts'
import { adminUserRoutes } from './routes/admin-users.ts'
import { deviceAuthorizationRoute, type DeviceAuthorizationDeps } from './routes/device-authorization.ts'
import { DEVICE_VERIFICATION_PATH, deviceVerificationRoute } from './routes/device-verification.ts'
import { loginRoutes } from './routes/login.ts'
import { introspectRoute, revokeRoute } from './routes/oauth-inspection.ts'
import { oauthTokenRoute, type OAuthTokenDeps } from './routes/oauth-token.ts'

/**
 * What the token and device-authorization endpoints are built on, the same for the app and for the
 * Node fast path (`src/runtime/node-fast-oauth.ts`).
 *
 * @example
 * const flow = deviceFlowDeps(config, services.accounts, services.sightings)
 */
export const deviceFlowDeps = (
  config: Config,
  accounts: AccountServices,
  sightings: Sightings,
): { token: OAuthTokenDeps; deviceAuthorization: DeviceAuthorizationDeps } => {
  const { sessions, limiter } = accounts.auth
  const { dpop, deviceLogin, grants } = accounts
  const { publicBaseUrl } = config.server
  return {
    token: { sessions, deviceLogin, dpop, sightings, publicBaseUrl, limit: { limiter, rule: config.oauth.tokenRequestsPerClient } },
    deviceAuthorization: {
      grants,
      dpop,
      sightings,
      publicBaseUrl,
      limit: { limiter, rule: config.oauth.deviceAuthorizationPerClient, shares: config.rateLimit },
    },
  }
}

/**
 * Mounts the area.
 *
 * @example
 * mountOAuth(app, config, services.accounts, services)
 */
export const mountOAuth = (
  app: Hono<AppEnv>,
  config: Config,
  accounts: AccountServices,
  services: Pick<Services, 'abuse' | 'abuseBlocks' | 'keys' | 'sightings'>,
): void => {
  const { sessions, uia, limiter, trust } = accounts.auth
  const login = loginRoutes({
    accounts: accounts.auth.accounts,
    sessions,
    uia,
    limiter,
    trust,
    auth: config.auth,
    shares: config.rateLimit,
  })
  app.post('/v1/login', login.login)
  app.all('/v1/login', methodNotAllowed)
  if (config.auth.registrationEnabled) {
    app.post('/v1/register', login.register)
    app.all('/v1/register', methodNotAllowed)
  }
  if (config.auth.adminToken !== undefined) {
    app.post('/v1/admin/users', login.adminCreateUser)
    const adminUsers = adminUserRoutes({ operator: accounts.operator, adminToken: config.auth.adminToken })
    app.get('/v1/admin/users', adminUsers.list)
    app.post('/v1/admin/users/:name/disable', adminUsers.disable)
    app.get('/v1/admin/users/:name', adminUsers.show)
    app.post('/v1/admin/users/:name/enable', adminUsers.enable)
    app.post('/v1/admin/users/:name/password', adminUsers.setPassword)
    app.post('/v1/admin/users/:name/reset-2fa', adminUsers.resetSecondFactor)
    app.get('/v1/admin/users/:name/devices', adminUsers.devices)
    app.get('/v1/admin/users/:name/events', adminUsers.events)
    app.delete('/v1/admin/users/:name/devices/:id', adminUsers.revokeDevice)
    if (services.keys !== undefined) {
      const adminKeys = adminKeyRoutes({ keys: services.keys, adminToken: config.auth.adminToken })
      app.get('/v1/admin/keys', adminKeys.list)
      app.post('/v1/admin/keys/rotate', adminKeys.rotate)
      app.post('/v1/admin/keys/:kid/retire', adminKeys.retire)
    }
    if (services.abuse !== undefined) {
      const { abuse, abuseBlocks: blocks } = services
      const abuseAdmin = abuseAdminRoutes({ abuse, ...(blocks === undefined ? {} : { blocks }), adminToken: config.auth.adminToken })
      app.get('/v1/admin/abuse/blocks', abuseAdmin.blocks)
      app.post('/v1/admin/abuse/lift', abuseAdmin.lift)
      app.get('/v1/admin/abuse', abuseAdmin.status)
      app.all('/v1/admin/abuse/lift', methodNotAllowed)
    }
  }

  const { publicBaseUrl } = config.server
  const { dpop, deviceLogin, inspection } = accounts
  const flow = deviceFlowDeps(config, accounts, services.sightings)
  const tokenLimit = { limiter, rule: config.oauth.tokenRequestsPerClient }
  app.post('/oauth2/token', oauthTokenRoute(flow.token))
  app.post('/oauth2/revoke', revokeRoute({ inspection, limit: tokenLimit, dpop, publicBaseUrl }))
  app.all('/oauth2/revoke', methodNotAllowed)
  if (accounts.introspectionClients.size > 0) {
    app.post('/oauth2/introspect', introspectRoute({ inspection, clients: accounts.introspectionClients, limit: tokenLimit }))
    app.all('/oauth2/introspect', methodNotAllowed)
  }
  app.post('/oauth2/device_authorization', deviceAuthorizationRoute(flow.deviceAuthorization))
  app.all('/oauth2/device_authorization', methodNotAllowed)
  // Always there: an approval of a typed user code (`/device`) carries a code whatever the policy says.
  app.post(DEVICE_VERIFICATION_PATH, deviceVerificationRoute({ deviceLogin, dpop, publicBaseUrl }))
  app.all(DEVICE_VERIFICATION_PATH, methodNotAllowed)
}
