/**
 * The qrelay HTTP application: one route table, read top to bottom, with every endpoint's guards in
 * view. Runtime-neutral (Hono): `src/runtime/*` serve it.
 */
import { Hono, type Handler, type MiddlewareHandler } from 'hono'
import type { Config } from '../config.ts'
import { RelayError } from '../core/errors.ts'
import { StoreUnavailableError } from '../core/store-unavailable.ts'
import type { Clock, EphemeralStore, Logger, NetworkLocator, Random } from '../ports.ts'
import type { RendezvousService } from '../services/rendezvous.ts'
import type { AppEnv } from './context.ts'
import { errorResponse } from './errors.ts'
import { cors } from './middleware/cors.ts'
import { requestContext, type GetSocketAddress } from './middleware/request-context.ts'
import { loopbackHostsOnly } from './public-origin.ts'
import { healthRoutes } from './routes/health.ts'
import { MSC4108_PREFIX, msc4108Routes } from './routes/msc4108.ts'
import { MSC4388_PREFIX, NATIVE_PREFIX, sequenceRoutes } from './routes/msc4388.ts'
import { relayWebSocket, type WebSocketTransport } from './routes/relay-ws.ts'
import { matrixVersions } from './routes/matrix-discovery.ts'
import { jwksRoute, ticketIssuer } from './routes/tickets.ts'
import type { SigningKeys } from '../services/signing-keys.ts'
import type { AuthServices } from '../services/auth-services.ts'
import { bearerAuth, type AuthedEnv } from './middleware/bearer-auth.ts'
import { loginRoutes } from './routes/login.ts'
import { accountRoutes } from './routes/account.ts'
import { deviceRoutes } from './routes/devices.ts'
import { oauthTokenRoute } from './routes/oauth-token.ts'
import { oauthMetadataRoute } from './routes/oauth-metadata.ts'
import { deviceAuthorizationRoute } from './routes/device-authorization.ts'
import { deviceGrantsService } from '../services/device-grants.ts'
import { approvalContextRoute, approvalDecisionRoute } from './routes/approvals.ts'
import { approvalPolicyOf, approvalsService } from '../services/approvals.ts'
import type { AbuseGuard } from '../services/abuse-guard.ts'
import { notMeRoute } from './routes/not-me.ts'
import { notMeService } from '../services/not-me.ts'
import { authRecency } from '../services/auth-recency.ts'
import { deviceActionGuard } from '../services/device-actions.ts'
import { abuseAdminRoutes } from './routes/abuse-admin.ts'
import { eventsRoute } from './routes/events.ts'
import type { AccountEvents } from '../services/account-events.ts'
import { deviceLoginService } from '../services/device-login.ts'
import { tokenInspection } from '../services/token-inspection.ts'
import { hashedClients, introspectRoute, revokeRoute } from './routes/oauth-inspection.ts'
import { DEVICE_VERIFICATION_PATH, deviceVerificationRoute } from './routes/device-verification.ts'
import { requireDeviceAction } from './middleware/device-action.ts'
import type { DeviceAction } from '../core/oauth/scopes.ts'

/** Everything the app needs, built by a runtime entry (or a test). */
export interface AppDeps {
  config: Config
  store: EphemeralStore
  rendezvous: RendezvousService
  logger: Logger
  clock: Clock
  random: Random
  redact: (value: string) => string
  getSocketAddress: GetSocketAddress
  isShuttingDown?: () => boolean
  /** The runtime's WebSocket support; without it `GET /v1/rendezvous/{id}/ws` does not exist (404). */
  websocket?: WebSocketTransport
  /** Channel-ticket signing keys; without them native channels carry no ticket and /oauth2/jwks is absent. */
  signingKeys?: SigningKeys
  /** Tells which thrown errors mean the backing store is unreachable (answered 503, not 500). */
  isStoreUnavailable?: (error: unknown) => boolean
  /** Accounts, sessions and UIA (see `authServices`); without them the account endpoints do not exist. */
  auth?: AuthServices
  /** ASN and location of client addresses for the proximity policy (absent: addresses only). */
  locator?: NetworkLocator
  /** The account event feed behind `GET /v1/events` (it must also be among the `auth` services' sinks). */
  accountEvents?: AccountEvents
  /** Abuse counters and automatic denies: QR approval consults them, "not me" feeds them (`abuse-guard.ts`). */
  abuse?: AbuseGuard
}

/**
 * The middleware of one rendezvous API family: marks its routes (errors then carry that family's
 * unstable errcodes) and applies CORS. One middleware rather than two: each layer costs a dispatch.
 */
