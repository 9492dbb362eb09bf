/**
 * The Node fast paths (src/runtime/node-fast-*.ts) against the Hono app they stand in for, on the
 * production wiring (`listen`: @hono/node-server behind the JSON refusals, the connection limits and
 * the parser's refusals) and without the OpenAPI check wrapper the integration tests put around the app
 * (it reads every answer, which makes @hono/node-server write it differently). Two servers per
 * configuration, each on its own composition (memory store, accounts, ticket keys), one with the fast
 * paths in front of the app: every request, well-formed or hostile, is sent to both as raw bytes, and
 * the raw answers (status line, headers in order and case, body), how long the connection stays open,
 * the access-log lines and the request's effect on the store must be the same. Only values that differ
 * by nature are masked (date, request ids, channel ids, tokens, secrets, tickets, codes, clocks, ports).
 */
import type { Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { getConnInfo } from '@hono/node-server/conninfo'
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { memoryDurableStore } from '../../src/adapters/durable/memory.ts'
import { memoryKeyStore } from '../../src/adapters/keys/keystore.ts'
import { cryptoRandom, nodeRedactor, pinoLogger, systemClock } from '../../src/adapters/platform/node.ts'
import { memoryStore } from '../../src/adapters/storage/memory.ts'
import { parseConfig } from '../../src/config.ts'
import { COMMON_PASSWORDS } from '../../src/core/auth/common-passwords.ts'
import { StoreUnavailableError } from '../../src/core/store-unavailable.ts'
import { createApp } from '../../src/http/app.ts'
import { MSC4388_PREFIX, NATIVE_PREFIX } from '../../src/http/routes/msc4388.ts'
import { compose } from '../../src/runtime/compose.ts'
import type { FastPath } from '../../src/runtime/node-fast-path.ts'
import { nodeFastPaths } from '../../src/runtime/node-fast-paths.ts'
import { listen } from '../../src/runtime/node-listen.ts'
import type { EphemeralStore, NetworkLocator } from '../../src/ports.ts'
import { openSigningKeys } from '../../src/services/signing-keys.ts'
import { testKeyring } from '../helpers/make-app.ts'

/** One server of a pair: its port, its access log, and the knobs a test turns. */
interface Side {
  server: Server
  port: number
  lines: Record<string, unknown>[]
  /** The requests the fast paths took (`METHOD path`), on the side that has them. */
  taken: string[]
  /** The runtime's shutdown flag (answers then close their connection). */
  flags: { shuttingDown: boolean; storeFails: undefined | 'unavailable' | 'broken' }
}
type Pair = Record<'hono' | 'fast', Side>

/** The store, failing every channel and counter call while `flags.storeFails` says so (and never answering at once). */
const failingStore = (store: EphemeralStore, flags: Side['flags']): EphemeralStore => {
  const failing = <T extends object>(part: T): T =>
    new Proxy(part, {
      get(target, name) {
        const value = Reflect.get(target, name) as unknown
        if (typeof value !== 'function') return value
        return (...args: unknown[]) => {
          if (flags.storeFails === 'unavailable') return Promise.reject(new StoreUnavailableError('store down: do-not-log'))
          if (flags.storeFails === 'broken') return Promise.reject(new Error('store broken: do-not-log'))
          return (value as (...a: unknown[]) => unknown).apply(target, args)
        }
      },
    })
  return {
    kind: store.kind,
    channels: failing(store.channels),
    counters: failing(store.counters),
    kv: failing(store.kv),
    ping: () => store.ping(),
    close: () => store.close(),
  }
}

const startSide = async (env: Record<string, string>, fast: boolean, storeFaults: boolean, locator?: NetworkLocator): Promise<Side> => {
  const config = parseConfig({ QRELAY_LOG_LEVEL: 'info', QRELAY_HOST: '127.0.0.1', QRELAY_PORT: '0', ...env })
  const lines: Record<string, unknown>[] = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>)
      done()
    },
  })
  const flags: Side['flags'] = { shuttingDown: false, storeFails: undefined }
  const memory = memoryStore({ clock: systemClock, sweepIntervalMs: 0 })
  const services = compose(config, {
    store: storeFaults ? failingStore(memory, flags) : memory,
    clock: systemClock,
    random: cryptoRandom,
    logger: pinoLogger('info', sink),
    redact: nodeRedactor(new Uint8Array(32).fill(9)),
    signingKeys: await openSigningKeys({ store: memoryKeyStore(), clock: systemClock, random: cryptoRandom, retiredKeyTtlMs: 86_400_000 }),
    wakesAcrossRequests: true,
    ...(locator === undefined ? {} : { locator }),
    accounts: {
      durable: memoryDurableStore({ clock: systemClock }),
      uiaKey: new Uint8Array(32).fill(5),
      keyring: testKeyring(),
      commonPasswords: COMMON_PASSWORDS,
      securityEventSinks: [],
    },
  })
  const runtime = { isShuttingDown: () => flags.shuttingDown }
  const socketAddress = (c: Parameters<typeof getConnInfo>[0]): string | undefined => {
    try {
      return getConnInfo(c).remote.address
    } catch {
      return undefined
    }
  }
  const app = createApp(services, { getSocketAddress: socketAddress, ...runtime })
  const paths = fast ? nodeFastPaths(services, runtime) : undefined
  const taken: string[] = []
  const counted: FastPath | undefined =
    paths === undefined
      ? undefined
      : (incoming, outgoing) => {
          const took = paths(incoming, outgoing)
          if (took) taken.push(`${incoming.method} ${incoming.url}`)
          return took
        }
  const server = await listen(config, app.fetch, undefined, counted, () => {})
  return { server, port: (server.address() as AddressInfo).port, lines, taken, flags }
}

