/**
 * What every OAuth endpoint shares: form-encoded requests with each parameter at most once
 * (RFC 6749 §3.2), and RFC 6749 §5.2 error bodies. Each step is written on an {@link OAuthExchange}
 * (the Hono app and the Node fast path share them), with a Hono form for the routes that use one.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
import type { Context } from 'hono'
import { RelayError } from '../../core/errors.ts'
import type { RateRule } from '../../core/policy/rate-limit.ts'
import type { RateLimiter } from '../../services/rate-limiter.ts'
import { prefixLimits } from '../../services/prefix-limits.ts'
import { hasWiderNetworks, type WiderShares } from '../../core/policy/ipv6-prefixes.ts'
import { mediaTypeOf, readTextCapped } from '../body.ts'
import type { AppEnv } from '../context.ts'
import { honoAnswer, honoExchange, type OAuthAnswer, type OAuthExchange } from '../oauth-exchange.ts'

/** The largest OAuth form body accepted. */
export const MAX_FORM_BYTES = 4096

/** The RFC 6749 §5.2 error answer (`{error, error_description}`), noted as the request's refusal. */
export const errorAnswer = (x: OAuthExchange, error: string, description: string, status: 400 | 401 = 400): OAuthAnswer => {
  x.refuse(error, description)
  return { status, body: { error, error_description: description } }
}

/** An RFC 6749 §5.2 error response (`{error, error_description}`, never cached). */
export const oauthError = (c: Context<AppEnv>, error: string, description: string, status: 400 | 401 = 400): Response =>
  honoAnswer(c, errorAnswer(honoExchange(c), error, description, status))

/** The first name (in order of first appearance) that a form repeats. */
const repeatedName = (form: URLSearchParams): string => {
  for (const name of new Set(form.keys())) if (form.getAll(name).length > 1) return name
  return ''
}

/** Reads a form body with each parameter at most once; an answer is the error answer. */
export const formOf = async (x: OAuthExchange): Promise<URLSearchParams | OAuthAnswer> => {
  if (mediaTypeOf(x.request) !== 'application/x-www-form-urlencoded') {
    return errorAnswer(x, 'invalid_request', 'Content-Type must be application/x-www-form-urlencoded')
  }
  let form: URLSearchParams
  try {
    form = new URLSearchParams(await readTextCapped(x.request, MAX_FORM_BYTES))
  } catch (error) {
    if (error instanceof RelayError) return errorAnswer(x, 'invalid_request', error.detail ?? 'unreadable body')
    throw error
  }
  // Each name once: the common form has a handful of distinct names, checked without a set of them.
  const seen: string[] = []
  for (const name of form.keys()) {
    if (seen.includes(name)) return errorAnswer(x, 'invalid_request', `${repeatedName(form)} appears more than once`)
    seen.push(name)
  }
  return form
}

/** Reads a form body with each parameter at most once; a Response is the error answer. */
export const readOAuthForm = async (c: Context<AppEnv>): Promise<URLSearchParams | Response> => {
  const form = await formOf(honoExchange(c))
  return form instanceof URLSearchParams ? form : honoAnswer(c, form)
}

/** The slots of an IPv6 client's /56 and /48 (`prefix-limits.ts`): null when taken, else the retry hint. */
const widerRefusal = async (
  limiter: RateLimiter,
  name: string,
  clientKey: string,
  rule: RateRule,
  shares: WiderShares,
): Promise<number | null> => {
  try {
    await prefixLimits(limiter, shares).reserve(`oauth:${name}`, clientKey, rule)
    return null
  } catch (error) {
    if (error instanceof RelayError && error.code === 'RATE_LIMITED') return error.retryAfterMs ?? 1000
    throw error
  }
}

/**
 * Counts one request of this client against `rule`; over the limit, the 429 answer (OAuth-style body
 * `temporarily_unavailable`, `Retry-After`), else null. With `shares`, an IPv6 client's /56 and /48
 * are charged too (finding 48).
 *
 * @example
 * const limited = await rateLimitAnswer(x, limiter, 'token', config.oauth.tokenRequestsPerClient)
 * if (limited !== null) return limited
 */
export const rateLimitAnswer = async (
  x: OAuthExchange,
  limiter: RateLimiter,
  name: string,
  rule: RateRule,
  shares?: WiderShares,
): Promise<OAuthAnswer | null> => {
  const decision = await limiter.hit(`oauth:${name}:${x.clientKey}`, rule)
  let retryAfterMs = decision.allowed ? null : decision.retryAfterMs
  // An IPv6 client's /56 and /48 too (finding 48); an IPv4 key has none and skips this.
  if (retryAfterMs === null && shares !== undefined && hasWiderNetworks(x.clientKey))
    retryAfterMs = await widerRefusal(limiter, name, x.clientKey, rule, shares)
  if (retryAfterMs === null) return null
  x.refuse('temporarily_unavailable', 'too many requests from this address')
  x.setHeader('Retry-After', String(Math.max(1, Math.ceil(retryAfterMs / 1000))))
  return {
    status: 429,
    body: { error: 'temporarily_unavailable', error_description: 'too many requests from this address', retry_after_ms: retryAfterMs },
  }
}

/**
 * {@link rateLimitAnswer} for a Hono route: the 429 response, else null.
 *
 * @example
 * const limited = await oauthRateLimit(c, limiter, 'token', config.oauth.tokenRequestsPerClient)
 * if (limited !== null) return limited
 */
export const oauthRateLimit = async (c: Context<AppEnv>, limiter: RateLimiter, name: string, rule: RateRule): Promise<Response | null> => {
  const limited = await rateLimitAnswer(honoExchange(c), limiter, name, rule)
  return limited === null ? null : honoAnswer(c, limited)
}
