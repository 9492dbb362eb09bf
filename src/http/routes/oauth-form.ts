/**
 * What every OAuth endpoint shares: form-encoded requests with each parameter at most once
 * (RFC 6749 §3.2), and RFC 6749 §5.2 error bodies.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
import type { Context } from 'hono'
import { RelayError } from '../../core/errors.ts'
import type { RateRule } from '../../core/policy/rate-limit.ts'
import type { RateLimiter } from '../../services/rate-limiter.ts'
import { mediaTypeOf, readTextCapped } from '../body.ts'
import type { AppEnv } from '../context.ts'
import { noteRefusal } from '../middleware/request-context.ts'
import { NO_STORE } from './account-shared.ts'

/** The largest OAuth form body accepted. */
export const MAX_FORM_BYTES = 4096

/** An RFC 6749 §5.2 error response (`{error, error_description}`, never cached). */
export const oauthError = (c: Context<AppEnv>, error: string, description: string, status: 400 | 401 = 400): Response => {
  noteRefusal(c, error, description)
  return c.json({ error, error_description: description }, status, NO_STORE)
}

/** Reads a form body with each parameter at most once; a Response is the error answer. */
export const readOAuthForm = async (c: Context<AppEnv>): Promise<URLSearchParams | Response> => {
  if (mediaTypeOf(c.req.raw) !== 'application/x-www-form-urlencoded') {
    return oauthError(c, 'invalid_request', 'Content-Type must be application/x-www-form-urlencoded')
  }
  let form: URLSearchParams
  try {
    form = new URLSearchParams(await readTextCapped(c.req.raw, MAX_FORM_BYTES))
  } catch (error) {
    if (error instanceof RelayError) return oauthError(c, 'invalid_request', error.detail ?? 'unreadable body')
    throw error
  }
  for (const name of new Set(form.keys())) {
    if (form.getAll(name).length > 1) return oauthError(c, 'invalid_request', `${name} appears more than once`)
  }
  return form
}

/**
 * Counts one request of this client against `rule`; over the limit, the 429 answer (OAuth-style body
 * `temporarily_unavailable`, `Retry-After`), else null.
 *
 * @example
 * const limited = await oauthRateLimit(c, limiter, 'token', config.oauth.tokenRequestsPerClient)
 * if (limited !== null) return limited
 */
export const oauthRateLimit = async (c: Context<AppEnv>, limiter: RateLimiter, name: string, rule: RateRule): Promise<Response | null> => {
  const decision = await limiter.hit(`oauth:${name}:${c.get('clientKey')}`, rule)
  if (decision.allowed) return null
  const retryAfterMs = decision.retryAfterMs
  noteRefusal(c, 'temporarily_unavailable', 'too many requests from this address')
  c.header('Retry-After', String(Math.max(1, Math.ceil(retryAfterMs / 1000))))
  return c.json(
    { error: 'temporarily_unavailable', error_description: 'too many requests from this address', retry_after_ms: retryAfterMs },
    429,
    NO_STORE,
  )
}
