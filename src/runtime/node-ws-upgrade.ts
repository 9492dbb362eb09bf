/**
 * WebSocket upgrades on Node, without @hono/node-server's `upgradeWebSocket` helper: its per-socket
 * closures keep the upgrade request's whole Hono `Context` (with its `Request`, `Headers`, `URL`s and
 * the `IncomingMessage`) alive for as long as the socket is open, ≈ 10 KiB per socket (BENCHMARKS.md,
 * WebSocket relay, issue 15). The upgrade request still goes through the app (middleware, route,
 * refusals) as with the adapter's own listener, whose steps this follows: the same `Request`, the
 * same `env` (`incoming`, no `outgoing`), the same answers. A route that accepts calls
 * {@link adoptWebSocket}; once `ws` has completed the handshake the socket is handed to the route's
 * `open` and nothing of the request stays referenced. Frames go from `ws` to the receiver `open`
 * returned through listeners shared by every socket (no closure per socket).
 */
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { RequestError, type HttpBindings } from '@hono/node-server'
import type { RawData, WebSocket, WebSocketServer } from 'ws'
import { lastAnswer } from './node-last-answer.ts'

/** What the relay hears of an adopted socket. */
export interface SocketReceiver {
  text(data: string): void
  binary(): void
  ping(): void
  closed(code?: number): void
}

/** What a route does with its socket once upgraded: returns who hears its frames. */
export type OpenSocket = (socket: WebSocket) => SocketReceiver

/** The slot on the upgrade request's `env` where an accepting route leaves its `open`. */
const ADOPT = Symbol('qrelay.adoptWebSocket')

interface UpgradeEnv {
  incoming: IncomingMessage
  outgoing: undefined
  [ADOPT]: OpenSocket | null
}

const isUpgradeEnv = (env: unknown): env is UpgradeEnv => typeof env === 'object' && env !== null && ADOPT in env

/**
 * Accepts the upgrade of the request whose adapter `env` is given: after the app has answered,
 * the socket is upgraded and handed to `open`. False when `env` is not an upgrade request of
 * {@link listenForWebSocketUpgrades} (nothing done).
 */
export const adoptWebSocket = (env: unknown, open: OpenSocket): boolean => {
  if (!isUpgradeEnv(env)) return false
  env[ADOPT] = open
  return true
}

