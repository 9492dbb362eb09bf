/**
 * The WebSocket where it works, HTTP polling where it does not: a relay with WebSockets off
 * (`QRELAY_WS_ENABLED=false`), a proxy that does not pass the upgrade, a runtime without a WebSocket
 * class. A socket that never opened said nothing to the relay, so the same channel goes on over HTTP:
 * the creator keeps the channel it created, the scanner claims it with its first read. Once a socket
 * failed to open, this connector stops trying. A socket that opened and then failed is the
 * WebSocket transport's error, as with {@link webSocketTransport}.
 *
 * @see ../../docs/websocket.md
 */
import { httpChannel, httpTransport } from './http-transport.ts'
import { nativeApi } from './native-api.ts'
import { systemNow } from './platform.ts'
import type { TransportConnector } from './transport.ts'
import { SocketNotOpened, socketOpener, type WebSocketTransportOptions } from './ws-transport.ts'

/** Options of {@link preferWebSocket}: the WebSocket transport's, and the poll interval of the fallback. */
export interface PreferWebSocketOptions extends WebSocketTransportOptions {
  /** Time between two polls once on HTTP. Default 1000 ms. */
  pollIntervalMs?: number
}

/**
 * Native channels over the WebSocket, else over HTTP polling (see the file comment).
 *
 * @example
 * const shown = await NewDevice.showQr({ baseUrl, transport: preferWebSocket({ baseUrl }) })
 * shown.toJSON().transport // 'websocket', or 'http' behind a proxy that refuses upgrades
 */
export const preferWebSocket = (options: PreferWebSocketOptions): TransportConnector => {
  const api = nativeApi(options)
  const http = httpTransport(options)
  const now = options.now ?? systemNow
  const pollIntervalMs = options.pollIntervalMs ?? 1000
  let open = socketOpener(api, options)
  /** The socket's attempt, or undefined once sockets are known not to open here. */
  const attempt = async <T>(viaSocket: (opener: NonNullable<typeof open>) => Promise<T>): Promise<T | undefined> => {
    if (open === undefined) return undefined
    try {
      return await viaSocket(open)
    } catch (error) {
      if (!(error instanceof SocketNotOpened)) throw error
      open = undefined
      return undefined
    }
  }
  return {
    get kind() {
      return open === undefined ? 'http' : 'websocket'
    },
    async create() {
      const created = await api.create()
      const { id, creatorSecret: secret, sequenceToken: token, ticket } = created
      const socket = await attempt((opener) => opener('creator', id, secret, token))
      const transport =
        socket ?? httpChannel({ api, role: 'creator', id, secret, token, expiresAtMs: now() + created.expiresInMs, pollIntervalMs, now })
      return { transport, ticket }
    },
    async join(channelId) {
      return (await attempt((opener) => opener('joiner', channelId, null, null))) ?? http.join(channelId)
    },
  }
}