const servers: Server[] = []
/** The app alone and the fast paths in front of it, on the same configuration. */
const startPair = async (env: Record<string, string>, storeFaults = false, locator?: NetworkLocator): Promise<Pair> => {
  const pair = { hono: await startSide(env, false, storeFaults, locator), fast: await startSide(env, true, storeFaults, locator) }
  servers.push(pair.hono.server, pair.fast.server)
  return pair
}

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
})

/** What a client does on its connection: bytes after a pause, a half-close, or a hang-up. */
type Move = [afterMs: number, what: string | 'end' | 'hang up']

/** Plays `moves` on a new connection; what came back, and after how long the server closed it (capped at `waitMs`). */
const converse = (port: number, moves: readonly Move[], waitMs: number): Promise<{ answer: string; openMs: number }> =>
  new Promise((resolve) => {
    const started = Date.now()
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', () => {})
    const cap = setTimeout(() => socket.destroy(), waitMs)
    socket.once('close', () => {
      clearTimeout(cap)
      resolve({ answer: Buffer.concat(chunks).toString('latin1'), openMs: Date.now() - started })
    })
    let at = 0
    for (const [afterMs, what] of moves) {
      at += afterMs
      setTimeout(() => {
        if (socket.destroyed) return
        if (what === 'end') socket.end()
        else if (what === 'hang up') socket.destroy()
        else socket.write(what)
      }, at)
    }
  })

/** Every bearer value an answer handed out (channel ids, tokens, secrets, tickets, codes): none may reach a log. */
const handedOut = new Set<string>()
const noteHandedOut = (answer: string): void => {
  for (const match of answer.matchAll(/"(?:id|sequence_token|creator_secret|ticket|device_code|user_code)":"([^"]+)"/g))
    handedOut.add(match[1] as string)
}

/** The values that differ by nature, masked. */
const masked = (text: string, port: number): string =>
  text
    // A ticket's issuer is compared (it is built from the host), the rest of it masked.
    .replaceAll(/"ticket":"([^"]+)"/g, (_all, ticket: string) => `"ticket":"<ticket of ${String(decodeJwt(ticket).iss)}>"`)
    .replaceAll(/\r\nDate: [^\r]+/gi, '\r\nDate: <date>')
    .replaceAll(/x-request-id: [A-Za-z0-9_-]{12}\r\n/gi, 'x-request-id: <id>\r\n')
    .replaceAll(String(port), '<port>')
    .replaceAll(/"(id|sequence_token|creator_secret|device_code|user_code)":"[^"]+"/g, '"$1":"<$1>"')
    .replaceAll(/"(expires_in_ms|retry_after_ms)":\d+/g, '"$1":<n>')
    .replaceAll(/user_code=[A-Z]{5}-[A-Z]{5}/g, 'user_code=<user_code>')
    .replaceAll(/\r\nretry-after: \d+/gi, '\r\nretry-after: <s>')
    .replaceAll(/\r\ndpop-nonce: [A-Za-z0-9_-]+/gi, '\r\ndpop-nonce: <nonce>')

