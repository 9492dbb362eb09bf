/**
 * One table from {@link ErrorCode} to HTTP status and Matrix `errcode`, and the one function that turns
 * any thrown value into a JSON error response. Statuses ≥ 500 say only that it was internal.
 *
 * @see https://spec.matrix.org/v1.16/client-server-api/#standard-error-response
 */
import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { RelayError, type ErrorCode } from '../core/errors.ts'
import type { AppEnv } from './context.ts'
import { summarizeError } from '../core/error-summary.ts'
import { noteRefusal } from './middleware/request-context.ts'

/** Status and Matrix errcode per code. */
export const ERROR_TABLE: Readonly<Record<ErrorCode, { status: ContentfulStatusCode; errcode: string }>> = {
  NOT_FOUND: { status: 404, errcode: 'M_NOT_FOUND' },
  UNRECOGNIZED: { status: 404, errcode: 'M_UNRECOGNIZED' },
  METHOD_NOT_ALLOWED: { status: 405, errcode: 'M_UNRECOGNIZED' },
  MISSING_PARAM: { status: 400, errcode: 'M_MISSING_PARAM' },
  INVALID_PARAM: { status: 400, errcode: 'M_INVALID_PARAM' },
  NOT_JSON: { status: 400, errcode: 'M_NOT_JSON' },
  PAYLOAD_TOO_LARGE: { status: 413, errcode: 'M_TOO_LARGE' },
  PRECONDITION_FAILED: { status: 412, errcode: 'M_CONCURRENT_WRITE' },
  CONCURRENT_WRITE: { status: 409, errcode: 'M_CONCURRENT_WRITE' },
  RATE_LIMITED: { status: 429, errcode: 'M_LIMIT_EXCEEDED' },
  CAPACITY_EXCEEDED: { status: 429, errcode: 'M_LIMIT_EXCEEDED' },
  FORBIDDEN: { status: 403, errcode: 'M_FORBIDDEN' },
  CHANNEL_CLAIMED: { status: 403, errcode: 'M_FORBIDDEN' },
  NAVIGATION_REFUSED: { status: 403, errcode: 'M_FORBIDDEN' },
  UNAUTHORIZED: { status: 401, errcode: 'M_UNAUTHORIZED' },
  UNAVAILABLE: { status: 503, errcode: 'M_UNKNOWN' },
  UPGRADE_REQUIRED: { status: 426, errcode: 'M_UNRECOGNIZED' },
  INTERNAL: { status: 500, errcode: 'M_UNKNOWN' },
  // A UIA 401 also carries the challenge (`challengeBody` in src/core/auth/uia-wire.ts).
  AUTH_STAGE_REQUIRED: { status: 401, errcode: 'M_UNAUTHORIZED' },
  INVALID_CREDENTIALS: { status: 403, errcode: 'M_FORBIDDEN' },
  INVALID_TOKEN: { status: 401, errcode: 'M_UNKNOWN_TOKEN' },
  PASSWORD_TOO_WEAK: { status: 400, errcode: 'M_WEAK_PASSWORD' },
  TOTP_INVALID: { status: 403, errcode: 'M_FORBIDDEN' },
  TOTP_REPLAYED: { status: 403, errcode: 'M_FORBIDDEN' },
  RECOVERY_CODE_INVALID: { status: 403, errcode: 'M_FORBIDDEN' },
  UIA_SESSION_INVALID: { status: 403, errcode: 'M_FORBIDDEN' },
  UIA_STAGE_NOT_ALLOWED: { status: 400, errcode: 'M_INVALID_PARAM' },
  UIA_FLOW_CHANGE_REFUSED: { status: 403, errcode: 'M_FORBIDDEN' },
  MISSING_TOKEN: { status: 401, errcode: 'M_MISSING_TOKEN' },
  USER_IN_USE: { status: 400, errcode: 'M_USER_IN_USE' },
  DECRYPTION_FAILED: { status: 400, errcode: 'M_INVALID_PARAM' },
  INVALID_TRANSITION: { status: 409, errcode: 'M_BAD_STATE' },
  CHECK_CODE_MISMATCH: { status: 403, errcode: 'M_FORBIDDEN' },
  GRANT_EXPIRED: { status: 403, errcode: 'M_FORBIDDEN' },
  CHANNEL_BINDING_MISMATCH: { status: 403, errcode: 'M_FORBIDDEN' },
  DPOP_KEY_MISMATCH: { status: 403, errcode: 'M_FORBIDDEN' },
  INVALID_DPOP_PROOF: { status: 401, errcode: 'M_UNAUTHORIZED' },
  DPOP_NONCE_REQUIRED: { status: 401, errcode: 'M_UNAUTHORIZED' },
  POLICY_DENIED: { status: 403, errcode: 'M_FORBIDDEN' },
  NETWORK_DENIED: { status: 403, errcode: 'M_FORBIDDEN' },
}

