/**
 * WebSockets on Node: the `ws` server that `@hono/node-server` upgrades into (it is handed to `serve`
 * as `websocket.server`), the real timers of the relay, and the transport given to `createApp`.
 */
import { WebSocketServer } from 'ws'
import { maxFrameBytes } from '../core/relay/ws-protocol.ts'
import type { WebSocketTransport } from '../http/routes/relay-ws.ts'
import type { Scheduler } from '../ports.ts'
import type { RelayService } from '../services/relay.ts'
import { RelayError } from '../core/errors.ts'
import { adoptWebSocket } from './node-ws-upgrade.ts'
import { DirectTextWebSocket } from './node-ws-text.ts'

/** Timers on the event loop; unref'd, so that a pending timeout never keeps a stopping process alive. */
export const systemScheduler: Scheduler = {
  schedule(delayMs, task) {
    const timer = setTimeout(task, delayMs)
    timer.unref()
    return () => clearTimeout(timer)
  },
}

/**
 * The `ws` server behind the upgrades: no server of its own, frames above the frame limit refused by
 * `ws` itself (close 1009 before the frame is even buffered whole), no compression (a relay of
 * ciphertext gains nothing from it, and it costs memory per socket), and sockets that write a text
 * frame in one piece (`DirectTextWebSocket`).
 *
 * @example
 * serve({ fetch: app.fetch, websocket: { server: nodeWebSocketServer(config.rendezvous.maxPayloadBytes) } })
 */
export const nodeWebSocketServer = (maxPayloadBytes: number): WebSocketServer =>
  new WebSocketServer({
    noServer: true,
    maxPayload: maxFrameBytes(maxPayloadBytes),
    perMessageDeflate: false,
    WebSocket: DirectTextWebSocket,
  })

/**
 * The transport `createApp` serves WebSockets with on Node: the route adopts the upgrade
 * (`./node-ws-upgrade.ts`), the relay then talks to the `ws` socket itself, and frames and pings go
 * from it straight to the relay (`ws` checks text frames are UTF-8 and answers pings itself; we only listen).
 * An upgrade request that reached the app as a plain request (`Upgrade: websocket` without
 * `Connection: Upgrade`) is refused with 426 (the adapter's helper answered an empty 500).
 */
export const nodeWebSocketTransport = (relay: RelayService): WebSocketTransport => ({
  relay,
  adopt: (c, open) => {
    if ((c.env as { outgoing?: unknown } | undefined)?.outgoing !== undefined) {
      c.header('Upgrade', 'websocket')
      throw new RelayError('UPGRADE_REQUIRED', { detail: 'a WebSocket upgrade needs Connection: Upgrade' })
    }
    // Not an upgrade of our listener (the app called without one): as the adapter's helper answers.
    if (!adoptWebSocket(c.env, open)) return new Response(null, { status: 500 })
    return new Response()
  },
})

/** Ends every socket still open on `server` at once (after the graceful close had its chance). */
export const terminateAll = (server: WebSocketServer): void => {
  for (const socket of server.clients) socket.terminate()
}