/** The access-log and error lines written since `from`, without what differs by nature, as JSON text (their fields' order compared too). */
const logSince = (side: Side, from: number): string[] =>
  side.lines
    .slice(from)
    .filter((line) => line.msg === 'request' || line.msg === 'request failed')
    .map((line) => {
      const { time: _t, pid: _p, hostname: _h, ms: _m, ...rest } = line
      if (typeof rest.req === 'string') rest.req = '<req>'
      if (typeof rest.channel === 'string') rest.channel = '<channel>'
      // Where an error was raised differs by nature (the route module or the fast path's); Node's own frames do not.
      const err = rest.err as { at?: string[] } | undefined
      if (err !== undefined) rest.err = { ...err, at: (err.at ?? []).filter((frame) => frame.includes('(node:')) }
      return JSON.stringify(rest)
    })

/** A channel of the scenario (a fresh one per server). */
interface Channel {
  id: string
  sequence_token: string
}

const JSON_TYPE = 'content-type: application/json'
const FORM_TYPE = 'content-type: application/x-www-form-urlencoded'

/** A request of a scenario: the head's first line and headers, and a body (with `{id}` and `{token}` of its channel). */
interface Ask {
  method: string
  path: string
  headers?: string[]
  body?: string
  /** No Content-Length added for the body (the headers say how it is framed, or nothing does). */
  raw?: boolean
}

/** The bytes of `ask` on `port` for `channel`, closing the connection after the answer unless `keepAlive`. */
const bytesOf = (ask: Ask, port: number, channel: Channel, keepAlive = false): string => {
  const fill = (text: string): string => text.replaceAll('{id}', channel.id).replaceAll('{token}', channel.sequence_token)
  const body = fill(ask.body ?? '')
  const headers = (ask.headers ?? []).map((h) => fill(h).replaceAll('{port}', String(port)))
  const lines = [`${ask.method} ${fill(ask.path).replaceAll('{port}', String(port))} HTTP/1.1`]
  if (!headers.some((h) => /^host:/i.test(h))) lines.push(`host: 127.0.0.1:${port}`)
  if (!keepAlive) lines.push('connection: close')
  lines.push(...headers)
  if (ask.raw !== true && (body !== '' || ask.method === 'POST' || ask.method === 'PUT'))
    lines.push(`content-length: ${Buffer.byteLength(body)}`)
  return `${lines.join('\r\n')}\r\n\r\n${body}`
}

let creators = 0
/** A new channel on `port`, created from an address of its own (where a proxy's header is believed: the abuse guard stays out of the way). */
const createOn = async (port: number): Promise<Channel> => {
  creators++
  const from = `x-forwarded-for: 198.18.${creators >> 8}.${creators & 255}`
  const ask = { method: 'POST', path: MSC4388_PREFIX, headers: [JSON_TYPE, from], body: '{"data":"x"}' }
  const { answer } = await converse(port, [[0, bytesOf(ask, port, { id: '', sequence_token: '' })]], 3000)
  noteHandedOut(answer)
  const channel = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Channel
  expect(channel.id).toBeTypeOf('string')
  return channel
}

/** What one server did with a request: the answer, the connection's life (in 250 ms steps), the log lines, the channel afterwards. */
interface Seen {
  answer: string
  open?: number
  log: string[]
  channelAfter: string
}

/** Waits for the lines a request writes after its answer (bounded: 1 s, for a loaded machine). */
const settle = async (side: Side, from: number): Promise<void> => {
  for (let i = 0; i < 200 && !side.lines.slice(from).some((l) => l.msg === 'request'); i++) await new Promise((r) => setTimeout(r, 5))
  await new Promise((r) => setTimeout(r, 20))
}

/** Plays `moves(port, channel)` on `side` (on a fresh channel), then reads the channel back. */
const seenOn = async (
  side: Side,
  moves: (port: number, channel: Channel) => Move[],
  options: { waitMs?: number; timed?: boolean; setUp?: (side: Side) => void } = {},
): Promise<Seen> => {
  const channel = await createOn(side.port)
  options.setUp?.(side)
  const from = side.lines.length
  const { answer, openMs } = await converse(side.port, moves(side.port, channel), options.waitMs ?? 3000)
  noteHandedOut(answer)
  await settle(side, from)
  side.flags.shuttingDown = false
  side.flags.storeFails = undefined
  const log = logSince(side, from)
  const after = await converse(side.port, [[0, bytesOf({ method: 'GET', path: `${MSC4388_PREFIX}/{id}` }, side.port, channel)]], 3000)
  const channelAfter = masked(after.answer.slice(after.answer.indexOf('\r\n\r\n') + 4), side.port)
  return { answer: masked(answer, side.port), ...(options.timed === true ? { open: Math.round(openMs / 250) } : {}), log, channelAfter }
}

