/**
 * Security invariants of the HTTP surface: bad input gets a 4xx JSON error and changes nothing; a 5xx
 * says only that it was internal; bearer values never reach the logs; the client address comes from a
 * proxy header only when that proxy is trusted.
 */
import { describe, expect, it } from 'vitest'
import { memoryStore } from '../../../src/adapters/storage/memory.ts'
import type { EphemeralStore, Logger } from '../../../src/ports.ts'
import { makeApp } from '../../helpers/make-app.ts'
import { create2024, createJson, jsonInit, NATIVE, textInit, V2024, V4388 } from '../../helpers/rendezvous-requests.ts'

const capturingLogger = (lines: string[]): Logger => {
  const make = (base: Record<string, unknown>): Logger => {
    const log = (level: string) => (fields: Record<string, unknown>, message: string) =>
      lines.push(JSON.stringify({ level, ...base, ...fields, message }))
    return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), child: (f) => make({ ...base, ...f }) }
  }
  return make({})
}

describe('bad input', () => {
  it.each([
    ['PATCH', V2024],
    ['GET', V2024],
    ['POST', `${V2024}/AAAAAAAAAAAAAAAAAAAAAA`],
    ['PATCH', `${V4388}/AAAAAAAAAAAAAAAAAAAAAA`],
    ['PUT', V4388],
    ['GET', `${NATIVE}/AAAAAAAAAAAAAAAAAAAAAA/abort`],
  ])('answers %s %s with 405 M_UNRECOGNIZED as JSON', async (method, path) => {
    const t = makeApp()
    const res = await t.app.request(path, { method })
    expect(res.status).toBe(405)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await res.json()).toMatchObject({ errcode: 'M_UNRECOGNIZED' })
  })

  it('answers unknown endpoints with 404 M_UNRECOGNIZED as JSON', async () => {
    const t = makeApp()
    for (const path of ['/', '/nope', '/_matrix/client/v3/login', `${V2024}/a/b`]) {
      const res = await t.app.request(path)
      expect(res.status, path).toBe(404)
      expect(await res.json()).toMatchObject({ errcode: 'M_UNRECOGNIZED' })
    }
  })

  it('refuses a body that is not UTF-8 with 400 and stores nothing', async () => {
    const t = makeApp()
    const res = await t.app.request(V2024, {
      method: 'POST',
      body: new Uint8Array([0xff, 0xfe, 0x00]),
      headers: { 'Content-Type': 'text/plain', 'Content-Length': '3' },
    })
    expect(res.status).toBe(400)
    expect(await t.store.channels.liveCount()).toBe(0)
  })

  it('refuses a malformed Content-Length with 400', async () => {
    const t = makeApp()
    const res = await t.app.request(V2024, textInit('POST', '', { 'Content-Length': '-1' }))
    expect(res.status).toBe(400)
  })

  it('refuses a malformed If-None-Match with 400', async () => {
    const t = makeApp()
    const { path } = await create2024(t)
    const res = await t.app.request(path, { headers: { 'If-None-Match': 'garbage' } })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ errcode: 'M_INVALID_PARAM' })
  })
})

describe('internal errors', () => {
  it('answers a store failure with a 500 that says only "internal", and logs the cause', async () => {
    const lines: string[] = []
    const failing = (clock: Parameters<typeof memoryStore>[0]['clock']): EphemeralStore => {
      const inner = memoryStore({ clock, sweepIntervalMs: 0 })
      return {
        ...inner,
        channels: {
          ...inner.channels,
          get: async () => {
            throw new Error('connection reset: redis://user:hunter2@db')
          },
        },
      }
    }
    const t = makeApp({ store: failing, logger: capturingLogger(lines) })
    const created = await createJson(t)
    const res = await t.app.request(`${V4388}/${created.id}`)
    expect(res.status).toBe(500)
    const text = await res.text()
    expect(JSON.parse(text)).toEqual({ errcode: 'M_UNKNOWN', error: 'internal error', qrelay_code: 'INTERNAL' })
    expect(text).not.toContain('hunter2')
    expect(lines.some((l) => l.includes('request failed'))).toBe(true)
  })
})

