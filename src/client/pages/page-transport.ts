/**
 * How the pages reach a channel: the WebSocket, so each step of a login arrives as soon as the other
 * device sends it, else HTTP polling (a relay with WebSockets off, a proxy that refuses the upgrade).
 * The pages polled every second before, at every step of the login.
 */
import { preferWebSocket } from '../auto-transport.ts'
import type { FetchLike } from '../native-api.ts'
import type { TransportConnector } from '../transport.ts'

/** A socket that has not opened in this long is taken as refused: the login goes on over HTTP. */
const CONNECT_TIMEOUT_MS = 4000

/** The channel transport of a page (`fetch` for the create and the HTTP calls, when the page routes them). */
export const pageTransport = (fetch?: FetchLike): TransportConnector =>
  preferWebSocket({ baseUrl: location.origin, connectTimeoutMs: CONNECT_TIMEOUT_MS, ...(fetch === undefined ? {} : { fetch }) })
