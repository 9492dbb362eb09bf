/**
 * What a WebSocket close of the native channel transport means to the device SDK: each close code of
 * `CLOSE_CODES` becomes a {@link ClientError} with a stable code, so an app handles a closed socket
 * the same way as the HTTP answer to the same situation.
 *
 * @see ../core/relay/close-codes.ts, ../../docs/websocket.md "Close codes"
 */
import { CLOSE_CODES } from '../core/relay/close-codes.ts'
import { ClientError } from './errors.ts'

const RETRY_AFTER = /^retry_after_ms=(\d+)$/

/**
 * The error a close with `code` and `reason` stands for.
 *
 * @example
 * errorOfClose(4409, 'check_code_mismatch') // ClientError ABORTED, abortReason 'check_code_mismatch'
 */
export const errorOfClose = (code: number, reason: string): ClientError => {
  switch (code) {
    case CLOSE_CODES.done.code:
      return new ClientError('CHANNEL_GONE', { detail: 'the channel was deleted or aborted by this device' })
    case CLOSE_CODES.notFound.code:
      return new ClientError('CHANNEL_GONE', { detail: 'the channel is gone (deleted by the other device, or unknown)' })
    case CLOSE_CODES.aborted.code:
      return new ClientError('ABORTED', {
        detail: `the other device aborted (${reason || 'no reason'})`,
        abortReason: reason,
      })
    case CLOSE_CODES.expired.code:
      return new ClientError('CHANNEL_EXPIRED', { detail: 'the channel expired' })
    case CLOSE_CODES.refused.code:
      return new ClientError('REFUSED', { detail: 'the relay refused this device (the channel has two parties already)' })
    case CLOSE_CODES.tooLarge.code:
      return new ClientError('PAYLOAD_TOO_LARGE', { detail: 'the message is larger than the relay accepts' })
    case CLOSE_CODES.rateLimited.code: {
      const match = RETRY_AFTER.exec(reason)
      return new ClientError('RATE_LIMITED', {
        detail: 'the relay asks to slow down',
        ...(match ? { retryAfterMs: Number(match[1]) } : {}),
      })
    }
    case CLOSE_CODES.replaced.code:
      return new ClientError('TRANSPORT_FAILED', { detail: 'replaced by a newer connection of this device' })
    case CLOSE_CODES.goingAway.code:
      return new ClientError('TRANSPORT_FAILED', { detail: 'the relay is shutting down' })
    default:
      return new ClientError('TRANSPORT_FAILED', { detail: `the socket closed (${code})` })
  }
}
