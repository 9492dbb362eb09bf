/**
 * Limits on slow and greedy clients of the Node server: tight header, request and keep-alive timeouts
 * (Node's defaults let a client hold a connection for minutes with a trickle of bytes), and a cap on
 * the connections one client holds at once. Connections over the cap are closed before a byte is
 * read. A client is an IPv4 address or an IPv6 /64 (any host of a /64 picks any of its 2⁶⁴
 * addresses), and an IPv6 client's /56 and /48 hold at most the IPv6 factors' multiples of the cap
 * (finding 60, as finding 48 for the rate limits). Trusted proxies (when a proxy header is configured)
 * are not counted: every client behind them would share their address.
 *
 * @see https://nodejs.org/api/http.html#serverheaderstimeout
 * @see https://nodejs.org/api/http.html#serverrequesttimeout
 */
import type { Server, ServerOptions } from 'node:http'
import type { Socket } from 'node:net'
import type { Config } from '../config.ts'
import { widerBudgetsOf, type WiderShares } from '../core/policy/ipv6-prefixes.ts'
import { inAnyRange, parseAddress, rateKeyOf } from '../core/policy/network.ts'
import { lastAnswer } from './node-last-answer.ts'

/** The `http.createServer` options for the config's timeouts. */
export const nodeServerOptions = (server: Config['server']): ServerOptions => ({
  headersTimeout: server.headersTimeoutMs,
  requestTimeout: server.requestTimeoutMs,
  keepAliveTimeout: server.keepAliveTimeoutMs,
  // How often Node looks for expired requests: a fraction of the tightest timeout, so it holds to ~20 %.
  connectionsCheckingInterval: Math.max(250, Math.floor(server.headersTimeoutMs / 5)),
})

/** Where a counted socket keeps the keys it holds a place under (read back at close). */
const HELD = Symbol('qrelay.connectionKeys')
type CountedSocket = Socket & { [HELD]?: readonly string[] }

/**
 * Caps the open connections per client of `server` (and per IPv6 /56 and /48, by `shares`). Returns
 * how many each key holds (an IPv4 address, or an IPv6 `…/64`, `…/56`, `…/48`), for tests.
 *
 * @example
 * capConnectionsPerAddress(server, config.server, config.rateLimit)
 */
export const capConnectionsPerAddress = (
  server: Server,
  config: Config['server'],
  shares: WiderShares = { ipv6Per56Factor: 1, ipv6Per48Factor: 1 },
): ReadonlyMap<string, number> => {
  const open = new Map<string, number>()
  // The cap as a rule, so that the wider networks and their shares are those of the rate limits.
  const cap = { limit: config.maxConnectionsPerAddress, windowMs: 1 }
  /** The keys a connection from `address` is counted under, each with its cap; undefined when it is not counted. */
  const placesOf = (address: string): { keys: string[]; caps: number[] } | undefined => {
    const parsed = parseAddress(address)
    if (parsed === null) return { keys: [address], caps: [cap.limit] }
    if (config.trustedProxyHeader !== undefined && inAnyRange(parsed, config.trustedProxies)) return undefined
    const client = rateKeyOf(parsed)
    const wider = widerBudgetsOf(client, cap, shares)
    return { keys: [client, ...wider.map((w) => w.network)], caps: [cap.limit, ...wider.map((w) => w.rule.limit)] }
  }
  // One listener for every socket (a closure per connection would live as long as it, WebSockets
  // included): the keys found at connection are kept on the socket, so the same are released at close.
  function release(this: CountedSocket): void {
    for (const key of this[HELD] ?? []) {
      const left = (open.get(key) ?? 1) - 1
      if (left <= 0) open.delete(key)
      else open.set(key, left)
    }
  }
  server.on('connection', (socket: CountedSocket) => {
    const address = socket.remoteAddress
    const places = address === undefined ? undefined : placesOf(address)
    if (places === undefined) return
    const { keys, caps } = places
    if (keys.some((key, i) => (open.get(key) ?? 0) >= (caps[i] as number))) {
      socket.destroy()
      return
    }
    for (const key of keys) open.set(key, (open.get(key) ?? 0) + 1)
    socket[HELD] = keys
    socket.on('close', release)
  })
  return open
}

/** What Node's parser refusal maps to: the status and the documented error body (never the input). */
const parserRefusal = (code: string | undefined): { status: number; reason: string; body: string } => {
  const [status, reason, qrelayCode, errcode, error] =
    code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'HEADERS_TOO_LARGE', 'M_TOO_LARGE', 'request headers too large']
      : code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'REQUEST_TIMEOUT', 'M_UNKNOWN', 'request not received in time']
        : [400, 'Bad Request', 'MALFORMED_REQUEST', 'M_UNRECOGNIZED', 'malformed HTTP request']
  return { status, reason, body: JSON.stringify({ errcode, error, qrelay_code: qrelayCode }) }
}

/**
 * Answers what Node's HTTP parser refuses (bytes that are not HTTP/1.1, an invalid request target,
 * oversized headers, a request not received in time) with the same JSON error shape as the app,
 * then closes the connection. Nothing from the request is echoed.
 *
 * @see https://nodejs.org/api/http.html#event-clienterror
 */
export const answerParserRefusals = (server: Server): void => {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy()
      return
    }
    const { status, reason, body } = parserRefusal(error.code)
    lastAnswer(
      socket,
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
    )
  })
}
