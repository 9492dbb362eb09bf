/**
 * What the HTTP and WebSocket transports share: the identity of one party's end of a channel, how it
 * prints (never its secret or channel id), and how a last delete or abort over HTTP treats a channel
 * that is gone already.
 *
 * @see ../../README.md "Native two-party channels"
 */
import { isClientError } from './errors.ts'
import type { NativeApi } from './native-api.ts'
import { INSPECT, summarizeTransport, type PartyRole, type TransportSummary } from './transport.ts'

/** What every channel end is built from; each transport adds its own fields. */
export interface ChannelEndInit {
  api: NativeApi
  role: PartyRole
  id: string
  /** Clock, in ms. */
  now: () => number
}

/** The base of both transports' channel ends (see `http-transport.ts`, `ws-transport.ts`). */
export abstract class ChannelEnd {
  abstract readonly kind: 'http' | 'websocket'
  abstract readonly expiresAtMs: number
  readonly role: PartyRole
  readonly channelId: string

  constructor(init: ChannelEndInit) {
    this.role = init.role
    this.channelId = init.id
  }

  toJSON(): TransportSummary {
    return summarizeTransport(this)
  }

  [INSPECT](): TransportSummary {
    return this.toJSON()
  }
}

/**
 * Runs a last delete or abort request. A channel that is gone already (deleted, aborted, expired) is
 * what the request wanted, so CHANNEL_GONE is not an error; every other error propagates.
 */
export const unlessGone = async (request: () => Promise<void>): Promise<void> => {
  try {
    await request()
  } catch (error) {
    if (!isClientError(error, 'CHANNEL_GONE')) throw error
  }
}
