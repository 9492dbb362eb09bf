/**
 * The HTTP polling transport: the native API's compare-and-swap slot driven ping-pong. A party writes
 * on top of the last token it knows and polls until the token changes, so its own writes never come
 * back to it as news. Works anywhere `fetch` does.
 *
 * @see ../../README.md "Native two-party channels"
 */
import type { AbortReason } from '../core/relay/channel-event.ts'
import { ChannelEnd, unlessGone, type ChannelEndInit } from './channel-end.ts'
import { ClientError, isClientError } from './errors.ts'
import { nativeApi, type FetchLike, type NativeApi, type NativeApiOptions } from './native-api.ts'
import { sleep, systemNow, throwIfCancelled } from './platform.ts'
import { receiveDeadline, receiveTimedOut, type ChannelTransport, type ReceiveOptions, type TransportConnector } from './transport.ts'

/** Options of {@link httpTransport}. */
export interface HttpTransportOptions extends Pick<NativeApiOptions, 'creator' | 'publicBaseUrl'> {
  /** The relay's base URL. */
  baseUrl: string
  /** Default: `globalThis.fetch`. */
  fetch?: FetchLike
  /** Time between two polls while waiting for the other party. Default 1000 ms (what the Matrix clients use). */
  pollIntervalMs?: number
  /** Clock, in ms. Default `Date.now`. */
  now?: () => number
}

/** What an HTTP channel end is made of (a channel created or joined elsewhere, `auto-transport.ts`). */
export interface HttpChannelInit extends ChannelEndInit {
  secret: string
  token: string
  expiresAtMs: number
  pollIntervalMs: number
}

class HttpChannel extends ChannelEnd implements ChannelTransport {
  readonly kind = 'http' as const
  readonly expiresAtMs: number
  readonly #api: NativeApi
  readonly #secret: string
  readonly #pollIntervalMs: number
  readonly #now: () => number
  /** The newest token this party knows: the one it last wrote or last read. */
  #token: string
  #released = false

  constructor(init: HttpChannelInit) {
    super(init)
    this.#api = init.api
    this.#secret = init.secret
    this.#token = init.token
    this.expiresAtMs = init.expiresAtMs
    this.#pollIntervalMs = init.pollIntervalMs
    this.#now = init.now
  }

  #usable(): void {
    if (this.#released) throw new ClientError('INVALID_STATE', { detail: 'this transport was closed' })
  }

  async send(data: string): Promise<void> {
    this.#usable()
    this.#token = await this.#api.write(this.channelId, this.#secret, this.#token, data)
  }

  async receive(options: ReceiveOptions = {}): Promise<string> {
    this.#usable()
    const { signal } = options
    const deadline = receiveDeadline(this.expiresAtMs, this.#now(), options.timeoutMs)
    // Bounded by the deadline: each round sleeps at least the poll interval (or the server's retry hint).
    for (;;) {
      throwIfCancelled(signal)
      if (this.#now() >= deadline) throw receiveTimedOut(deadline, this.expiresAtMs)
      let wait = this.#pollIntervalMs
      try {
        const view = await this.#api.read(this.channelId, this.#secret, signal)
        if (view.sequenceToken !== this.#token) {
          this.#token = view.sequenceToken
          return view.data
        }
      } catch (error) {
        if (!isClientError(error, 'RATE_LIMITED')) throw error
        wait = Math.max(wait, error.retryAfterMs ?? wait)
      }
      await sleep(Math.min(wait, Math.max(0, deadline - this.#now())), signal)
    }
  }

  async close(): Promise<void> {
    if (this.#released) return
    this.#released = true
    await unlessGone(() => this.#api.remove(this.channelId, this.#secret))
  }

  async abort(reason: AbortReason): Promise<void> {
    if (this.#released) return
    this.#released = true
    await unlessGone(() => this.#api.abort(this.channelId, this.#secret, reason))
  }

  disconnect(): void {
    this.#released = true
  }
}

/**
 * Native channels over HTTP polling.
 *
 * @see ../../README.md "Native two-party channels"
 * Errors: see {@link ChannelTransport} (ClientError codes).
 * @example
 * const connector = httpTransport({ baseUrl: 'https://relay.example', pollIntervalMs: 1000 })
 * const { transport, ticket } = await connector.create()
 */
export const httpTransport = (options: HttpTransportOptions): TransportConnector => {
  const api = nativeApi(options)
  const now = options.now ?? systemNow
  const pollIntervalMs = options.pollIntervalMs ?? 1000
  if (!(pollIntervalMs > 0)) throw new RangeError('pollIntervalMs must be positive')
  return {
    kind: 'http',
    async create() {
      const created = await api.create()
      const transport = new HttpChannel({
        api,
        role: 'creator',
        id: created.id,
        secret: created.creatorSecret,
        token: created.sequenceToken,
        expiresAtMs: now() + created.expiresInMs,
        pollIntervalMs,
        now,
      })
      return { transport, ticket: created.ticket }
    },
    async join(channelId) {
      const view = await api.read(channelId, null)
      if (view.joinerSecret === undefined) {
        throw new ClientError('REFUSED', { detail: 'the relay did not let this device claim the channel' })
      }
      return new HttpChannel({
        api,
        role: 'joiner',
        id: channelId,
        secret: view.joinerSecret,
        token: view.sequenceToken,
        expiresAtMs: now() + view.expiresInMs,
        pollIntervalMs,
        now,
      })
    },
  }
}

/** An HTTP channel end on a channel this party already holds (created, or claimed, by other means). */
export const httpChannel = (init: HttpChannelInit): ChannelTransport => new HttpChannel(init)
