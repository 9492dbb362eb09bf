/**
 * The qrelay HTTP application: one route table, read top to bottom, with every endpoint's guards in
 * view. It only mounts routes on services already built (`src/runtime/compose.ts`); the OAuth and
 * account areas are mounted by `mount-oauth.ts` and `mount-account.ts`, called in order below.
 * Runtime-neutral (Hono): `src/runtime/*` serve it.
 */
import type { Hono, MiddlewareHandler } from 'hono'
import { RelayError } from '../core/errors.ts'
import { StoreUnavailableError } from '../core/store-unavailable.ts'
import type { Services } from '../services/services.ts'
import type { Sightings } from '../services/sightings.ts'
import type { AppEnv } from './context.ts'
import { errorResponse } from './errors.ts'
import { cors } from './middleware/cors.ts'
import { requestContext, type GetSocketAddress } from './middleware/request-context.ts'
import { bearerAuth } from './middleware/bearer-auth.ts'
import { methodNotAllowed } from './method-not-allowed.ts'
import { failurePage, isPageNavigation, mountPages, notFoundPage } from './pages/mount-pages.tsx'
import { installPageContent, type PageContent } from './pages/page-content.ts'
import { mountAccount } from './mount-account.ts'
import { mountOAuth } from './mount-oauth.ts'
import { loopbackHostsOnly } from './public-origin.ts'
import { healthRoutes } from './routes/health.ts'
import { metricsRoute } from './routes/metrics.ts'
import { MSC4108_PREFIX, msc4108Routes } from './routes/msc4108.ts'
import { MSC4388_PREFIX, NATIVE_PREFIX, sequenceRoutes } from './routes/msc4388.ts'
import { relayWebSocket, type WebSocketTransport } from './routes/relay-ws.ts'
import { matrixVersions } from './routes/matrix-discovery.ts'
import { jwksRoute, ticketIssuer } from './routes/tickets.ts'
import { oauthMetadataRoute } from './routes/oauth-metadata.ts'
import type { OperationTable } from './openapi/assemble.ts'
import { mountOpenApi, type DocsPage } from './openapi/mount.ts'

/** What the runtime serving the app adds to the services: its view of sockets, shutdown and errors. */
export interface AppHost {
  getSocketAddress: GetSocketAddress
  isShuttingDown?: () => boolean
  /** The runtime's WebSocket support; without it `GET /v1/rendezvous/{id}/ws` does not exist (404). */
  websocket?: WebSocketTransport
  /** Tells which thrown errors mean the backing store is unreachable (answered 503, not 500). */
  isStoreUnavailable?: (error: unknown) => boolean
  /** Loads the pages' browser script once (`scripts/build.ts`); without one the channel pages say they need it. */
  pageScript?: () => Promise<string | undefined>
}

/**
 * The middleware of one rendezvous API family: marks its routes (errors then carry that family's
 * unstable errcodes) and applies CORS. One middleware rather than two: each layer costs a dispatch.
 */
const rendezvousFamily = (name: string, sightings: Sightings): MiddlewareHandler<AppEnv> => {
  const applyCors = cors()
  return async function rendezvousFamily(c, next) {
    c.set('flavor', name)
    // Channel creation and joins count abuse per ASN too, when the runtime can tell it.
    if (sightings.locates && c.req.method !== 'GET' && c.req.method !== 'OPTIONS') {
      c.set('clientAsn', await sightings.asnOf(c.get('clientAddress'), c.req.raw))
    }
    return applyCors(c, next)
  }
}

/** Request context, host checks, error answers and the endpoints every deployment has. */
const mountBase = (app: Hono<AppEnv>, services: Services, host: AppHost): void => {
  const { config } = services
  const isShuttingDown = host.isShuttingDown ?? (() => false)
  app.use(
    requestContext({
      logger: services.logger,
      stopwatch: services.stopwatch,
      random: services.random,
      getSocketAddress: host.getSocketAddress,
      redact: services.redact,
      addressRule: { header: config.server.trustedProxyHeader, trustedProxies: config.server.trustedProxies },
      isShuttingDown,
      accessLog: config.server.logLevel === 'info' || config.server.logLevel === 'debug',
      metrics: services.metrics,
    }),
  )
  // Without QRELAY_PUBLIC_BASE_URL, URLs and DPoP `htu` checks fall back to the request's `Host`:
  // only loopback hosts may do that (local development), anything else is refused here, once.
  app.use(loopbackHostsOnly(config.server.publicBaseUrl))
  // A store that cannot be reached is a 503 with Retry-After (a retry finds the same state), not a 500.
  const unavailable = (error: unknown): boolean => error instanceof StoreUnavailableError || host.isStoreUnavailable?.(error) === true
  // A person's browser gets the failure as a page (the JSON answer is what is logged and sent otherwise).
  app.onError((error, c) =>
    failurePage(c, services, errorResponse(c, unavailable(error) ? new RelayError('UNAVAILABLE', { cause: error }) : error)),
  )
  app.notFound((c) =>
    // A person's browser at an address with no page gets a page (where the pages have an account to lead to).
    services.accounts !== undefined && isPageNavigation(c)
      ? notFoundPage(c, services)
      : errorResponse(c, new RelayError('UNRECOGNIZED', { detail: 'unknown endpoint' })),
  )

  const health = healthRoutes(services.readiness, isShuttingDown)
  app.get('/healthz', health.healthz)
  app.get('/readyz', health.readyz)
  if (services.metrics.enabled) {
    app.get('/metrics', metricsRoute({ metrics: services.metrics, token: config.server.metricsToken }))
    app.all('/metrics', methodNotAllowed)
  }
  app.get('/_matrix/client/versions', matrixVersions(config.rendezvous))
  if (services.tickets !== undefined) app.get('/oauth2/jwks', jwksRoute(services.tickets))
  const accounts = services.accounts !== undefined
  app.get(
    '/.well-known/oauth-authorization-server',
    oauthMetadataRoute({
      publicBaseUrl: config.server.publicBaseUrl,
      token: accounts,
      deviceAuthorization: accounts,
      jwks: services.tickets !== undefined,
      introspection: accounts && config.oauth.introspectionClients.size > 0,
      revocation: accounts,
    }),
  )
  app.all('/.well-known/oauth-authorization-server', methodNotAllowed)
}

