/**
 * A thinner Node path for the two hot OAuth endpoints of the device flow, `POST /oauth2/token` and
 * `POST /oauth2/device_authorization`: answered straight from `node:http` by the same endpoint steps
 * as the Hono routes (`oauthTokenEndpoint`, `deviceAuthorizationEndpoint`, built on the same services
 * by `deviceFlowDeps`), with the same middleware semantics (request id, client identity, host check,
 * security headers, error answers, metrics, access log) and the same bytes. Hono + @hono/node-server
 * were about a third of these requests' CPU time (BENCHMARKS.md, "OAuth device flow").
 *
 * Anything unusual is left to the Hono app (the caller's fallback): other methods and paths, query
 * strings, repeated headers, hosts node-server would rewrite or the host check would refuse, bodies
 * without a declared length or over the form cap, and deployments whose sightings look up ASNs. A held
 * token poll (`Prefer: wait`) is taken too: its abort signal fires when the client goes away before
 * the answer is written, as @hono/node-server's request signal does. It goes in front of the app beside the
 * MSC4388 one: `chainFastPaths(rendezvousFastPath(...), oauthFastPath(...))`.
 * `test/integration/runtime/fast-oauth.test.ts` sends the same requests both ways and compares them;
 * `test/security/fast-paths.test.ts` compares the raw bytes on the production server, hostile requests included.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { RelayError } from '../core/errors.ts'
import { StoreUnavailableError } from '../core/store-unavailable.ts'
import { summarizeError } from '../core/error-summary.ts'
import { describeError } from '../http/errors.ts'
import { NO_DOCUMENT_CSP, printableReason } from '../http/middleware/request-context.ts'
import { deviceFlowDeps } from '../http/mount-oauth.ts'
import type { OAuthAnswer, OAuthExchange } from '../http/oauth-exchange.ts'
import { deviceAuthorizationEndpoint } from '../http/routes/device-authorization.ts'
import { MAX_FORM_BYTES } from '../http/routes/oauth-form.ts'
import { oauthTokenEndpoint } from '../http/routes/oauth-token.ts'
import type { Services } from '../services/services.ts'
import { type FastContext, fastContexts, hostOrigins } from './node-fast-context.ts'
import type { FastPath, FastPathHost } from './node-fast-path.ts'
import { drainUnread, fastRequest, plainFraming, REBUILT_LENGTH, RETURNED_LENGTH } from './node-fast-routes.ts'

const TOKEN_PATH = '/oauth2/token'
const DEVICE_AUTHORIZATION_PATH = '/oauth2/device_authorization'
/** The headers of an OAuth answer before its request id, sorted (as @hono/node-server writes a `Headers`). */
const OAUTH_HEADERS = [
  'cache-control',
  'no-store',
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
 * One request's exchange over its context (the request-context middleware's state, which the access
 * line reads when it is finished); what the steps call are methods, so a request costs this object and
 * no closures.
 */
