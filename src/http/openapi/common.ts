/**
 * What many operations share in the document: the error bodies (the Matrix-style JSON of
 * `errors.ts`, the RFC 6749 §5.2 body of the OAuth endpoints, the UIA challenge) and small helpers
 * that build response tables. Response schemas are loose (unknown members are allowed): they say
 * what a client can rely on, not everything a body may carry.
 */
import * as v from 'valibot'
import type { HeaderName, ResponseSpec } from './registry.ts'

/** The error JSON of `errors.ts` (`describeError`). */
export const ERROR = v.looseObject({
  // The Matrix errcode (M_NOT_FOUND…), a human-readable message, qrelay's own code (RATE_LIMITED…).
  errcode: v.string(),
  error: v.string(),
  qrelay_code: v.string(),
  retry_after_ms: v.optional(v.pipe(v.number(), v.integer())),
  // The policy's reason code (POLICY_DENIED, quarantined…).
  reason: v.optional(v.string()),
})

/** An RFC 6749 §5.2 error (`oauth-form.ts`); `slow_down` adds `interval`, `invalid_code` `attempts_left`. */
export const OAUTH_ERROR = v.looseObject({
  error: v.string(),
  error_description: v.optional(v.string()),
  interval: v.optional(v.pipe(v.number(), v.integer())),
  attempts_left: v.optional(v.pipe(v.number(), v.integer())),
  retry_after_ms: v.optional(v.pipe(v.number(), v.integer())),
})

/** The Matrix user-interactive auth challenge (a 401 that asks for `auth` on the retry). */
export const UIA_CHALLENGE = v.looseObject({
  flows: v.array(v.looseObject({ stages: v.array(v.string()) })),
  params: v.looseObject({}),
  session: v.string(),
  completed: v.optional(v.array(v.string())),
  errcode: v.optional(v.string()),
  error: v.optional(v.string()),
})

/** `{}` */
export const EMPTY = v.looseObject({})

/** What each error status means in general. */
const MEANING: Record<number, string> = {
  400: 'Malformed request (missing or invalid parameter, not JSON)',
  401: 'Missing or invalid credentials',
  403: 'Refused (forbidden, claimed channel, network denied, policy)',
  404: 'Unknown or expired',
  409: 'Conflict (concurrent write, bad state)',
  412: 'The If-Match ETag does not match',
  413: 'Body too large',
  426: 'Not a WebSocket upgrade',
  429: 'Rate limited (`Retry-After`)',
}

const HEADERS_OF: Record<number, readonly HeaderName[]> = { 429: ['Retry-After'], 401: ['WWW-Authenticate'] }

/** Error responses with the JSON error body, one per status. */
export const errors = (...statuses: number[]): Record<number, ResponseSpec> =>
  Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: MEANING[status] ?? 'Error', schema: ERROR, ...(HEADERS_OF[status] ? { headers: HEADERS_OF[status] } : {}) },
    ]),
  )

/** Error responses of the OAuth endpoints: the RFC 6749 body, or the JSON error of a refusal before it. */
export const oauthErrors = (...statuses: number[]): Record<number, ResponseSpec> =>
  Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: MEANING[status] ?? 'Error',
        schema: v.union([OAUTH_ERROR, ERROR]),
        headers: [...(HEADERS_OF[status] ?? []), 'DPoP-Nonce'] as HeaderName[],
      },
    ]),
  )

/** A 401 that is either a UIA challenge or a credentials error. */
export const uia401: Record<number, ResponseSpec> = {
  401: { description: 'UIA challenge (retry with `auth`), or missing/invalid credentials', schema: v.union([UIA_CHALLENGE, ERROR]) },
}

/** A JSON success response. */
export const ok = (schema: v.GenericSchema, description = 'OK', headers?: readonly HeaderName[]): ResponseSpec => ({
  description,
  schema,
  ...(headers === undefined ? {} : { headers }),
})

/** Shorthands for response members. */
export const int = () => v.pipe(v.number(), v.integer())
export const str = () => v.string()
export const opt = v.optional
