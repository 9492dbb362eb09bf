/**
 * The WebSocket transport: `GET /v1/rendezvous/{id}/ws` with the JSON frame protocol (hello, welcome,
 * put/ack/conflict, data, ping, delete, abort). The relay pushes the other party's writes, so nothing
 * polls. The creator still creates over HTTP (the socket joins an existing channel) and then says
 * hello with its creator secret; the scanner's bare hello claims the channel.
 *
 * @see ../../docs/websocket.md
 */
import type { AbortReason } from '../core/relay/channel-event.ts'
import { ChannelEnd, unlessGone, type ChannelEndInit } from './channel-end.ts'
import { ClientError } from './errors.ts'
import { nativeApi, type NativeApi } from './native-api.ts'
import { systemNow, throwIfCancelled, wakeWithin, type WebSocketConstructor, type WebSocketLike } from './platform.ts'
import {
  receiveDeadline,
  receiveTimedOut,
  type ChannelTransport,
  type PartyRole,
  type ReceiveOptions,
  type TransportConnector,
} from './transport.ts'
import { errorOfClose } from './ws-close.ts'
import type { WebSocketTransportOptions } from './ws-options.ts'

export type { WebSocketConstructor, WebSocketLike } from './platform.ts'
export type { WebSocketTransportOptions } from './ws-options.ts'

const OPEN = 1
const CLOSING = 2
/** What a relay's close says about the channel: it no longer exists, so there is nothing left to delete. */
const CHANNEL_ENDED: ReadonlySet<string> = new Set(['CHANNEL_GONE', 'ABORTED', 'CHANNEL_EXPIRED'])
const SETTLE_MS = 5000

type Frame = Record<string, unknown> & { type?: unknown }

/** A put waiting for its ack or conflict; `peerWrote` when a `data` frame came in meanwhile. */
interface PendingPut {
  data: string
  resolve: () => void
  reject: (error: ClientError) => void
  peerWrote: boolean
}

interface SocketChannelInit extends ChannelEndInit {
  /** Null for a joiner until its welcome brings the joiner secret. */
  secret: string | null
  /** The token the creator got at creation; null for a joiner (its welcome's token). */
  seen: string | null
  WebSocket: WebSocketConstructor
}

/** One party's socket on a channel. */
class SocketChannel extends ChannelEnd implements ChannelTransport {
  readonly kind = 'websocket' as const
  expiresAtMs = 0
  readonly #api: NativeApi
  readonly #socket: WebSocketLike
  readonly #now: () => number
  #secret: string | null
  /** The newest version of the slot we know of. */
  #latest = { data: '', token: '' }
  /** The newest token this party has seen: last received or last written. Writes go on top of it. */
  #seen: string | null
  #failure: ClientError | null = null
  /** What the relay's close code said, once the socket closed (whether or not this party had released it). */
  #closedAs: ClientError | null = null
  #released = false
  #notify: Array<() => void> = []
  #put: PendingPut | null = null
  #pinger: ReturnType<typeof setInterval> | undefined
  #closed: Promise<void>
  /** The socket opened (so its hello went to the relay). */
  opened = false

