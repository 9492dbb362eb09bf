/**
 * What both ends of a qrelay login channel share once the handshake is under way: the transport, the
 * MSC4108 channel state, strict turn-taking over the one payload slot, encrypted JSON messages, and
 * the ways a session ends (close, abort, or the other side going away). Secrets never print:
 * `toJSON()` and `util.inspect` show public fields only.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4108
 */
import { closeChannel } from '../core/channel/handshake.ts'
import type { ChannelState, Role } from '../core/channel/channel-state.ts'
import { decryptMessage, encryptMessage } from '../core/channel/secure-message.ts'
import type { Random } from '../ports.ts'
import { ClientError, isClientError } from './errors.ts'
import type { CreatorCredential, FetchLike } from './native-api.ts'
import { preferWebSocket } from './auto-transport.ts'
import { systemNow, webRandom } from './platform.ts'
import { INSPECT, type AbortReason, type ChannelTransport, type ReceiveOptions, type TransportConnector } from './transport.ts'

/** Which device this is: the one signing in (`new`) or the one already signed in (`existing`). */
export type DeviceKind = 'new' | 'existing'

/**
 * Where a session is:
 * - `waiting`: G showed its QR and waits for the scanner; S scanned and has not connected yet;
 * - `confirming`: G answered the scanner; its user must type the check code the scanner shows;
 * - `open`: both may exchange messages (S once LoginOk opened, G once the code matched);
 * - `closed`: closed, aborted, or gone; every call fails.
 */
export type SessionStatus = 'waiting' | 'confirming' | 'open' | 'closed'

/** Options every session takes. */
export interface SessionOptions {
  /** The relay's base URL (where requests go). */
  baseUrl: string
  /** The server's public base URL (QR link and ticket issuer), when requests go elsewhere (a proxy). Default `baseUrl`. */
  publicBaseUrl?: string
  /**
   * How to reach the channel. Default: `preferWebSocket({ baseUrl, fetch })`, the WebSocket where one
   * opens (browsers, Workers, Node 22), else HTTP polling every second.
   */
  transport?: TransportConnector
  /** Default `globalThis.fetch`. */
  fetch?: FetchLike
  /**
   * The existing device's session, for the channel create of the default transport (a `transport` of
   * your own takes it itself): where the relay lets only signed-in devices create channels.
   */
  creator?: CreatorCredential
  /** Default: Web Crypto. */
  random?: Random
  /** Clock, in ms. Default `Date.now`. */
  now?: () => number
}

/** What a session prints. */
export interface SessionSummary {
  device: DeviceKind
  role: Role
  status: SessionStatus
  transport?: 'http' | 'websocket'
  checkCode?: string
  creatorNetwork?: string
}

/** Transport failures after which the channel is over for this side. */
const TERMINAL = new Set(['CHANNEL_GONE', 'ABORTED', 'CHANNEL_EXPIRED', 'REFUSED'])

/** The parts of G's and S's sessions that are the same. */
export abstract class SessionBase {
  readonly device: DeviceKind
  abstract readonly role: Role
  protected readonly connector: TransportConnector
  protected readonly random: Random
  protected readonly now: () => number
  protected transport: ChannelTransport | null = null
  protected channel: ChannelState | null = null
  #status: SessionStatus = 'waiting'
  /** Ping-pong: true when this side writes next. */
  #ourTurn = false

  protected constructor(device: DeviceKind, options: SessionOptions) {
    this.device = device
    const fetch = options.fetch === undefined ? {} : { fetch: options.fetch }
    const creator = options.creator === undefined ? {} : { creator: options.creator }
    const publicBaseUrl = options.publicBaseUrl === undefined ? {} : { publicBaseUrl: options.publicBaseUrl }
    this.connector = options.transport ?? preferWebSocket({ baseUrl: options.baseUrl, ...fetch, ...creator, ...publicBaseUrl })
    this.random = options.random ?? webRandom()
    this.now = options.now ?? systemNow
  }

  /** Where the session is. */
  get status(): SessionStatus {
    return this.#status
  }

  /**
   * The channel binding (unpadded base64url), equal on both ends of an untampered channel: send it to
   * the server with the device authorization (new device) or the approval (existing device).
   * Errors: INVALID_STATE before the handshake.
   */
  get channelBinding(): string {
    const channel = this.channel
    if (channel === null || (channel.kind !== 'established' && channel.kind !== 'verified')) {
      throw new ClientError('INVALID_STATE', { detail: 'no channel binding before the handshake' })
    }
    return channel.channelBinding
  }

  protected setStatus(status: SessionStatus, ourTurn: boolean): void {
    this.#status = status
    this.#ourTurn = ourTurn
  }

  protected expect(status: SessionStatus, action: string): void {
    if (this.#status !== status) {
      throw new ClientError('INVALID_STATE', { detail: `cannot ${action} while ${this.#status}` })
    }
  }

