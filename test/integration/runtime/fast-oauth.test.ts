/**
 * The Node fast path of the two OAuth endpoints (src/runtime/node-fast-oauth.ts) against the Hono app
 * it stands in for: the same services behind two real servers, one with the fast paths in front of the
 * app (chained as the runtime would: MSC4388 first, then OAuth) and one without. Every scenario,
 * well-formed or not, runs on both, each step as a raw HTTP/1.1 exchange from its own client address
 * (a trusted proxy's `X-Forwarded-For`); the raw answers (status line, every header in order, body)
 * and the access-log lines must be the same, with only the values that differ by nature masked (date,
 * request id, the codes of a new grant, the server's port).
 */
import { serve } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import type { Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { memoryStore } from '../../../src/adapters/storage/memory.ts'
import { memoryDurableStore } from '../../../src/adapters/durable/memory.ts'
import { cryptoRandom, nodeRedactor, pinoLogger } from '../../../src/adapters/platform/node.ts'
import { parseConfig } from '../../../src/config.ts'
import { COMMON_PASSWORDS } from '../../../src/core/auth/common-passwords.ts'
import { createApp } from '../../../src/http/app.ts'
import { compose } from '../../../src/runtime/compose.ts'
import { fastPathServer, rendezvousFastPath, type FastPath } from '../../../src/runtime/node-fast-path.ts'
import { chainFastPaths, oauthFastPath } from '../../../src/runtime/node-fast-oauth.ts'
import { dpopHolder, type DpopHolder } from '../../helpers/dpop.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { testKeyring } from '../../helpers/make-app.ts'
import { checkResponses } from '../../helpers/openapi-check.ts'

const lines: Record<string, unknown>[] = []
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>)
    done()
  },
})

const clock = fakeClock(Date.now())
const servers: Server[] = []
let fastHits = 0
/** The two servers of a configuration: the app alone, and the fast paths in front of the same app. */
type Pair = Record<'hono' | 'fast', number>
const pairs: Record<'plain' | 'nonces', Pair> = { plain: { hono: 0, fast: 0 }, nonces: { hono: 0, fast: 0 } }

const listen = (server: Server): Promise<number> => {
  servers.push(server)
  const port = (): number => (server.address() as AddressInfo).port
  return server.listening ? Promise.resolve(port()) : new Promise((resolve) => server.once('listening', () => resolve(port())))
}

const startPair = async (env: Record<string, string>): Promise<Pair> => {
  // No public base URL (the loopback host check applies); client addresses from a trusted proxy's header.
  const config = parseConfig({
    QRELAY_LOG_LEVEL: 'info',
    QRELAY_TRUSTED_PROXY_HEADER: 'x-forwarded-for',
    QRELAY_TRUSTED_PROXIES: '127.0.0.1/32',
    QRELAY_RATE_DEVICE_AUTHORIZATION_PER_CLIENT: '3/60s',
    ...env,
  })
  const services = compose(config, {
    store: memoryStore({ clock, sweepIntervalMs: 0 }),
    clock,
    random: cryptoRandom,
    logger: pinoLogger('info', sink),
    redact: nodeRedactor(new Uint8Array(32).fill(9)),
    wakesAcrossRequests: true,
    accounts: {
      durable: memoryDurableStore({ clock }),
      uiaKey: new Uint8Array(32).fill(5),
      keyring: testKeyring(),
      commonPasswords: COMMON_PASSWORDS,
      securityEventSinks: [],
    },
  })
  // Every answer Hono serves is checked against the document (the fast path must answer the same).
  const app = checkResponses(createApp(services, { getSocketAddress: (c) => getConnInfo(c).remote.address }))
  const host = { isShuttingDown: () => false }
  const oauth = oauthFastPath(services, host) as FastPath
  const counted: FastPath = (req, res) => {
    const taken = oauth(req, res)
    if (taken) fastHits++
    return taken
  }
  const hono = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }) as Server
  const fast = serve({
    fetch: app.fetch,
    hostname: '127.0.0.1',
    port: 0,
    ...fastPathServer(chainFastPaths(rendezvousFastPath(services, host), counted)),
  }) as Server
  return { hono: await listen(hono), fast: await listen(fast) }
}

beforeAll(async () => {
  pairs.plain = await startPair({})
  pairs.nonces = await startPair({ QRELAY_DPOP_NONCE: 'true' })
}, 30_000)

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
})

