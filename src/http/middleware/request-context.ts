/**
 * First middleware of every request: a request id, the client's address and rate-limit key, a
 * request-scoped logger, one access-log line and one metrics observation at the end. The request id
 * (and the W3C trace id) come from a trusted proxy's `X-Request-Id` and `traceparent` when valid (the
 * peers QRELAY_TRUSTED_PROXIES names, with QRELAY_TRUSTED_PROXY_HEADER set, as for client addresses),
 * else the id is generated; every log line of the request carries them, and every response
 * `X-Request-Id`. The log line names the route pattern, never the raw path (paths hold channel ids),
 * channel ids only as keyed hashes, and on a refusal its error code and reason. Every response
 * carries `X-Content-Type-Options: nosniff` and a CSP that forbids rendering it as a page.
 */
import type { Context, Env, MiddlewareHandler } from 'hono'
import { clientAddress, inAnyRange, parseAddress, rateKeyOf, type ClientAddressRule } from '../../core/policy/network.ts'
import { toBase64Url } from '../../core/crypto/secrets.ts'
import { boundedMemo } from '../../core/bounded-memo.ts'
import type { Logger, Random } from '../../ports.ts'
import type { Metrics } from '../../ports/metrics.ts'
import type { AppEnv } from '../context.ts'
import { requestIdOf, traceIdOf } from './trace-context.ts'

/** Tells the socket peer's address of a request; runtimes supply it (Node: the socket; Workers: CF-Connecting-IP). */
export type GetSocketAddress = (c: Context) => string | undefined

/** Starts timing a request; the returned function tells the milliseconds since (built by the composition root). */
export type Stopwatch = () => () => number

/** Options of {@link requestContext}. */
export interface RequestContextOptions {
  logger: Logger
  /** Times the access-log line. */
  stopwatch: Stopwatch
  random: Random
  getSocketAddress: GetSocketAddress
  addressRule: ClientAddressRule
  /** Keyed hash standing for bearer values in logs. */
  redact: (value: string) => string
  /** Whether every request gets an access-log line (log level info or debug); 5xx are always logged. */
  accessLog: boolean
  /** True once a graceful shutdown began: responses then close their connection. */
  isShuttingDown: () => boolean
  /** Where each request's route, status and duration go; default: nowhere. */
  metrics?: Metrics
}

/** The client's address as text, the key its limits count under, and whether the peer is a trusted proxy. */
interface ClientIdentity {
  text: string
  key: string
  /** The peer is a proxy whose headers are believed (its request id and trace context included). */
  viaTrustedProxy: boolean
}
const UNKNOWN: ClientIdentity = { text: 'unknown', key: 'unknown', viaTrustedProxy: false }
const IDENTITY_CACHE_SIZE = 4096
const IDENTITY_KEY_MAX = 256
/** Nothing loads, nothing runs, nothing frames: the policy of a response that must never be a page. */
export const NO_DOCUMENT_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"

/** Keyed hashes of channel ids: a channel sees a handful of requests, its hash is worked out once. */
export const channelHashes = (redact: (value: string) => string): ((id: string) => string) => boundedMemo(redact, IDENTITY_CACHE_SIZE)

/**
 * The client identity of a (socket address, header) pair. Parsing the address costs more than the
 * rest of this middleware, and a client sends many requests over few connections: the answer is kept
 * in a bounded map (short headers only, so a flood of long forged headers cannot make it big).
 */
export const clientIdentities = (
  addressRule: ClientAddressRule,
): ((socket: string | undefined, header: string | undefined) => ClientIdentity) => {
  const known = new Map<string, ClientIdentity>()
  return (socket, header) => {
    const cacheKey = `${socket ?? ''}\u0000${header ?? ''}`
    let identity = known.get(cacheKey)
    if (identity === undefined) {
      const address = clientAddress(socket, header, addressRule)
      const viaTrustedProxy = isTrustedProxy(socket, addressRule)
      identity = address === null ? UNKNOWN : { text: address.toString(), key: rateKeyOf(address), viaTrustedProxy }
      if (cacheKey.length > IDENTITY_KEY_MAX) return identity
      if (known.size >= IDENTITY_CACHE_SIZE) known.clear()
      known.set(cacheKey, identity)
    }
    return identity
  }
}

/** True when the peer is one of the proxies whose headers are believed (a header configured, the peer listed). */
const isTrustedProxy = (socket: string | undefined, rule: ClientAddressRule): boolean => {
  if (rule.header === undefined || socket === undefined) return false
  const peer = parseAddress(socket)
  return peer !== null && inAnyRange(peer, rule.trustedProxies)
}

