/**
 * `GET /v1/rendezvous/{id}/ws`: the WebSocket transport of native channels. The route only checks the
 * id and upgrades, through the runtime's own Hono `upgradeWebSocket` (Node: `@hono/node-server`;
 * Workers will bring theirs), then hands the socket to the relay service. It authenticates nothing:
 * browsers cannot set `Authorization` on a WebSocket, so the first frame does (see `core/relay/ws-protocol.ts`).
 *
 * @see ../../../docs/websocket.md
 */
import type { Handler } from 'hono'
import type { UpgradeWebSocket } from 'hono/ws'
import { RelayError } from '../../core/errors.ts'
import type { RelayConnection, RelayService } from '../../services/relay.ts'
import type { AppEnv } from '../context.ts'
import { callerOf, channelIdParam } from './shared.ts'

/** What a runtime gives `createApp` to serve WebSockets. */
export interface WebSocketTransport {
  /** The runtime's Hono upgrade helper (its raw socket type differs per runtime; the relay never sees it). */
  // biome-ignore lint/suspicious/noExplicitAny: the raw socket type differs per runtime (ws on Node, WebSocket on Workers)
  upgradeWebSocket: UpgradeWebSocket<any>
  relay: RelayService
  /** Calls `listener` on every protocol-level ping of a raw socket, where the runtime can see them. */
  watchPings?: (raw: unknown, listener: () => void) => void
}

/**
 * Builds the upgrade handler. Errors (as HTTP, before any upgrade): NOT_FOUND for a malformed id,
 * UPGRADE_REQUIRED (426) for a request that is not a WebSocket upgrade.
 *
 * @example
 * app.get('/v1/rendezvous/:id/ws', relayWebSocket({ upgradeWebSocket, relay }))
 */
export const relayWebSocket = (transport: WebSocketTransport): Handler<AppEnv> => {
  const { upgradeWebSocket, relay, watchPings } = transport
  return async function relayWebSocket(c) {
    const id = channelIdParam(c)
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
      c.header('Upgrade', 'websocket')
      throw new RelayError('UPGRADE_REQUIRED', { detail: 'this endpoint speaks WebSocket only' })
    }
    const caller = callerOf(c)
    const log = c.get('log').child({ channel: c.get('redact')(id) })
    let connection: RelayConnection | undefined
    return upgradeWebSocket(c, {
      onOpen(_event, ws) {
        const socket = { send: (text: string) => ws.send(text), close: (code: number, reason: string) => ws.close(code, reason) }
        connection = relay.connect(id, socket, caller, log)
        watchPings?.(ws.raw, () => connection?.ping())
      },
      onMessage(event) {
        if (typeof event.data === 'string') connection?.text(event.data)
        else connection?.binary()
      },
      onClose(event) {
        connection?.closed(event.code)
      },
      // An error is always followed by a close, which does the cleaning up.
      onError() {},
    })
  }
}