/** A raw HTTP/1.1 exchange on a new connection (closed after the answer): the whole answer's bytes. */
const raw = (port: number, request: Buffer): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    const timer = setTimeout(() => socket.destroy(new Error('no answer within 5 s')), 5000)
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.once('error', reject)
    socket.once('close', () => {
      clearTimeout(timer)
      resolve(Buffer.concat(chunks).toString('latin1'))
    })
    // Not half-closed: the server closes the connection once it has answered (`connection: close`).
    socket.write(request)
  })

/** A proof of `h` for `POST htu` at the fake clock's time, `claims` overriding the usual ones. */
const sign = (h: DpopHolder, htu: string, claims: Record<string, unknown> = {}): Promise<string> =>
  h.prove('POST', htu, clock.now(), { claims })

const FORM = 'application/x-www-form-urlencoded'
const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code'
const BINDING = 'Q'.repeat(43)

/** What a step may use: the server's origin, the scenario's keys and the codes of its grant. */
interface Play {
  origin: string
  keys: DpopHolder[]
  deviceCode: string
  lastProof: string
  /** The `DPoP-Nonce` of the last answer that had one. */
  nonce: string
}

interface Step {
  path: string
  /** Headers beyond host, x-forwarded-for and connection (in this order, after them). */
  headers?: (p: Play) => Promise<Array<[string, string]>> | Array<[string, string]>
  body?: (p: Play) => string | Uint8Array
  /** Send the body chunked (no Content-Length). */
  chunked?: boolean
  /** The client address number (default: one per step). */
  client?: number
  /** Before the step: move the clock. */
  advanceMs?: number
  /** Keep the `device_code` of this step's answer for the next steps. */
  keepCode?: boolean
}

const proofFor =
  (path: string, key = 0, claims: Record<string, unknown> | ((p: Play) => Record<string, unknown>) = {}) =>
  async (p: Play): Promise<Array<[string, string]>> => {
    p.lastProof = await sign(p.keys[key] as DpopHolder, `${p.origin}${path}`, typeof claims === 'function' ? claims(p) : claims)
    return [
      ['content-type', FORM],
      ['dpop', p.lastProof],
    ]
  }
const form = (fields: Record<string, string>) => () => new URLSearchParams(fields).toString()
const AUTH = '/oauth2/device_authorization'
const TOKEN = '/oauth2/token'
const authorizeForm = form({ channel_binding: BINDING, device_name: 'tv' })
const pollForm = (p: Play): string => new URLSearchParams({ grant_type: DEVICE_CODE, device_code: p.deviceCode }).toString()