/** Both servers' view of the same request. */
const both = async (pair: Pair, moves: (port: number, channel: Channel) => Move[], options?: Parameters<typeof seenOn>[2]) => ({
  hono: await seenOn(pair.hono, moves, options),
  fast: await seenOn(pair.fast, moves, options),
})

const once =
  (ask: Ask) =>
  (port: number, channel: Channel): Move[] => [[0, bytesOf(ask, port, channel)]]

const P = MSC4388_PREFIX
const WRITE = '{"sequence_token":"{token}","data":"y"}'
const BINDING = 'Q'.repeat(43)
const POLL = 'grant_type=urn:ietf:params:oauth:grant-type:device_code&device_code=unknown'

describe('finding 25: the fast paths write the app’s bytes, header order and names included', () => {
  let pair: Pair
  beforeAll(async () => {
    pair = await startPair({ QRELAY_RATE_READS_PER_CHANNEL: '2/60s', QRELAY_RATE_CREATE_PER_CLIENT: '1000/60s' })
  }, 30_000)

  const answers: Record<string, Ask> = {
    'a create': { method: 'POST', path: P, headers: [JSON_TYPE], body: '{"data":"x"}' },
    'a refused create': { method: 'POST', path: P, headers: ['content-type: text/plain'], body: '{"data":"x"}' },
    'a read': { method: 'GET', path: `${P}/{id}` },
    'a write': { method: 'PUT', path: `${P}/{id}`, headers: [JSON_TYPE], body: WRITE },
    'a stale write': { method: 'PUT', path: `${P}/{id}`, headers: [JSON_TYPE], body: '{"sequence_token":"stale","data":"y"}' },
    'a delete': { method: 'DELETE', path: `${P}/{id}` },
    'an unknown channel': { method: 'GET', path: `${P}/AAAAAAAAAAAAAAAAAAAAAA` },
    'a native create': { method: 'POST', path: NATIVE_PREFIX, headers: [JSON_TYPE], body: '{"data":"x"}' },
    'a refused native create': { method: 'POST', path: NATIVE_PREFIX, headers: [JSON_TYPE], body: '[]' },
    'an OAuth answer (400 unsupported_grant_type)': { method: 'POST', path: '/oauth2/token', headers: [FORM_TYPE], body: 'grant_type=x' },
    'an OAuth answer (400 invalid_grant)': { method: 'POST', path: '/oauth2/token', headers: [FORM_TYPE], body: POLL },
    'an OAuth answer (device authorization without a key)': {
      method: 'POST',
      path: '/oauth2/device_authorization',
      headers: [FORM_TYPE],
      body: `channel_binding=${BINDING}`,
    },
    'a read with a forwarding header from a peer that is no trusted proxy': {
      method: 'GET',
      path: `${P}/{id}`,
      headers: ['x-forwarded-for: 203.0.113.9', 'x-request-id: proxy-id-1234'],
    },
    'an OAuth grant': {
      method: 'POST',
      path: '/oauth2/device_authorization',
      headers: [FORM_TYPE],
      body: `channel_binding=${BINDING}&dpop_jkt=${'A'.repeat(43)}`,
    },
  }
  for (const [name, ask] of Object.entries(answers)) {
    it(`finding 25: ${name}`, async () => {
      const seen = await both(pair, once(ask))
      expect(seen.fast).toEqual(seen.hono)
    })
  }

  it('finding 25: a 429 with Retry-After (the read limit), the header in its place', async () => {
    const reads = (port: number, channel: Channel): Move[] => [
      [0, bytesOf({ method: 'GET', path: `${P}/{id}` }, port, channel, true).repeat(2)],
      [30, bytesOf({ method: 'GET', path: `${P}/{id}` }, port, channel)],
    ]
    const seen = await both(pair, reads)
    expect(seen.hono.answer).toContain('HTTP/1.1 429 ')
    expect(seen.fast).toEqual(seen.hono)
  })

  it('finding 25: OAuth answers with headers of their own (DPoP-Nonce, with server nonces on)', async () => {
    const nonces = await startPair({ QRELAY_DPOP_NONCE: 'true' })
    const proofless = {
      method: 'POST',
      path: '/oauth2/device_authorization',
      headers: [FORM_TYPE, 'dpop: a.b.c'],
      body: `channel_binding=${BINDING}`,
    }
    for (const ask of [proofless, { ...proofless, path: '/oauth2/token', body: POLL }]) {
      const seen = await both(nonces, once(ask))
      expect(seen.hono.answer).toMatch(/\r\ndpop-nonce: <nonce>\r\n/)
      expect(seen.fast).toEqual(seen.hono)
    }
  })

  it('finding 25: answers during a graceful shutdown (Connection: close among the headers)', async () => {
    const down = (side: Side): void => {
      side.flags.shuttingDown = true
    }
    for (const ask of [answers['a read'], answers['an unknown channel'], answers['a native create'], answers['an OAuth grant']] as Ask[]) {
      const seen = await both(pair, once(ask), { setUp: down })
      expect(seen.hono.answer).toContain('\r\nconnection: close\r\n')
      expect(seen.fast).toEqual(seen.hono)
    }
  })
})

