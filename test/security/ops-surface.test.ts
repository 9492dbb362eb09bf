/**
 * Findings 64–68 (the operator's surface: the CLI, metrics, logs; docs/security/operator-surface.md):
 * - 64: `qrelay config show` prints every value a secret knob holds masked, the channel-ticket signing
 *   keys (`QRELAY_TICKET_SIGNING_JWKS`, private JWKs) included, and a Redis password however it is spelled;
 * - 65: a device name chosen by whoever signs in (control characters, terminal escapes, bidi controls)
 *   reaches the operator's terminal through `qrelay device list` and `qrelay events tail` only escaped;
 * - 66: `GET /docs` and `GET /openapi.json`, open to anyone, are built once, not for every request;
 * - 67: a 5xx line's stack frames are the stack's, never a line of the message that starts with `at `;
 * - 68: the operator's listing of abuse blocks keeps a victim's block however many blocks one /48 trips.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportJWK, generateKeyPair } from 'jose'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { KNOBS } from '../../src/config.ts'
import { KNOB_DOCS } from '../../src/config/knob-docs.ts'
import { buildProgram } from '../../src/runtime/cli/main.ts'
import { openSqlite, sqliteStore } from '../../src/adapters/durable/sqlite.ts'
import { login, viaApp } from '../helpers/account-client.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp } from '../helpers/make-app.ts'
import { memoryStore } from '../../src/adapters/storage/memory.ts'
import type { EphemeralStore, Logger } from '../../src/ports.ts'
import { DEFAULT_ABUSE_PER_IP } from '../../src/core/policy/abuse.ts'
import { abuseBlocks } from '../../src/services/abuse-blocks.ts'
import { abuseGuard } from '../../src/services/abuse-guard.ts'

const dir = mkdtempSync(join(tmpdir(), 'qrelay-ops-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** What the CLI writes on stdout for `args`, run in this process. */
const stdoutOf = async (args: string[]): Promise<string> => {
  let out = ''
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
    return true
  })
  try {
    await buildProgram().parseAsync(args, { from: 'user' })
  } finally {
    write.mockRestore()
  }
  return out
}

describe('finding 64: config show masks every secret', () => {
  it('finding 64: the channel-ticket signing keys are masked, not printed with their private part', async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    const jwk = await exportJWK(privateKey)
    const file = join(dir, 'jwks.env')
    writeFileSync(file, `QRELAY_TICKET_SIGNING_JWKS='${JSON.stringify({ keys: [jwk] })}'\n`)
    for (const format of [[], ['--json']]) {
      const shown = await stdoutOf(['config', 'show', '--env-file', file, ...format])
      expect(shown).toContain('QRELAY_TICKET_SIGNING_JWKS')
      expect(shown).not.toContain(jwk.d as string)
    }
    expect(JSON.parse(await stdoutOf(['config', 'show', '--env-file', file, '--json'])).QRELAY_TICKET_SIGNING_JWKS).toBe('****')
  })

  it('finding 64: every knob its documentation calls secret is masked', async () => {
    const secret = KNOBS.filter((k) => /\bsecret\b/.test(KNOB_DOCS[k.env] ?? '') && k.env !== 'QRELAY_WEBHOOK_URL')
    expect(secret.map((k) => k.env)).toContain('QRELAY_TICKET_SIGNING_JWKS')
    const file = join(dir, 'secrets.env')
    writeFileSync(file, secret.map((k) => `${k.env}=VALUE-OF-${k.env}`).join('\n'))
    const shown = JSON.parse(await stdoutOf(['config', 'show', '--env-file', file, '--json'])) as Record<string, string>
    for (const k of secret) expect(shown[k.env], k.env).toBe('****')
  })

  it('finding 64: a Redis password with an @ in it is masked whole', async () => {
    const file = join(dir, 'redis.env')
    writeFileSync(file, 'QRELAY_REDIS_URL=redis://qrelay:hunter2@secret@redis.internal:6379/0\n')
    const shown = JSON.parse(await stdoutOf(['config', 'show', '--env-file', file, '--json'])) as Record<string, string>
    expect(shown.QRELAY_REDIS_URL).toBe('redis://****@redis.internal:6379/0')
  })

  it('finding 64: a Redis password given as a query parameter (ioredis reads it) is masked', async () => {
    const file = join(dir, 'redis-query.env')
    writeFileSync(file, 'QRELAY_REDIS_URL=redis://redis.internal:6379/0?password=hunter2&family=6\n')
    const shown = JSON.parse(await stdoutOf(['config', 'show', '--env-file', file, '--json'])) as Record<string, string>
    expect(shown.QRELAY_REDIS_URL).toBe('redis://redis.internal:6379/0?password=****&family=6')
    // A setting that is no secret stays readable.
    writeFileSync(file, 'QRELAY_REDIS_URL=rediss+sentinel://s1:26379,s2:26379/main?sentinel_auth=same\n')
    const sentinel = JSON.parse(await stdoutOf(['config', 'show', '--env-file', file, '--json'])) as Record<string, string>
    expect(sentinel.QRELAY_REDIS_URL).toBe('rediss+sentinel://s1:26379,s2:26379/main?sentinel_auth=same')
  })
})

