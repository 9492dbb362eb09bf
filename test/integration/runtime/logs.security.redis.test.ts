/**
 * Logs never carry bearer values. Two processes sharing Redis (and a third whose Redis is unreachable,
 * so the error path logs too) run every API at debug level, successes and refusals alike; then every
 * stdout and stderr line they wrote is searched for each channel id, session URL, ETag, sequence token,
 * secret and payload the test saw or sent. Channels appear only as keyed hashes, the same in both
 * processes because they share QRELAY_LOG_HASH_KEY.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redactWith } from '../../../src/core/crypto/secrets.ts'
import { jsonInit, NATIVE, textInit, V2024, V4388 } from '../../helpers/rendezvous-requests.ts'
import { redisUrl, uniquePrefix } from '../../helpers/redis.ts'
import { spawnServer, type SpawnedServer } from '../../helpers/spawn-server.ts'

const url = redisUrl()
const HASH_KEY = 'a7'.repeat(32)
const redact = redactWith(Uint8Array.from(HASH_KEY.match(/../g) as string[], (h) => parseInt(h, 16)))
const marker = (label: string): string => `${label}-${randomBytes(12).toString('base64url')}`
const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` })

/** Everything a log must not contain, and the ids whose keyed hashes it should. */
interface Seen {
  values: Set<string>
  ids: string[]
}

const see = (seen: Seen, ...values: Array<string | null | undefined>): void => {
  for (const value of values) {
    if (value === null || value === undefined || value === '') continue
    seen.values.add(value)
    // An ETag is also looked for without its quotes.
    if (value.startsWith('"')) seen.values.add(value.slice(1, -1))
  }
}

/** The 2024 API, alternating between processes: create, read, 304, write, stale write, bad headers, delete. */
const run2024 = async (one: string, two: string, seen: Seen): Promise<void> => {
  const payload = marker('payload2024')
  const created = await fetch(`${one}${V2024}`, textInit('POST', payload))
  const sessionUrl = ((await created.json()) as { url: string }).url
  const path = new URL(sessionUrl).pathname
  const id = path.split('/').at(-1) as string
  const e0 = created.headers.get('etag') as string
  see(seen, payload, sessionUrl, path, id, e0)
  seen.ids.push(id)
  await (await fetch(`${two}${path}`)).text()
  expect((await fetch(`${two}${path}`, { headers: { 'If-None-Match': e0 } })).status).toBe(304)
  const next = marker('next2024')
  const written = await fetch(`${two}${path}`, textInit('PUT', next, { 'If-Match': e0 }))
  see(seen, next, written.headers.get('etag'))
  const late = marker('late2024')
  const stale = await fetch(`${one}${path}`, textInit('PUT', late, { 'If-Match': e0 }))
  expect(stale.status).toBe(412)
  see(seen, late, stale.headers.get('etag'))
  const weak = marker('weak')
  see(seen, weak)
  expect((await fetch(`${one}${path}`, textInit('PUT', 'x', { 'If-Match': `W/"${weak}"` }))).status).toBe(400)
  expect((await fetch(`${two}${path}`, { method: 'DELETE' })).status).toBe(204)
  expect((await fetch(`${one}${path}`)).status).toBe(404)
}

/** MSC4388: create, read, write, stale write, idempotent retry, delete, read after delete. */
const run4388 = async (one: string, two: string, seen: Seen): Promise<void> => {
  const data = marker('data4388')
  const created = (await (await fetch(`${one}${V4388}`, jsonInit('POST', { data }))).json()) as {
    id: string
    sequence_token: string
  }
  const path = `${V4388}/${created.id}`
  see(seen, data, created.id, created.sequence_token)
  seen.ids.push(created.id)
  await (await fetch(`${two}${path}`)).text()
  const answer = marker('answer4388')
  const put = (base: string, data: string) => fetch(`${base}${path}`, jsonInit('PUT', { sequence_token: created.sequence_token, data }))
  const written = (await (await put(two, answer)).json()) as { sequence_token: string }
  see(seen, answer, written.sequence_token)
  const late = marker('late4388')
  see(seen, late)
  expect((await put(one, late)).status).toBe(409)
  expect((await put(one, answer)).status).toBe(200)
  expect((await fetch(`${one}${path}`, { method: 'DELETE' })).status).toBe(200)
  expect((await fetch(`${two}${path}`)).status).toBe(404)
}

