/**
 * First middleware of every request: a request id, the client's address and rate-limit key, a
 * request-scoped logger, and one access-log line at the end. The log line names the route pattern,
 * never the raw path (paths hold channel ids), and channel ids only as keyed hashes.
 */
import type { Context, MiddlewareHandler } from 'hono'
import { clientAddress, rateKeyOf, type ClientAddressRule } from '../../core/policy/network.ts'
import { toBase64Url } from '../../core/crypto/secrets.ts'
import type { Clock, Logger, Random } from '../../ports.ts'
import type { AppEnv } from '../context.ts'

/** Tells the socket peer's address of a request; runtimes supply it (Node: the socket; Workers: CF-Connecting-IP). */
export type GetSocketAddress = (c: Context) => string | undefined

/** Options of {@link requestContext}. */
export interface RequestContextOptions {
  logger: Logger
  clock: Clock
  random: Random
  getSocketAddress: GetSocketAddress
  addressRule: ClientAddressRule
  /** Keyed hash standing for bearer values in logs. */
  redact: (value: string) => string
}

/** Builds the request-context middleware. */
export const requestContext = (options: RequestContextOptions): MiddlewareHandler<AppEnv> => {
  const { logger, clock, random, getSocketAddress, addressRule, redact } = options
  return async function requestContext(c, next) {
    const started = clock.now()
    const requestId = toBase64Url(random.bytes(9))
    const header = addressRule.header === undefined ? undefined : (c.req.header(addressRule.header) ?? undefined)
    const address = clientAddress(getSocketAddress(c), header, addressRule)
    c.set('requestId', requestId)
    c.set('clientAddress', address?.toString() ?? 'unknown')
    c.set('clientKey', address === null ? 'unknown' : rateKeyOf(address))
    c.set('flavor', undefined)
    c.set('channelRef', undefined)
    c.set('redact', redact)
    const log = logger.child({ req: requestId })
    c.set('log', log)
    await next()
    c.header('X-Request-Id', requestId)
    const status = c.res.status
    const fields: Record<string, unknown> = {
      method: c.req.method,
      route: c.req.routePath,
      status,
      ms: clock.now() - started,
      client: c.get('clientAddress'),
    }
    const channel = c.get('channelRef')
    if (channel !== undefined) fields.channel = channel
    if (status >= 500) log.error(fields, 'request')
    else log.info(fields, 'request')
  }
}
