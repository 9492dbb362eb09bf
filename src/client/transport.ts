/**
 * The transport contract of the device SDK: one native channel (`/v1/rendezvous`) seen by one of its
 * two parties, as a single payload slot both take turns writing. Two implementations, HTTP polling
 * (`http-transport.ts`) and WebSocket (`ws-transport.ts`), over the same channel record, so the two
 * devices may use different ones.
 *
 * @see ../../docs/websocket.md, ../../README.md "Native two-party channels"
 */
import type { AbortReason } from '../core/relay/channel-event.ts'
import { ClientError } from './errors.ts'

export type { AbortReason } from '../core/relay/channel-event.ts'

/** Which party of the channel this end is. */
export type PartyRole = 'creator' | 'joiner'

/** Options of a {@link ChannelTransport.receive}. */
export interface ReceiveOptions {
  /** Stops waiting (CANCELLED). */
  signal?: AbortSignal
  /** Gives up after this long (TRANSPORT_FAILED "timed out"). Default: at the channel's expiry (CHANNEL_EXPIRED). */
  timeoutMs?: number
}

/** One party's end of a native channel. Prints no secret and no channel id. */
export interface ChannelTransport {
  readonly kind: 'http' | 'websocket'
  readonly role: PartyRole
  /** The channel id: a bearer value, never log it. */
  readonly channelId: string
  /** When the channel expires, by this device's clock (ms). */
  readonly expiresAtMs: number
  /**
   * Writes `data` on top of the last version this party knows.
   * Errors: CONCURRENT_WRITE (the other party wrote first), CHANNEL_GONE, ABORTED, PAYLOAD_TOO_LARGE, RATE_LIMITED.
   */
  send(data: string): Promise<void>
  /**
   * Waits for the other party's next write (a version this party has not seen) and returns its data.
   * Errors: CHANNEL_GONE, ABORTED, CHANNEL_EXPIRED, CANCELLED, TRANSPORT_FAILED.
   */
  receive(options?: ReceiveOptions): Promise<string>
  /** Deletes the channel (both parties are done) and releases the connection. Gone already: no error. */
  close(): Promise<void>
  /** Aborts the channel with `reason` (the server deletes it at once), and releases the connection. */
  abort(reason: AbortReason): Promise<void>
  /** Releases the connection only; the channel lives on until it expires. */
  disconnect(): void
  toJSON(): TransportSummary
}

/** What a transport prints. */
export interface TransportSummary {
  kind: 'http' | 'websocket'
  role: PartyRole
  expiresAtMs: number
}

/** A channel just created, with the ticket the server signed for it. */
export interface CreatedTransport {
  transport: ChannelTransport
  /** Compact JWS over the channel id, its expiry and our network; goes into the QR link. A bearer value. */
  ticket: string
}

/** Opens channels over one transport: the creator creates, the scanner joins (claims) one. */
export interface TransportConnector {
  readonly kind: 'http' | 'websocket'
  /** Creates a native channel. Errors: RATE_LIMITED, TRANSPORT_FAILED. */
  create(): Promise<CreatedTransport>
  /** Claims channel `channelId` as its second party. Errors: CHANNEL_GONE, REFUSED (already claimed), RATE_LIMITED. */
  join(channelId: string): Promise<ChannelTransport>
}

export const INSPECT = Symbol.for('nodejs.util.inspect.custom')

/** When a `receive` gives up: at the channel's expiry, or sooner when the caller set a timeout. */
export const receiveDeadline = (expiresAtMs: number, now: number, timeoutMs: number | undefined): number =>
  timeoutMs === undefined ? expiresAtMs : Math.min(expiresAtMs, now + timeoutMs)

/** The error of a `receive` that reached its deadline: CHANNEL_EXPIRED at the expiry, else TRANSPORT_FAILED. */
export const receiveTimedOut = (deadline: number, expiresAtMs: number): ClientError =>
  deadline >= expiresAtMs
    ? new ClientError('CHANNEL_EXPIRED', { detail: 'the channel expired while waiting for the other device' })
    : new ClientError('TRANSPORT_FAILED', { detail: 'timed out waiting for the other device' })

/** What a transport prints: never its secret or channel id. */
export const summarizeTransport = (t: Pick<ChannelTransport, 'kind' | 'role' | 'expiresAtMs'>): TransportSummary => ({
  kind: t.kind,
  role: t.role,
  expiresAtMs: t.expiresAtMs,
})