const scenarios: Record<string, Step[]> = {
  'device authorization: well-formed and malformed requests': [
    { path: AUTH, headers: proofFor(AUTH), body: authorizeForm },
    { path: AUTH, headers: () => [['content-type', FORM]], body: (p) => `channel_binding=${BINDING}&dpop_jkt=${p.keys[0]?.jkt}` },
    { path: AUTH, headers: () => [['content-type', FORM]], body: authorizeForm },
    { path: AUTH, headers: proofFor(AUTH), body: (p) => `channel_binding=${BINDING}&dpop_jkt=${p.keys[1]?.jkt}` },
    { path: AUTH, headers: proofFor(AUTH), body: form({ channel_binding: 'short' }) },
    { path: AUTH, headers: proofFor(AUTH), body: form({ channel_binding: BINDING, device_name: ' ' }) },
    { path: AUTH, headers: proofFor(AUTH), body: () => `channel_binding=${BINDING}&device_name=a&device_name=b` },
    { path: AUTH, headers: proofFor(AUTH), body: () => `z=1&channel_binding=${BINDING}&z=2&channel_binding=${BINDING}` },
    {
      path: AUTH,
      headers: async (p) => [['content-type', 'application/json'], ...(await proofFor(AUTH)(p)).slice(1)],
      body: authorizeForm,
    },
    {
      path: AUTH,
      headers: async (p) => [['content-type', `${FORM}; charset=UTF-8`], ...(await proofFor(AUTH)(p)).slice(1)],
      body: authorizeForm,
    },
    { path: AUTH, headers: proofFor(AUTH), body: () => '' },
    { path: AUTH, headers: proofFor(AUTH), body: () => new Uint8Array([0x63, 0x3d, 0xff, 0xfe]) },
    { path: AUTH, headers: proofFor(AUTH), body: () => `channel_binding=${BINDING}&pad=${'x'.repeat(5000)}` },
    { path: AUTH, headers: proofFor(AUTH), body: authorizeForm, chunked: true },
    { path: `${AUTH}?x=1`, headers: proofFor(AUTH), body: authorizeForm },
  ],
  'device authorization: bad DPoP proofs': [
    {
      path: AUTH,
      headers: () => [
        ['content-type', FORM],
        ['dpop', 'not-a-jwt'],
      ],
      body: authorizeForm,
    },
    {
      path: AUTH,
      headers: () => [
        ['content-type', FORM],
        ['dpop', ''],
      ],
      body: authorizeForm,
    },
    { path: AUTH, headers: proofFor(AUTH, 0, { htu: 'http://elsewhere.example/oauth2/device_authorization' }), body: authorizeForm },
    { path: AUTH, headers: proofFor(AUTH, 0, { htm: 'GET' }), body: authorizeForm },
    { path: AUTH, headers: proofFor(AUTH, 0, { iat: Math.floor(Date.now() / 1000) - 3600 }), body: authorizeForm },
    {
      path: AUTH,
      headers: async (p) => {
        const [h, payload, s] = (await sign(p.keys[0] as DpopHolder, `${p.origin}${AUTH}`)).split('.') as [string, string, string]
        return [
          ['content-type', FORM],
          ['dpop', `${h}.${payload}.${s.startsWith('A') ? `B${s.slice(1)}` : `A${s.slice(1)}`}`],
        ]
      },
      body: authorizeForm,
    },
    { path: AUTH, headers: proofFor(AUTH), body: authorizeForm },
    // The same proof again: a replayed `jti`.
    {
      path: AUTH,
      headers: (p) => [
        ['content-type', FORM],
        ['dpop', p.lastProof],
      ],
      body: authorizeForm,
    },
    // Two DPoP headers, a foreign host, a trusted proxy's request id and trace context.
    {
      path: AUTH,
      headers: async (p) => [...(await proofFor(AUTH)(p)), ['dpop', p.lastProof]],
      body: authorizeForm,
    },
    { path: AUTH, headers: async (p) => [['host', 'evil.example'], ...(await proofFor(AUTH)(p))], body: authorizeForm },
    {
      path: AUTH,
      headers: async (p) => [
        ...(await proofFor(AUTH)(p)),
        ['x-request-id', 'proxy-id-1234'],
        ['traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
      ],
      body: authorizeForm,
    },
  ],
  'device authorization: the per-client limit': [
    { path: AUTH, headers: proofFor(AUTH), body: authorizeForm, client: 0 },
    { path: AUTH, headers: proofFor(AUTH), body: authorizeForm, client: 0 },
    { path: AUTH, headers: proofFor(AUTH), body: authorizeForm, client: 0 },
    { path: AUTH, headers: proofFor(AUTH), body: authorizeForm, client: 0 },
    { path: AUTH, headers: () => [['content-type', 'text/plain']], body: () => 'x', client: 0 },
  ],
  'token: pending, slow_down, bad polls, expired': [
    { path: AUTH, headers: proofFor(AUTH), body: authorizeForm, keepCode: true },
    { path: TOKEN, headers: proofFor(TOKEN), body: pollForm },
    { path: TOKEN, headers: proofFor(TOKEN), body: pollForm },
    { path: TOKEN, headers: proofFor(TOKEN, 1), body: pollForm, advanceMs: 11_000 },
    { path: TOKEN, headers: proofFor(TOKEN), body: form({ grant_type: DEVICE_CODE, device_code: 'unknown-code' }), advanceMs: 11_000 },
    { path: TOKEN, headers: proofFor(TOKEN), body: form({ grant_type: DEVICE_CODE }) },
    { path: TOKEN, headers: proofFor(TOKEN), body: form({ grant_type: DEVICE_CODE, device_code: 'x'.repeat(300) }) },
    { path: TOKEN, headers: proofFor(TOKEN), body: form({ grant_type: 'password' }) },
    { path: TOKEN, headers: proofFor(TOKEN), body: form({ device_code: 'x' }) },
    { path: TOKEN, headers: () => [['content-type', FORM]], body: pollForm },
    { path: TOKEN, headers: () => [['content-type', FORM]], body: form({ grant_type: 'refresh_token', refresh_token: 'nope' }) },
    { path: TOKEN, headers: proofFor(TOKEN), body: form({ grant_type: 'refresh_token', refresh_token: 'nope' }) },
    { path: TOKEN, headers: proofFor(AUTH), body: pollForm },
    { path: TOKEN, headers: async (p) => [...(await proofFor(TOKEN)(p)), ['prefer', 'wait=abc']], body: pollForm, advanceMs: 11_000 },
    { path: TOKEN, headers: proofFor(TOKEN), body: pollForm, advanceMs: 400_000 },
    { path: TOKEN, headers: proofFor(TOKEN), body: (p) => `${pollForm(p)}&pad=${'y'.repeat(5000)}` },
  ],
  'token: held polls (Prefer: wait)': [
    { path: AUTH, headers: proofFor(AUTH), body: authorizeForm, keepCode: true },
    { path: TOKEN, headers: async (p) => [...(await proofFor(TOKEN)(p)), ['prefer', 'wait=1']], body: pollForm },
    {
      path: TOKEN,
      headers: async (p) => [...(await proofFor(TOKEN)(p)), ['prefer', 'respond-async, wait=1']],
      body: pollForm,
      advanceMs: 11_000,
    },
    { path: TOKEN, headers: async (p) => [...(await proofFor(TOKEN)(p)), ['prefer', 'wait=0']], body: pollForm, advanceMs: 11_000 },
  ],
}

const withNonce = (p: Play) => ({ nonce: p.nonce })
/** Played with server nonces on (QRELAY_DPOP_NONCE): every answer after a proof carries `DPoP-Nonce`. */
const nonceScenarios: Record<string, Step[]> = {
  'server nonces: use_dpop_nonce, then grants and polls with the nonce': [
    { path: AUTH, headers: proofFor(AUTH), body: authorizeForm },
    { path: AUTH, headers: proofFor(AUTH, 0, withNonce), body: authorizeForm, keepCode: true },
    { path: AUTH, headers: () => [['content-type', FORM]], body: (p) => `channel_binding=${BINDING}&dpop_jkt=${p.keys[0]?.jkt}` },
    { path: TOKEN, headers: proofFor(TOKEN), body: pollForm },
    { path: TOKEN, headers: proofFor(TOKEN, 0, withNonce), body: pollForm },
    { path: TOKEN, headers: proofFor(TOKEN, 0, withNonce), body: pollForm },
    { path: TOKEN, headers: proofFor(TOKEN, 0, { nonce: 'stale' }), body: pollForm, advanceMs: 11_000 },
    { path: TOKEN, headers: () => [['content-type', FORM]], body: pollForm },
  ],
}

/** Plays `steps` on one server; the masked raw answers and access lines. */
const play = async (
  pair: Pair,
  server: 'hono' | 'fast',
  scenario: number,
  steps: readonly Step[],
): Promise<Array<{ answer: string; log: unknown }>> => {
  const port = pair[server]
  const p: Play = {
    origin: `http://127.0.0.1:${port}`,
    keys: [await dpopHolder(), await dpopHolder()],
    deviceCode: '',
    lastProof: '',
    nonce: '',
  }
  const seen: Array<{ answer: string; log: unknown }> = []
  for (const [i, step] of steps.entries()) {
    if (step.advanceMs !== undefined) clock.advance(step.advanceMs)
    const client = `198.51.${scenario * 2 + (server === 'hono' ? 0 : 1)}.${step.client ?? i + 1}`
    const extra = (await step.headers?.(p)) ?? []
    const hostHeader = extra.find(([name]) => name === 'host')?.[1] ?? `127.0.0.1:${port}`
    const body = step.body?.(p) ?? ''
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body)
    const head = [
      `POST ${step.path} HTTP/1.1`,
      `host: ${hostHeader}`,
      `x-forwarded-for: ${client}`,
      'connection: close',
      ...extra.filter(([name]) => name !== 'host').map(([name, value]) => `${name}: ${value}`),
      step.chunked === true ? 'transfer-encoding: chunked' : `content-length: ${bytes.length}`,
    ].join('\r\n')
    const payload =
      step.chunked === true ? Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n0\r\n\r\n')]) : bytes
    const before = lines.length
    let answer = await raw(port, Buffer.concat([Buffer.from(`${head}\r\n\r\n`), payload]))
    // Every step is answered, with a JSON body (an empty answer on both sides would compare equal).
    expect(answer).toMatch(/^HTTP\/1\.1 \d{3} [^\r]+\r\n[\s\S]*\r\n\r\n\{/)
    const code = /"device_code":"([^"]+)"/.exec(answer)?.[1]
    if (step.keepCode === true && code !== undefined) p.deviceCode = code
    p.nonce = /\r\ndpop-nonce: ([^\r]+)\r\n/.exec(answer)?.[1] ?? p.nonce
    // The name of the length is not compared here: the app's answers pass through `checkResponses`, which
    // reads them and so makes @hono/node-server write them as a `Response` (`content-length`, where the
    // production server writes a returned answer's `Content-Length`). test/security/fast-paths.test.ts
    // compares the production bytes, that name included.
    answer = answer
      .replace(/\r\ncontent-length: /i, '\r\ncontent-length: ')
      .replace(/\r\nDate: [^\r]+/i, '\r\nDate: <date>')
      .replace(/\r\nx-request-id: [A-Za-z0-9_-]{12}\r\n/i, '\r\nx-request-id: <id>\r\n')
      .replaceAll(String(port), '<port>')
      .replace(/"device_code":"[^"]+"/, '"device_code":"<code>"')
      .replaceAll(/[A-Z]{5}-[A-Z]{5}/g, '<user code>')
      .replace(/"retry_after_ms":\d+/, '"retry_after_ms":<n>')
      .replace(/\r\ndpop-nonce: [A-Za-z0-9_-]+\r\n/, '\r\ndpop-nonce: <nonce>\r\n')
    // The access line is written after the answer: wait for it (bounded).
    for (let n = 0; n < 50 && lines.length === before; n++) await new Promise((r) => setTimeout(r, 2))
    const log = lines.slice(before).find((l) => l.msg === 'request')
    if (log !== undefined) {
      for (const name of ['time', 'pid', 'hostname', 'ms']) delete log[name]
      if (typeof log.req === 'string' && log.req.length === 12) log.req = '<id>'
      log.client = typeof log.client
    }
    seen.push({ answer, log })
  }
  return seen
}

