/**
 * The relay's own public origin, the one thing every handed-out URL and every DPoP `htu` is built on.
 * It comes from `QRELAY_PUBLIC_BASE_URL`. Without it, only a request addressed to a loopback host
 * (`localhost`, `127.0.0.0/8`, `[::1]`: local development) may supply it through its `Host`; any other
 * `Host` is refused, so a forged `Host: evil.example` never ends up in a URL or in proof checking.
 * {@link loopbackHostsOnly} enforces it for the whole app, ahead of every route's own fallback.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.3 (htu check)
 */
import type { Context, MiddlewareHandler } from 'hono'
import { RelayError } from '../core/errors.ts'
import { isLoopbackHost } from '../config.ts'
import type { AppEnv } from './context.ts'

/**
 * The public origin (or base URL) to build URLs on. Errors: FORBIDDEN when none is configured and the
 * request's `Host` is not a loopback name.
 *
 * @example
 * const url = `${publicOriginOf(c, config.server.publicBaseUrl)}/oauth2/token`
 */
export const publicOriginOf = (c: Context, publicBaseUrl: string | undefined): string => {
  if (publicBaseUrl !== undefined) return publicBaseUrl
  const url = new URL(c.req.url)
  if (!isLoopbackHost(url.hostname)) {
    throw new RelayError('FORBIDDEN', { detail: 'this relay has no public base URL configured and answers loopback hosts only' })
  }
  return url.origin
}

/** Routes that build no URL and that probes call by address: answered whatever the `Host`. */
const HOST_FREE_PATHS = new Set(['/healthz', '/readyz'])

/**
 * Without a configured public base URL, refuses (403) every request whose `Host` is not a loopback
 * name; with one, does nothing.
 *
 * @example
 * app.use(loopbackHostsOnly(config.server.publicBaseUrl))
 */
export const loopbackHostsOnly = (publicBaseUrl: string | undefined): MiddlewareHandler<AppEnv> =>
  async function loopbackHostsOnly(c, next) {
    if (publicBaseUrl === undefined && !HOST_FREE_PATHS.has(c.req.path)) publicOriginOf(c, undefined)
    await next()
  }
