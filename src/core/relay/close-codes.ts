/**
 * Every close code the WebSocket transport of native channels uses, in one table. Application codes
 * are 4000 + the nearest HTTP status, so they read like the HTTP API's answers to the same request.
 * Reasons are short fixed texts (a close reason must fit 123 bytes) and never hold a secret.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6455#section-7.4 (status codes; 4000–4999 are private use)
 * @see ../../../docs/websocket.md
 */
import type { ErrorCode } from '../errors.ts'

/** A close code and its default reason. */
export interface Close {
  code: number
  reason: string
}

/**
 * The close codes of `GET /v1/rendezvous/{id}/ws`.
 *
 * | code | name | when |
 * |---|---|---|
 * | 1000 | done | this socket deleted or aborted the channel (or its own party did over HTTP) |
 * | 1001 | goingAway | the server is shutting down |
 * | 1003 | binary | a binary frame (the protocol is JSON text) |
 * | 1009 | tooLarge | a frame above the frame limit, or a `put` above the payload limit |
 * | 1011 | internal | the server failed (the store did not answer…) |
 * | 4001 | replaced | a newer socket of the same party took over |
 * | 4400 | badFrame | a frame that is not valid JSON of a known type, or a second hello |
 * | 4401 | unauthenticated | no hello in time (`hello timeout`), or another frame before the hello |
 * | 4403 | refused | a wrong secret, or a third party on a claimed channel (counted like HTTP) |
 * | 4404 | notFound | no such channel, or the other party deleted it |
 * | 4408 | idle | no frame either way for the idle timeout |
 * | 4409 | aborted | the other party aborted; the reason is the abort reason |
 * | 4410 | expired | the channel reached its expiry |
 * | 4429 | rateLimited | a rate limit; the reason reads `retry_after_ms=<n>` |
 */
export const CLOSE_CODES = {
  done: { code: 1000, reason: 'done' },
  goingAway: { code: 1001, reason: 'server shutting down' },
  binary: { code: 1003, reason: 'text frames only' },
  tooLarge: { code: 1009, reason: 'frame too large' },
  internal: { code: 1011, reason: 'internal error' },
  replaced: { code: 4001, reason: 'replaced by a newer connection' },
  badFrame: { code: 4400, reason: 'bad frame' },
  unauthenticated: { code: 4401, reason: 'hello expected' },
  refused: { code: 4403, reason: 'refused' },
  notFound: { code: 4404, reason: 'no such channel' },
  idle: { code: 4408, reason: 'idle timeout' },
  aborted: { code: 4409, reason: 'aborted' },
  expired: { code: 4410, reason: 'expired' },
  rateLimited: { code: 4429, reason: 'rate limited' },
} as const satisfies Record<string, Close>

/**
 * The close for a failed service call (any error code but CONCURRENT_WRITE, which is a `conflict`
 * frame and keeps the socket open).
 *
 * @example
 * closeForError('RATE_LIMITED', 5000) // { code: 4429, reason: 'retry_after_ms=5000' }
 */
export const closeForError = (code: ErrorCode, retryAfterMs?: number): Close => {
  switch (code) {
    case 'NOT_FOUND':
      return CLOSE_CODES.notFound
    case 'CHANNEL_CLAIMED':
    case 'FORBIDDEN':
      return CLOSE_CODES.refused
    case 'UNAUTHORIZED':
      return CLOSE_CODES.unauthenticated
    case 'RATE_LIMITED':
    case 'CAPACITY_EXCEEDED':
      return retryAfterMs === undefined
        ? CLOSE_CODES.rateLimited
        : { code: CLOSE_CODES.rateLimited.code, reason: `retry_after_ms=${Math.max(0, Math.ceil(retryAfterMs))}` }
    case 'PAYLOAD_TOO_LARGE':
      return { code: CLOSE_CODES.tooLarge.code, reason: 'payload too large' }
    default:
      return CLOSE_CODES.internal
  }
}