const rendezvousFamily = (name: string, locator?: NetworkLocator): MiddlewareHandler<AppEnv> => {
  const applyCors = cors()
  return async function rendezvousFamily(c, next) {
    c.set('flavor', name)
    // Channel creation and joins count abuse per ASN too, when the runtime can tell it.
    if (locator !== undefined && c.req.method !== 'GET' && c.req.method !== 'OPTIONS') {
      try {
        c.set('clientAsn', (await locator.locate(c.get('clientAddress'), c.req.raw)).asn)
      } catch {
        // Unknown: counted per network only.
      }
    }
    return applyCors(c, next)
  }
}

const methodNotAllowed: Handler<AppEnv> = () => {
  throw new RelayError('METHOD_NOT_ALLOWED', { detail: 'method not allowed on this endpoint' })
}

/**
 * Builds the app.
 *
 * @example
 * const app = createApp(deps)
 * const res = await app.request('/healthz')
 */
export const createApp = (deps: AppDeps): Hono<AppEnv> => {
  const { config, rendezvous } = deps
  const app = new Hono<AppEnv>()
  const { maxPayloadBytes } = config.rendezvous

  app.use(
    requestContext({
      logger: deps.logger,
      clock: deps.clock,
      random: deps.random,
      getSocketAddress: deps.getSocketAddress,
      redact: deps.redact,
      addressRule: { header: config.server.trustedProxyHeader, trustedProxies: config.server.trustedProxies },
      isShuttingDown: deps.isShuttingDown ?? (() => false),
      accessLog: config.server.logLevel === 'info' || config.server.logLevel === 'debug',
    }),
  )
  // Without QRELAY_PUBLIC_BASE_URL, URLs and DPoP `htu` checks fall back to the request's `Host`:
  // only loopback hosts may do that (local development), anything else is refused here, once.
  app.use(loopbackHostsOnly(config.server.publicBaseUrl))
  // A store that cannot be reached is a 503 with Retry-After (a retry finds the same state), not a 500.
  const unavailable = (error: unknown): boolean => error instanceof StoreUnavailableError || deps.isStoreUnavailable?.(error) === true
  app.onError((error, c) => errorResponse(c, unavailable(error) ? new RelayError('UNAVAILABLE', { cause: error }) : error))
  const isShuttingDown = deps.isShuttingDown ?? (() => false)
  app.notFound((c) => errorResponse(c, new RelayError('UNRECOGNIZED', { detail: 'unknown endpoint' })))

  const health = healthRoutes(deps.store, isShuttingDown)
  app.get('/healthz', health.healthz)
  app.get('/readyz', health.readyz)
  app.get('/_matrix/client/versions', matrixVersions(config.rendezvous))
  if (deps.signingKeys !== undefined) app.get('/oauth2/jwks', jwksRoute(deps.signingKeys))
  app.get(
    '/.well-known/oauth-authorization-server',
    oauthMetadataRoute({
      publicBaseUrl: config.server.publicBaseUrl,
      token: deps.auth !== undefined,
      deviceAuthorization: deps.auth !== undefined,
      jwks: deps.signingKeys !== undefined,
      introspection: deps.auth !== undefined && config.oauth.introspectionClients.size > 0,
      revocation: deps.auth !== undefined,
    }),
  )
  app.all('/.well-known/oauth-authorization-server', methodNotAllowed)
  const issueTicket =
    deps.signingKeys === undefined ? undefined : ticketIssuer(deps.signingKeys, deps.clock, config.server.publicBaseUrl, config.network)

  if (config.rendezvous.msc4108Enabled) {
    const r = msc4108Routes({ rendezvous, maxPayloadBytes, publicBaseUrl: config.server.publicBaseUrl })
    // `prefix/*` matches the bare prefix too: one registration, so each runs once per request.
    app.use(`${MSC4108_PREFIX}/*`, rendezvousFamily('msc4108', deps.locator))
    app.post(MSC4108_PREFIX, r.create)
    app.get(`${MSC4108_PREFIX}/:id`, r.read)
    app.put(`${MSC4108_PREFIX}/:id`, r.write)
    app.delete(`${MSC4108_PREFIX}/:id`, r.remove)
    app.all(MSC4108_PREFIX, methodNotAllowed)
    app.all(`${MSC4108_PREFIX}/:id`, methodNotAllowed)
  }

  // Authenticate-then-initiate: only signed-in devices create MSC4388 and native channels (MSC4108
  // 2024 has no authentication at all, so it stays open). Without accounts nobody may create.
  const creatorAuth: MiddlewareHandler<AppEnv> | undefined = !config.policy.requireAuthenticatedCreator
    ? undefined
    : deps.auth === undefined
      ? () => {
          throw new RelayError('FORBIDDEN', { detail: 'only signed-in devices may create channels here' })
        }
      : (bearerAuth(deps.auth.sessions, {
          clock: deps.clock,
          counters: deps.store.counters,
          publicBaseUrl: config.server.publicBaseUrl,
        }) as unknown as MiddlewareHandler<AppEnv>)

  for (const [api, prefix, enabled] of [
    ['msc4388', MSC4388_PREFIX, config.rendezvous.msc4388Enabled],
    ['native', NATIVE_PREFIX, config.rendezvous.nativeEnabled],
  ] as const) {
    if (!enabled) continue
    const r = sequenceRoutes({
      rendezvous,
      api,
      maxPayloadBytes,
      createAvailable: true,
      ...(api === 'native' && issueTicket !== undefined ? { issueTicket } : {}),
    })
    app.use(`${prefix}/*`, rendezvousFamily(api, deps.locator))
    app.get(prefix, r.discover)
    if (creatorAuth !== undefined) app.post(prefix, creatorAuth)
    app.post(prefix, r.create)
    app.get(`${prefix}/:id`, r.read)
    app.put(`${prefix}/:id`, r.write)
    app.delete(`${prefix}/:id`, r.remove)
    if (api === 'native') {
      app.post(`${prefix}/:id/abort`, r.abort)
      app.all(`${prefix}/:id/abort`, methodNotAllowed)
      if (deps.websocket !== undefined && config.websocket.enabled) {
        app.get(`${prefix}/:id/ws`, relayWebSocket(deps.websocket))
        app.all(`${prefix}/:id/ws`, methodNotAllowed)
      }
    }
    app.all(prefix, methodNotAllowed)
    app.all(`${prefix}/:id`, methodNotAllowed)
  }

  if (deps.auth !== undefined) {
    const { accounts, sessions, secondFactors, uia, limiter, failures, trust } = deps.auth
    const login = loginRoutes({ accounts, sessions, uia, limiter, trust, auth: config.auth })
    app.post('/v1/login', login.login)
    app.all('/v1/login', methodNotAllowed)
    if (config.auth.registrationEnabled) {
      app.post('/v1/register', login.register)
      app.all('/v1/register', methodNotAllowed)
    }
    if (config.auth.adminToken !== undefined) {
      app.post('/v1/admin/users', login.adminCreateUser)
      app.post('/v1/admin/users/:name/disable', login.adminDisableUser)
      if (deps.abuse !== undefined) {
        const abuseAdmin = abuseAdminRoutes({ abuse: deps.abuse, adminToken: config.auth.adminToken })
        app.post('/v1/admin/abuse/lift', abuseAdmin.lift)
        app.get('/v1/admin/abuse', abuseAdmin.status)
        app.all('/v1/admin/abuse/lift', methodNotAllowed)
      }
    }
    const { clock, random, locator } = deps
    const { counters } = deps.store
    const { publicBaseUrl } = config.server
    const grants = deviceGrantsService({ kv: deps.store.kv, clock, random, limits: config.oauth })
    const { durable, events } = deps.auth
    const deviceLogin = deviceLoginService({ grants, sessions, durable, events, clock, quarantineSeconds: config.policy.quarantineSeconds })
    const tokenLimit = { limiter, rule: config.oauth.tokenRequestsPerClient }
    // RFC 9449 §8 server nonces on the authorization-server endpoints, when the operator turns them on.
    const dpopNonceKey = config.oauth.dpopNonce ? deps.auth.dpopNonceKey : undefined
    app.post('/oauth2/token', oauthTokenRoute({ sessions, deviceLogin, clock, counters, publicBaseUrl, locator, dpopNonceKey, limit: tokenLimit }))
    const inspection = tokenInspection({ durable, clock })
    app.post('/oauth2/revoke', revokeRoute({ inspection, limit: tokenLimit, clock, counters, publicBaseUrl }))
    app.all('/oauth2/revoke', methodNotAllowed)
    if (config.oauth.introspectionClients.size > 0) {
      const clients = hashedClients(config.oauth.introspectionClients)
      app.post('/oauth2/introspect', introspectRoute({ inspection, clients, limit: tokenLimit }))
      app.all('/oauth2/introspect', methodNotAllowed)
    }
    const grantLimit = { limiter, rule: config.oauth.deviceAuthorizationPerClient }
    app.post('/oauth2/device_authorization', deviceAuthorizationRoute({ grants, clock, counters, publicBaseUrl, locator, dpopNonceKey, limit: grantLimit }))
    app.all('/oauth2/device_authorization', methodNotAllowed)
    if (config.policy.requireInitiationCode) {
      app.post(DEVICE_VERIFICATION_PATH, deviceVerificationRoute({ deviceLogin, clock, counters, publicBaseUrl, dpopNonceKey }))
      app.all(DEVICE_VERIFICATION_PATH, methodNotAllowed)
    }

    // Everything below needs `Authorization: Bearer <access token>` (or `DPoP <token>` + proof when bound).
    const authed = app as unknown as Hono<AuthedEnv>
    const requireToken = bearerAuth(sessions, { clock, counters, publicBaseUrl })
    // `/v1/devices/*` matches `/v1/devices` too: listing it separately ran the auth twice (a DPoP
    // proof then counted as replayed, so a DPoP-bound session could not list its devices).
    for (const path of ['/v1/logout', '/v1/account/*', '/v1/devices/*', '/v1/approvals/*', '/v1/events']) {
      authed.use(path, requireToken)
    }
    // Quarantine: a session minted by QR cannot take the account over (BCP "limited scopes").
    const guard = (action: DeviceAction) => requireDeviceAction(action, { devices: durable.devices, clock })
    authed.use('/v1/account/password', guard('change_password'))
    // '/v1/account/totp/*' matches '/v1/account/totp' too: one mount, so the guard runs once.
    for (const path of ['/v1/account/totp/*', '/v1/account/recovery-codes']) authed.use(path, guard('manage_2fa'))
    authed.use('/v1/approvals/*', guard('approve_login'))
    const account = accountRoutes({ accounts, sessions, secondFactors, uia, failures })
    authed.post('/v1/logout', account.logout)
    authed.get('/v1/account/whoami', account.whoami)
    authed.post('/v1/account/password', account.changePassword)
    authed.post('/v1/account/totp', account.beginTotp)
    authed.delete('/v1/account/totp', account.disableTotp)
    authed.post('/v1/account/totp/confirm', account.confirmTotp)
    authed.post('/v1/account/recovery-codes', account.regenerateRecoveryCodes)
    // Actions on ANOTHER device (sign out, rename, not me) depend on the target: `deviceGuard` refuses
    // them to a quarantined session and steps up a stale one inside the handlers.
    const { deviceActionMaxAuthAgeSeconds } = config.policy
    const recency = authRecency({ security: durable.security, clock })
    const deviceGuard = deviceActionGuard({ devices: durable.devices, clock, recency, maxAuthAgeMs: deviceActionMaxAuthAgeSeconds * 1000 })
    const devices = deviceRoutes({ sessions, authorize: account.authorize, guard: deviceGuard })
    authed.get('/v1/devices', devices.list)
    authed.patch('/v1/devices/:id', devices.rename)
    authed.delete('/v1/devices/:id', devices.remove)
    const notMe = notMeService({ durable, events, clock, guard: deviceGuard, abuse: deps.abuse, denyMs: config.abuse.notMeDenySeconds * 1000 })
    authed.post('/v1/devices/:id/not-me', notMeRoute({ notMe, accounts, uia }))
    app.all('/v1/devices/:id/not-me', methodNotAllowed)
    if (deps.accountEvents !== undefined) {
      authed.get('/v1/events', eventsRoute(deps.accountEvents))
      app.all('/v1/events', methodNotAllowed)
    }
    const approvalDeps = { grants, limiter, kv: deps.store.kv, clock, oauth: config.oauth, network: config.network, locator }
    const approvals = approvalsService({
      grants,
      durable,
      kv: deps.store.kv,
      clock,
      random,
      secondFactors,
      policy: approvalPolicyOf(config.policy, config.network),
      recency,
      ...(deps.abuse === undefined ? {} : { abuse: deps.abuse }),
    })
    authed.get('/v1/approvals/:user_code', approvalContextRoute({ ...approvalDeps, isHidden: approvals.isHidden }))
    authed.post(
      '/v1/approvals/:user_code',
      approvalDecisionRoute({ ...approvalDeps, approvals, accounts, uia, signingKeys: deps.signingKeys, publicBaseUrl }),
    )
    app.all('/v1/approvals/:user_code', methodNotAllowed)
    for (const path of ['/v1/logout', '/v1/account/whoami', '/v1/account/password', '/v1/account/totp']) app.all(path, methodNotAllowed)
    for (const path of ['/v1/account/totp/confirm', '/v1/account/recovery-codes', '/v1/devices', '/v1/devices/:id']) {
      app.all(path, methodNotAllowed)
    }
  }

  return app
}