/**
 * Authenticate-then-initiate: only signed-in devices create MSC4388 and native channels (MSC4108
 * 2024 has no authentication at all, so it stays open). Without accounts nobody may create.
 */
const creatorAuthOf = (services: Services): MiddlewareHandler<AppEnv> | undefined => {
  if (!services.config.policy.requireAuthenticatedCreator) return undefined
  if (services.accounts === undefined) {
    return () => {
      throw new RelayError('FORBIDDEN', { detail: 'only signed-in devices may create channels here' })
    }
  }
  const { auth, dpop } = services.accounts
  return bearerAuth(auth.sessions, {
    proofs: dpop,
    publicBaseUrl: services.config.server.publicBaseUrl,
  }) as unknown as MiddlewareHandler<AppEnv>
}

/** The three rendezvous API families, each when enabled. */
const mountRendezvous = (app: Hono<AppEnv>, services: Services, host: AppHost): void => {
  const { config, rendezvous, sightings } = services
  const { maxPayloadBytes } = config.rendezvous
  if (config.rendezvous.msc4108Enabled) {
    const r = msc4108Routes({ rendezvous, maxPayloadBytes, publicBaseUrl: config.server.publicBaseUrl })
    // `prefix/*` matches the bare prefix too: one registration, so each runs once per request.
    app.use(`${MSC4108_PREFIX}/*`, rendezvousFamily('msc4108', sightings))
    app.post(MSC4108_PREFIX, r.create)
    app.get(`${MSC4108_PREFIX}/:id`, r.read)
    app.put(`${MSC4108_PREFIX}/:id`, r.write)
    app.delete(`${MSC4108_PREFIX}/:id`, r.remove)
    app.all(MSC4108_PREFIX, methodNotAllowed)
    app.all(`${MSC4108_PREFIX}/:id`, methodNotAllowed)
  }
  const creatorAuth = creatorAuthOf(services)
  const issueTicket = services.tickets === undefined ? undefined : ticketIssuer(services.tickets, config.server.publicBaseUrl)
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
    app.use(`${prefix}/*`, rendezvousFamily(api, sightings))
    app.get(prefix, r.discover)
    if (creatorAuth !== undefined) app.post(prefix, creatorAuth)
    app.post(prefix, r.create)
    app.get(`${prefix}/:id`, r.read)
    app.put(`${prefix}/:id`, r.write)
    app.delete(`${prefix}/:id`, r.remove)
    if (api === 'native') {
      app.post(`${prefix}/:id/abort`, r.abort)
      app.all(`${prefix}/:id/abort`, methodNotAllowed)
      if (host.websocket !== undefined && config.websocket.enabled) {
        app.get(`${prefix}/:id/ws`, relayWebSocket(host.websocket))
        app.all(`${prefix}/:id/ws`, methodNotAllowed)
      }
    }
    app.all(prefix, methodNotAllowed)
    app.all(`${prefix}/:id`, methodNotAllowed)
  }
}

/**
 * The static content the app serves, which a runtime may load as data instead of bundling the code
 * that computes it (the Worker reads it through its assets binding: docs/workers.md).
 */
export interface AppContent {
  /** The table of every operation the OpenAPI document can list (`openapi/document.ts`). */
  openApiOperations: () => Promise<OperationTable>
  /** The `/docs` page's renderer and style sheet (`openapi/docs.ts`). */
  docs: () => Promise<DocsPage>
  /** The pages' catalogs, style sheet and feed script (`pages/page-content.ts`), there before the app is built. */
  pages: PageContent
  /**
   * The empty Hono app the routes are mounted on, with the router the runtime picks: Node, Hono's
   * default (RegExpRouter, TrieRouter as fallback); the Worker, TrieRouter alone (same matches, a
   * smaller script).
   */
  newApp: () => Hono<AppEnv>
}

/**
 * Builds the app on already-built services, with its static content loaded as the runtime chooses
 * (`app.ts`'s `createApp`: computed from the sources; the Worker: from its assets).
 *
 * @example
 * const app = createAppWith(services, { getSocketAddress }, { openApiOperations: () => fetchTable(), docs: async () => docs })
 */
export const createAppWith = (services: Services, host: AppHost, content: AppContent): Hono<AppEnv> => {
  installPageContent(content.pages)
  const app = content.newApp()
  mountBase(app, services, host)
  const beforePages = app.routes.length
  mountPages(app, services, host.pageScript)
  const pages = app.routes.slice(beforePages)
  mountRendezvous(app, services, host)
  if (services.accounts !== undefined) {
    // Sign-in, the OAuth device flow and token endpoints, then everything behind a bearer token.
    mountOAuth(app, services.config, services.accounts, services)
    mountAccount(app, services.config, services.accounts, services)
  }
  // Last: the document lists every route mounted above (`GET /docs` renders it for people).
  mountOpenApi(app, { pages, operations: content.openApiOperations, docs: content.docs })
  return app
}
