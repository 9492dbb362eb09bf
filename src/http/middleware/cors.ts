/**
 * CORS for the rendezvous APIs: any origin (trust lives in the channel, not in the origin), the
 * conditional headers the 2024 API needs, and `ETag` exposed so browsers can read it.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4108 (CORS of the rendezvous API)
 */
import type { MiddlewareHandler } from 'hono'

const ALLOW_METHODS = 'GET, POST, PUT, DELETE, OPTIONS'
const ALLOW_HEADERS = 'Authorization, Content-Type, If-Match, If-None-Match, X-Requested-With'
const EXPOSE_HEADERS = 'ETag, Retry-After, X-Request-Id'

/** Builds the CORS middleware: answers preflights with 204 and decorates every other response. */
export const cors = (): MiddlewareHandler =>
  async function cors(c, next) {
    if (c.req.method === 'OPTIONS') {
      return c.body(null, 204, {
        'Access-Control-Allow-Origin': '*',
        'Access-Control-Allow-Methods': ALLOW_METHODS,
        'Access-Control-Allow-Headers': ALLOW_HEADERS,
        'Access-Control-Max-Age': '86400',
        'Cache-Control': 'no-store',
      })
    }
    // Set before the handler runs, so they are part of whatever response it builds (errors included):
    // setting them on the finished Response afterwards costs a header validation each.
    c.header('Access-Control-Allow-Origin', '*')
    c.header('Access-Control-Expose-Headers', EXPOSE_HEADERS)
    await next()
    return undefined
  }
