/**
 * `GET /v1/rendezvous/{id}/ws`: the WebSocket transport of native channels. The route only checks the
 * id and upgrades, through the runtime's own Hono `upgradeWebSocket` (Node: `@hono/node-server`;
 * Workers will bring theirs), then hands the socket to the relay service. It authenticates nothing:
 * browsers cannot set `Authorization` on a WebSocket, so the first frame does (see `core/relay/ws-protocol.ts`).
 *
 * @see ../../../docs/websocket.md
 */
import type { Context, Handler } from 'hono'
import type { UpgradeWebSocket, WSContext, WSEvents } from 'hono/ws'
import { RelayError } from '../../core/errors.ts'
import type { RelayConnection, RelayService, RelaySocket } from '../../services/relay.ts'
import type { AppEnv } from '../context.ts'
import type { Logger } from '../../ports.ts'
import { summarizeError } from '../../core/error-summary.ts'
import type { Caller } from '../../services/rendezvous.ts'
import { callerOf, channelIdParam } from './shared.ts'

/** What a runtime gives `createApp` to serve WebSockets: `adopt`, or Hono's `upgradeWebSocket`. */
export interface WebSocketTransport {
  /** The runtime's Hono upgrade helper (its raw socket type differs per runtime; the relay never sees it). */
  // biome-ignore lint/suspicious/noExplicitAny: the raw socket type differs per runtime (ws on Node, WebSocket on Workers)
  upgradeWebSocket?: UpgradeWebSocket<any>
  relay: RelayService
  /** Calls `listener` on every protocol-level ping of a raw socket, where the runtime can see them. */
  watchPings?: (raw: unknown, listener: () => void) => void
  /**
   * Takes the upgrade over itself (Node), in place of `upgradeWebSocket`: returns the answer to the
   * upgrade request and, once the socket is open, calls `open` with it and feeds every frame, ping and
   * the close to the connection `open` returns. Nothing of the request (`c`) is kept for the socket's
   * life, where the helper's events keep the whole context per socket.
   */
  adopt?: (c: Context<AppEnv>, open: (socket: RelaySocket) => RelayConnection) => Response
}

/** The relay's view of the upgraded socket (a class: one object per socket, its methods shared). */
class UpgradedSocket {
  constructor(private readonly ws: WSContext) {}
  send(text: string): void {
    this.ws.send(text)
  }
  close(code: number, reason: string): void {
    this.ws.close(code, reason)
  }
}

/**
 * The socket's logger: the request's, with the channel's hash in front of each line's fields (the
 * line reads as from a child logger), without a child logger of its own kept for the socket's life;
 * the hash is computed when a line is written, not for every socket.
 */
class ChannelLog implements Logger {
  constructor(
    private readonly parent: Logger,
    private readonly id: string,
    private readonly redact: (value: string) => string,
  ) {}
  debug(fields: Record<string, unknown>, message: string): void {
    this.parent.debug(this.with(fields), message)
  }
  info(fields: Record<string, unknown>, message: string): void {
    this.parent.info(this.with(fields), message)
  }
  warn(fields: Record<string, unknown>, message: string): void {
    this.parent.warn(this.with(fields), message)
  }
  error(fields: Record<string, unknown>, message: string): void {
    this.parent.error(this.with(fields), message)
  }
  child(fields: Record<string, unknown>): Logger {
    return this.parent.child(this.with(fields))
  }
  private with(fields: Record<string, unknown>): Record<string, unknown> {
    return { channel: this.redact(this.id), ...fields }
  }
}

/** What a socket whose connection could not be made hears: nothing (it is closing already). */
const NOT_CONNECTED: RelayConnection = { text() {}, binary() {}, ping() {}, closed() {} }

/**
 * `relay.connect` for a socket that has just opened. A throw there reached the runtime's socket
 * listener (on Node an `upgrade` listener, where it became an unhandled rejection: the whole process
 * down); now it is logged (error, no message) and only this socket closes, with 1011.
 */
const connectOrClose = (relay: RelayService, id: string, socket: RelaySocket, caller: Caller, log: Logger): RelayConnection => {
  try {
    return relay.connect(id, socket, caller, log)
  } catch (error) {
    log.error({ err: summarizeError(error) }, 'websocket open failed')
    try {
      socket.close(1011, 'internal error')
    } catch {
      // Already closed: nothing more to tell it.
    }
    return NOT_CONNECTED
  }
}

/**
 * Builds the upgrade handler. Errors (as HTTP, before any upgrade): NOT_FOUND for a malformed id,
 * UPGRADE_REQUIRED (426) for a request that is not a WebSocket upgrade.
 *
 * @example
 * app.get('/v1/rendezvous/:id/ws', relayWebSocket({ upgradeWebSocket, relay }))
 */
export const relayWebSocket = (transport: WebSocketTransport): Handler<AppEnv> => {
  const { upgradeWebSocket, relay, watchPings, adopt } = transport
  return async function relayWebSocket(c) {
    const id = channelIdParam(c)
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
      c.header('Upgrade', 'websocket')
      throw new RelayError('UPGRADE_REQUIRED', { detail: 'this endpoint speaks WebSocket only' })
    }
    const caller = callerOf(c)
    const log = new ChannelLog(c.get('log'), id, c.get('redact'))
    if (adopt !== undefined) return adopt(c, (socket) => connectOrClose(relay, id, socket, caller, log))
    if (upgradeWebSocket === undefined) throw new RelayError('INTERNAL', { detail: 'no WebSocket transport' })
    let connection: RelayConnection | undefined
    const events: WSEvents = {
      onOpen(_event, ws) {
        connection = connectOrClose(relay, id, new UpgradedSocket(ws), caller, log)
        watchPings?.(ws.raw, () => connection?.ping())
      },
      onClose(event) {
        connection?.closed(event.code)
      },
      // An error is always followed by a close, which does the cleaning up.
      onError() {},
      onMessage(event) {
        if (typeof event.data === 'string') connection?.text(event.data)
        else connection?.binary()
      },
    }
    return upgradeWebSocket(c, events)
  }
}
