/**
 * The baseline of the relay benchmark: a bare `node:http` server doing qrelay's MSC4388 routes with a
 * Map. It is meant to be fair, not a strawman: the same URL shapes, status codes, JSON bodies and
 * headers (CORS, no-store, a random X-Request-Id), the same checks (content type, body cap, id
 * grammar, expiry, compare-and-swap on the token) and tokens made the same way, with Node's native
 * crypto. It has no rate limits, no logging and no framework: exactly what qrelay must cost little over.
 *
 * Run: `PORT=8081 node --import tsx bench/relay/bare-server.ts` (prints `listening <url>` on stderr).
 */
import { createHash, randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

const PREFIX = '/_matrix/client/unstable/io.element.msc4388/rendezvous'
const TTL_MS = 120_000
const MAX_PAYLOAD_BYTES = 4096
const MAX_BODY_BYTES = MAX_PAYLOAD_BYTES * 6 + 1024
const OPAQUE_ID = /^[0-9A-Za-z\-._~]{1,255}$/

interface Channel {
  data: string
  version: number
  token: string
  expiresAtMs: number
}

const channels = new Map<string, Channel>()

const tokenOf = (id: string, version: number, data: string): string =>
  createHash('sha256').update(`${id}\u0000${version}\u0000${data}`).digest().subarray(0, 16).toString('base64url')

const send = (res: ServerResponse, status: number, body: unknown, extra?: Record<string, string>): void => {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'access-control-allow-origin': '*',
    'access-control-expose-headers': 'ETag, Retry-After, X-Request-Id',
    'cache-control': status < 400 ? 'no-store, no-transform' : 'no-store',
    'content-type': 'application/json',
    ...(status < 400 ? { pragma: 'no-cache' } : {}),
    ...extra,
    'x-request-id': randomBytes(9).toString('base64url'),
    'content-length': Buffer.byteLength(text),
  })
  res.end(text)
}

const fail = (res: ServerResponse, status: number, errcode: string, error: string): void => send(res, status, { errcode, error })

/** Reads a capped JSON object body; answers the error itself and resolves null on a bad one. */
const readJson = (req: IncomingMessage, res: ServerResponse): Promise<Record<string, unknown> | null> =>
  new Promise((resolve) => {
    if ((req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() !== 'application/json') {
      fail(res, 400, 'M_NOT_JSON', 'Content-Type must be application/json')
      resolve(null)
      return
    }
    const chunks: Buffer[] = []
    let total = 0
    req.on('data', (chunk: Buffer) => {
      total += chunk.length
      if (total <= MAX_BODY_BYTES) chunks.push(chunk)
    })
    req.on('end', () => {
      if (total > MAX_BODY_BYTES) {
        fail(res, 413, 'M_TOO_LARGE', 'body too large')
        return resolve(null)
      }
      try {
        const value: unknown = JSON.parse(Buffer.concat(chunks, total).toString('utf8'))
        if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
          return resolve(value as Record<string, unknown>)
        }
      } catch {
        // answered below
      }
      fail(res, 400, 'M_NOT_JSON', 'body must be a JSON object')
      resolve(null)
    })
  })

const stringField = (res: ServerResponse, body: Record<string, unknown>, name: string): string | null => {
  const value = body[name]
  if (typeof value === 'string') return value
  fail(res, 400, value === undefined ? 'M_MISSING_PARAM' : 'M_INVALID_PARAM', `${name} must be a string`)
  return null
}

const live = (id: string, now: number): Channel | undefined => {
  const channel = channels.get(id)
  if (channel === undefined || channel.expiresAtMs > now) return channel
  channels.delete(id)
  return undefined
}

const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
  const url = req.url ?? '/'
  if (url === '/healthz') return send(res, 200, { status: 'ok' })
  if (url === PREFIX && req.method === 'POST') {
    const body = await readJson(req, res)
    const data = body && stringField(res, body, 'data')
    if (data === null) return
    const id = randomBytes(16).toString('base64url')
    const now = Date.now()
    const channel: Channel = { data, version: 0, token: tokenOf(id, 0, data), expiresAtMs: now + TTL_MS }
    channels.set(id, channel)
    return send(res, 200, { id, sequence_token: channel.token, expires_in_ms: TTL_MS })
  }
  if (!url.startsWith(`${PREFIX}/`)) return fail(res, 404, 'M_UNRECOGNIZED', 'unknown endpoint')
  const id = url.slice(PREFIX.length + 1)
  if (!OPAQUE_ID.test(id)) return fail(res, 404, 'M_NOT_FOUND', 'no such channel')
  if (req.method === 'GET') {
    const now = Date.now()
    const channel = live(id, now)
    if (channel === undefined) return fail(res, 404, 'M_NOT_FOUND', 'no such channel')
    return send(res, 200, { data: channel.data, sequence_token: channel.token, expires_in_ms: channel.expiresAtMs - now })
  }
  if (req.method === 'PUT') {
    const body = await readJson(req, res)
    if (body === null) return
    const token = stringField(res, body, 'sequence_token')
    const data = token === null ? null : stringField(res, body, 'data')
    if (token === null || data === null) return
    const channel = live(id, Date.now())
    if (channel === undefined) return fail(res, 404, 'M_NOT_FOUND', 'no such channel')
    if (token !== channel.token) {
      if (data === channel.data) return send(res, 200, { sequence_token: channel.token })
      return fail(res, 409, 'IO_ELEMENT_MSC4388_CONCURRENT_WRITE', 'the write token is stale')
    }
    channel.version += 1
    channel.data = data
    channel.token = tokenOf(id, channel.version, data)
    return send(res, 200, { sequence_token: channel.token })
  }
  if (req.method === 'DELETE') {
    if (live(id, Date.now()) === undefined) return fail(res, 404, 'M_NOT_FOUND', 'no such channel')
    channels.delete(id)
    return send(res, 200, {})
  }
  return fail(res, 405, 'M_UNRECOGNIZED', 'method not allowed on this endpoint')
}

const server = createServer((req, res) => {
  handle(req, res).catch(() => fail(res, 500, 'M_UNKNOWN', 'internal error'))
})
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stderr.write(`listening http://127.0.0.1:${(server.address() as AddressInfo).port}\n`)
})
const stop = (): void => {
  server.close(() => process.exit(0))
  server.closeAllConnections()
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
