/**
 * `serve` from `@hono/node-server`, with every refusal the adapter makes itself answered in the app's
 * JSON error shape (`{errcode, error, qrelay_code}`) instead of an empty body (docs/security/fuzz.md,
 * F4 and F6):
 * - a request it cannot turn into a URL (a backslash before the query, a `Host` that is not a host) is
 *   answered by an `errorHandler` (which `serve` does not pass through): 400 `MALFORMED_REQUEST`;
 * - a WebSocket upgrade that is refused (the app's 4xx, an upgrade request it cannot build, a handshake
 *   `ws` refuses) keeps its status and headers, and gets the app's own JSON body, or one for its status;
 * - an upgrade to another protocol (`Upgrade: h2c`) is refused with 400 instead of being left open;
 * - `Upgrade: websocket` without `Connection: Upgrade` (not an upgrade, RFC 9110 §7.8: Node serves it
 *   as a plain request) is refused by the route with 426, where the adapter's helper answered an empty 500.
 * Nothing from the request is echoed.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerOptions } from 'node:http'
import type { Duplex } from 'node:stream'
import { getRequestListener, RequestError, serve } from '@hono/node-server'
import type { WebSocketServer } from 'ws'
import { lastAnswer } from './node-last-answer.ts'
import { listenForWebSocketUpgrades } from './node-ws-upgrade.ts'

type Options = Parameters<typeof serve>[0]
type Listening = Parameters<typeof serve>[1]

/** The errcode and qrelay code of a refusal the app did not word itself. */
const CODES: Readonly<Record<number, readonly [string, string, string]>> = {
  400: ['M_UNRECOGNIZED', 'MALFORMED_REQUEST', 'malformed HTTP request'],
  404: ['M_NOT_FOUND', 'NOT_FOUND', 'not found'],
  405: ['M_UNRECOGNIZED', 'METHOD_NOT_ALLOWED', 'method not allowed'],
  426: ['M_UNRECOGNIZED', 'UPGRADE_REQUIRED', 'upgrade required'],
}

/** The JSON error body for `status` (a 5xx says only that it was internal). */
export const refusalBody = (status: number): string => {
  const [errcode, code, error] =
    CODES[status] ?? (status >= 500 ? ['M_UNKNOWN', 'INTERNAL', 'internal error'] : ['M_UNRECOGNIZED', 'MALFORMED_REQUEST', 'refused'])
  return JSON.stringify({ errcode, error, qrelay_code: code })
}

const jsonResponse = (status: number): Response =>
  new Response(refusalBody(status), {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' },
  })

/** Headers of a refusal's head that the JSON answer sets itself. */
const OWN_HEADERS = /^(content-length|content-type|connection|transfer-encoding):/i

/** What the app answered to an upgrade request (only its refusals are kept), and which requests reached it. */
interface UpgradeAnswers {
  reached: WeakSet<IncomingMessage>
  refused: WeakMap<IncomingMessage, { status: number; body: string }>
}

/** Wraps the app's fetch: on the upgrade path (no `outgoing`) a refusal's JSON body is kept for the socket. */
const rememberingFetch = (fetch: Options['fetch'], answers: UpgradeAnswers): Options['fetch'] => {
  return async (request, env) => {
    const incoming = (env as { incoming?: IncomingMessage; outgoing?: unknown } | undefined)?.incoming
    const upgradePath = incoming !== undefined && (env as { outgoing?: unknown }).outgoing === undefined
    if (upgradePath) answers.reached.add(incoming)
    const response = await fetch(request, env)
    if (upgradePath && response instanceof Response && response.status >= 400) {
      answers.refused.set(incoming, { status: response.status, body: await response.text() })
    }
    return response
  }
}

/**
 * The answer replacing an upgrade refusal's `head` (the status line and headers of the adapter's or
 * `ws`'s empty or HTML answer): same status and headers, a JSON body.
 */
const jsonRefusal = (head: string, request: IncomingMessage, answers: UpgradeAnswers): string => {
  const split = head.indexOf('\r\n\r\n')
  const lines = (split < 0 ? head : head.slice(0, split)).split('\r\n')
  let status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 400)
  const app = answers.refused.get(request)
  // 500 without the app: the adapter could not build the upgrade request from what was sent.
  if (status >= 500 && app === undefined && !answers.reached.has(request)) status = 400
  const body = app !== undefined && app.status === status && app.body.startsWith('{') ? app.body : refusalBody(status)
  const kept = lines.slice(1).filter((line) => line.includes(':') && !OWN_HEADERS.test(line))
  return [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    ...kept,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    '',
    body,
  ].join('\r\n')
}

