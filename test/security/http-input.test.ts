/**
 * Regression tests of the HTTP input findings of the hardening review (SECURITY.md): JSON depth (13),
 * the Host header (14), MSC4108 payload headers (16), what 5xx logs carry (19) and slow clients (20,
 * against a real Node server on port 0 with raw sockets: `app.request()` has no sockets to hold).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EventEmitter } from 'node:events'
import type { Server } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/adapters/platform/node.ts'
import { capConnectionsPerAddress } from '../../src/runtime/node-limits.ts'
import { startNodeServer, type RunningServer } from '../../src/runtime/node-server.ts'
import { ConfigError, parseConfig } from '../../src/config.ts'
import { canonicalJson } from '../../src/core/auth/uia-binding.ts'
import { parseClientFrame } from '../../src/core/relay/ws-protocol.ts'
import { memoryStore } from '../../src/adapters/storage/memory.ts'
import type { EphemeralStore, Logger } from '../../src/ports.ts'
import { makeApp } from '../helpers/make-app.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'
import { create2024, createJson, NATIVE, textInit, V2024, V4388 } from '../helpers/rendezvous-requests.ts'

describe('finding 14: the Host header never decides a URL without a configured public base URL', () => {
  it('finding 14: Host evil.example is refused (403) and no URL names it', async () => {
    const t = makeApp({ env: { QRELAY_PUBLIC_BASE_URL: '' } })
    for (const path of [V2024, '/_matrix/client/unstable/io.element.msc4388/rendezvous', '/.well-known/oauth-authorization-server']) {
      const method = path.startsWith('/.well-known') ? 'GET' : 'POST'
      const res = await t.app.request(`http://evil.example${path}`, method === 'GET' ? {} : textInit('POST', ''))
      const text = await res.text()
      expect(res.status, path).toBe(403)
      expect(text).not.toContain('evil.example')
    }
    // Probes by address still work, and so does local development.
    expect((await t.app.request('http://10.0.0.7/healthz')).status).toBe(200)
    const local = await t.app.request(`http://127.0.0.1:8080${V2024}`, textInit('POST', ''))
    expect(((await local.json()) as { url: string }).url.startsWith(`http://127.0.0.1:8080${V2024}/`)).toBe(true)
    const metadata = (await (await t.app.request('http://localhost:8080/.well-known/oauth-authorization-server')).json()) as {
      issuer: string
    }
    expect(metadata.issuer).toBe('http://localhost:8080')
  })

  it('finding 14: with a public base URL, a forged Host changes nothing', async () => {
    const t = makeApp()
    const res = await t.app.request(`http://evil.example${V2024}`, textInit('POST', ''))
    expect(res.status).toBe(201)
    expect(((await res.json()) as { url: string }).url.startsWith(`https://relay.example${V2024}/`)).toBe(true)
  })

  it('finding 14: the server refuses to start on a non-loopback address without QRELAY_PUBLIC_BASE_URL', () => {
    for (const host of ['0.0.0.0', '::', '192.0.2.10', 'relay.internal']) {
      expect(() => parseConfig({ QRELAY_HOST: host }), host).toThrow(ConfigError)
      expect(() => parseConfig({ QRELAY_HOST: host, QRELAY_PUBLIC_BASE_URL: 'https://relay.example' })).not.toThrow()
    }
    for (const host of ['127.0.0.1', 'localhost', '::1']) expect(() => parseConfig({ QRELAY_HOST: host }), host).not.toThrow()
  })
})

describe('finding 16: channel payloads are never sniffed or rendered as a page', () => {
  const HTML = '<html><body><script>alert(document.domain)</script></body></html>'
  const expectNoDocument = (res: Response): void => {
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    const csp = res.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain('sandbox')
    expect(csp).toContain("frame-ancestors 'none'")
  }

  it('finding 16: an MSC4108 HTML payload is served as exactly text/plain with nosniff and a sandbox CSP', async () => {
    const t = makeApp()
    const { path, etag } = await create2024(t, HTML)
    const res = await t.app.request(path)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/plain')
    expect(res.headers.get('etag')).toBe(etag)
    expect(res.headers.get('cache-control')).toBe('no-store, no-transform')
    expect(await res.text()).toBe(HTML)
    expectNoDocument(res)
  })

  it('finding 16: top-level navigation to an MSC4108 payload is refused, as for MSC4388', async () => {
    const t = makeApp()
    const { path } = await create2024(t, HTML)
    for (const headers of <Array<Record<string, string>>>[
      { 'sec-fetch-mode': 'navigate' },
      { 'sec-fetch-dest': 'document' },
      { 'sec-fetch-dest': 'iframe' },
      { 'sec-fetch-user': '?1' },
    ]) {
      const res = await t.app.request(path, { headers })
      expect(res.status, JSON.stringify(headers)).toBe(403)
      expect(await res.text()).not.toContain('<script>')
    }
    expect((await t.app.request(path, { headers: { 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' } })).status).toBe(200)
  })

  it('finding 16: every other answer (MSC4388 reads, errors, OPTIONS) carries the same headers', async () => {
    const t = makeApp()
    const { id } = await createJson(t, V4388, HTML)
    expectNoDocument(await t.app.request(`${V4388}/${id}`))
    expectNoDocument(await t.app.request(`${V4388}/nope`))
    expectNoDocument(await t.app.request(V2024, { method: 'OPTIONS' }))
    expectNoDocument(await t.app.request('/healthz'))
  })
})

describe('finding 13: deeply nested JSON is refused with 400, never a stack overflow', () => {
  const nested = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`
  const json = (body: string, headers: Record<string, string> = {}): RequestInit => ({
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', 'content-length': String(body.length), ...headers },
  })

  it('finding 13: {"username":"bob","x":[[[…5000…]]]} on every JSON endpoint answers 400 M_NOT_JSON', async () => {
    const t = makeApp({ env: { ...TEST_ENV, QRELAY_INITIATION_REQUIRE_AUTH: 'false' } })
    const body = `{"username":"bob","password":"x","data":"x","x":${nested(5000)}}`
    for (const path of ['/v1/login', '/v1/register', V4388, NATIVE, '/v1/admin/users']) {
      const res = await t.app.request(path, json(body, path.startsWith('/v1/admin') ? { authorization: `Bearer ${ADMIN_TOKEN}` } : {}))
      expect(res.status, path).toBe(400)
      expect(((await res.json()) as { errcode: string }).errcode, path).toBe('M_NOT_JSON')
    }
  })

  it('finding 13: ordinary nesting still passes (32 levels), one more does not', async () => {
    const t = makeApp({ env: TEST_ENV })
    const ok = await t.app.request('/v1/login', json(`{"username":"bob","x":${nested(31)}}`))
    expect(ok.status).not.toBe(400)
    expect((await t.app.request('/v1/login', json(`{"username":"bob","x":${nested(32)}}`))).status).toBe(400)
  })

  it('finding 13: WebSocket frames and the UIA canonical form are bounded the same way, without recursion', () => {
    expect(parseClientFrame(`{"type":"ping","x":${nested(5000)}}`)).toMatchObject({ ok: false })
    expect(parseClientFrame('{"type":"ping","x":[[1]]}')).toMatchObject({ ok: true })
    expect(canonicalJson(JSON.parse(nested(100_000)))).toHaveLength(200_000)
    expect(canonicalJson({ b: [1, { d: null, c: 'x' }], a: undefined })).toBe('{"b":[1,{"c":"x","d":null}]}')
  })
})

describe('finding 19: 5xx logs carry the error class, code and request id, never request data', () => {
  const capturingLogger = (lines: string[]): Logger => {
    const make = (base: Record<string, unknown>): Logger => {
      const log = (level: string) => (fields: Record<string, unknown>, message: string) =>
        lines.push(JSON.stringify({ level, ...base, ...fields, message }))
      return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), child: (f) => make({ ...base, ...f }) }
    }
    return make({})
  }

  it('finding 19: an error whose message and stack quote the body and a header logs none of it', async () => {
    const lines: string[] = []
    // The store echoes what it was given into its error, as drivers do ("cannot store <value>").
    const echoing = (clock: Parameters<typeof memoryStore>[0]['clock']): EphemeralStore => {
      const inner = memoryStore({ clock, sweepIntervalMs: 0 })
      return {
        ...inner,
        channels: {
          ...inner.channels,
          create: async (record: { data: string }) => {
            const error = new Error(`cannot store ${record.data}\nsecond line BODY-SECRET-2`) as Error & { code: string }
            error.code = 'ESTOREFAIL'
            throw error
          },
        } as EphemeralStore['channels'],
      }
    }
    const t = makeApp({ store: echoing, logger: capturingLogger(lines) })
    const res = await t.app.request(V4388, {
      method: 'POST',
      body: JSON.stringify({ data: 'BODY-SECRET-1' }),
      headers: { 'content-type': 'application/json', 'x-custom': 'HEADER-SECRET' },
    })
    expect(res.status).toBe(500)
    const requestId = res.headers.get('x-request-id') as string
    const failed = lines.map((l) => JSON.parse(l) as Record<string, any>).find((l) => l.message === 'request failed')
    expect(failed).toBeDefined()
    expect(failed?.req).toBe(requestId)
    expect(failed?.err).toMatchObject({ class: 'Error', code: 'ESTOREFAIL' })
    const all = lines.join('\n')
    for (const secret of ['BODY-SECRET-1', 'BODY-SECRET-2', 'HEADER-SECRET', 'cannot store']) expect(all).not.toContain(secret)
  })
})

let running: RunningServer | undefined
let dataDir: string | undefined
const sockets: Socket[] = []
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  await running?.stop()
  running = undefined
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true })
})

const start = async (env: Record<string, string>): Promise<RunningServer> => {
  dataDir = mkdtempSync(join(tmpdir(), 'qrelay-slow-'))
  running = await startNodeServer(parseConfig({ QRELAY_PORT: '0', QRELAY_DATA_DIR: dataDir, QRELAY_SHUTDOWN_GRACE_MS: '100', ...env }), {
    logger: silentLogger,
  })
  return running
}

/** Opens a raw connection, writes `first`, and resolves with what came back and how long until it closed (bounded). */
const hold = (port: number, first: string, limitMs: number): Promise<{ closedAfterMs: number | null; received: string }> =>
  new Promise((resolve) => {
    const started = Date.now()
    const socket = connect(port, '127.0.0.1')
    sockets.push(socket)
    let received = ''
    socket.on('data', (chunk) => (received += chunk.toString('latin1')))
    socket.on('error', () => {})
    const timer = setTimeout(() => resolve({ closedAfterMs: null, received }), limitMs)
    socket.on('close', () => {
      clearTimeout(timer)
      resolve({ closedAfterMs: Date.now() - started, received })
    })
    socket.on('connect', () => socket.write(first))
  })