  /** Receives over the transport; a failure that ends the channel closes the session too. */
  protected async receiveRaw(options?: ReceiveOptions): Promise<string> {
    const transport = this.#transportOrThrow()
    try {
      return await transport.receive(options)
    } catch (error) {
      if (isClientError(error) && TERMINAL.has(error.code)) this.#terminate()
      throw error
    }
  }

  protected async sendRaw(message: string): Promise<void> {
    const transport = this.#transportOrThrow()
    try {
      await transport.send(message)
    } catch (error) {
      if (isClientError(error) && TERMINAL.has(error.code)) this.#terminate()
      throw error
    }
  }

  #transportOrThrow(): ChannelTransport {
    if (this.transport === null || this.#status === 'closed') {
      throw new ClientError('INVALID_STATE', { detail: 'the session is not connected' })
    }
    return this.transport
  }

  /**
   * Encrypts `message` as JSON and writes it. Strict ping-pong: after a send, wait for the other side's answer.
   * Errors: INVALID_STATE (not open), NOT_YOUR_TURN, and the transport's (CONCURRENT_WRITE, CHANNEL_GONE…).
   */
  async send(message: unknown): Promise<void> {
    this.expect('open', 'send')
    if (!this.#ourTurn) throw new ClientError('NOT_YOUR_TURN', { detail: "wait for the other device's message first" })
    const sealed = encryptMessage(this.channel as ChannelState, JSON.stringify(message))
    if (!sealed.ok) throw new ClientError('INVALID_STATE', { detail: sealed.detail ?? 'the channel cannot send' })
    this.channel = sealed.value.state
    await this.sendRaw(sealed.value.message)
    this.#ourTurn = false
  }

  /**
   * Waits for the other side's next message and returns it decrypted and parsed.
   * Errors: INVALID_STATE, NOT_YOUR_TURN, DECRYPTION_FAILED / PROTOCOL_ERROR (the channel is then
   * aborted with `protocol_error`), and the transport's (ABORTED, CHANNEL_GONE, CHANNEL_EXPIRED, CANCELLED…).
   */
  async receive<T = unknown>(options?: ReceiveOptions): Promise<T> {
    this.expect('open', 'receive')
    if (this.#ourTurn) throw new ClientError('NOT_YOUR_TURN', { detail: "it is this device's turn to send" })
    const text = await this.receiveRaw(options)
    const opened = decryptMessage(this.channel as ChannelState, text)
    if (!opened.ok) {
      const code = opened.code === 'DECRYPTION_FAILED' ? 'DECRYPTION_FAILED' : 'PROTOCOL_ERROR'
      throw await this.failProtocol(code, opened.detail ?? 'the message does not open')
    }
    this.channel = opened.value.state
    this.#ourTurn = true
    try {
      return JSON.parse(opened.value.plaintext) as T
    } catch {
      // Not swallowed: a plaintext that is not JSON is the other device's protocol error, thrown as one.
      throw await this.failProtocol('PROTOCOL_ERROR', 'the message is not JSON')
    }
  }

  /** Aborts the channel with `protocol_error` and returns the error to throw. */
  protected async failProtocol(code: 'DECRYPTION_FAILED' | 'PROTOCOL_ERROR', detail: string): Promise<ClientError> {
    // Safe to drop: the protocol error is what the caller must see; an unaborted channel expires on its own.
    await this.abort('protocol_error').catch(() => {})
    return new ClientError(code, { detail })
  }

  /** Ends the session normally: deletes the channel on the relay and wipes the keys. Idempotent. */
  async close(): Promise<void> {
    if (this.#status === 'closed') return
    this.#wipe()
    await this.transport?.close()
  }

  /**
   * Aborts: the relay deletes the channel at once and tells the other side (`reason`); keys are wiped.
   * Idempotent.
   */
  async abort(reason: AbortReason = 'user_cancelled'): Promise<void> {
    if (this.#status === 'closed') return
    this.#wipe()
    await this.transport?.abort(reason)
  }

  /** Wipes the keys and marks the session closed. */
  #wipe(): void {
    this.#status = 'closed'
    this.#ourTurn = false
    if (this.channel !== null) closeChannel(this.channel)
  }

  /** Closes the session after the channel ended elsewhere: wipes the keys, releases the connection. */
  #terminate(): void {
    this.#wipe()
    this.transport?.disconnect()
  }

  /** Public fields only (never a key, secret, channel id, link or ticket). */
  toJSON(): SessionSummary {
    const summary: SessionSummary = { device: this.device, role: this.role, status: this.#status }
    if (this.transport !== null) summary.transport = this.transport.kind
    return { ...summary, ...this.extraSummary() }
  }

  protected extraSummary(): Partial<SessionSummary> {
    return {}
  }

  [INSPECT](): SessionSummary {
    return this.toJSON()
  }
}
