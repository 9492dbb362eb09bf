/**
 * First middleware of every request: a request id, the client's address and rate-limit key, a
 * request-scoped logger, one access-log line and one metrics observation at the end. The log line names the route pattern,
 * never the raw path (paths hold channel ids), and channel ids only as keyed hashes. Every response
 * carries `X-Content-Type-Options: nosniff` and a CSP that forbids rendering it as a page.
 */
import type { Context, MiddlewareHandler } from 'hono'
import { clientAddress, rateKeyOf, type ClientAddressRule } from '../../core/policy/network.ts'
import { toBase64Url } from '../../core/crypto/secrets.ts'
import type { Logger, Random } from '../../ports.ts'
import type { Metrics } from '../../ports/metrics.ts'
import type { AppEnv } from '../context.ts'

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

/** The client's address as text and the key its limits count under. */
interface ClientIdentity {
  text: string
  key: string
}
const UNKNOWN: ClientIdentity = { text: 'unknown', key: 'unknown' }
const IDENTITY_CACHE_SIZE = 4096
const IDENTITY_KEY_MAX = 256
/** Nothing loads, nothing runs, nothing frames: the policy of a response that must never be a page. */
export const NO_DOCUMENT_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"

/** Keyed hashes of channel ids: a channel sees a handful of requests, its hash is worked out once. */
const channelHashes = (redact: (value: string) => string): ((id: string) => string) => {
  const hashes = new Map<string, string>()
  return (id) => {
    let hash = hashes.get(id)
    if (hash === undefined) {
      hash = redact(id)
      if (hashes.size >= IDENTITY_CACHE_SIZE) hashes.clear()
      hashes.set(id, hash)
    }
    return hash
  }
}

/**
 * The client identity of a (socket address, header) pair. Parsing the address costs more than the
 * rest of this middleware, and a client sends many requests over few connections: the answer is kept
 * in a bounded map (short headers only, so a flood of long forged headers cannot make it big).
 */
const clientIdentities = (addressRule: ClientAddressRule): ((socket: string | undefined, header: string | undefined) => ClientIdentity) => {
  const known = new Map<string, ClientIdentity>()
  return (socket, header) => {
    const cacheKey = `${socket ?? ''}\u0000${header ?? ''}`
    let identity = known.get(cacheKey)
    if (identity === undefined) {
      const address = clientAddress(socket, header, addressRule)
      identity = address === null ? UNKNOWN : { text: address.toString(), key: rateKeyOf(address) }
      if (cacheKey.length > IDENTITY_KEY_MAX) return identity
      if (known.size >= IDENTITY_CACHE_SIZE) known.clear()
      known.set(cacheKey, identity)
    }
    return identity
  }
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
    const requestId = toBase64Url(random.bytes(9))
    const header = addressRule.header === undefined ? undefined : (c.req.header(addressRule.header) ?? undefined)
    const { text, key } = identify(getSocketAddress(c), header)
    c.set('requestId', requestId)
    c.set('clientAddress', text)
    c.set('clientKey', key)
    c.set('flavor', undefined)
    c.set('channelId', undefined)
    c.set('redact', redact)
    const log = logger.child({ req: requestId })
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
    const fields: Record<string, unknown> = {
      method: c.req.method,
      route: c.req.routePath,
      status,
      ms: elapsedMs(),
      client: c.get('clientAddress'),
    }
    const channelId = c.get('channelId')
    if (channelId !== undefined) fields.channel = redactChannel(channelId)
    if (status >= 500) log.error(fields, 'request')
    else log.info(fields, 'request')
  }
}
