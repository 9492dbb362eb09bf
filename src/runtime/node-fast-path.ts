/**
 * A thinner Node path for the hot MSC4388 channel routes (create, read, write, delete): the requests a
 * login cycle makes, answered straight from `node:http` with the same services, the same middleware
 * semantics (request id, client identity, host check, CORS, security headers, error answers, metrics,
 * access log with redaction) and the same bytes as the Hono app. Hono + @hono/node-server alone cost
 * about a third of the bare server's throughput on this mix (BENCHMARKS.md, "Where the time goes").
 *
 * Anything unusual is left to the Hono app (the caller's fallback): other methods and paths, query
 * strings, escapes, dot segments, ids outside the opaque grammar, repeated headers, hosts node-server
 * would rewrite or the host check would refuse, bodies without a declared length or over the cap,
 * and deployments where the family middleware does more (creator auth, ASN lookups).
 * `test/integration/runtime/fast-path.test.ts` sends the same requests both ways and compares them.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { RelayError } from '../core/errors.ts'
import { StoreUnavailableError } from '../core/store-unavailable.ts'
import { summarizeError } from '../core/error-summary.ts'
import { toBase64Url } from '../core/crypto/secrets.ts'
import { isLoopbackHost } from '../config.ts'
import { describeError } from '../http/errors.ts'
import { channelHashes, clientIdentities, NO_DOCUMENT_CSP, printableReason } from '../http/middleware/request-context.ts'
import { requestIdOf, traceIdOf } from '../http/middleware/trace-context.ts'
import { MSC4388_PREFIX } from '../http/routes/msc4388.ts'
import type { Caller } from '../services/rendezvous.ts'
import type { Services } from '../services/services.ts'
import { fastRequest, msc4388FastRoutes, type FastRequest } from './node-fast-routes.ts'

/** What the fast path needs from the runtime beside the services (as `AppHost` gives the app). */
export interface FastPathHost {
  isShuttingDown: () => boolean
  isStoreUnavailable?: (error: unknown) => boolean
}

/** Answers a request and returns true, or returns false (nothing done) to leave it to the app. */
export type FastPath = (incoming: IncomingMessage, outgoing: ServerResponse) => boolean

const ID_ROUTE = `${MSC4388_PREFIX}/:id`
/** Matrix opaque identifiers (as `channelIdParam` checks them). */
const OPAQUE_ID = /^[0-9A-Za-z\-._~]{1,255}$/
/** Hosts @hono/node-server takes as they are (its `reValidHost`); others it parses, and the app answers them. */
const PLAIN_HOST = /^[a-z0-9._-]+(?::(?:[1-5]\d{3,4}|[6-9]\d{3}))?$/
const EXPOSE_HEADERS = 'ETag, Retry-After, X-Request-Id'
const HOST_CACHE_SIZE = 256
/** The headers of a 200 beside those of every answer. */
const OK_HEADERS: readonly string[] = ['cache-control', 'no-store, no-transform', 'pragma', 'no-cache']

/** Whether requests with this `Host` may take the fast path: plain, and loopback unless a public base URL is set. */
const hostCheck = (publicBaseUrl: string | undefined): ((host: string | undefined) => boolean) => {
  const known = new Map<string, boolean>()
  return (host) => {
    if (host === undefined) return false
    let fine = known.get(host)
    if (fine === undefined) {
      fine = PLAIN_HOST.test(host) && (publicBaseUrl !== undefined || isLoopbackHost(new URL(`http://${host}`).hostname))
      if (known.size >= HOST_CACHE_SIZE) known.clear()
      known.set(host, fine)
    }
    return fine
  }
}

/** One request's state, as the request-context middleware keeps it on the Hono context. */
interface Exchange {
  method: string
  route: string
  requestId: string
  clientAddress: string
  channelId: string | undefined
  refusal: { code: string; reason: string | undefined } | undefined
  /** The trace id taken from a trusted proxy's `traceparent`, if any. */
  traceId: string | undefined
}

