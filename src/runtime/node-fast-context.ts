/**
 * What the node:http fast paths (`node-fast-path.ts`, `node-fast-oauth.ts`) share with the
 * request-context middleware: which `Host` values they take, a request's id, trace id and client
 * identity, and its access-log line with the metrics observation, written byte for byte as the
 * middleware writes them.
 */
import type { IncomingMessage } from 'node:http'
import { fieldsLineWriterOf, pinoJsonNumber, pinoJsonString } from '../adapters/platform/node-log.ts'
import { isLoopbackHost } from '../config.ts'
import { clientIdentities } from '../http/middleware/request-context.ts'
import { requestIdOf, traceIdOf } from '../http/middleware/trace-context.ts'
import type { Services } from '../services/services.ts'

/** Hosts @hono/node-server takes as they are (its `reValidHost`); others it parses, and the app answers them. */
const PLAIN_HOST = /^[a-z0-9._-]+(?::(?:[1-5]\d{3,4}|[6-9]\d{3}))?$/
const HOST_CACHE_SIZE = 256

/**
 * The origin of a `Host` a fast path takes (as the app's `new URL(c.req.url).origin`), or null: a
 * plain host, and a loopback one unless a public base URL is set (the app refuses others with 403).
 */
export const hostOrigins = (publicBaseUrl: string | undefined): ((host: string | undefined, secure: boolean) => string | null) => {
  const known = new Map<string, string | null>()
  return (host, secure) => {
    if (host === undefined) return null
    const key = secure ? `s${host}` : host
    let origin = known.get(key)
    if (origin === undefined) {
      origin = null
      if (PLAIN_HOST.test(host)) {
        const url = new URL(`${secure ? 'https' : 'http'}://${host}`)
        if (publicBaseUrl !== undefined || isLoopbackHost(url.hostname)) origin = url.origin
      }
      if (known.size >= HOST_CACHE_SIZE) known.clear()
      known.set(key, origin)
    }
    return origin
  }
}

/** A new request id from 9 random bytes: `toBase64Url` of them (12 characters, never padded), on Node's native encoder. */
const newRequestId = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')

/** A request's context, as the request-context middleware keeps it on the Hono context. */
export interface FastContext {
  readonly method: string
  readonly route: string
  readonly requestId: string
  /** The trace id taken from a trusted proxy's `traceparent`, if any. */
  readonly traceId: string | undefined
  readonly clientKey: string
  readonly clientAddress: string
  refusal: { code: string; reason: string | undefined } | undefined
  /** The channel the request named, once a route has taken it up (the access line names its log hash). */
  channelId: string | undefined
}

/** The request contexts of one fast path's deployment. */
export interface FastContexts {
  /** The context of `incoming`: its client identity, and the request and trace ids a trusted proxy sent, else a new request id. */
  begin(incoming: IncomingMessage, method: string, route: string): FastContext
  /** The request-scoped logger of the middleware (made on demand: a pino child serialises its bindings when made). */
  requestLog(context: FastContext): Services['logger']
  /** The access-log line (with the log hash of the channel the request named, if any) and the metrics observation. */
  finish(context: FastContext, status: number, elapsedMs: () => number, elapsedSeconds: (() => number) | undefined): void
}

/**
 * The fast paths' request contexts over `services`' configuration, logger and metrics; a channel named
 * by a request is logged as `redactChannel` hashes it, only when a line is written.
 *
 * @example
 * const contexts = fastContexts(services, channelHashes(services.redact))
 * const context = contexts.begin(incoming, 'POST', '/oauth2/token')
 */
export const fastContexts = (services: Services, redactChannel?: (id: string) => string): FastContexts => {
  const { config, logger, random } = services
  const metrics = services.metrics.enabled ? services.metrics : undefined
  const accessLog = config.server.logLevel === 'info' || config.server.logLevel === 'debug'
  const addressRule = { header: config.server.trustedProxyHeader, trustedProxies: config.server.trustedProxies }
  const proxyHeader = addressRule.header?.toLowerCase()
  const identify = clientIdentities(addressRule)
  // pino's own logger takes the line's fields as JSON text: the same line, without a fields object for pino to walk.
  const writeFields = fieldsLineWriterOf(logger)
  /** The fields of the access line as JSON text, in the order of the object below. */
  const accessLineFields = (context: FastContext, status: number, ms: number): string => {
    let json = `,"req":${pinoJsonString(context.requestId)}`
    if (context.traceId !== undefined) json += `,"trace":${pinoJsonString(context.traceId)}`
    json += `,"method":${pinoJsonString(context.method)},"route":${pinoJsonString(context.route)},"status":${pinoJsonNumber(status)}`
    json += `,"ms":${pinoJsonNumber(ms)},"client":${pinoJsonString(context.clientAddress)}`
    if (context.channelId !== undefined && redactChannel !== undefined)
      json += `,"channel":${pinoJsonString(redactChannel(context.channelId))}`
    if (status >= 400) {
      json += `,"error":${pinoJsonString(context.refusal?.code ?? `HTTP_${status}`)}`
      if (context.refusal?.reason !== undefined) json += `,"reason":${pinoJsonString(context.refusal.reason)}`
    }
    return json
  }
  return {
    begin(incoming, method, route) {
      const headers = incoming.headers
      const header = proxyHeader === undefined ? undefined : (headers[proxyHeader] as string | undefined)
      const identity = identify(incoming.socket.remoteAddress, header)
      const proxied = identity.viaTrustedProxy
      const requestId = (proxied ? requestIdOf(headers['x-request-id'] as string | undefined) : undefined) ?? newRequestId(random.bytes(9))
      const traceId = proxied ? traceIdOf(headers.traceparent as string | undefined) : undefined
      return {
        method,
        route,
        requestId,
        traceId,
        clientKey: identity.key,
        clientAddress: identity.text,
        refusal: undefined,
        channelId: undefined,
      }
    },
    requestLog: (context) =>
      logger.child(context.traceId === undefined ? { req: context.requestId } : { req: context.requestId, trace: context.traceId }),
    finish(context, status, elapsedMs, elapsedSeconds) {
      if (elapsedSeconds !== undefined) metrics?.request(context.method, context.route, status, elapsedSeconds())
      if (!accessLog && status < 500) return
      if (writeFields !== undefined) {
        writeFields(status >= 500 ? 'error' : 'info', accessLineFields(context, status, elapsedMs()), 'request')
        return
      }
      // The request's child logger would write its bindings first: the same line, without making a child.
      const fields: Record<string, unknown> = { req: context.requestId }
      if (context.traceId !== undefined) fields.trace = context.traceId
      fields.method = context.method
      fields.route = context.route
      fields.status = status
      fields.ms = elapsedMs()
      fields.client = context.clientAddress
      if (context.channelId !== undefined && redactChannel !== undefined) fields.channel = redactChannel(context.channelId)
      if (status >= 400) {
        fields.error = context.refusal?.code ?? `HTTP_${status}`
        if (context.refusal?.reason !== undefined) fields.reason = context.refusal.reason
      }
      if (status >= 500) logger.error(fields, 'request')
      else logger.info(fields, 'request')
    },
  }
}