  constructor(init: SocketChannelInit) {
    super(init)
    this.#api = init.api
    this.#secret = init.secret
    this.#seen = init.seen
    this.#now = init.now
    try {
      this.#socket = new init.WebSocket(init.api.socketUrl(init.id))
    } catch (cause) {
      throw new ClientError('TRANSPORT_FAILED', { detail: 'could not open a WebSocket to the relay', cause })
    }
    this.#closed = new Promise((resolve) => {
      this.#socket.addEventListener('close', (event: { code: number; reason: string }) => {
        this.#onClose(event.code, String(event.reason ?? ''))
        resolve()
      })
    })
    this.#socket.addEventListener('error', () => {}) // a close always follows
    this.#socket.addEventListener('message', (event: { data: unknown }) => this.#onMessage(event.data))
  }

  /** Opens the socket, says hello, and resolves on the welcome. */
  async connect(timeoutMs: number, pingIntervalMs: number): Promise<void> {
    const welcomed = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new ClientError('TRANSPORT_FAILED', { detail: 'no welcome from the relay in time' }))
        this.#socket.close(1000, 'timeout')
      }, timeoutMs)
      this.#notify.push(() => {
        clearTimeout(timer)
        if (this.expiresAtMs > 0) resolve()
        else reject(this.#failure ?? new ClientError('TRANSPORT_FAILED', { detail: 'closed before the welcome' }))
      })
    })
    this.#socket.addEventListener('open', () => {
      this.opened = true
      const hello = this.#secret === null ? { type: 'hello' } : { type: 'hello', secret: this.#secret }
      this.#socket.send(JSON.stringify(hello))
    })
    await welcomed
    this.#pinger = setInterval(() => {
      if (this.#socket.readyState === OPEN) this.#socket.send('{"type":"ping"}')
    }, pingIntervalMs)
  }

  #wake(): void {
    for (const listener of this.#notify.splice(0)) listener()
  }

  #onMessage(raw: unknown): void {
    let frame: Frame
    try {
      frame = JSON.parse(String(raw)) as Frame
    } catch {
      // Safe: JSON.parse throws only a SyntaxError; a garbled frame is ignored like an unknown one (below).
      return
    }
    const token = typeof frame.sequence_token === 'string' ? frame.sequence_token : null
    const data = typeof frame.data === 'string' ? frame.data : null
    switch (frame.type) {
      case 'welcome':
        if (token === null || data === null || typeof frame.expires_in_ms !== 'number') return
        if (typeof frame.joiner_secret === 'string') this.#secret = frame.joiner_secret
        this.#latest = { data, token }
        this.#seen ??= token
        this.expiresAtMs = this.#now() + frame.expires_in_ms
        break
      case 'data':
        if (token === null || data === null) return
        this.#latest = { data, token }
        if (this.#put !== null) this.#put.peerWrote = true
        break
      case 'ack':
        if (token === null || this.#put === null) return
        if (!this.#put.peerWrote) this.#latest = { data: this.#put.data, token }
        this.#seen = token
        this.#put.resolve()
        this.#put = null
        break
      case 'conflict': {
        if (this.#put === null) return
        const detail = 'the other device wrote first: wait for its message, then answer it'
        this.#put.reject(new ClientError('CONCURRENT_WRITE', { detail }))
        this.#put = null
        break
      }
      default:
        return
    }
    this.#wake()
  }

  #onClose(code: number, reason: string): void {
    clearInterval(this.#pinger)
    this.#closedAs = errorOfClose(code, reason)
    this.#failure ??= this.#released
      ? new ClientError('INVALID_STATE', { detail: 'this transport was closed' })
      : errorOfClose(code, reason)
    this.#put?.reject(this.#failure)
    this.#put = null
    this.#wake()
  }

  async send(data: string): Promise<void> {
    if (this.#put !== null) throw new ClientError('INVALID_STATE', { detail: 'a write is already in flight' })
    // Closing: fail with the close's error, not by a send a browser reports as a script error.
    if (this.#socket.readyState !== OPEN) await this.#closed
    if (this.#failure !== null) throw this.#failure
    const landed = new Promise<void>((resolve, reject) => {
      this.#put = { data, resolve, reject, peerWrote: false }
    })
    this.#socket.send(JSON.stringify({ type: 'put', sequence_token: this.#seen, data }))
    await landed
  }

  async receive(options: ReceiveOptions = {}): Promise<string> {
    const { signal } = options
    const deadline = receiveDeadline(this.expiresAtMs, this.#now(), options.timeoutMs)
    // Each round waits for a frame, a close, the caller's signal or the deadline: it ends by the deadline.
    for (;;) {
      // Data that arrived before a close is still delivered.
      if (this.#latest.token !== this.#seen) {
        this.#seen = this.#latest.token
        return this.#latest.data
      }
      if (this.#failure !== null) throw this.#failure
      throwIfCancelled(signal)
      const left = deadline - this.#now()
      if (left <= 0) throw receiveTimedOut(deadline, this.expiresAtMs)
      await wakeWithin(left, signal, (wake) => this.#notify.push(wake))
    }
  }

  /** Sends a last frame (delete or abort) and waits for the relay to close; over HTTP if the socket is gone. */
  async #finish(frame: Record<string, string>, overHttp: (secret: string) => Promise<void>): Promise<void> {
    if (this.#released) return
    if (this.#socket.readyState === OPEN && this.#failure === null) {
      this.#released = true
      this.#socket.send(JSON.stringify(frame))
      await this.#settle()
      return
    }
    this.#released = true
    // The relay is closing the socket (the other device deleted or aborted the channel): its close
    // code tells whether the channel is already gone, which spares a DELETE that could only 404.
    if (this.#failure === null && this.#socket.readyState === CLOSING) await this.#settle()
    if (this.#closedAs !== null && CHANNEL_ENDED.has(this.#closedAs.code)) return
    const secret = this.#secret
    if (secret === null) return
    await unlessGone(() => overHttp(secret))
  }

  /** Waits (bounded) for the close, then makes sure the socket is closed. */
  async #settle(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([this.#closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, SETTLE_MS)))])
    clearTimeout(timer)
    this.#socket.close(1000, 'done')
  }

  close(): Promise<void> {
    return this.#finish({ type: 'delete' }, (secret) => this.#api.remove(this.channelId, secret))
  }

  abort(reason: AbortReason): Promise<void> {
    return this.#finish({ type: 'abort', reason }, (secret) => this.#api.abort(this.channelId, secret, reason))
  }

  disconnect(): void {
    this.#released = true
    clearInterval(this.#pinger)
    this.#socket.close(1000, 'bye')
  }
}

/** A socket that closed before it opened: nothing was said to the relay (`auto-transport.ts` falls back). */
export class SocketNotOpened extends ClientError {}

/**
 * Opens a party's socket on a channel and resolves on the welcome, or undefined where there is no
 * WebSocket class. Errors: those of the socket; {@link SocketNotOpened} when it never opened.
 */
export const socketOpener = (api: NativeApi, options: WebSocketTransportOptions) => {
  const now = options.now ?? systemNow
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000
  const pingIntervalMs = options.pingIntervalMs ?? 25_000
  const WebSocketClass = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  if (WebSocketClass === undefined) return undefined
  return async (role: PartyRole, id: string, secret: string | null, seen: string | null): Promise<ChannelTransport> => {
    const channel = new SocketChannel({ api, role, id, secret, seen, WebSocket: WebSocketClass, now })
    try {
      await channel.connect(connectTimeoutMs, pingIntervalMs)
    } catch (error) {
      if (channel.opened) throw error
      // Only the socket goes: the channel is the caller's to use over HTTP.
      channel.disconnect()
      throw new SocketNotOpened('TRANSPORT_FAILED', { detail: 'the WebSocket did not open', cause: error })
    }
    return channel
  }
}

/**
 * Native channels over WebSocket (creation over HTTP).
 *
 * @see ../../docs/websocket.md
 * Errors: see {@link ChannelTransport}; a close code becomes the matching ClientError (4409 ABORTED…).
 * @example
 * import WebSocket from 'ws' // Node 20 only; browsers and Workers have one
 * const connector = webSocketTransport({ baseUrl: 'https://relay.example', WebSocket })
 */
export const webSocketTransport = (options: WebSocketTransportOptions): TransportConnector => {
  const api = nativeApi(options)
  const open = socketOpener(api, options)
  if (open === undefined) throw new TypeError('no WebSocket here: pass one (e.g. the ws package on Node 20)')
  return {
    kind: 'websocket',
    async create() {
      const created = await api.create()
      const transport = await open('creator', created.id, created.creatorSecret, created.sequenceToken)
      return { transport, ticket: created.ticket }
    },
    join: (channelId) => open('joiner', channelId, null, null),
  }
}
