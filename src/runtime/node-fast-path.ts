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
 * `test/integration/runtime/fast-path.test.ts` sends the same requests both ways and compares them;
 * `test/security/fast-paths.test.ts` compares the raw bytes on the production server, hostile requests included.
 *
 * On the memory store with metrics off, the service answers these requests at once (`rendezvousNow`), and
 * they are served without a promise (`node-fast-now.ts`); elsewhere through the service's promises.
 *
 * The native API's create (`POST /v1/rendezvous`, the first request of a QR login) is taken too, on the
 * same conditions and with the native family's errors: the MSC4388 create's steps plus the creator
 * secret and the channel ticket (signed as `routes/tickets.ts` does), always through promises.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { RelayError } from '../core/errors.ts'
import { StoreUnavailableError } from '../core/store-unavailable.ts'
import { summarizeError } from '../core/error-summary.ts'
import { describeError } from '../http/errors.ts'
import { channelHashes, NO_DOCUMENT_CSP, printableReason } from '../http/middleware/request-context.ts'
import { MSC4388_PREFIX, NATIVE_PREFIX } from '../http/routes/msc4388.ts'
import type { Caller } from '../services/rendezvous.ts'
import type { Services } from '../services/services.ts'
import { type FastContext, fastContexts, hostOrigins } from './node-fast-context.ts'
import {
  drainUnread,
  type FastRequest,
  fastRequest,
  msc4388FastRoutes,
  nativeFastCreate,
  plainFraming,
  REBUILT_LENGTH,
  RETURNED_LENGTH,
} from './node-fast-routes.ts'
import { answersNow } from './node-fast-now.ts'
import { rendezvousNow } from '../services/rendezvous-now.ts'

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
const EXPOSE_HEADERS = 'ETag, Retry-After, X-Request-Id'
/**
 * The headers of a 200 before its request id, in the order @hono/node-server writes the app's
 * (a `Headers` object's: sorted by name).
 */
const OK_HEADERS: readonly string[] = [
  'access-control-allow-origin',
  '*',
  'access-control-expose-headers',
  EXPOSE_HEADERS,
  'cache-control',
  'no-store, no-transform',
  'content-security-policy',
  NO_DOCUMENT_CSP,
  'content-type',
  'application/json',
  'pragma',
  'no-cache',
  'x-content-type-options',
  'nosniff',
]

