/**
 * The Durable Object of one rendezvous channel (named `ch:<opaque key of the id>`, see `channelObjectName`): its record in the object's
 * synchronous KV storage, and an alarm at its expiry that frees the storage. Each method is one atomic
 * intent: it only touches its own storage, so the input gate lets no other call in between.
 * Expiry is judged against the caller's clock (`nowMs`), so a record past its expiry is gone at once,
 * whether or not the alarm has run yet.
 *
 * Both WebSockets of the channel end here (`ctx.acceptWebSocket`, the hibernation API): the object
 * hosts the relay service (see `workers-relay.ts`) and is the pub/sub hub of the channel's events.
 * The relay sessions' timers keep the object awake while a socket is in a session; a socket found
 * without its session (the object was evicted) is closed with 1012 so the client reconnects with
 * its party secret.
 */
import { DurableObject } from 'cloudflare:workers'
import { isLive, type ChannelRecord } from '../core/rendezvous/channel.ts'
import type { ChannelObjectApi, TakenChannel } from '../adapters/storage/durable-object.ts'
import type { ReplaceOutcome } from '../ports.ts'
import type { ChannelPublishApi } from '../adapters/pubsub/durable-object.ts'
import { decodeChannelEvent } from '../core/relay/channel-event.ts'
import { summarizeError } from '../core/error-summary.ts'
import type { RelayConnection } from '../services/relay.ts'
import { callerOfForwarded, objectRelay, type ObjectRelay } from './workers-relay.ts'

/** What the object stores: the record and the shard holding its live-channel reservation. */
interface Stored {
  record: ChannelRecord
  reservedIn: number
}

const KEY = 'channel'

/** Close codes a peer may report but no endpoint may send (RFC 6455 §7.4.1). */
const UNSENDABLE_CLOSE_CODES = new Set([1005, 1006, 1015])

/**
 * Answers a peer's close frame with one of our own, as RFC 6455 §5.5.1 asks and Node's `ws` does: at
 * this compatibility date the runtime does not (finding 81), so the client's close never completed:
 * it waited for its own timeout and saw an unclean close, its socket held open here meanwhile.
 */
const answerClose = (ws: WebSocket, code: number, reason: string): void => {
  try {
    if (UNSENDABLE_CLOSE_CODES.has(code)) ws.close()
    else ws.close(code, reason)
  } catch {
    // Safe: the socket is closed already (the runtime answered, or it went away): nothing to answer.
  }
}

/** One rendezvous channel. */
export class ChannelObject extends DurableObject<Env> implements ChannelObjectApi, ChannelPublishApi {
  #relay: ObjectRelay | undefined
  readonly #connections = new Map<WebSocket, RelayConnection>()

  /** Accepts a WebSocket forwarded by the Worker and hands it to a relay session. */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return new Response(null, { status: 426 })
    const id = decodeURIComponent(new URL(request.url).pathname.split('/')[3] ?? '')
    const relay = (this.#relay ??= objectRelay(this.env))
    const pair = new WebSocketPair()
    const [client, server] = [pair[0], pair[1]]
    this.ctx.acceptWebSocket(server)
    const log = relay.logger.child({ channel: relay.redact(id) })
    const socket = {
      send: (text: string) => server.send(text),
      close: (code: number, reason: string) => {
        try {
          server.close(code, reason)
        } catch (error) {
          // Closing a socket the peer already closed throws; there is nothing left to close, so only note it.
          log.debug({ err: summarizeError(error) }, 'websocket already closed')
        }
      },
    }
    this.#connections.set(server, relay.relay.connect(id, socket, callerOfForwarded(request), log))
    return new Response(null, { status: 101, webSocket: client })
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const connection = this.#connections.get(ws)
    if (connection === undefined) {
      ws.close(1012, 'reconnect')
      return
    }
    if (typeof message === 'string') connection.text(message)
    else connection.binary()
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.#connections.get(ws)?.closed(code)
    this.#connections.delete(ws)
    answerClose(ws, code, reason)
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.#connections.get(ws)?.closed(1011)
    this.#connections.delete(ws)
  }

  /**
   * An event of this channel from an isolate that served it over HTTP: to the sockets held here. A
   * socket this object holds without its session (the object was evicted and made again, its sockets
   * kept by the runtime) cannot be told: it is closed with 1012, so that its client reconnects and
   * reads the news in its welcome, instead of waiting for a message that came and went (finding 84).
   */
  async publish(id: string, event: string): Promise<void> {
    for (const ws of this.ctx.getWebSockets()) if (!this.#connections.has(ws)) answerClose(ws, 1012, 'reconnect')
    const decoded = decodeChannelEvent(event)
    if (decoded !== null && this.#relay !== undefined) await this.#relay.events.publish(id, decoded)
  }

  #live(nowMs: number): Stored | null {
    const stored = this.ctx.storage.kv.get<Stored>(KEY)
    if (stored === undefined) return null
    if (isLive(stored.record, nowMs)) return stored
    this.ctx.storage.kv.delete(KEY)
    return null
  }

  async #forget(): Promise<void> {
    this.ctx.storage.kv.delete(KEY)
    await this.ctx.storage.deleteAlarm()
  }

  async create(record: ChannelRecord, reservedIn: number, nowMs: number): Promise<'ok' | 'exists'> {
    if (this.#live(nowMs) !== null) return 'exists'
    this.ctx.storage.kv.put<Stored>(KEY, { record, reservedIn })
    await this.ctx.storage.setAlarm(record.expiresAtMs)
    return 'ok'
  }

  async get(nowMs: number): Promise<ChannelRecord | null> {
    return this.#live(nowMs)?.record ?? null
  }

  async replaceIfMatch(expectedRev: number, next: ChannelRecord, nowMs: number): Promise<ReplaceOutcome> {
    const stored = this.#live(nowMs)
    if (stored === null) return 'missing'
    if (stored.record.rev !== expectedRev) return 'mismatch'
    this.ctx.storage.kv.put<Stored>(KEY, { record: next, reservedIn: stored.reservedIn })
    if (next.expiresAtMs !== stored.record.expiresAtMs) await this.ctx.storage.setAlarm(next.expiresAtMs)
    return 'ok'
  }

  async takeOnce(nowMs: number): Promise<TakenChannel | null> {
    const stored = this.#live(nowMs)
    if (stored === null) return null
    await this.#forget()
    return stored
  }

  /** Frees the storage once the record has expired by the object's own clock (early alarms re-arm). */
  override async alarm(): Promise<void> {
    const stored = this.ctx.storage.kv.get<Stored>(KEY)
    if (stored === undefined) return
    if (isLive(stored.record, Date.now())) await this.ctx.storage.setAlarm(stored.record.expiresAtMs)
    else await this.#forget()
  }
}
