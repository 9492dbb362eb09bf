/**
 * The Node fast path of the MSC4388 channel routes and the native create (src/runtime/node-fast-path.ts)
 * against the Hono app it stands in for: the same services (with signing keys, so native channels come
 * with tickets) behind two real servers, one with the fast path in front of the app and one without.
 * Every scenario, well-formed or not, runs on both, each on its own channel; statuses, headers, bodies
 * (ids, tokens, secrets and tickets masked) and access-log lines must be the same.
 */
import { serve } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import type { Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeJwt } from 'jose'
import { memoryKeyStore } from '../../../src/adapters/keys/keystore.ts'
import { memoryStore } from '../../../src/adapters/storage/memory.ts'
import { prometheusMetrics } from '../../../src/adapters/metrics/prometheus.ts'
import { meteringOf } from '../../../src/services/metering.ts'
import { cryptoRandom, nodeRedactor, pinoLogger, systemClock } from '../../../src/adapters/platform/node.ts'
import { parseConfig } from '../../../src/config.ts'
import { createApp } from '../../../src/http/app.ts'
import { checkResponses } from '../../helpers/openapi-check.ts'
import { MSC4388_PREFIX, NATIVE_PREFIX } from '../../../src/http/routes/msc4388.ts'
import { verifyChannelTicket } from '../../../src/services/channel-ticket.ts'
import { openSigningKeys } from '../../../src/services/signing-keys.ts'
import { compose } from '../../../src/runtime/compose.ts'
import { rendezvousNow } from '../../../src/services/rendezvous-now.ts'
import { fastPathServer, rendezvousFastPath, type FastPath } from '../../../src/runtime/node-fast-path.ts'

const lines: Record<string, unknown>[] = []
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>)
    done()
  },
})

let hono: Server
let fast: Server
let fastHits = 0
const urls: Record<'hono' | 'fast', string> = { hono: '', fast: '' }

