/**
 * WebSockets on Node: the `ws` server that `@hono/node-server` upgrades into (it is handed to `serve`
 * as `websocket.server`), the real timers of the relay, and the transport given to `createApp`.
 */
import { WebSocketServer } from 'ws'
import { maxFrameBytes } from '../core/relay/ws-protocol.ts'
import type { WebSocketTransport } from '../http/routes/relay-ws.ts'
import type { Scheduler } from '../ports.ts'
import type { RelayService } from '../services/relay.ts'
import { upgradeWebSocketOrRefuse } from './node-refusals.ts'

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
 * ciphertext gains nothing from it, and it costs memory per socket).
 *
 * @example
 * serve({ fetch: app.fetch, websocket: { server: nodeWebSocketServer(config.rendezvous.maxPayloadBytes) } })
 */
export const nodeWebSocketServer = (maxPayloadBytes: number): WebSocketServer =>
  new WebSocketServer({ noServer: true, maxPayload: maxFrameBytes(maxPayloadBytes), perMessageDeflate: false })

interface FrameEmitter {
  on(event: 'ping', listener: () => void): unknown
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): unknown
}
const canHearFrames = (raw: unknown): raw is FrameEmitter =>
  typeof raw === 'object' && raw !== null && typeof (raw as { on?: unknown }).on === 'function'

/**
 * The transport `createApp` serves WebSockets with on Node: frames and pings go from the `ws` socket
 * straight to the relay (`ws` checks text frames are UTF-8 and answers pings itself; we only listen).
 */
export const nodeWebSocketTransport = (relay: RelayService): WebSocketTransport => ({
  upgradeWebSocket: upgradeWebSocketOrRefuse,
  relay,
  watchFrames: (raw, connection) => {
    if (!canHearFrames(raw)) return
    // `ws` hands a Buffer per frame (its default binaryType); a text frame's bytes are valid UTF-8.
    raw.on('message', (data, isBinary) => (isBinary ? connection.binary() : connection.text(data.toString('utf8'))))
    raw.on('ping', () => connection.ping())
  },
})

/** Ends every socket still open on `server` at once (after the graceful close had its chance). */
export const terminateAll = (server: WebSocketServer): void => {
  for (const socket of server.clients) socket.terminate()
}
