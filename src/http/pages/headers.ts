/**
 * The security headers of every page: a strict CSP with a per-request script nonce, no framing, no
 * referrer, no sniffing, and no caching (pages may show personal data).
 *
 * @see https://www.w3.org/TR/CSP3/
 */
import type { Context } from 'hono'
import { toBase64Url } from '../../core/crypto/secrets.ts'
import type { Random } from '../../ports.ts'

/** A new nonce for one response's scripts (128 bits). */
export const newNonce = (random: Random): string => toBase64Url(random.bytes(16))

/** The Content-Security-Policy of a page whose scripts carry `nonce`. */
export const pageCsp = (nonce: string): string =>
  [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ')

/** Sets the page headers on `c`. */
export const setPageHeaders = (c: Context, nonce: string): void => {
  c.header('Content-Security-Policy', pageCsp(nonce))
  c.header('X-Content-Type-Options', 'nosniff')
  c.header('Referrer-Policy', 'no-referrer')
  c.header('X-Frame-Options', 'DENY')
  c.header('Cache-Control', 'no-store')
}