/** Makes the first HTTP answer written on an upgrade `socket` through `end` a JSON one. */
const answerInJson = (socket: Duplex, request: IncomingMessage, answers: UpgradeAnswers): void => {
  const end = socket.end.bind(socket) as (...args: unknown[]) => Duplex
  socket.end = ((...args: unknown[]) => {
    const [data] = args
    if (typeof data !== 'string' || !data.startsWith('HTTP/1.1 ')) return end(...args)
    socket.end = end as Duplex['end']
    return end(jsonRefusal(data, request, answers))
  }) as Duplex['end']
}

/**
 * Undoes {@link answerInJson} on a socket that was upgraded: its wrapper (and the request it holds)
 * would otherwise stay on the socket for the whole life of the WebSocket.
 */
const plainEnd = (socket: Duplex): void => {
  // Assigned, not deleted: a deleted property would turn the socket's properties into a dictionary.
  if (Object.hasOwn(socket, 'end')) socket.end = (Object.getPrototypeOf(socket) as Duplex).end
}

/** Puts the JSON answers in front of the adapter's upgrade listener (which rejects only while it is the only one). */
const wrapUpgrades = (server: Server, answers: UpgradeAnswers): void => {
  const listeners = server.listeners('upgrade') as Array<(request: IncomingMessage, socket: Duplex, head: Buffer) => unknown>
  // No WebSocket server (QRELAY_WS_ENABLED=false): Node serves upgrade requests as plain ones (the app's 404).
  if (listeners.length === 0) return
  server.removeAllListeners('upgrade')
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (request.headers.upgrade?.toLowerCase() !== 'websocket') {
      // No listener would answer: refused, so that the socket is not left open until it times out.
      // (Node takes its own error listener off an upgraded socket: `lastAnswer` adds one, without which a
      // peer resetting the connection while this answer is written or read was an uncaught exception.)
      const body = JSON.stringify({
        errcode: 'M_UNRECOGNIZED',
        error: 'only WebSocket upgrades are served',
        qrelay_code: 'MALFORMED_REQUEST',
      })
      lastAnswer(
        socket,
        `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      )
      return
    }
    answerInJson(socket, request, answers)
    for (const listener of listeners) listener.call(server, request, socket, head)
  })
}

/**
 * `serve(options, listening)` with JSON refusals (see the module comment). Plain HTTP only (the
 * Node runtime serves no TLS or HTTP/2 itself).
 *
 * @example
 * const server = serveWithJsonRefusals({ fetch: app.fetch, port: 0 }, () => {})
 */
export const serveWithJsonRefusals = (options: Options, listening?: Listening): ReturnType<typeof serve> => {
  const answers: UpgradeAnswers = { reached: new WeakSet(), refused: new WeakMap() }
  const fetch = rememberingFetch(options.fetch, answers)
  const requestListener = getRequestListener(fetch, {
    ...(options.hostname === undefined ? {} : { hostname: options.hostname }),
    ...(options.overrideGlobalObjects === undefined ? {} : { overrideGlobalObjects: options.overrideGlobalObjects }),
    ...(options.autoCleanupIncoming === undefined ? {} : { autoCleanupIncoming: options.autoCleanupIncoming }),
    // A request the adapter could not build (never the app's: the app answers its own errors).
    errorHandler: (error) => jsonResponse(error instanceof RequestError ? 400 : 500),
  })
  const serverOptions = ('serverOptions' in options ? (options.serverOptions ?? {}) : {}) as ServerOptions
  // A server factory of the caller's (the Node fast path in front) gets this listener too.
  const make = (
    'createServer' in options && options.createServer !== undefined ? options.createServer : createServer
  ) as typeof createServer
  // WebSocket upgrades go through our listener, not the adapter's (see ./node-ws-upgrade.ts).
  const { websocket, ...plain } = options as Options & { websocket?: { server: WebSocketServer } }
  const server = serve({ ...plain, fetch, createServer: () => make(serverOptions, requestListener) } as Options, listening) as Server
  if (websocket !== undefined) listenForWebSocketUpgrades(server, fetch, websocket.server, plainEnd)
  wrapUpgrades(server, answers)
  return server
}
