/**
 * Limits on slow and greedy clients of the Node server: tight header, request and keep-alive timeouts
 * (Node's defaults let a client hold a connection for minutes with a trickle of bytes), and a cap on
 * the connections one client address holds at once. Connections over the cap are closed before a
 * byte is read. Trusted proxies (when a proxy header is configured) are not counted: every client
 * behind them would share their address.
 *
 * @see https://nodejs.org/api/http.html#serverheaderstimeout
 * @see https://nodejs.org/api/http.html#serverrequesttimeout
 */
import type { Server, ServerOptions } from 'node:http'
import type { Socket } from 'node:net'
import type { Config } from '../config.ts'
import { inAnyRange, parseAddress } from '../core/policy/network.ts'
import { lastAnswer } from './node-last-answer.ts'

/** The `http.createServer` options for the config's timeouts. */
export const nodeServerOptions = (server: Config['server']): ServerOptions => ({
  headersTimeout: server.headersTimeoutMs,
  requestTimeout: server.requestTimeoutMs,
  keepAliveTimeout: server.keepAliveTimeoutMs,
  // How often Node looks for expired requests: a fraction of the tightest timeout, so it holds to ~20 %.
  connectionsCheckingInterval: Math.max(250, Math.floor(server.headersTimeoutMs / 5)),
})

/**
 * Caps the open connections per client address of `server`. Returns how many each address holds, for tests.
 *
 * @example
 * capConnectionsPerAddress(server, config.server)
 */
export const capConnectionsPerAddress = (server: Server, config: Config['server']): ReadonlyMap<string, number> => {
  const open = new Map<string, number>()
  const exempt = (address: string): boolean => {
    if (config.trustedProxyHeader === undefined) return false
    const parsed = parseAddress(address)
    return parsed !== null && inAnyRange(parsed, config.trustedProxies)
  }
  // One listener for every socket (a closure per connection would live as long as it, WebSockets
  // included): the address read at connection is cached by the socket, so it is the same at close.
  function release(this: Socket): void {
    const address = this.remoteAddress
    if (address === undefined) return
    const left = (open.get(address) ?? 1) - 1
    if (left <= 0) open.delete(address)
    else open.set(address, left)
  }
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress
    if (address === undefined || exempt(address)) return
    const count = (open.get(address) ?? 0) + 1
    if (count > config.maxConnectionsPerAddress) {
      socket.destroy()
      return
    }
    open.set(address, count)
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
