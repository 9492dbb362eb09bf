/**
 * The framework floor of the relay benchmark: `bare-server.ts`'s routes, checks and headers on Hono
 * with @hono/node-server (qrelay's own stack), with no store port, limits or logging. What qrelay
 * costs over this is qrelay's; what this costs over the bare server is the framework's.
 *
 * Run: `PORT=8082 node --import tsx bench/relay/hono-server.ts` (prints `listening <url>` on stderr).
 */
import { createHash, randomBytes } from 'node:crypto'
import { serve } from '@hono/node-server'
import { Hono, type Context } from 'hono'

const PREFIX = '/_matrix/client/unstable/io.element.msc4388/rendezvous'
const TTL_MS = 120_000
const MAX_BODY_BYTES = 4096 * 6 + 1024
const OPAQUE_ID = /^[0-9A-Za-z\-._~]{1,255}$/
const NO_STORE = { 'Cache-Control': 'no-store, no-transform', Pragma: 'no-cache' }

interface Channel {
  data: string
  version: number
  token: string
  expiresAtMs: number
}

const channels = new Map<string, Channel>()

const tokenOf = (id: string, version: number, data: string): string =>
  createHash('sha256').update(`${id}\u0000${version}\u0000${data}`).digest().subarray(0, 16).toString('base64url')

const fail = (c: Context, status: 400 | 404 | 409 | 413, errcode: string, error: string): Response =>
  c.json({ errcode, error }, status, { 'Cache-Control': 'no-store' })

/** A capped JSON object body, or the error response to send. */
const readJson = async (c: Context): Promise<Record<string, unknown> | Response> => {
  if ((c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase() !== 'application/json') {
    return fail(c, 400, 'M_NOT_JSON', 'Content-Type must be application/json')
  }
  if (Number(c.req.header('content-length') ?? 0) > MAX_BODY_BYTES) return fail(c, 413, 'M_TOO_LARGE', 'body too large')
  try {
    const value: unknown = JSON.parse(await c.req.text())
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>
  } catch {
    // answered below
  }
  return fail(c, 400, 'M_NOT_JSON', 'body must be a JSON object')
}

const live = (id: string, now: number): Channel | undefined => {
  const channel = channels.get(id)
  if (channel === undefined || channel.expiresAtMs > now) return channel
  channels.delete(id)
  return undefined
}

const app = new Hono()
app.use(async (c, next) => {
  const requestId = randomBytes(9).toString('base64url')
  await next()
  c.res.headers.set('Access-Control-Allow-Origin', '*')
  c.res.headers.set('Access-Control-Expose-Headers', 'ETag, Retry-After, X-Request-Id')
  c.res.headers.set('X-Request-Id', requestId)
})
app.get('/healthz', (c) => c.json({ status: 'ok' }))
app.post(PREFIX, async (c) => {
  const body = await readJson(c)
  if (body instanceof Response) return body
  if (typeof body.data !== 'string') return fail(c, 400, 'M_INVALID_PARAM', 'data must be a string')
  const id = randomBytes(16).toString('base64url')
  const channel: Channel = { data: body.data, version: 0, token: tokenOf(id, 0, body.data), expiresAtMs: Date.now() + TTL_MS }
  channels.set(id, channel)
  return c.json({ id, sequence_token: channel.token, expires_in_ms: TTL_MS }, 200, NO_STORE)
})
app.get(`${PREFIX}/:id`, (c) => {
  const id = c.req.param('id')
  const now = Date.now()
  const channel = OPAQUE_ID.test(id) ? live(id, now) : undefined
  if (channel === undefined) return fail(c, 404, 'M_NOT_FOUND', 'no such channel')
  return c.json({ data: channel.data, sequence_token: channel.token, expires_in_ms: channel.expiresAtMs - now }, 200, NO_STORE)
})
app.put(`${PREFIX}/:id`, async (c) => {
  const id = c.req.param('id')
  if (!OPAQUE_ID.test(id)) return fail(c, 404, 'M_NOT_FOUND', 'no such channel')
  const body = await readJson(c)
  if (body instanceof Response) return body
  const { sequence_token: token, data } = body
  if (typeof token !== 'string' || typeof data !== 'string') return fail(c, 400, 'M_INVALID_PARAM', 'fields must be strings')
  const channel = live(id, Date.now())
  if (channel === undefined) return fail(c, 404, 'M_NOT_FOUND', 'no such channel')
  if (token !== channel.token) {
    if (data === channel.data) return c.json({ sequence_token: channel.token }, 200, NO_STORE)
    return fail(c, 409, 'IO_ELEMENT_MSC4388_CONCURRENT_WRITE', 'the write token is stale')
  }
  channel.version += 1
  channel.data = data
  channel.token = tokenOf(id, channel.version, data)
  return c.json({ sequence_token: channel.token }, 200, NO_STORE)
})
app.delete(`${PREFIX}/:id`, (c) => {
  const id = c.req.param('id')
  if (!OPAQUE_ID.test(id) || live(id, Date.now()) === undefined) return fail(c, 404, 'M_NOT_FOUND', 'no such channel')
  channels.delete(id)
  return c.json({}, 200, NO_STORE)
})

const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: Number(process.env.PORT ?? 0) }, (info) => {
  process.stderr.write(`listening http://127.0.0.1:${info.port}\n`)
})
const stop = (): void => {
  server.close(() => process.exit(0))
  ;(server as { closeAllConnections?: () => void }).closeAllConnections?.()
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