/** Native: create, claim, third party, wrong and malformed secrets, writes, abort. */
const runNative = async (one: string, two: string, seen: Seen): Promise<void> => {
  const data = marker('dataNative')
  const created = (await (await fetch(`${one}${NATIVE}`, jsonInit('POST', { data }))).json()) as {
    id: string
    sequence_token: string
    creator_secret: string
  }
  const path = `${NATIVE}/${created.id}`
  see(seen, data, created.id, created.sequence_token, created.creator_secret)
  seen.ids.push(created.id)
  const joined = (await (await fetch(`${two}${path}`)).json()) as { sequence_token: string; joiner_secret: string }
  see(seen, joined.sequence_token, joined.joiner_secret)
  expect((await fetch(`${one}${path}`)).status).toBe(403)
  const wrong = randomBytes(32).toString('base64url')
  const basic = marker('basic')
  see(seen, wrong, basic)
  expect((await fetch(`${two}${path}`, { headers: bearer(wrong) })).status).toBe(403)
  expect((await fetch(`${two}${path}`, { headers: { Authorization: `Basic ${basic}` } })).status).toBe(400)
  const answer = marker('answerNative')
  const put = (base: string, data: string, secret: string) =>
    fetch(`${base}${path}`, jsonInit('PUT', { sequence_token: joined.sequence_token, data }, bearer(secret)))
  const written = await put(one, answer, joined.joiner_secret)
  const { sequence_token: token } = (await written.json()) as { sequence_token: string }
  see(seen, answer, token)
  const late = marker('lateNative')
  see(seen, late)
  const stale = await put(two, late, created.creator_secret)
  expect(stale.status).toBe(409)
  const abort = jsonInit('POST', { reason: 'check_code_mismatch' }, bearer(created.creator_secret))
  const aborted = await fetch(`${two}${path}/abort`, abort)
  expect(aborted.status).toBe(200)
  expect((await fetch(`${one}${path}`, { headers: bearer(joined.joiner_secret) })).status).toBe(404)
}

/** Requests off the route table, with would-be secrets in the path and the query. */
const runStrays = async (one: string, seen: Seen): Promise<void> => {
  const inPath = marker('path')
  const inQuery = marker('query')
  see(seen, inPath, inQuery)
  expect((await fetch(`${one}/nope/${inPath}?access_token=${inQuery}`)).status).toBe(404)
  expect((await fetch(`${one}${V4388}/${inPath}?token=${inQuery}`)).status).toBe(404)
  expect((await fetch(`${one}${V4388}/${inPath}/extra`)).status).toBe(404)
}

if (url === null) {
  describe.skip('logs (no redis-server on this machine)', () => it('skipped', () => {}))
} else {
  describe('logs', () => {
    const env = {
      QRELAY_STORE: 'redis',
      QRELAY_REDIS_URL: url,
      QRELAY_REDIS_KEY_PREFIX: uniquePrefix('logs-security'),
      QRELAY_LOG_HASH_KEY: HASH_KEY,
      QRELAY_LOG_LEVEL: 'debug',
    }
    const seen: Seen = { values: new Set(), ids: [] }
    const logs = new Map<string, string[]>()
    let servers: SpawnedServer[] = []

    beforeAll(async () => {
      // Port 1 on loopback: nothing listens, so every store call of this process fails.
      const cutOff = { ...env, QRELAY_REDIS_URL: 'redis://127.0.0.1:1' }
      servers = await Promise.all([spawnServer(env), spawnServer(env), spawnServer(cutOff)])
      const [one, two, broken] = servers.map((s) => s.url) as [string, string, string]
      await run2024(one, two, seen)
      await run4388(one, two, seen)
      await runNative(one, two, seen)
      await runStrays(one, seen)
      const lostId = marker('lost')
      see(seen, lostId)
      seen.ids.push(lostId)
      expect((await fetch(`${broken}${V4388}/${lostId}`)).status).toBeGreaterThanOrEqual(500)
      for (const [name, server] of [
        ['one', servers[0]],
        ['two', servers[1]],
        ['broken', servers[2]],
      ] as const) {
        await server?.stop()
        logs.set(name, server?.logs() ?? [])
      }
    })
    afterAll(async () => {
      await Promise.all(servers.map((s) => s.stop()))
    })

    it('contain no channel id, URL, ETag, sequence token, secret or payload of any request', () => {
      expect(seen.values.size).toBeGreaterThanOrEqual(25)
      const leaks: string[] = []
      for (const [name, lines] of logs) {
        for (const line of lines) {
          for (const value of seen.values) if (line.includes(value)) leaks.push(`${name}: ${value} in ${line}`)
        }
      }
      expect(leaks).toEqual([])
    })

    it('name each channel by the same keyed hash in every process', () => {
      const [one, two, broken] = (['one', 'two', 'broken'] as const).map((name) => (logs.get(name) ?? []).join('\n'))
      for (const id of seen.ids.slice(0, 3)) {
        expect(one).toContain(`"channel":"${redact(id)}"`)
        expect(two).toContain(`"channel":"${redact(id)}"`)
      }
      expect(broken).toContain(`"channel":"${redact(seen.ids[3] as string)}"`)
    })

    it('write one JSON line per request on stdout', () => {
      for (const name of ['one', 'two'] as const) {
        const lines = (logs.get(name) ?? []).filter((line) => line.startsWith('{'))
        const entries = lines.map((line) => JSON.parse(line) as { msg: string })
        expect(entries.filter((e) => e.msg === 'request').length).toBeGreaterThan(5)
      }
    })
  })
}