/** The longest refusal reason an access line carries (details are short public texts; this only bounds them). */
const MAX_REASON_CHARS = 160

/** A refusal reason as an access line carries it: bounded, printable ASCII only. */
export const printableReason = (reason: string | undefined): string | undefined =>
  reason === undefined ? undefined : reason.slice(0, MAX_REASON_CHARS).replace(/[^\x20-\x7e]/g, '?')

/**
 * Notes why the request is refused, for its access-log line: the stable error code (`RATE_LIMITED`,
 * `invalid_grant`…) and a reason (a policy reason code, or the short public detail). Error answers call
 * it. A detail may name what a client sent (a form field's name): the reason keeps printable ASCII only.
 */
export const noteRefusal = <E extends Env>(c: Context<E>, code: string, reason: string | undefined): void => {
  const printable = printableReason(reason)
  // Every app these routes are mounted on has this middleware first, so the variable exists (AppEnv).
  const context = c as unknown as Context<AppEnv>
  context.set('refusal', { code, reason: printable })
}

/** The request id and trace id of a request: a trusted proxy's when valid, else a new request id and no trace. */
const idsOf = (c: Context<AppEnv>, viaTrustedProxy: boolean, random: Random): { requestId: string; traceId: string | undefined } => {
  if (!viaTrustedProxy) return { requestId: toBase64Url(random.bytes(9)), traceId: undefined }
  const requestId = requestIdOf(c.req.header('x-request-id')) ?? toBase64Url(random.bytes(9))
  return { requestId, traceId: traceIdOf(c.req.header('traceparent')) }
}

/** The fields of a request's access-log line (the route pattern, never the path; the refusal on 4xx/5xx). */
const accessFields = (c: Context<AppEnv>, ms: number, redactChannel: (id: string) => string): Record<string, unknown> => {
  const status = c.res.status
  const fields: Record<string, unknown> = { method: c.req.method, route: c.req.routePath, status, ms, client: c.get('clientAddress') }
  const channelId = c.get('channelId')
  if (channelId !== undefined) fields.channel = redactChannel(channelId)
  if (status >= 400) {
    const refusal = c.get('refusal')
    // An answer built without the error helpers (a page, a body-limit refusal) still says what it was.
    fields.error = refusal?.code ?? `HTTP_${status}`
    if (refusal?.reason !== undefined) fields.reason = refusal.reason
  }
  return fields
}

/** Builds the request-context middleware. */
export const requestContext = (options: RequestContextOptions): MiddlewareHandler<AppEnv> => {
  const { logger, stopwatch, random, getSocketAddress, addressRule, redact, isShuttingDown, accessLog } = options
  const metrics = options.metrics?.enabled === true ? options.metrics : undefined
  const redactChannel = channelHashes(redact)
  const identify = clientIdentities(addressRule)
  return async function requestContext(c, next) {
    const elapsedMs = stopwatch()
    const elapsedSeconds = metrics?.timer()
    const header = addressRule.header === undefined ? undefined : (c.req.header(addressRule.header) ?? undefined)
    const { text, key, viaTrustedProxy } = identify(getSocketAddress(c), header)
    const { requestId, traceId } = idsOf(c, viaTrustedProxy, random)
    c.set('requestId', requestId)
    c.set('clientAddress', text)
    c.set('clientKey', key)
    c.set('flavor', undefined)
    c.set('channelId', undefined)
    c.set('refusal', undefined)
    c.set('redact', redact)
    const log = logger.child(traceId === undefined ? { req: requestId } : { req: requestId, trace: traceId })
    c.set('log', log)
    // Before the handler: then it is part of the response the handler builds. Afterwards, `c.header()`
    // would rebuild the response and `c.res.headers.set()` would validate the header again.
    c.header('X-Request-Id', requestId)
    // qrelay serves data, never pages: no response may be sniffed into HTML or render as a document
    // (a channel payload is whatever a stranger wrote).
    c.header('X-Content-Type-Options', 'nosniff')
    c.header('Content-Security-Policy', NO_DOCUMENT_CSP)
    await next()
    // A keep-alive connection would hold a graceful shutdown open until the client's idle timeout.
    if (isShuttingDown()) c.res.headers.set('Connection', 'close')
    const status = c.res.status
    if (elapsedSeconds !== undefined) metrics?.request(c.req.method, c.req.routePath, status, elapsedSeconds())
    if (!accessLog && status < 500) return
    const fields = accessFields(c, elapsedMs(), redactChannel)
    if (status >= 500) log.error(fields, 'request')
    else log.info(fields, 'request')
  }
}