describe('logs', () => {
  it('never contain channel ids, tokens, ETags or party secrets', async () => {
    const lines: string[] = []
    const t = makeApp({ logger: capturingLogger(lines) })
    const secrets: string[] = []
    const s2024 = await create2024(t, 'payload-2024')
    secrets.push(s2024.path.split('/').pop() as string, s2024.etag.replaceAll('"', ''))
    const put = await t.app.request(s2024.path, textInit('PUT', 'x', { 'If-Match': s2024.etag }))
    secrets.push((put.headers.get('etag') as string).replaceAll('"', ''))
    await t.app.request(s2024.path, { method: 'DELETE' })
    const native = await createJson(t, NATIVE, 'payload-native')
    secrets.push(native.id, native.sequence_token, native.creator_secret as string)
    const claim = (await (await t.app.request(`${NATIVE}/${native.id}`)).json()) as { joiner_secret: string }
    secrets.push(claim.joiner_secret)
    await t.app.request(`${NATIVE}/${native.id}`, { headers: { 'x-test-peer': '203.0.113.3' } }) // refused
    await t.app.request(`${NATIVE}/${native.id}`, { headers: { Authorization: `Bearer ${native.creator_secret}` } })
    await t.app.request(
      `${NATIVE}/${native.id}/abort`,
      jsonInit('POST', { reason: 'user_cancelled' }, { Authorization: `Bearer ${claim.joiner_secret}` }),
    )
    expect(lines.length).toBeGreaterThanOrEqual(8)
    const all = lines.join('\n')
    for (const secret of secrets) expect(all).not.toContain(secret)
    expect(all).not.toContain('payload-')
    // The access log still says which channel, as a keyed hash, and which route pattern.
    expect(lines.some((l) => /"route":"\/v1\/rendezvous\/:id"/.test(l) && /"channel":"[0-9a-f]{16}"/.test(l))).toBe(true)
  })
})

describe('client address', () => {
  it('ignores a forwarding header unless configured and from a trusted proxy', async () => {
    const t = makeApp({ env: { QRELAY_RATE_CREATE_PER_CLIENT: '1/60s' } })
    expect((await t.app.request(V2024, textInit('POST', '', { 'X-Forwarded-For': '198.51.100.1' }))).status).toBe(201)
    // Same socket, different header: still the same client.
    expect((await t.app.request(V2024, textInit('POST', '', { 'X-Forwarded-For': '198.51.100.2' }))).status).toBe(429)
  })

  it('uses the right-most untrusted hop of a trusted proxy header', async () => {
    const t = makeApp({
      env: { QRELAY_RATE_CREATE_PER_CLIENT: '1/60s', QRELAY_TRUSTED_PROXY_HEADER: 'X-Forwarded-For', QRELAY_TRUSTED_PROXIES: '10.0.0.0/8' },
    })
    const viaProxy = (xff: string) => textInit('POST', '', { 'x-test-peer': '10.0.0.2', 'X-Forwarded-For': xff })
    expect((await t.app.request(V2024, viaProxy('6.6.6.6, 198.51.100.1'))).status).toBe(201)
    expect((await t.app.request(V2024, viaProxy('7.7.7.7, 198.51.100.2'))).status).toBe(201)
    expect((await t.app.request(V2024, viaProxy('8.8.8.8, 198.51.100.1'))).status).toBe(429)
    // An untrusted peer's header is ignored: counted by its socket address.
    const direct = textInit('POST', '', { 'x-test-peer': '192.0.2.77', 'X-Forwarded-For': '198.51.100.3' })
    expect((await t.app.request(V2024, direct)).status).toBe(201)
  })
})

describe('health', () => {
  it('answers /healthz and /readyz', async () => {
    const t = makeApp()
    expect((await t.app.request('/healthz')).status).toBe(200)
    const ready = await t.app.request('/readyz')
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ status: 'ready', store: 'memory' })
  })

  it('is not ready when the store does not answer', async () => {
    const t = makeApp({
      store: (clock) => ({
        ...memoryStore({ clock, sweepIntervalMs: 0 }),
        ping: async () => {
          throw new Error('down')
        },
      }),
    })
    const res = await t.app.request('/readyz')
    expect(res.status).toBe(503)
  })
})
