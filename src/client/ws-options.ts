/**
 * The options of the WebSocket transport (`ws-transport.ts`), apart so that the transport's file keeps
 * to the channel end and its connector.
 */
import type { FetchLike, NativeApiOptions } from './native-api.ts'
import type { WebSocketConstructor } from './platform.ts'

/** Options of `webSocketTransport`. */
export interface WebSocketTransportOptions extends Pick<NativeApiOptions, 'creator' | 'publicBaseUrl'> {
  /** The relay's base URL (http/https; the socket URL is derived from it). */
  baseUrl: string
  /** Default: `globalThis.WebSocket`. On Node 20 pass the `ws` package's. */
  WebSocket?: WebSocketConstructor
  /** For creation (and delete/abort once the socket is closed). Default: `globalThis.fetch`. */
  fetch?: FetchLike
  /** How long opening the socket and getting the welcome may take. Default 10 000 ms. */
  connectTimeoutMs?: number
  /** Interval of application pings that keep the relay's idle timeout away. Default 25 000 ms. */
  pingIntervalMs?: number
  /** Clock, in ms. Default `Date.now`. */
  now?: () => number
}