class Exchange implements OAuthExchange {
  readonly context: FastContext
  /** The answer's headers set by the steps (lower-case name, value). */
  readonly extra = new Map<string, string>()
  readonly request: Request
  readonly #headers: IncomingMessage['headers']
  readonly #origin: string
  readonly #aborted: AbortController | undefined
  constructor(context: FastContext, incoming: IncomingMessage, request: Request, origin: string, aborted: AbortController | undefined) {
    this.context = context
    this.request = request
    this.#headers = incoming.headers
    this.#origin = origin
    this.#aborted = aborted
  }
  get method(): string {
    return this.context.method
  }
  get clientKey(): string {
    return this.context.clientKey
  }
  get clientAddress(): string {
    return this.context.clientAddress
  }
  header(name: string): string | undefined {
    return this.#headers[name] as string | undefined
  }
  origin(): string {
    return this.#origin
  }
  setHeader(name: string, value: string): void {
    this.extra.set(name.toLowerCase(), value)
  }
  refuse(code: string, reason: string | undefined): void {
    this.context.refusal = { code, reason: printableReason(reason) }
  }
  signal(): AbortSignal {
    return (this.#aborted ?? new AbortController()).signal
  }
}

/**
 * A controller aborted when the response closes before it was written (the client went away), with
 * the reason @hono/node-server gives its request's signal.
 */
const abortOnEarlyClose = (incoming: IncomingMessage, outgoing: ServerResponse): AbortController => {
  const controller = new AbortController()
  outgoing.once('close', () => {
    if (incoming.errored) controller.abort(incoming.errored.toString())
    else if (!outgoing.writableFinished) controller.abort('Client connection prematurely closed.')
  })
  return controller
}

/**
 * Builds the OAuth fast path for `services`, or undefined when the deployment has none (no accounts,
 * or sightings that look up ASNs).
 *
 * @example
 * const fast = chainFastPaths(rendezvousFastPath(services, host), oauthFastPath(services, host))
 */
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: factory: the matcher, the request context and the answer writer share the configuration; each is under 40 lines
export const oauthFastPath = (services: Services, host: FastPathHost): FastPath | undefined => {
  const { config, logger, stopwatch, accounts, sightings } = services
  if (accounts === undefined || sightings.locates) return undefined
  const flow = deviceFlowDeps(config, accounts, sightings)
  const endpoints: Record<string, (x: OAuthExchange) => Promise<OAuthAnswer>> = {
    [TOKEN_PATH]: oauthTokenEndpoint(flow.token),
    [DEVICE_AUTHORIZATION_PATH]: deviceAuthorizationEndpoint(flow.deviceAuthorization),
  }
  const metrics = services.metrics.enabled ? services.metrics : undefined
  const contexts = fastContexts(services)
  const originOf = hostOrigins(config.server.publicBaseUrl)
  const unavailable = (error: unknown): boolean => error instanceof StoreUnavailableError || host.isStoreUnavailable?.(error) === true

  /** Whether the headers are ones both paths read the same way (no repeats, a body of declared length within the cap). */
  const plainHeaders = (incoming: IncomingMessage): boolean => plainFraming(incoming, MAX_FORM_BYTES)

  /** Writes the answer: the headers the app's response has, in the order @hono/node-server writes them (sorted, then the length). */
  const send = (outgoing: ServerResponse, exchange: Exchange, status: number, body: string, cache: 'oauth' | 'error'): void => {
    const headers = exchange.extra
    if (cache === 'oauth' && headers.size === 0 && !host.isShuttingDown()) {
      // The common answer: the same names every time, already in order.
      const length = String(Buffer.byteLength(body))
      outgoing.writeHead(status, [...OAUTH_HEADERS, 'x-request-id', exchange.context.requestId, RETURNED_LENGTH, length])
      outgoing.end(body)
      return
    }
    if (cache === 'oauth') {
      headers.set('cache-control', 'no-store')
      headers.set('pragma', 'no-cache')
    } else if (!headers.has('cache-control')) headers.set('cache-control', 'no-store')
    headers.set('content-security-policy', NO_DOCUMENT_CSP)
    headers.set('content-type', 'application/json')
    headers.set('x-content-type-options', 'nosniff')
    headers.set('x-request-id', exchange.context.requestId)
    // A keep-alive connection would hold a graceful shutdown open until the client's idle timeout.
    if (host.isShuttingDown()) headers.set('connection', 'close')
    const flat: string[] = []
    for (const name of [...headers.keys()].sort()) flat.push(name, headers.get(name) as string)
    // @hono/node-server adds the length after the response's own headers, named by how it writes the answer.
    flat.push(cache === 'oauth' ? RETURNED_LENGTH : REBUILT_LENGTH, String(Buffer.byteLength(body)))
    outgoing.writeHead(status, flat)
    outgoing.end(body)
  }

  /** The error answer of `errorResponse` (with the app's onError mapping of an unreachable store). */
  const fail = (outgoing: ServerResponse, exchange: Exchange, thrown: unknown): number => {
    const error = unavailable(thrown) ? new RelayError('UNAVAILABLE', { cause: thrown }) : thrown
    const { status, body } = describeError(error, undefined)
    exchange.refuse(body.qrelay_code, status >= 500 ? undefined : ((body.reason as string | undefined) ?? body.error))
    if (status >= 500) {
      const { context } = exchange
      contexts.requestLog(context).error({ err: summarizeError(error), route: context.route, method: context.method }, 'request failed')
    }
    const retryAfterMs = body.retry_after_ms ?? (status === 503 ? ((error as RelayError).retryAfterMs ?? 1000) : undefined)
    if (retryAfterMs !== undefined) exchange.extra.set('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))))
    send(outgoing, exchange, status, JSON.stringify(body), 'error')
    return status
  }

  const serve = async (incoming: IncomingMessage, outgoing: ServerResponse, route: string, origin: string): Promise<void> => {
    const elapsedMs = stopwatch()
    const elapsedSeconds = metrics?.timer()
    const request = fastRequest(incoming)
    // Only a held poll (it has a `Prefer` header) asks for the signal; it listens from the start, as the adapter's does.
    const aborted = incoming.headers.prefer === undefined ? undefined : abortOnEarlyClose(incoming, outgoing)
    const exchange = new Exchange(contexts.begin(incoming, 'POST', route), incoming, request as unknown as Request, origin, aborted)
    let status: number
    try {
      const answer = await (endpoints[route] as (x: OAuthExchange) => Promise<OAuthAnswer>)(exchange)
      status = answer.status
      send(outgoing, exchange, status, JSON.stringify(answer.body), 'oauth')
    } catch (error) {
      status = fail(outgoing, exchange, error)
    }
    // A body the answer did not need (a refusal before reading) is drained as the app drains it.
    if (!request.bodyRead) drainUnread(incoming)
    contexts.finish(exchange.context, status, elapsedMs, elapsedSeconds)
  }

  return (incoming, outgoing) => {
    const url = incoming.url
    if (incoming.method !== 'POST' || (url !== TOKEN_PATH && url !== DEVICE_AUTHORIZATION_PATH)) return false
    const origin = originOf(incoming.headers.host, (incoming.socket as { encrypted?: boolean }).encrypted === true)
    if (origin === null || !plainHeaders(incoming)) return false
    serve(incoming, outgoing, url, origin).catch((error: unknown) => {
      // Only a failed write of the answer gets here (the socket went away): nothing left to tell anyone.
      logger.warn({ err: summarizeError(error) }, 'fast path answer failed')
      outgoing.destroy()
    })
    return true
  }
}

/**
 * Several fast paths in turn (the undefined ones skipped): the first that takes a request answers it.
 *
 * @example
 * listen(config, app.fetch, wss, chainFastPaths(rendezvousFastPath(services, runtime), oauthFastPath(services, runtime)))
 */
export const chainFastPaths = (...paths: Array<FastPath | undefined>): FastPath | undefined => {
  const present = paths.filter((path): path is FastPath => path !== undefined)
  if (present.length <= 1) return present[0]
  const [first, second] = present as [FastPath, FastPath]
  if (present.length === 2) return (incoming, outgoing) => first(incoming, outgoing) || second(incoming, outgoing)
  return (incoming, outgoing) => present.some((path) => path(incoming, outgoing))
}