/**
 * Builds the fast path for `services`, or undefined when the deployment has none (MSC4388 off).
 *
 * @example
 * const fast = rendezvousFastPath(services, { isShuttingDown: () => false })
 * http.createServer((req, res) => fast?.(req, res) || appListener(req, res))
 */
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: factory: the matcher, the request context and the answer writer share the configuration; each is under 40 lines
export const rendezvousFastPath = (services: Services, host: FastPathHost): FastPath | undefined => {
  const { config, logger, redact, stopwatch } = services
  if (!config.rendezvous.msc4388Enabled) return undefined
  // The family middleware looks up the ASN of non-GET requests when a locator is set; creator auth guards POST.
  const writes = !services.sightings.locates
  const creates = writes && !config.policy.requireAuthenticatedCreator
  const metrics = services.metrics.enabled ? services.metrics : undefined
  const contexts = fastContexts(services, channelHashes(redact))
  const originOf = hostOrigins(config.server.publicBaseUrl)
  const routes = msc4388FastRoutes(services.rendezvous, config.rendezvous.maxPayloadBytes)
  const { tickets } = services
  const publicBaseUrl = config.server.publicBaseUrl
  const nativeCreate =
    creates && config.rendezvous.nativeEnabled
      ? nativeFastCreate(
          services.rendezvous,
          routes.maxBodyBytes,
          tickets === undefined
            ? undefined
            : (record, origin, clientAddress) =>
                tickets.issue({ issuer: publicBaseUrl ?? origin, channelId: record.id, clientAddress, expiresAtMs: record.expiresAtMs }),
        )
      : undefined
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
  const plainHeaders = (incoming: IncomingMessage, method: string): boolean =>
    originOf(incoming.headers.host, false) !== null &&
    plainFraming(incoming, method === 'POST' || method === 'PUT' ? routes.maxBodyBytes : undefined)

  /** A 200 with `body`: the app's headers, then its request id and length (as @hono/node-server writes them). */
  const ok = (outgoing: ServerResponse, exchange: FastContext, body: string): void => {
    if (host.isShuttingDown()) {
      closing(outgoing, 200, OK_HEADERS, exchange.requestId, RETURNED_LENGTH, body)
      return
    }
    const headers = OK_HEADERS.slice()
    headers.push('x-request-id', exchange.requestId, RETURNED_LENGTH, String(Buffer.byteLength(body)))
    outgoing.writeHead(200, headers)
    outgoing.end(body)
  }

  /**
   * An answer once a graceful shutdown began: `Connection: close` (a keep-alive connection would hold
   * the shutdown open until the client's idle timeout) among the app's headers, in name order, as the
   * request-context middleware sets it on the finished response.
   */
  const closing = (
    outgoing: ServerResponse,
    status: number,
    sorted: readonly string[],
    requestId: string,
    lengthName: string,
    body: string,
  ): void => {
    const headers: string[] = []
    for (let i = 0; i < sorted.length; i += 2) {
      if (sorted[i] === 'content-security-policy') headers.push('connection', 'close')
      headers.push(sorted[i]!, sorted[i + 1]!)
    }
    headers.push('x-request-id', requestId, lengthName, String(Buffer.byteLength(body)))
    outgoing.writeHead(status, headers)
    outgoing.end(body)
  }

  /** The error answer of `errorResponse` (with the app's onError mapping of an unreachable store). */
  const fail = (outgoing: ServerResponse, exchange: FastContext, thrown: unknown, flavor: 'msc4388' | 'native' = 'msc4388'): number => {
    const error = unavailable(thrown) ? new RelayError('UNAVAILABLE', { cause: thrown }) : thrown
    const { status, body } = describeError(error, flavor)
    const reason = status >= 500 ? undefined : ((body.reason as string | undefined) ?? body.error)
    exchange.refusal = { code: body.qrelay_code, reason: printableReason(reason) }
    if (status >= 500) {
      contexts.requestLog(exchange).error({ err: summarizeError(error), route: exchange.route, method: exchange.method }, 'request failed')
    }
    const retryAfterMs = body.retry_after_ms ?? (status === 503 ? ((error as RelayError).retryAfterMs ?? 1000) : undefined)
    // The app's error answer, its headers in name order (`retry-after` between `content-type` and `x-…`).
    const headers = [
      'access-control-allow-origin',
      '*',
      'access-control-expose-headers',
      EXPOSE_HEADERS,
      'cache-control',
      'no-store',
      'content-security-policy',
      NO_DOCUMENT_CSP,
      'content-type',
      'application/json',
    ]
    if (retryAfterMs !== undefined) headers.push('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))))
    headers.push('x-content-type-options', 'nosniff')
    const text = JSON.stringify(body)
    if (host.isShuttingDown()) closing(outgoing, status, headers, exchange.requestId, REBUILT_LENGTH, text)
    else {
      headers.push('x-request-id', exchange.requestId, REBUILT_LENGTH, String(Buffer.byteLength(text)))
      outgoing.writeHead(status, headers)
      outgoing.end(text)
    }
    return status
  }

  const run = (request: FastRequest, method: string, id: string, caller: Caller, exchange: FastContext): Promise<string> => {
    if (method === 'POST') return routes.create(request, caller)
    if (method === 'GET') return routes.read(request, id, caller, exchange)
    if (method === 'PUT') return routes.write(request, id, caller, exchange)
    return routes.remove(request, id, caller, exchange)
  }

  /**
   * One request through the service's promises: its context under `route`, the 200 `answer` gives or
   * the error answer of `flavor`, the body drained if unread, the access line.
   */
  const serve = async (
    incoming: IncomingMessage,
    outgoing: ServerResponse,
    method: string,
    route: string,
    flavor: 'msc4388' | 'native',
    answer: (request: FastRequest, caller: Caller, exchange: FastContext) => Promise<string>,
  ): Promise<void> => {
    const elapsedMs = stopwatch()
    const elapsedSeconds = metrics?.timer()
    const exchange = contexts.begin(incoming, method, route)
    const request = fastRequest(incoming)
    let status = 200
    try {
      const body = await answer(request, { clientKey: exchange.clientKey, address: exchange.clientAddress }, exchange)
      ok(outgoing, exchange, body)
    } catch (error) {
      status = fail(outgoing, exchange, error, flavor)
    }
    // A body the answer did not need (a refusal before reading, a DELETE's) is drained as the app drains it.
    if (!request.bodyRead && method !== 'GET') drainUnread(incoming)
    contexts.finish(exchange, status, elapsedMs, elapsedSeconds)
  }

  /** Only a failed write of the answer gets here (the socket went away): nothing left to tell anyone. */
  const lost = (outgoing: ServerResponse, error: unknown): void => {
    logger.warn({ err: summarizeError(error) }, 'fast path answer failed')
    outgoing.destroy()
  }

  // With metrics on, the store is timed and answers nothing at once (`rendezvousNow` is undefined then too).
  const now = metrics === undefined ? rendezvousNow(services.rendezvous.inProcessParts) : undefined
  const answeredNow =
    now === undefined
      ? undefined
      : answersNow(now, services, routes.maxBodyBytes, {
          contexts,
          routeOf: (id) => (id === '' ? MSC4388_PREFIX : ID_ROUTE),
          ok,
          fail,
          lost,
        })

  return (incoming, outgoing) => {
    const method = incoming.method ?? ''
    if (nativeCreate !== undefined && method === 'POST' && incoming.url === NATIVE_PREFIX) {
      if (!plainHeaders(incoming, method)) return false
      const origin = originOf(incoming.headers.host, false) as string
      const create = (request: FastRequest, caller: Caller, exchange: FastContext) =>
        nativeCreate(request, caller, origin, exchange.clientAddress)
      serve(incoming, outgoing, method, NATIVE_PREFIX, 'native', create).catch((error: unknown) => lost(outgoing, error))
      return true
    }
    const id = match(method, incoming.url ?? '')
    if (id === undefined || !plainHeaders(incoming, method)) return false
    if (answeredNow !== undefined) {
      try {
        answeredNow(incoming, outgoing, method, id)
      } catch (error) {
        lost(outgoing, error)
      }
      return true
    }
    const route = id === '' ? MSC4388_PREFIX : ID_ROUTE
    const answer = (request: FastRequest, caller: Caller, exchange: FastContext) => run(request, method, id, caller, exchange)
    serve(incoming, outgoing, method, route, 'msc4388', answer).catch((error: unknown) => lost(outgoing, error))
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
