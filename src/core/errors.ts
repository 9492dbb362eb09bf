/**
 * Stable error codes and the one error type that carries them.
 *
 * Core returns `Result` values for expected outcomes; services turn a failed result into a thrown
 * {@link RelayError}; `src/http/errors.ts` maps each code to an HTTP status and a Matrix `errcode`.
 */

/** Every expected failure qrelay can report. UPPER_SNAKE, stable: clients and dashboards key on them. */
export type ErrorCode =
  | 'NOT_FOUND'
  | 'UNRECOGNIZED'
  | 'METHOD_NOT_ALLOWED'
  | 'MISSING_PARAM'
  | 'INVALID_PARAM'
  | 'NOT_JSON'
  | 'PAYLOAD_TOO_LARGE'
  | 'PRECONDITION_FAILED'
  | 'CONCURRENT_WRITE'
  | 'RATE_LIMITED'
  | 'CAPACITY_EXCEEDED'
  | 'FORBIDDEN'
  | 'CHANNEL_CLAIMED'
  | 'NAVIGATION_REFUSED'
  | 'UNAUTHORIZED'
  | 'UNAVAILABLE'
  | 'UPGRADE_REQUIRED'
  | 'INTERNAL'
  // Accounts and user-interactive auth (src/core/auth/).
  | 'AUTH_STAGE_REQUIRED'
  | 'INVALID_CREDENTIALS'
  | 'INVALID_TOKEN'
  | 'PASSWORD_TOO_WEAK'
  | 'TOTP_INVALID'
  | 'TOTP_REPLAYED'
  | 'RECOVERY_CODE_INVALID'
  | 'UIA_SESSION_INVALID'
  | 'UIA_STAGE_NOT_ALLOWED'
  | 'UIA_FLOW_CHANGE_REFUSED'
  | 'MISSING_TOKEN'
  | 'USER_IN_USE'
  // The MSC4108 secure channel (src/core/channel/).
  | 'DECRYPTION_FAILED'
  | 'INVALID_TRANSITION'
  | 'CHECK_CODE_MISMATCH'
  // OAuth device grant, DPoP and login policy (src/core/oauth/, src/core/policy/, src/services/dpop.ts).
  | 'GRANT_EXPIRED'
  | 'CHANNEL_BINDING_MISMATCH'
  | 'DPOP_KEY_MISMATCH'
  | 'INVALID_DPOP_PROOF'
  | 'DPOP_NONCE_REQUIRED'
  | 'POLICY_DENIED'
  | 'NETWORK_DENIED'

/** Options of a {@link RelayError}: a short public detail, a retry hint, the underlying cause. */
export interface RelayErrorOptions {
  /** Short text safe to show a client; never a secret, token, key or stored payload. */
  detail?: string
  /** For RATE_LIMITED and CAPACITY_EXCEEDED: when the client may try again. */
  retryAfterMs?: number
  /** A stable machine-readable reason (e.g. the policy's `far_away`), sent as `reason`. */
  reason?: string
  cause?: unknown
}

/**
 * The error type of qrelay: a stable {@link ErrorCode} plus a short public detail.
 *
 * @example
 * throw new RelayError('PRECONDITION_FAILED', { detail: 'stale If-Match' })
 */
export class RelayError extends Error {
  readonly code: ErrorCode
  readonly detail: string | undefined
  readonly retryAfterMs: number | undefined
  readonly reason: string | undefined

  constructor(code: ErrorCode, options: RelayErrorOptions = {}) {
    super(options.detail ?? code, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'RelayError'
    this.code = code
    this.detail = options.detail
    this.retryAfterMs = options.retryAfterMs
    this.reason = options.reason
  }
}

/** Outcome of a pure transition: the next value, or a code saying why not. */
export type Result<T, C extends ErrorCode = ErrorCode> = { ok: true; value: T } | { ok: false; code: C; detail?: string }

/** Builds a successful {@link Result}. */
export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value })

/** Builds a failed {@link Result}. */
export const fail = <C extends ErrorCode>(code: C, detail?: string): { ok: false; code: C; detail?: string } =>
  detail === undefined ? { ok: false, code } : { ok: false, code, detail }