/** What a 503 tells clients to wait before retrying, unless the error says otherwise. */
const UNAVAILABLE_RETRY_MS = 1000

/** Unstable errcodes the MSCs ask for on their unstable paths. */
const UNSTABLE_ERRCODE: Partial<Record<string, Partial<Record<ErrorCode, string>>>> = {
  msc4388: { CONCURRENT_WRITE: 'IO_ELEMENT_MSC4388_CONCURRENT_WRITE' },
}

/** The JSON body of an error response. */
export interface ErrorBody {
  errcode: string
  error: string
  qrelay_code: ErrorCode
  retry_after_ms?: number
  [extra: string]: unknown
}

/** Builds the status and body for `error`; anything but a RelayError below 500 becomes INTERNAL. */
export const describeError = (error: unknown, flavor?: string): { status: ContentfulStatusCode; body: ErrorBody } => {
  const relayError = error instanceof RelayError ? error : null
  const code: ErrorCode = relayError?.code ?? 'INTERNAL'
  const { status, errcode } = ERROR_TABLE[code]
  if (status >= 500) {
    const internal = status === 503 ? 'the service is unavailable' : 'internal error'
    return { status, body: { errcode, error: internal, qrelay_code: code === 'UNAVAILABLE' ? code : 'INTERNAL' } }
  }
  const body: ErrorBody = {
    errcode: (flavor === undefined ? undefined : UNSTABLE_ERRCODE[flavor]?.[code]) ?? errcode,
    error: relayError?.detail ?? code.toLowerCase().replaceAll('_', ' '),
    qrelay_code: code,
  }
  if (flavor === 'msc4108' && code === 'PRECONDITION_FAILED') body['org.matrix.msc4108.errcode'] = 'M_CONCURRENT_WRITE'
  if (relayError?.retryAfterMs !== undefined) body.retry_after_ms = relayError.retryAfterMs
  if (relayError?.reason !== undefined) body.reason = relayError.reason
  return { status, body }
}

/**
 * The JSON response for `error`, with `Retry-After` on 429s and 503s. Logs internal errors with the
 * request id, never their message (see `summarizeError`).
 */
export const errorResponse = (c: Context<AppEnv>, error: unknown): Response => {
  const { status, body } = describeError(error, c.get('flavor'))
  // The access line's code and reason: the policy's reason code, else the public detail (never on a 5xx).
  noteRefusal(c, body.qrelay_code, status >= 500 ? undefined : ((body.reason as string | undefined) ?? body.error))
  if (status >= 500) {
    // Class, code and code locations only: a message can quote the request (the line carries `req`).
    c.get('log')?.error({ err: summarizeError(error), route: c.req.routePath, method: c.req.method }, 'request failed')
  }
  const retryAfterMs = body.retry_after_ms ?? (status === 503 ? ((error as RelayError).retryAfterMs ?? UNAVAILABLE_RETRY_MS) : undefined)
  if (retryAfterMs !== undefined) c.header('Retry-After', String(Math.max(1, Math.ceil(retryAfterMs / 1000))))
  if (c.res.headers.get('Cache-Control') === null) c.header('Cache-Control', 'no-store')
  return c.json(body, status)
}