const listen = (server: Server): Promise<string> => {
  const url = (): string => `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return server.listening ? Promise.resolve(url()) : new Promise((resolve) => server.once('listening', () => resolve(url())))
}

/**
 * Starts both servers on one composition of `env` (the fast path answers at once on the memory store
 * without an abuse guard or metrics, and partly or wholly through promises otherwise).
 */
const start = async (env: Record<string, string>): Promise<void> => {
  // No public base URL: the loopback host check applies. Three reads per channel: the limit is reachable.
  // Creates are many (every scenario's channel, the native creates): their limit is out of the way.
  const config = parseConfig({
    QRELAY_RATE_READS_PER_CHANNEL: '3/60s',
    QRELAY_RATE_CREATE_PER_CLIENT: '1000/60s',
    QRELAY_LOG_LEVEL: 'info',
    ...env,
  })
  const logger = pinoLogger('info', sink)
  const services = compose(config, {
    store: memoryStore({ clock: systemClock, sweepIntervalMs: 0 }),
    clock: systemClock,
    random: cryptoRandom,
    logger,
    redact: nodeRedactor(new Uint8Array(32).fill(9)),
    signingKeys: await openSigningKeys({ store: memoryKeyStore(), clock: systemClock, random: cryptoRandom, retiredKeyTtlMs: 86_400_000 }),
    ...(config.server.metricsEnabled ? { metering: meteringOf(prometheusMetrics({ processMetrics: false })) } : {}),
  })
  // Both ways of answering are the ones this composition is meant to take.
  expect(rendezvousNow(services.rendezvous.inProcessParts) === undefined).toBe(config.server.metricsEnabled)
  // Every answer Hono serves is checked against the document (the fast path must answer the same).
  const app = checkResponses(createApp(services, { getSocketAddress: (c) => getConnInfo(c).remote.address }))
  const path = rendezvousFastPath(services, { isShuttingDown: () => false }) as FastPath
  const counted: FastPath = (req, res) => {
    const taken = path(req, res)
    if (taken) fastHits++
    return taken
  }
  fastHits = 0
  hono = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }) as Server
  fast = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0, ...fastPathServer(counted) }) as Server
  urls.hono = await listen(hono)
  urls.fast = await listen(fast)
}

const stop = async (): Promise<void> => {
  await Promise.all([hono, fast].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
}

interface Step {
  method: string
  /** Appended to the prefix; `{id}` stands for the scenario's channel. */
  path: string
  headers?: Record<string, string>
  body?: string | Uint8Array<ArrayBuffer>
  /** Use the token of the channel's last answer (`{token}` in the body). */
}

interface Seen {
  status: number
  headers: Record<string, string>
  body: unknown
  log: Record<string, unknown> | undefined
}

const JSON_TYPE = { 'content-type': 'application/json' }
const mask = (value: unknown): unknown => {
  if (typeof value !== 'object' || value === null) return value
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) }
  for (const name of ['id', 'sequence_token', 'creator_secret', 'ticket']) if (name in out) out[name] = `<${name}>`
  // Wall-clock figures: their presence and type are compared.
  for (const name of ['expires_in_ms', 'retry_after_ms']) if (name in out) out[name] = typeof out[name]
  return out
}

/** Runs `steps` on one server (paths under `prefix`): a fresh channel first, then each step; returns what each step saw. */
const play = async (base: string, steps: readonly Step[], prefix = MSC4388_PREFIX): Promise<Seen[]> => {
  const created = await fetch(`${base}${prefix}`, { method: 'POST', headers: JSON_TYPE, body: '{"data":"hello"}' })
  const first = (await created.json()) as { id: string; sequence_token: string }
  let token = first.sequence_token
  const seen: Seen[] = []
  for (const step of steps) {
    const before = lines.length
    const body = typeof step.body === 'string' ? step.body.replaceAll('{token}', token) : step.body
    const res = await fetch(`${base}${prefix}${step.path.replaceAll('{id}', first.id)}`, {
      method: step.method,
      headers: step.headers ?? {},
      ...(body === undefined ? {} : { body }),
    })
    const text = await res.text()
    let parsed: unknown = text
    try {
      parsed = JSON.parse(text)
    } catch {
      // a non-JSON answer is compared as text
    }
    const next = (parsed as { sequence_token?: unknown }).sequence_token
    if (res.status === 200 && typeof next === 'string') token = next
    const headers: Record<string, string> = {}
    for (const [name, value] of res.headers) {
      if (name === 'date' || name === 'keep-alive' || name === 'connection') continue
      headers[name] =
        name === 'x-request-id'
          ? `<${value.length}>`
          : name === 'retry-after'
            ? '<seconds>'
            : name === 'content-length' && text.includes('"id"')
              ? '<n>'
              : value
    }
    // The access line is written after the answer: wait for it (bounded).
    for (let i = 0; i < 50 && lines.length === before; i++) await new Promise((r) => setTimeout(r, 2))
    const log = lines.slice(before).find((l) => l.msg === 'request')
    if (log !== undefined) {
      for (const name of ['time', 'pid', 'hostname', 'ms']) delete log[name]
      log.req = typeof log.req
      if (log.channel !== undefined) log.channel = typeof log.channel
    }
    seen.push({ status: res.status, headers, body: mask(parsed), log })
  }
  return seen
}

const scenarios: Record<string, Step[]> = {
  'create, malformed creates': [
    { method: 'POST', path: '', headers: JSON_TYPE, body: '{"data":"x"}' },
    { method: 'POST', path: '', headers: { 'content-type': 'text/plain' }, body: '{"data":"x"}' },
    { method: 'POST', path: '', headers: { 'content-type': 'application/json; charset=utf-8' }, body: '{"data":"x"}' },
    { method: 'POST', path: '', headers: JSON_TYPE, body: '{"data":' },
    { method: 'POST', path: '', headers: JSON_TYPE, body: '[1]' },
    { method: 'POST', path: '', headers: JSON_TYPE, body: '{}' },
    { method: 'POST', path: '', headers: JSON_TYPE, body: '{"data":7}' },
    { method: 'POST', path: '', headers: JSON_TYPE, body: new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d]) },
    { method: 'POST', path: '', headers: JSON_TYPE, body: `{"data":"x","n":${'['.repeat(200)}${']'.repeat(200)}}` },
    { method: 'POST', path: '', headers: JSON_TYPE, body: JSON.stringify({ data: 'x'.repeat(5000) }) },
    { method: 'POST', path: '', headers: JSON_TYPE, body: JSON.stringify({ data: 'x'.repeat(40_000) }) },
    { method: 'POST', path: '', headers: JSON_TYPE },
  ],
  'the login cycle': [
    { method: 'PUT', path: '/{id}', headers: JSON_TYPE, body: '{"sequence_token":"{token}","data":"answer"}' },
    { method: 'GET', path: '/{id}' },
    { method: 'PUT', path: '/{id}', headers: JSON_TYPE, body: '{"sequence_token":"stale","data":"answer"}' },
    { method: 'PUT', path: '/{id}', headers: JSON_TYPE, body: '{"sequence_token":"stale","data":"other"}' },
    { method: 'PUT', path: '/{id}', headers: JSON_TYPE, body: '{"data":"other"}' },
    { method: 'PUT', path: '/{id}', headers: JSON_TYPE, body: '{"sequence_token":"{token}"}' },
    { method: 'PUT', path: '/{id}', headers: { 'content-type': 'text/plain' }, body: '{}' },
    { method: 'DELETE', path: '/{id}' },
    { method: 'DELETE', path: '/{id}' },
    { method: 'GET', path: '/{id}' },
    { method: 'PUT', path: '/{id}', headers: JSON_TYPE, body: '{"sequence_token":"{token}","data":"late"}' },
  ],
  'reads: navigation, limits, unknown and malformed ids': [
    { method: 'GET', path: '/{id}', headers: { 'sec-fetch-dest': 'document' } },
    { method: 'GET', path: '/{id}', headers: { 'sec-fetch-mode': 'navigate' } },
    { method: 'GET', path: '/{id}' },
    { method: 'GET', path: '/{id}' },
    { method: 'GET', path: '/{id}' },
    { method: 'GET', path: '/{id}' },
    { method: 'GET', path: '/AAAAAAAAAAAAAAAAAAAAAA' },
    { method: 'GET', path: '/not!valid' },
    { method: 'GET', path: `/${'a'.repeat(300)}` },
    { method: 'GET', path: '/{id}?x=1' },
    { method: 'GET', path: '/{id}/' },
    { method: 'DELETE', path: '/AAAAAAAAAAAAAAAAAAAAAA' },
  ],
  'methods, preflight, hosts and forwarding headers': [
    { method: 'OPTIONS', path: '/{id}' },
    { method: 'PATCH', path: '/{id}' },
    { method: 'POST', path: '/{id}', headers: JSON_TYPE, body: '{}' },
    { method: 'GET', path: '' },
    { method: 'GET', path: '/{id}', headers: { host: 'evil.example' } },
    { method: 'GET', path: '/{id}', headers: { host: 'localhost' } },
    { method: 'GET', path: '/{id}', headers: { 'x-forwarded-for': '203.0.113.9', 'x-request-id': 'abc' } },
    { method: 'DELETE', path: '/{id}', headers: { authorization: 'Bearer abc' } },
  ],
}

/** The native API's create (its other routes stay with the app): taken by the fast path when plain. */
const nativeCreates: Step[] = [
  { method: 'POST', path: '', headers: JSON_TYPE, body: '{"data":""}' },
  ...(scenarios['create, malformed creates'] as Step[]),
  { method: 'POST', path: '', headers: { ...JSON_TYPE, 'x-forwarded-for': '203.0.113.9', 'x-request-id': 'abc' }, body: '{"data":"x"}' },
  { method: 'POST', path: '', headers: { ...JSON_TYPE, host: 'evil.example' }, body: '{"data":"x"}' },
  { method: 'POST', path: '', headers: { ...JSON_TYPE, host: 'localhost' }, body: '{"data":"x"}' },
  { method: 'POST', path: '', headers: { ...JSON_TYPE, authorization: 'Bearer abc' }, body: '{"data":"x"}' },
  { method: 'POST', path: '?x=1', headers: JSON_TYPE, body: '{"data":"x"}' },
  { method: 'POST', path: '/', headers: JSON_TYPE, body: '{"data":"x"}' },
  { method: 'OPTIONS', path: '' },
  { method: 'GET', path: '' },
  { method: 'PUT', path: '', headers: JSON_TYPE, body: '{"data":"x"}' },
]

describe.each([
  ['abuse guard on (the default)', {}],
  ['abuse guard off (every step at once)', { QRELAY_ABUSE_ENABLED: 'false' }],
  ['metrics on (a timed store: every step through a promise)', { QRELAY_METRICS_ENABLED: 'true' }],
])('the Node fast path answers as the Hono app does, %s', (_name, env: Record<string, string>) => {
  beforeAll(() => start(env), 30_000)
  afterAll(stop)

  for (const [name, steps] of Object.entries(scenarios)) {
    it(name, async () => {
      const viaHono = await play(urls.hono, steps)
      const viaFast = await play(urls.fast, steps)
      for (const [i, step] of steps.entries()) {
        expect({ step: `${step.method} ${step.path}`, ...viaFast[i] }).toEqual({ step: `${step.method} ${step.path}`, ...viaHono[i] })
      }
    })
  }

  it('native creates', async () => {
    const viaHono = await play(urls.hono, nativeCreates, NATIVE_PREFIX)
    const before = fastHits
    const viaFast = await play(urls.fast, nativeCreates, NATIVE_PREFIX)
    for (const [i, step] of nativeCreates.entries()) {
      expect({ step: `${step.method} ${step.path}`, ...viaFast[i] }).toEqual({ step: `${step.method} ${step.path}`, ...viaHono[i] })
    }
    // The set-up's create and the plain creates (well-formed or not) went through the fast path.
    expect(fastHits - before).toBeGreaterThanOrEqual(14)
  })

  it('native creates come with a creator secret and a ticket the JWKS verifies, with the claims the app gives', async () => {
    const claimsOf: Record<string, Record<string, unknown>> = {}
    for (const [name, base] of Object.entries(urls)) {
      const res = await fetch(`${base}${NATIVE_PREFIX}`, { method: 'POST', headers: JSON_TYPE, body: '{"data":""}' })
      const body = (await res.json()) as { id: string; creator_secret: string; ticket: string }
      expect(Object.keys(body)).toEqual(['id', 'sequence_token', 'expires_in_ms', 'creator_secret', 'ticket'])
      expect(body.creator_secret.length).toBeGreaterThan(20)
      const jwks = await (await fetch(`${base}/oauth2/jwks`)).json()
      const verified = await verifyChannelTicket(body.ticket, jwks, Date.now(), { issuer: base, channelId: body.id })
      expect(verified.channelId).toBe(body.id)
      const claims = decodeJwt(body.ticket) as Record<string, unknown>
      claimsOf[name] = { ...claims, iss: '<origin>', sub: '<id>', iat: typeof claims.iat, exp: typeof claims.exp }
    }
    expect(claimsOf.fast).toEqual(claimsOf.hono)
  })

  it('reads a body that comes in pieces, and survives one that never ends', async () => {
    const statuses: Record<string, string[]> = {}
    for (const [name, base] of Object.entries(urls)) {
      const created = await fetch(`${base}${MSC4388_PREFIX}`, { method: 'POST', headers: JSON_TYPE, body: '{"data":"hello"}' })
      const { id, sequence_token: token } = (await created.json()) as { id: string; sequence_token: string }
      const body = JSON.stringify({ sequence_token: token, data: 'y'.repeat(3000) })
      const head = `PUT ${MSC4388_PREFIX}/${id} HTTP/1.1\r\nhost: ${new URL(base).host}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`
      /** Sends the head and the body's first part, then the rest after a pause (or never); what came back. */
      const send = (rest: boolean) =>
        new Promise<string>((resolve) => {
          const socket = connect(Number(new URL(base).port), '127.0.0.1')
          let answer = ''
          socket.on('data', (chunk) => (answer += chunk.toString('latin1')))
          socket.on('close', () => resolve(answer))
          socket.write(head + body.slice(0, 1000))
          setTimeout(() => (rest ? socket.write(body.slice(1000)) : socket.destroy()), 30)
        })
      const whole = await send(true)
      await send(false)
      const read = await fetch(`${base}${MSC4388_PREFIX}/${id}`)
      statuses[name] = [whole.split('\r\n')[0]!, String(read.status), ((await read.json()) as { data: string }).data.length.toString()]
    }
    expect(statuses.fast).toEqual(['HTTP/1.1 200 OK', '200', '3000'])
    expect(statuses.fast).toEqual(statuses.hono)
  })

  it('took the hot requests', () => {
    // Every create of the scenarios' set-up, and most steps, went through the fast path.
    expect(fastHits).toBeGreaterThan(30)
  })
})