/**
 * Builds the fast path for `services`, or undefined when the deployment has none (MSC4388 off).
 *
 * @example
 * const fast = rendezvousFastPath(services, { isShuttingDown: () => false })
 * http.createServer((req, res) => fast?.(req, res) || appListener(req, res))
 */
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: factory: the matcher, the request context and the answer writer share the configuration; each is under 40 lines
export const rendezvousFastPath = (services: Services, host: FastPathHost): FastPath | undefined => {
  const { config, logger, random, redact, stopwatch } = services
  if (!config.rendezvous.msc4388Enabled) return undefined
  // The family middleware looks up the ASN of non-GET requests when a locator is set; creator auth guards POST.
  const writes = !services.sightings.locates
  const creates = writes && !config.policy.requireAuthenticatedCreator
  const metrics = services.metrics.enabled ? services.metrics : undefined
  const accessLog = config.server.logLevel === 'info' || config.server.logLevel === 'debug'
  const addressRule = { header: config.server.trustedProxyHeader, trustedProxies: config.server.trustedProxies }
  const proxyHeader = addressRule.header?.toLowerCase()
  const identify = clientIdentities(addressRule)
  const redactChannel = channelHashes(redact)
  const plainHost = hostCheck(config.server.publicBaseUrl)
  const routes = msc4388FastRoutes(services.rendezvous, config.rendezvous.maxPayloadBytes)
  const unavailable = (error: unknown): boolean => error instanceof StoreUnavailableError || host.isStoreUnavailable?.(error) === true

  /** The id of a channel route, '' for the create route, undefined when this path does not take it. */
  const match = (method: string | undefined, url: string): string | undefined => {
    if (!url.startsWith(MSC4388_PREFIX)) return undefined
    if (url.length === MSC4388_PREFIX.length) return method === 'POST' && creates ? '' : undefined
    if (url.charCodeAt(MSC4388_PREFIX.length) !== 47) return undefined
    const id = url.slice(MSC4388_PREFIX.length + 1)
    if (!OPAQUE_ID.test(id) || id === '.' || id === '..') return undefined
    return method === 'GET' || ((method === 'PUT' || method === 'DELETE') && writes) ? id : undefined
  }

  /** Whether the headers are ones both paths read the same way (no repeats, a plain host, a body within the cap). */
  const plainHeaders = (incoming: IncomingMessage, method: string): boolean => {
    const headers = incoming.headers
    if (incoming.rawHeaders.length !== 2 * Object.keys(headers).length || !plainHost(headers.host)) return false
    if (headers['transfer-encoding'] !== undefined) return false
    if (method !== 'POST' && method !== 'PUT') return true
    const declared = headers['content-length']
    return declared !== undefined && /^\d+$/.test(declared) && Number(declared) <= routes.maxBodyBytes
  }

  const send = (outgoing: ServerResponse, exchange: Exchange, status: number, body: string, extra: readonly string[]): void => {
    const headers = ['access-control-allow-origin', '*', 'access-control-expose-headers', EXPOSE_HEADERS]
    for (let i = 0; i < extra.length; i++) headers.push(extra[i]!)
    headers.push(
      'content-length',
      String(Buffer.byteLength(body)),
      'content-security-policy',
      NO_DOCUMENT_CSP,
      'content-type',
      'application/json',
      'x-content-type-options',
      'nosniff',
      'x-request-id',
      exchange.requestId,
    )
    // A keep-alive connection would hold a graceful shutdown open until the client's idle timeout.
    if (host.isShuttingDown()) headers.push('connection', 'close')
    outgoing.writeHead(status, headers)
    outgoing.end(body)
  }

  /** The request-scoped logger of the request-context middleware. */
  const requestLog = (exchange: Exchange): Services['logger'] =>
    logger.child(exchange.traceId === undefined ? { req: exchange.requestId } : { req: exchange.requestId, trace: exchange.traceId })

  /** The error answer of `errorResponse` (with the app's onError mapping of an unreachable store). */
  const fail = (outgoing: ServerResponse, exchange: Exchange, thrown: unknown): number => {
    const error = unavailable(thrown) ? new RelayError('UNAVAILABLE', { cause: thrown }) : thrown
    const { status, body } = describeError(error, 'msc4388')
    const reason = status >= 500 ? undefined : ((body.reason as string | undefined) ?? body.error)
    exchange.refusal = { code: body.qrelay_code, reason: printableReason(reason) }
    if (status >= 500) {
      requestLog(exchange).error({ err: summarizeError(error), route: exchange.route, method: exchange.method }, 'request failed')
    }
    const retryAfterMs = body.retry_after_ms ?? (status === 503 ? ((error as RelayError).retryAfterMs ?? 1000) : undefined)
    const extra = retryAfterMs === undefined ? [] : ['retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000)))]
    extra.push('cache-control', 'no-store')
    send(outgoing, exchange, status, JSON.stringify(body), extra)
    return status
  }

  /** The access-log line and metrics observation of `requestContext`. */
  const finish = (exchange: Exchange, status: number, elapsedMs: () => number, elapsedSeconds: (() => number) | undefined): void => {
    if (elapsedSeconds !== undefined) metrics?.request(exchange.method, exchange.route, status, elapsedSeconds())
    if (!accessLog && status < 500) return
    // The request's child logger would write its bindings first: the same line, without making a child.
    const fields: Record<string, unknown> = { req: exchange.requestId }
    if (exchange.traceId !== undefined) fields.trace = exchange.traceId
    fields.method = exchange.method
    fields.route = exchange.route
    fields.status = status
    fields.ms = elapsedMs()
    fields.client = exchange.clientAddress
    if (exchange.channelId !== undefined) fields.channel = redactChannel(exchange.channelId)
    if (status >= 400) {
      fields.error = exchange.refusal?.code ?? `HTTP_${status}`
      if (exchange.refusal?.reason !== undefined) fields.reason = exchange.refusal.reason
    }
    if (status >= 500) logger.error(fields, 'request')
    else logger.info(fields, 'request')
  }

  const run = (request: FastRequest, method: string, id: string, caller: Caller, exchange: Exchange): Promise<string> => {
    if (method === 'POST') return routes.create(request, caller)
    if (method === 'GET') return routes.read(request, id, caller, exchange)
    if (method === 'PUT') return routes.write(request, id, caller, exchange)
    return routes.remove(request, id, caller, exchange)
  }

  const serve = async (incoming: IncomingMessage, outgoing: ServerResponse, method: string, id: string): Promise<void> => {
    const elapsedMs = stopwatch()
    const elapsedSeconds = metrics?.timer()
    const headers = incoming.headers
    const header = proxyHeader === undefined ? undefined : (headers[proxyHeader] as string | undefined)
    const identity = identify(incoming.socket.remoteAddress, header)
    const proxied = identity.viaTrustedProxy
    const requestId = (proxied ? requestIdOf(headers['x-request-id'] as string | undefined) : undefined) ?? toBase64Url(random.bytes(9))
    const traceId = proxied ? traceIdOf(headers.traceparent as string | undefined) : undefined
    const route = id === '' ? MSC4388_PREFIX : ID_ROUTE
    const exchange: Exchange = { method, route, requestId, clientAddress: identity.text, channelId: undefined, refusal: undefined, traceId }
    const request = fastRequest(incoming)
    let status = 200
    try {
      const body = await run(request, method, id, { clientKey: identity.key, address: identity.text }, exchange)
      send(outgoing, exchange, 200, body, OK_HEADERS)
    } catch (error) {
      status = fail(outgoing, exchange, error)
    }
    // A body the answer did not need (a refusal before reading) is drained: it is within the cap.
    if (!request.bodyRead && (method === 'POST' || method === 'PUT')) incoming.resume()
    finish(exchange, status, elapsedMs, elapsedSeconds)
  }

  return (incoming, outgoing) => {
    const method = incoming.method ?? ''
    const id = match(method, incoming.url ?? '')
    if (id === undefined || !plainHeaders(incoming, method)) return false
    serve(incoming, outgoing, method, id).catch((error: unknown) => {
      // Only a failed write of the answer gets here (the socket went away): nothing left to tell anyone.
      logger.warn({ err: summarizeError(error) }, 'fast path answer failed')
      outgoing.destroy()
    })
    return true
  }
}

/**
 * The `serve()` option that puts `fast` in front of @hono/node-server's listener (nothing without one):
 * the server, its upgrade handling and its options stay @hono/node-server's.
 */
export const fastPathServer = (fast: FastPath | undefined): { createServer?: typeof createServer } => {
  if (fast === undefined) return {}
  const create = (options: object, listener: (req: IncomingMessage, res: ServerResponse) => void) =>
    createServer(options, (req, res) => fast(req, res) || listener(req, res))
  // serve() types `createServer` as every server factory of node:http, node:https and node:http2 at once.
  return { createServer: create as unknown as typeof createServer }
}