describe('finding 20: slow clients are cut off and one address cannot hoard connections', () => {
  it('finding 20: headers trickled past QRELAY_HEADERS_TIMEOUT_MS get 408 and a closed socket', async () => {
    const server = await start({ QRELAY_HEADERS_TIMEOUT_MS: '1000', QRELAY_REQUEST_TIMEOUT_MS: '2000' })
    const result = await hold(server.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ', 5000)
    expect(result.closedAfterMs).not.toBeNull()
    expect(result.closedAfterMs as number).toBeLessThan(3000)
    expect(result.received).toMatch(/^HTTP\/1\.1 408/)
  })

  it('finding 20: a short body past QRELAY_REQUEST_TIMEOUT_MS gets 408 and a closed socket', async () => {
    const server = await start({ QRELAY_HEADERS_TIMEOUT_MS: '1000', QRELAY_REQUEST_TIMEOUT_MS: '1500' })
    const head = 'POST /v1/rendezvous HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"da'
    const result = await hold(server.port, head, 6000)
    expect(result.closedAfterMs).not.toBeNull()
    expect(result.closedAfterMs as number).toBeLessThan(4000)
  })

  it('finding 20: connections over QRELAY_MAX_CONNECTIONS_PER_ADDRESS are closed at once, others still served', async () => {
    const server = await start({ QRELAY_MAX_CONNECTIONS_PER_ADDRESS: '3' })
    const held = [0, 1, 2].map(() => hold(server.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n', 1500))
    await new Promise((resolve) => setTimeout(resolve, 200))
    const extra = await hold(server.port, '', 1500)
    expect(extra.closedAfterMs).not.toBeNull()
    expect(extra.received).toBe('')
    // The three held connections are still open (none closed within the window).
    for (const r of await Promise.all(held)) expect(r.closedAfterMs).toBeNull()
    for (const s of sockets.splice(0)) s.destroy()
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
  })

  it('finding 60: the connection cap counts an IPv6 client by its /64, and its /56 and /48 by the IPv6 factors', () => {
    const config = parseConfig({ QRELAY_PUBLIC_BASE_URL: 'https://relay.example', QRELAY_MAX_CONNECTIONS_PER_ADDRESS: '16' })
    const server = new EventEmitter() as unknown as Server
    const open = capConnectionsPerAddress(server, config.server, config.rateLimit)
    const sockets: EventEmitter[] = []
    /** One connection from `remoteAddress`: true when it is kept open. */
    const connect = (remoteAddress: string): boolean => {
      let destroyed = false
      const socket = Object.assign(new EventEmitter(), { remoteAddress, destroy: () => void (destroyed = true) })
      server.emit('connection', socket)
      if (!destroyed) sockets.push(socket)
      return !destroyed
    }
    const kept = (addresses: string[]): number => addresses.filter(connect).length
    const range = (n: number, address: (i: number) => string): string[] => Array.from({ length: n }, (_, i) => address(i))
    // One IPv4 address, also when Node reports it IPv4-mapped: one client.
    expect(kept(range(100, (i) => (i % 2 === 0 ? '203.0.113.7' : '::ffff:203.0.113.7')))).toBe(16)
    // Any number of addresses of one /64 (before: 200 of 200 kept).
    expect(kept(range(200, (i) => `2001:db8:1:2::${(i + 1).toString(16)}`))).toBe(16)
    // Other /64s of the same /56: the /56 holds 2 × 16 (QRELAY_RATE_IPV6_56_FACTOR) in all.
    expect(kept(range(40, (i) => `2001:db8:1:${(3 + (i % 10)).toString(16)}::${(i + 1).toString(16)}`))).toBe(16)
    // Other /56s of the same /48: the /48 holds 4 × 16 (QRELAY_RATE_IPV6_48_FACTOR) in all.
    expect(kept(range(100, (i) => `2001:db8:1:${((1 + i) << 8).toString(16)}::1`))).toBe(32)
    // Another /48, and another IPv4 address, are not affected.
    expect(kept(range(5, () => '2001:db8:2::1'))).toBe(5)
    expect(kept(range(5, () => '198.51.100.1'))).toBe(5)
    // Every close gives its places back.
    for (const socket of sockets.splice(0)) socket.emit('close')
    expect(open.size).toBe(0)
  })

  it('finding 20: the defaults are tight (seconds, not minutes) and the config refuses request < headers timeout', () => {
    const { server } = parseConfig({})
    expect(server.headersTimeoutMs).toBeLessThanOrEqual(10_000)
    expect(server.requestTimeoutMs).toBeLessThanOrEqual(30_000)
    expect(server.maxConnectionsPerAddress).toBeLessThanOrEqual(128)
    expect(() => parseConfig({ QRELAY_HEADERS_TIMEOUT_MS: '5000', QRELAY_REQUEST_TIMEOUT_MS: '2000' })).toThrow()
  })
})