describe('finding 26: a body the answer does not need, or that never comes, is handled as the app handles it', () => {
  let pair: Pair
  beforeAll(async () => {
    // A request timeout long enough to see who closes first, short enough for a test.
    pair = await startPair({
      QRELAY_RATE_CREATE_PER_CLIENT: '1000/60s',
      QRELAY_HEADERS_TIMEOUT_MS: '2000',
      QRELAY_REQUEST_TIMEOUT_MS: '5000',
    })
  }, 30_000)

  /** The head of `ask` (its body declared as `declared` bytes, kept alive), then 100 bytes every 300 ms for 3 s. */
  const trickled =
    (ask: Ask, declared: number) =>
    (port: number, channel: Channel): Move[] => {
      const head = bytesOf({ ...ask, raw: true, headers: [...(ask.headers ?? []), `content-length: ${declared}`] }, port, channel, true)
      return [[0, head], ...Array.from({ length: 10 }, (): Move => [300, 'x'.repeat(100)])]
    }
  const slowBodies: Record<string, Ask & { declared: number }> = {
    'a DELETE declaring 100 MB': { method: 'DELETE', path: `${P}/{id}`, declared: 100_000_000 },
    'a write refused before its body (text/plain)': {
      method: 'PUT',
      path: `${P}/{id}`,
      headers: ['content-type: text/plain'],
      declared: 20_000,
    },
    'a create refused before its body (text/plain)': { method: 'POST', path: P, headers: ['content-type: text/plain'], declared: 20_000 },
    'a native create refused before its body (text/plain)': {
      method: 'POST',
      path: NATIVE_PREFIX,
      headers: ['content-type: text/plain'],
      declared: 20_000,
    },
    'a token request refused before its body (text/plain)': {
      method: 'POST',
      path: '/oauth2/token',
      headers: ['content-type: text/plain'],
      declared: 4000,
    },
  }
  for (const [name, { declared, ...ask }] of Object.entries(slowBodies)) {
    it(`finding 26: ${name}, its body trickled after the answer: drained at most briefly, then the connection is closed`, async () => {
      const seen = await both(pair, trickled(ask, declared), { waitMs: 4000, timed: true })
      // The app closes the connection half a second after its answer; before the fix the fast path
      // read on until the request timeout and wrote a 408 after its answer.
      // (In steps of 250 ms; the connection is given up on after 4 s.)
      expect(seen.hono.open).toBeLessThanOrEqual(10)
      expect(seen.fast.open).toBeLessThanOrEqual(10)
      expect({ ...seen.fast, open: 0 }).toEqual({ ...seen.hono, open: 0 })
    })
  }

  const cutShort: Record<string, Ask> = {
    'a create': { method: 'POST', path: P, headers: [JSON_TYPE] },
    'a write': { method: 'PUT', path: `${P}/{id}`, headers: [JSON_TYPE] },
    'a native create': { method: 'POST', path: NATIVE_PREFIX, headers: [JSON_TYPE] },
    'a token request': { method: 'POST', path: '/oauth2/token', headers: [FORM_TYPE] },
  }
  for (const [name, ask] of Object.entries(cutShort)) {
    for (const how of ['hang up', 'end'] as const) {
      it(`finding 26: ${name} whose client ${how === 'end' ? 'half-closes' : 'hangs up'} mid-body: the same answer, log lines and store`, async () => {
        const moves = (port: number, channel: Channel): Move[] => [
          [0, `${bytesOf({ ...ask, raw: true, headers: [...(ask.headers ?? []), 'content-length: 100'] }, port, channel)}{"data`],
          [50, how],
        ]
        const seen = await both(pair, moves)
        expect(seen.hono.log.length).toBeGreaterThan(0)
        expect(seen.fast).toEqual(seen.hono)
      })
    }
  }
})