/**
 * A device name as a phisher (naming the device of a QR login) or any account holder (naming a
 * password sign-in) may choose it: a forged line of `events tail`, an OSC 52 clipboard write, a clear-line
 * and carriage return to hide what came before, an 8-bit CSI and a right-to-left override.
 */
const HOSTILE_NAME = 'Phone\n2026-12-07T08:00:00.000Z\talice\tpassword_changed\x1b]52;c;Y3VybCBldmlsfHNo\x07\x1b[2K\r\u009b2J\u202egnp.exe'
/** Characters that make a terminal do something: C0 but for the tab and line feed (the output's own), DEL, C1, bidi controls. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what the output must not hold
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/

describe("finding 65: a name a client chose reaches the operator's terminal escaped", () => {
  it('finding 65: device list and events tail print a hostile device name without its control characters', async () => {
    const dataDir = join(dir, 'terminal')
    // The CLI reads the feed at the real time: the app's clock starts there too.
    const t = makeApp({ clock: fakeClock(Date.now()), durable: (clock) => sqliteStore({ db: openSqlite(dataDir), clock }) })
    await t.auth.accounts.create('alice', 'correct horse battery staple')
    await login(viaApp(t.app), 'alice', 'correct horse battery staple', undefined, HOSTILE_NAME)
    vi.stubEnv('QRELAY_DATA_DIR', dataDir)
    try {
      for (const args of [
        ['device', 'list', 'alice'],
        ['events', 'tail', '--account', 'alice'],
      ]) {
        const plain = await stdoutOf(args)
        expect(plain.split('\n'), args.join(' ')).toHaveLength(2)
        expect(plain.slice(0, -1), args.join(' ')).not.toMatch(CONTROL)
        expect(plain.slice(0, -1)).not.toContain('\n')
        // The name is one field, its tab and line feed shown as escapes.
        expect(plain).toContain('Phone\\n2026-12-07T08:00:00.000Z\\talice\\tpassword_changed\\u001b]52;c;')
        expect(plain.split('\t')).toHaveLength(args[0] === 'device' ? 3 : 6)
        const json = await stdoutOf([...args, '--json'])
        expect(json.slice(0, -1), `${args.join(' ')} --json`).not.toMatch(CONTROL)
        expect(json.slice(0, -1)).not.toContain('\n')
        // The JSON still says exactly what is stored.
        expect(json).toContain('password')
        const parsed = JSON.parse(json) as unknown
        expect(JSON.stringify(parsed)).toContain(JSON.stringify(HOSTILE_NAME).slice(1, -1))
      }
    } finally {
      vi.unstubAllEnvs()
    }
  })
})

describe('finding 66: the API reference is built once, not for every anonymous request', () => {
  it('finding 66: repeated GET /docs and /openapi.json do no rendering or serialising of the document', async () => {
    const t = makeApp()
    const first = { docs: await (await t.app.request('/docs')).text(), openapi: await (await t.app.request('/openapi.json')).text() }
    const stringify = vi.spyOn(JSON, 'stringify')
    try {
      for (let i = 0; i < 5; i++) {
        const docs = await t.app.request('/docs')
        expect(docs.status).toBe(200)
        expect(await docs.text()).toBe(first.docs)
        const openapi = await t.app.request('/openapi.json')
        expect(openapi.status).toBe(200)
        expect(openapi.headers.get('content-type')).toMatch(/^application\/json/)
        expect(await openapi.text()).toBe(first.openapi)
      }
      // Before: each /openapi.json serialised the 86 kB document, each /docs rendered it (hundreds of calls).
      expect(stringify).not.toHaveBeenCalled()
    } finally {
      stringify.mockRestore()
    }
  })
})

describe('finding 67: a message line that looks like a stack frame stays out of the log', () => {
  it('finding 67: an error quoting the body, whose lines start with "at ", logs none of them', async () => {
    const lines: string[] = []
    const capturing = (base: Record<string, unknown>): Logger => {
      const log = (level: string) => (fields: Record<string, unknown>, message: string) =>
        lines.push(JSON.stringify({ level, ...base, ...fields, message }))
      return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), child: (f) => capturing({ ...base, ...f }) }
    }
    // A store that echoes what it was given into its error, as drivers do (finding 19's model).
    const echoing = (clock: Parameters<typeof memoryStore>[0]['clock']): EphemeralStore => {
      const inner = memoryStore({ clock, sweepIntervalMs: 0 })
      return {
        ...inner,
        channels: {
          ...inner.channels,
          create: async (record: { data: string }) => {
            throw new Error(`cannot store ${record.data}`)
          },
        } as EphemeralStore['channels'],
      }
    }
    const t = makeApp({ store: echoing, logger: capturing({}) })
    const res = await t.app.request('/_matrix/client/unstable/io.element.msc4388/rendezvous', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: 'x\nat BODY-SECRET-1 (token)\n    at BODY-SECRET-2' }),
    })
    expect(res.status).toBe(500)
    const failed = lines
      .map((l) => JSON.parse(l) as { message: string; err?: { at?: string[] } })
      .find((l) => l.message === 'request failed')
    expect(failed?.err?.at?.length).toBeGreaterThan(0)
    const all = lines.join('\n')
    for (const secret of ['BODY-SECRET-1', 'BODY-SECRET-2', 'cannot store']) expect(all).not.toContain(secret)
  })
})

describe("finding 68: a flood of blocks from one /48 does not hide another network's block from the operator", () => {
  it("finding 68: 2 100 blocks tripped from the /64s of one /48 leave the office's earlier block in the listing", async () => {
    const clock = fakeClock(Date.UTC(2026, 5, 1, 8, 0))
    const store = memoryStore({ clock, sweepIntervalMs: 0 })
    const guard = abuseGuard({ counters: store.counters, kv: store.kv, clock, thresholds: { ...DEFAULT_ABUSE_PER_IP, maxRefusedJoins: 1 } })
    const blocks = abuseBlocks({ kv: store.kv, clock, deniedForMs: (s) => guard.deniedForMs(s), longestBlockMs: 86_400_000 })
    // The office's NAT tripped the guard (a false positive the operator will look for).
    await guard.record('198.51.100.20', 'refused_join')
    expect(await guard.isDenied('198.51.100.20')).toBe(true)
    clock.advance(60_000)
    // The saboteur: one refused join from each of 2 100 /64s of his /48, each a block ending later the same day.
    for (let i = 0; i < 2100; i++) {
      const network = `2001:db8:bad:${i.toString(16)}::/64`
      await guard.record(network, 'refused_join')
      // The block is decided (and noted) when the network's next request is checked.
      expect(await guard.isDenied(network)).toBe(true)
    }
    const listed = await blocks.list()
    expect(listed.map((b) => b.network)).toContain('198.51.100.20')
    expect(listed.length).toBeGreaterThan(1000)
    expect(listed.length).toBeLessThanOrEqual(2000)
  }, 120_000)
})