describe('the OAuth fast path answers as the Hono app does, byte for byte', () => {
  const all = [
    ...Object.entries(scenarios).map(([name, steps]) => ({ name, steps, pair: 'plain' as const })),
    ...Object.entries(nonceScenarios).map(([name, steps]) => ({ name, steps, pair: 'nonces' as const })),
  ]
  for (const [index, { name, steps, pair }] of all.entries()) {
    it(name, async () => {
      const viaHono = await play(pairs[pair], 'hono', index, steps)
      const viaFast = await play(pairs[pair], 'fast', index, steps)
      for (const [i, step] of steps.entries()) {
        const label = `${i}: ${step.path}`
        expect({ label, ...viaFast[i] }).toEqual({ label, ...viaHono[i] })
      }
    })
  }

  it('took the plain requests, left the unusual ones to the app', () => {
    // 15 + 11 + 5 + 16 + 4 + 8 steps; the app answered the chunked, oversized, query-string,
    // repeated-header and foreign-host ones (2 + 1 + 1 + 1 + 1 = 6 per run).
    expect(fastHits).toBe(15 + 11 + 5 + 16 + 4 + 8 - 6)
  })

  it('ends a held poll when its client goes away, as the app does', async () => {
    const heldFor: number[] = []
    for (const server of ['hono', 'fast'] as const) {
      const port = pairs.plain[server]
      const holder = await dpopHolder()
      const origin = `http://127.0.0.1:${port}`
      const post = async (path: string, body: string, extra: string[]): Promise<Buffer> => {
        const proof = await sign(holder, `${origin}${path}`)
        const head = [
          `POST ${path} HTTP/1.1`,
          `host: 127.0.0.1:${port}`,
          'connection: close',
          `content-type: ${FORM}`,
          `dpop: ${proof}`,
          ...extra,
        ]
        return Buffer.from(`${head.join('\r\n')}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
      }
      clock.advance(11_000)
      const granted = await raw(port, await post(AUTH, authorizeForm(), []))
      const code = /"device_code":"([^"]+)"/.exec(granted)?.[1] ?? ''
      const poll = await post(TOKEN, new URLSearchParams({ grant_type: DEVICE_CODE, device_code: code }).toString(), ['prefer: wait=5'])
      const before = lines.length
      const socket = connect(port, '127.0.0.1')
      socket.on('error', () => {})
      socket.write(poll)
      await new Promise((resolve) => setTimeout(resolve, 150))
      const hungUpAt = Date.now()
      socket.destroy()
      // The access line is written once the poll ends (bounded: the hold would last 5 s).
      for (let n = 0; n < 100 && !lines.slice(before).some((l) => l.msg === 'request'); n++) await new Promise((r) => setTimeout(r, 20))
      heldFor.push(Date.now() - hungUpAt)
    }
    expect(heldFor.every((ms) => ms < 1500)).toBe(true)
  })
})