describe('finding 25: hostile requests get the app’s answer, access line and store effect, and no secret reaches the log', () => {
  let pair: Pair
  beforeAll(async () => {
    // Client addresses from a trusted proxy's header (so the deny list and the abuse guard can be aimed),
    // loopback not exempt, a low abuse threshold, a tight read limit.
    pair = await startPair(
      {
        QRELAY_TRUSTED_PROXY_HEADER: 'x-forwarded-for',
        QRELAY_TRUSTED_PROXIES: '127.0.0.1/32',
        QRELAY_POLICY_DENIED_NETWORKS: '203.0.113.0/24',
        QRELAY_ABUSE_EXEMPT_LOOPBACK: 'false',
        QRELAY_ABUSE_MIN_CREATED_FOR_RATIO: '3',
        QRELAY_RATE_READS_PER_CHANNEL: '3/60s',
      },
      true,
    )
  }, 30_000)

  const J = JSON_TYPE
  const hostile: Record<string, Ask> = {
    'a GET declaring a body': { method: 'GET', path: `${P}/{id}`, headers: ['content-length: 5'], body: 'abcde', raw: true },
    'a content type with parameters and capitals': {
      method: 'PUT',
      path: `${P}/{id}`,
      headers: ['content-type: Application/JSON ; charset=utf-8'],
      body: WRITE,
    },
    'an empty content type': { method: 'PUT', path: `${P}/{id}`, headers: ['content-type: '], body: WRITE },
    'no content type': { method: 'PUT', path: `${P}/{id}`, body: WRITE },
    'a declared empty body': { method: 'PUT', path: `${P}/{id}`, headers: [J, 'content-length: 0'], raw: true },
    'a length with leading zeros': { method: 'PUT', path: `${P}/{id}`, headers: [J, 'content-length: 0039'], body: WRITE, raw: true },
    'a length over the cap': { method: 'POST', path: P, headers: [J, 'content-length: 99999'], body: '{"data":"x"}', raw: true },
    'a chunked body': {
      method: 'POST',
      path: P,
      headers: [J, 'transfer-encoding: chunked'],
      body: 'c\r\n{"data":"x"}\r\n0\r\n\r\n',
      raw: true,
    },
    'a length and chunked': {
      method: 'POST',
      path: P,
      headers: [J, 'content-length: 12', 'transfer-encoding: chunked'],
      body: 'c\r\n{"data":"x"}\r\n0\r\n\r\n',
      raw: true,
    },
    'two equal lengths': {
      method: 'POST',
      path: P,
      headers: [J, 'content-length: 12', 'content-length: 12'],
      body: '{"data":"x"}',
      raw: true,
    },
    'two content types': { method: 'POST', path: P, headers: [J, J], body: '{"data":"x"}' },
    'two Authorization headers on a native create': {
      method: 'POST',
      path: NATIVE_PREFIX,
      headers: [J, 'authorization: Bearer a', 'Authorization: Bearer b'],
      body: '{"data":"x"}',
    },
    'two DPoP headers': { method: 'POST', path: '/oauth2/token', headers: [FORM_TYPE, 'dpop: a', 'DPoP: b'], body: POLL },
    'two forwarding headers': {
      method: 'GET',
      path: `${P}/{id}`,
      headers: ['x-forwarded-for: 198.51.100.1', 'x-forwarded-for: 198.51.100.2'],
    },
    'a folded forwarding header': { method: 'GET', path: `${P}/{id}`, headers: ['x-forwarded-for: 198.51.100.1', ' 198.51.100.2'] },
    'a request id and trace context from the proxy': {
      method: 'GET',
      path: `${P}/{id}`,
      headers: ['x-request-id: proxy-id-1234', 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    },
    'a forged request id': { method: 'GET', path: `${P}/{id}`, headers: ['x-request-id: <script>'] },
    'forwarding headers naming another host and scheme on a native create (its ticket names the issuer)': {
      method: 'POST',
      path: NATIVE_PREFIX,
      headers: [JSON_TYPE, 'x-forwarded-host: evil.example', 'x-forwarded-proto: https', 'forwarded: host=evil.example;proto=https'],
      body: '{"data":"x"}',
    },
    'a cross-site Origin': {
      method: 'POST',
      path: P,
      headers: [JSON_TYPE, 'origin: https://evil.example', 'sec-fetch-site: cross-site'],
      body: '{"data":"x"}',
    },
    'an absolute-form target': { method: 'GET', path: `http://127.0.0.1:{port}${P}/{id}` },
    'a double slash': { method: 'GET', path: `/${P}/{id}` },
    'a trailing slash': { method: 'GET', path: `${P}/{id}/` },
    'a query string': { method: 'DELETE', path: `${P}/{id}?x=1` },
    'a percent-encoded id': { method: 'GET', path: `${P}/%41{id}` },
    'a dot-dot id': { method: 'GET', path: `${P}/..` },
    HEAD: { method: 'HEAD', path: `${P}/{id}` },
    OPTIONS: { method: 'OPTIONS', path: NATIVE_PREFIX },
    'a foreign host': {
      method: 'POST',
      path: '/oauth2/device_authorization',
      headers: ['host: evil.example', FORM_TYPE],
      body: `channel_binding=${BINDING}`,
    },
    'a host in capitals': { method: 'GET', path: `${P}/{id}`, headers: ['host: LOCALHOST'] },
    'a host in hexadecimal': { method: 'GET', path: `${P}/{id}`, headers: ['host: 0x7f.0.0.1'] },
    'a host with a trailing dot': { method: 'GET', path: `${P}/{id}`, headers: ['host: localhost.'] },
    'a host with user info': { method: 'GET', path: `${P}/{id}`, headers: ['host: a@127.0.0.1'] },
    'an empty host': { method: 'GET', path: `${P}/{id}`, headers: ['host: '] },
    'a navigation': { method: 'GET', path: `${P}/{id}`, headers: ['sec-fetch-site: none'] },
    'Expect: 100-continue': { method: 'PUT', path: `${P}/{id}`, headers: [J, 'expect: 100-continue'], body: WRITE },
    'an upgrade served as a plain request': { method: 'GET', path: `${P}/{id}`, headers: ['connection: upgrade', 'upgrade: h2c'] },
    'a payload over the limit': { method: 'POST', path: NATIVE_PREFIX, headers: [J], body: JSON.stringify({ data: 'é'.repeat(2049) }) },
    'a create from a denied network': { method: 'POST', path: P, headers: [J, 'x-forwarded-for: 203.0.113.7'], body: '{"data":"x"}' },
    'a native create from a denied network': {
      method: 'POST',
      path: NATIVE_PREFIX,
      headers: [J, 'x-forwarded-for: 203.0.113.7'],
      body: '{"data":"x"}',
    },
  }
  for (const [name, ask] of Object.entries(hostile)) {
    it(`finding 25: hostile request: ${name}`, async () => {
      const seen = await both(pair, once(ask))
      expect(seen.fast).toEqual(seen.hono)
    })
  }

  it('finding 25: hostile request: an HTTP/1.0 read without a host, and with one', async () => {
    for (const head of ['GET {path} HTTP/1.0\r\n\r\n', 'GET {path} HTTP/1.0\r\nhost: 127.0.0.1\r\n\r\n']) {
      const seen = await both(pair, (_port, channel) => [[0, head.replace('{path}', `${P}/${channel.id}`)]])
      expect(seen.fast).toEqual(seen.hono)
    }
  })

  it('finding 25: hostile request: the read limit counts the same requests (refused ones included)', async () => {
    const read = { method: 'GET', path: `${P}/{id}` }
    const reads = (port: number, channel: Channel): Move[] => [
      [0, bytesOf({ ...read, headers: ['sec-fetch-dest: document'] }, port, channel, true)],
      [20, bytesOf(read, port, channel, true).repeat(3)],
      [20, bytesOf(read, port, channel)],
    ]
    const seen = await both(pair, reads)
    expect(seen.hono.answer).toContain('HTTP/1.1 429 ')
    expect(seen.fast).toEqual(seen.hono)
  })

  it('finding 25: hostile request: creates until the abuse guard blocks the network', async () => {
    const create = { method: 'POST', path: P, headers: [JSON_TYPE, 'x-forwarded-for: 198.51.100.77'], body: '{"data":"x"}' }
    const creates = (port: number, channel: Channel): Move[] => [
      [0, bytesOf(create, port, channel, true).repeat(5)],
      [50, bytesOf({ ...create, path: NATIVE_PREFIX }, port, channel)],
    ]
    const seen = await both(pair, creates)
    expect(seen.hono.answer).toContain('this network is temporarily blocked')
    expect(seen.fast).toEqual(seen.hono)
  })

  const stored: Record<string, Ask> = {
    'a create': { method: 'POST', path: P, headers: [JSON_TYPE], body: '{"data":"x"}' },
    'a native create': { method: 'POST', path: NATIVE_PREFIX, headers: [JSON_TYPE], body: '{"data":"x"}' },
    'a read': { method: 'GET', path: `${P}/{id}` },
    'a write': { method: 'PUT', path: `${P}/{id}`, headers: [JSON_TYPE], body: WRITE },
    'a delete': { method: 'DELETE', path: `${P}/{id}` },
    'a poll': { method: 'POST', path: '/oauth2/token', headers: [FORM_TYPE], body: POLL },
    'a device authorization': {
      method: 'POST',
      path: '/oauth2/device_authorization',
      headers: [FORM_TYPE],
      body: `channel_binding=${BINDING}&dpop_jkt=${'A'.repeat(43)}`,
    },
  }
  for (const failure of ['unavailable', 'broken'] as const) {
    for (const [name, ask] of Object.entries(stored)) {
      it(`finding 25: hostile request: ${name} while the store is ${failure} (503 or 500, nothing of the error logged)`, async () => {
        const fails = (side: Side): void => {
          side.flags.storeFails = failure
        }
        const seen = await both(pair, once(ask), { setUp: fails })
        expect(seen.hono.answer).toMatch(failure === 'unavailable' ? /^HTTP\/1\.1 503 / : /^HTTP\/1\.1 500 /)
        expect(JSON.stringify(seen.hono.log)).not.toContain('do-not-log')
        expect(seen.fast).toEqual(seen.hono)
      })
    }
  }

  it('finding 25: no channel id, token, secret, ticket or code of any answer reaches either log', () => {
    for (const side of [pair.hono, pair.fast]) {
      const text = side.lines.map((line) => JSON.stringify(line)).join('\n')
      expect(text).not.toContain('do-not-log')
      expect(text).not.toMatch(/"(sequence_token|creator_secret|ticket|device_code|user_code)"/)
      for (const value of handedOut) expect(text).not.toContain(value)
    }
    expect(handedOut.size).toBeGreaterThan(100)
  })
})

describe('finding 25: deployments whose app does more than the fast paths (creator sign-in, ASN look-ups, an API off) get the app’s answers', () => {
  /** A deployment, and what the fast paths may still take in it (the rest is the app's). */
  const knobs: Array<[string, Record<string, string>, NetworkLocator | undefined, RegExp]> = [
    [
      'only signed-in devices create (QRELAY_INITIATION_REQUIRE_AUTH)',
      { QRELAY_INITIATION_REQUIRE_AUTH: 'true' },
      undefined,
      /^(GET|PUT|DELETE) .*msc4388|^POST \/oauth2/,
    ],
    // The app looks up the ASN of every write (channel and OAuth): only reads are left to take.
    ['ASN look-ups (a locator)', {}, { locate: () => ({ asn: 64500 }) }, /^GET /],
    ['the native API off', { QRELAY_NATIVE_ENABLED: 'false' }, undefined, /msc4388|^POST \/oauth2/],
    ['the MSC4388 API off', { QRELAY_MSC4388_ENABLED: 'false' }, undefined, /^POST \/oauth2/],
  ]
  const asks: Ask[] = [
    { method: 'POST', path: P, headers: [JSON_TYPE], body: '{"data":"x"}' },
    { method: 'POST', path: NATIVE_PREFIX, headers: [JSON_TYPE], body: '{"data":"x"}' },
    { method: 'GET', path: `${P}/{id}` },
    { method: 'PUT', path: `${P}/{id}`, headers: [JSON_TYPE], body: WRITE },
    { method: 'DELETE', path: `${P}/{id}` },
    {
      method: 'POST',
      path: '/oauth2/device_authorization',
      headers: [FORM_TYPE],
      body: `channel_binding=${BINDING}&dpop_jkt=${'A'.repeat(43)}`,
    },
    { method: 'POST', path: '/oauth2/token', headers: [FORM_TYPE], body: POLL },
  ]
  for (const [name, env, locator, mayTake] of knobs) {
    it(`finding 25: ${name}`, async () => {
      // On an unknown channel: a create may be the app's alone here.
      const pair = await startPair(env, false, locator)
      for (const ask of asks) {
        const seen: Record<string, Seen> = {}
        for (const side of ['hono', 'fast'] as const) {
          const from = pair[side].lines.length
          const { answer } = await converse(
            pair[side].port,
            [[0, bytesOf(ask, pair[side].port, { id: 'AAAAAAAAAAAAAAAAAAAAAA', sequence_token: 't' })]],
            3000,
          )
          await settle(pair[side], from)
          seen[side] = { answer: masked(answer, pair[side].port), log: logSince(pair[side], from), channelAfter: '' }
        }
        expect({ ask: `${ask.method} ${ask.path}`, ...seen.fast }).toEqual({ ask: `${ask.method} ${ask.path}`, ...seen.hono })
      }
      expect(pair.fast.taken.filter((request) => !mayTake.test(request))).toEqual([])
    })
  }
})
