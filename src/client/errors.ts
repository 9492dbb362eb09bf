/**
 * The one error type of the device SDK: a stable {@link ClientErrorCode} an app can switch on, plus
 * a short detail that never holds a secret, a key, a channel id or a payload.
 */
import type { AbortReason } from '../core/relay/channel-event.ts'

/** Every failure the SDK reports. UPPER_SNAKE and stable: apps key their messages on them. */
export type ClientErrorCode =
  /** The channel no longer exists (deleted, aborted, expired, or never existed): HTTP 404, close 4404. */
  | 'CHANNEL_GONE'
  /** The channel reached its expiry while we waited (close 4410, or our own bound). */
  | 'CHANNEL_EXPIRED'
  /** The other party aborted (close 4409); `abortReason` says why. */
  | 'ABORTED'
  /** The relay refused this party: a third device on a claimed channel, or a wrong secret (403, 4403). */
  | 'REFUSED'
  /** A write lost the race: the other party wrote first (409, `conflict` frame). Take turns. */
  | 'CONCURRENT_WRITE'
  /** A rate limit (429, close 4429); `retryAfterMs` when the server said. */
  | 'RATE_LIMITED'
  /** A message above the relay's payload limit (413, close 1009). */
  | 'PAYLOAD_TOO_LARGE'
  /** The network or the relay failed in a way not listed above; `status` when it was an HTTP answer. */
  | 'TRANSPORT_FAILED'
  /** The caller's AbortSignal fired. */
  | 'CANCELLED'
  /** The scanned text is not a qrelay link of this server. */
  | 'INVALID_QR'
  /** The channel ticket in the QR does not verify (signature, issuer, channel, expiry). */
  | 'TICKET_INVALID'
  /** The peer sent something the protocol does not allow here (not a LoginInitiate, not JSON…). */
  | 'PROTOCOL_ERROR'
  /** A message that does not open with this channel's keys (tampered, or from someone else). */
  | 'DECRYPTION_FAILED'
  /** What the user typed is not a two-digit check code: ask again, nothing was spent. */
  | 'INVALID_CHECK_CODE'
  /** The typed check code differs from the scanner's: the channel was aborted (possible MITM). */
  | 'CHECK_CODE_MISMATCH'
  /** The call does not fit the session's state (e.g. send before the handshake, after close). */
  | 'INVALID_STATE'
  /** Ping-pong: this side must wait for the other's message before sending again (or the reverse). */
  | 'NOT_YOUR_TURN'
  /** QR login: the existing device (or its user) declined, or the server answered `access_denied`. */
  | 'ACCESS_DENIED'
  /** QR login: the grant expired (`expired_token`, or `expires_in` passed while polling). */
  | 'GRANT_EXPIRED'
  /** QR login: the server's policy refused the approval (403 POLICY_DENIED); `detail` holds the reason code. */
  | 'POLICY_DENIED'
  /** QR login: the server asked for a step-up (401 UIA) and the app gave no credentials, or they failed. */
  | 'STEP_UP_FAILED'
  /** The server refused the access token or a DPoP proof (401), or an OAuth error not listed above (`detail`). */
  | 'UNAUTHORIZED'

/** Options of a {@link ClientError}. */
export interface ClientErrorOptions {
  detail?: string
  status?: number
  retryAfterMs?: number
  abortReason?: AbortReason | string
  cause?: unknown
}

/**
 * An SDK failure with a stable code.
 *
 * @example
 * try { await session.confirmCheckCode(typed) } catch (e) {
 *   if (e instanceof ClientError && e.code === 'INVALID_CHECK_CODE') askAgain()
 * }
 */
export class ClientError extends Error {
  readonly code: ClientErrorCode
  readonly detail: string | undefined
  /** The HTTP status, when an HTTP answer caused it. */
  readonly status: number | undefined
  readonly retryAfterMs: number | undefined
  /** For ABORTED: the reason the other party gave. */
  readonly abortReason: string | undefined

  constructor(code: ClientErrorCode, options: ClientErrorOptions = {}) {
    const message = options.detail === undefined ? code : `${code}: ${options.detail}`
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'ClientError'
    this.code = code
    this.detail = options.detail
    this.status = options.status
    this.retryAfterMs = options.retryAfterMs
    this.abortReason = options.abortReason
  }
}

/** True when `error` is a {@link ClientError} with `code`. */
export const isClientError = (error: unknown, code?: ClientErrorCode): error is ClientError =>
  error instanceof ClientError && (code === undefined || error.code === code)

/** Rethrows a ClientError as it is; wraps anything else (a network failure) as TRANSPORT_FAILED. */
export const asClientError = (error: unknown, detail: string): ClientError =>
  error instanceof ClientError ? error : new ClientError('TRANSPORT_FAILED', { detail, cause: error })