// The request as the adapter builds it for an upgrade (its `createUpgradeRequest`, same checks).
const VALID_REQUEST_URL = /^\/[!#$&-;=?-[\]_a-z~]*$/
const DOT_SEGMENT = /\/\.\.?(?:[/?#]|$)/
const VALID_HOST = /^[a-z0-9._-]+(?::(?:[1-5]\d{3,4}|[6-9]\d{3}))?$/

const validateTarget = (target: string): void => {
  const backslash = target.indexOf('\\')
  if (backslash === -1) return
  const query = target.indexOf('?')
  if (query === -1 || backslash < query) throw new RequestError('Backslash in request path')
}

const buildUrl = (scheme: string, host: string, target: string): string => {
  const url = `${scheme}://${host}${target}`
  if (!VALID_HOST.test(host)) {
    validateTarget(target)
    const parsed = new URL(url)
    const bare = (host.includes(':') ? host.replace(/:\d+$/, '') : host).toLowerCase()
    if (parsed.hostname.length !== host.length && parsed.hostname !== bare) throw new RequestError('Invalid host header')
    return parsed.href
  }
  if (target.length === 0) return `${url}/`
  if (target.charCodeAt(0) !== 47) throw new RequestError('Invalid URL')
  if (!VALID_REQUEST_URL.test(target) || DOT_SEGMENT.test(target)) {
    validateTarget(target)
    return new URL(url).href
  }
  return url
}

const upgradeRequest = (request: IncomingMessage): Request => {
  const scheme = (request.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http'
  const target = request.url ?? '/'
  let url: string
  if (target[0] !== '/' && (target.startsWith('http://') || target.startsWith('https://'))) {
    validateTarget(target)
    url = new URL(target).href
  } else url = buildUrl(scheme, request.headers.host ?? 'localhost', target)
  const headers = new Headers()
  for (const key in request.headers) {
    const value = request.headers[key]
    if (value) headers.append(key, Array.isArray(value) ? (value[0] ?? '') : value)
  }
  return new Request(url, { headers })
}

/** Headers of the app's answer that the handshake (101) or a refusal sets itself. */
const SKIPPED_HEADERS = new Set([
  'connection',
  'content-length',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'sec-websocket-accept',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
])

const appendHeaders = (lines: string[], headers: Headers | undefined): void => {
  headers?.forEach((value, key) => {
    if (!SKIPPED_HEADERS.has(key.toLowerCase())) lines.push(`${key}: ${value}`)
  })
}

/** The adapter's refusal of an upgrade: the status and the app's headers, no body (JSON added in front). */
const refuse = (socket: Duplex, status: number, headers?: Headers): void => {
  if (socket.destroyed) return
  const lines = ['Connection: close', 'Content-Length: 0']
  appendHeaders(lines, headers)
  lastAnswer(socket, `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${lines.join('\r\n')}\r\n\r\n`)
}

const ignore = (): void => {}

// One set of listeners for every socket: each finds its receiver on the socket itself.
const RECEIVER = Symbol('qrelay.receiver')
type Adopted = WebSocket & { [RECEIVER]: SocketReceiver }

/**
 * What a socket may hold unsent (its client not reading) before the server stops reading its frames:
 * a few of the largest frames at the default payload limit. Every frame a client sends may be answered
 * (a pong, an ack, a conflict), so a client that sends and never reads made the server buffer every
 * answer, ≈ 150 bytes of heap per 21-byte ping (44 MB of pings held 300 MB): the reads now wait until
 * what is queued has been written out, and the client's own sends back up in TCP instead.
 */
const MAX_UNSENT_BYTES = 64 * 1024

/** Stops reading `ws` while it holds more than {@link MAX_UNSENT_BYTES} unsent; reads again once written out. */
const holdWhileUnsent = (ws: WebSocket): void => {
  if (ws.isPaused || ws.bufferedAmount <= MAX_UNSENT_BYTES) return
  const connection = (ws as unknown as { _socket?: Duplex })._socket
  // Only when a write was told to wait ('drain' then comes once all is written), else nothing would resume it.
  if (connection?.writableNeedDrain !== true) return
  ws.pause()
  connection.once('drain', () => ws.resume())
}

function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  const receiver = (this as Adopted)[RECEIVER]
  // `ws` hands a Buffer per frame (its default binaryType); a text frame's bytes are valid UTF-8.
  if (isBinary) receiver.binary()
  else receiver.text((data as Buffer).toString('utf8'))
  holdWhileUnsent(this)
}
function onPing(this: WebSocket): void {
  ;(this as Adopted)[RECEIVER].ping()
  holdWhileUnsent(this)
}
function onClose(this: WebSocket, code: number): void {
  ;(this as Adopted)[RECEIVER].closed(code)
}

const attach = (ws: WebSocket, receiver: SocketReceiver): void => {
  ;(ws as Adopted)[RECEIVER] = receiver
  ws.on('message', onMessage)
  ws.on('ping', onPing)
  ws.on('close', onClose)
  // An error is always followed by a close, which does the cleaning up.
  ws.on('error', ignore)
}

/** The app as the adapter calls it (an upgrade's `env` has no `outgoing`, as the adapter's). */
type Fetch = (request: Request, env: HttpBindings) => unknown

/**
 * Serves WebSocket upgrades on `server` through `fetch` (the app) and `wss` (`noServer: true`): a
 * request the app's route adopted is upgraded; any other is refused with the app's status and
 * headers (400 when the request could not be built, 500 when the app threw), as the adapter does.
 * `upgraded` is told of each socket that became a WebSocket (before its frames are heard).
 */
export const listenForWebSocketUpgrades = (
  server: Server,
  fetch: Fetch,
  wss: WebSocketServer,
  upgraded: (socket: Duplex) => void = ignore,
): void => {
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (request.headers.upgrade?.toLowerCase() !== 'websocket') return
    // The last resort: a throw nothing below caught (a route's `open`, `ws` itself) ends this socket
    // and is told to the server's error listener (the runtime logs it), not left to end the process.
    serveUpgrade(request, socket, head).catch((error: unknown) => {
      socket.destroy()
      if (server.listenerCount('error') > 0) server.emit('error', error)
    })
  })
  const serveUpgrade = async (request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    socket.on('error', ignore)
    const env: UpgradeEnv = { incoming: request, outgoing: undefined, [ADOPT]: null }
    let status = 400
    let headers: Headers | undefined
    try {
      const response = await fetch(upgradeRequest(request), env as unknown as HttpBindings)
      if (response instanceof Response) {
        status = response.status
        headers = response.headers
      }
    } catch (error) {
      if (server.listenerCount('upgrade') === 1) refuse(socket, error instanceof RequestError ? 400 : 500)
      return
    }
    const open = env[ADOPT]
    if (socket.destroyed) return
    if (open === null) {
      if (server.listenerCount('upgrade') === 1) refuse(socket, status, headers)
      return
    }
    const addHeaders = (lines: string[]): void => appendHeaders(lines, headers)
    wss.on('headers', addHeaders)
    try {
      wss.handleUpgrade(request, socket, head, (ws) => {
        socket.off('error', ignore)
        upgraded(socket)
        attach(ws, open(ws))
      })
    } finally {
      wss.off('headers', addHeaders)
    }
  }
  server.on('close', () => wss.close())
}
