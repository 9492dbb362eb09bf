/**
 * The page session (docs/pages.md): an opaque access token of a device session minted by the same
 * sessions service as `POST /v1/login` (stored hashed there), held in a `__Host-` cookie that is
 * HttpOnly, Secure and SameSite=Strict. Plain http is allowed only on loopback (development), where
 * the `__Host-` prefix cannot be used. Which of the two is decided by the configured public origin, never
 * by the request's `Host` (a proxy passing its upstream's name would otherwise drop `Secure` and the prefix). Every POST must carry an `Origin` equal to the page's own:
 * with SameSite=Strict this makes cross-site request forgery impossible by construction.
 *
 * @see https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-rfc6265bis#section-4.1.3.2
 */
import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

/** Whether the page is served over plain http on a loopback host (development only). */
const isLoopbackHttp = (url: URL): boolean => url.protocol === 'http:' && LOOPBACK.has(url.hostname)

/** The URL the browser sees: the configured public one; without it (loopback development only) the request's. */
const pageUrlOf = (c: Context, publicBaseUrl: string | undefined): URL => new URL(publicBaseUrl ?? c.req.url)

/** The cookie's name for the page's origin. */
export const sessionCookieName = (url: URL): string => (isLoopbackHttp(url) ? 'qrelay-page' : '__Host-qrelay-page')

/** The page session token the browser sent, if any. */
export const readPageSession = (c: Context, publicBaseUrl: string | undefined): string | undefined =>
  getCookie(c, sessionCookieName(pageUrlOf(c, publicBaseUrl)))

/** The refresh cookie's name: the same rules, its own name (it renews the page session). */
const refreshCookieName = (url: URL): string => `${sessionCookieName(url)}-refresh`

/**
 * The device-trust cookie's name (the same rules): the `device_trust` token of this browser's last
 * password sign-in, which gives its guesses a budget of their own, as `POST /v1/login`'s clients get.
 * It grants no access and outlives a sign-out.
 */
const trustCookieName = (url: URL): string => `${sessionCookieName(url)}-trust`

/** The device-trust token of an earlier sign-in in this browser, if any. */
export const readPageTrust = (c: Context, publicBaseUrl: string | undefined): string | undefined =>
  getCookie(c, trustCookieName(pageUrlOf(c, publicBaseUrl)))

/** The page session's refresh token the browser sent, if any. */
export const readPageRefresh = (c: Context, publicBaseUrl: string | undefined): string | undefined =>
  getCookie(c, refreshCookieName(pageUrlOf(c, publicBaseUrl)))

const cookieOptions = (url: URL, maxAgeSeconds: number) =>
  ({
    path: '/',
    httpOnly: true,
    secure: !isLoopbackHttp(url),
    sameSite: 'Strict',
    maxAge: Math.max(0, Math.floor(maxAgeSeconds)),
  }) as const

/** Sets the page session cookie to `token` for `maxAgeSeconds`. */
export const writePageSession = (c: Context, publicBaseUrl: string | undefined, token: string, maxAgeSeconds: number): void => {
  const url = pageUrlOf(c, publicBaseUrl)
  setCookie(c, sessionCookieName(url), token, cookieOptions(url, maxAgeSeconds))
}

/** Sets the refresh cookie (same attributes) for `maxAgeSeconds`, the refresh family's lifetime. */
export const writePageRefresh = (c: Context, publicBaseUrl: string | undefined, token: string, maxAgeSeconds: number): void => {
  const url = pageUrlOf(c, publicBaseUrl)
  setCookie(c, refreshCookieName(url), token, cookieOptions(url, maxAgeSeconds))
}

/** Keeps this browser's device-trust token for `maxAgeSeconds` (`QRELAY_DEVICE_TRUST_TTL_SECONDS`). */
export const writePageTrust = (c: Context, publicBaseUrl: string | undefined, token: string, maxAgeSeconds: number): void => {
  const url = pageUrlOf(c, publicBaseUrl)
  setCookie(c, trustCookieName(url), token, cookieOptions(url, maxAgeSeconds))
}

/** Removes both cookies (sign-out, or a session the server no longer knows). */
export const clearPageSession = (c: Context, publicBaseUrl: string | undefined): void => {
  const url = pageUrlOf(c, publicBaseUrl)
  for (const name of [sessionCookieName(url), refreshCookieName(url)]) deleteCookie(c, name, { path: '/', secure: !isLoopbackHttp(url) })
}

/**
 * Whether a POST came from this site's own pages: its `Origin` is the request's own origin or the
 * configured public one; or, with `Origin: null` or none, `Sec-Fetch-Site: same-origin`. Anything else is refused.
 */
export const sameOriginPost = (c: Context, publicBaseUrl: string | undefined): boolean => {
  const origin = c.req.header('origin')
  // `Referrer-Policy: no-referrer` makes browsers send `Origin: null` on the page's own form POSTs:
  // then `Sec-Fetch-Site` (a header no script can set) must say the request came from this origin.
  if (origin === undefined || origin === 'null') return c.req.header('sec-fetch-site') === 'same-origin'
  const own = publicBaseUrl === undefined ? new URL(c.req.url).origin : new URL(publicBaseUrl).origin
  return origin === own
}

/**
 * Whether a request was sent by a page of another origin (`Sec-Fetch-Site` `same-site` or
 * `cross-site`; `none` is the person's own navigation). SameSite=Strict keeps the cookies off
 * cross-site requests only: a sibling subdomain's `<img>` or no-cors fetch carries them. Such a request
 * may show a page but spends nothing of the account's, and does not run `/link`.
 */
export const fromAnotherOrigin = (c: Context): boolean => {
  const site = c.req.header('sec-fetch-site')
  return site === 'same-site' || site === 'cross-site'
}
