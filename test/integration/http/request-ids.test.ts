/**
 * Request ids and trace ids: a trusted proxy's `X-Request-Id` and W3C `traceparent` are honoured
 * when valid (and only then, and only from a trusted proxy), land on every log line of the request,
 * and come back as `X-Request-Id`; a bad or untrusted value is replaced and never logged. Every
 * access line of a refusal carries its error code and reason.
 */
import { describe, expect, it } from 'vitest'
import { memoryStore } from '../../../src/adapters/storage/memory.ts'
import { requestIdOf, traceIdOf } from '../../../src/http/middleware/trace-context.ts'
import type { EphemeralStore, Logger } from '../../../src/ports.ts'
import { makeApp } from '../../helpers/make-app.ts'
import { jsonInit, NATIVE, V2024, V4388 } from '../../helpers/rendezvous-requests.ts'

type Line = Record<string, unknown>

const capturingLogger = (lines: Line[]): Logger => {
  const make = (base: Line): Logger => {
    const log = (fields: Line, message: string) => void lines.push({ ...base, ...fields, message })
    return { debug: log, info: log, warn: log, error: log, child: (f) => make({ ...base, ...f }) }
  }
  return make({})
}

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`
const PROXY = { QRELAY_TRUSTED_PROXY_HEADER: 'x-forwarded-for' }
const GENERATED = /^[A-Za-z0-9_-]{12}$/

/** A store whose channel creation throws: a 500 that logs an error line besides the access line. */
const brokenChannels = (clock: Parameters<typeof memoryStore>[0]['clock']): EphemeralStore => {
  const store = memoryStore({ clock, sweepIntervalMs: 0 })
  return {
    ...store,
    channels: {
      ...store.channels,
      create: () => Promise.reject(new Error('disk on fire')),
    },
  }
}

describe('request ids from a trusted proxy', () => {
  it('honours a valid X-Request-Id and traceparent: the response and every log line of the request carry them', async () => {
    const lines: Line[] = []
    const t = makeApp({ env: PROXY, logger: capturingLogger(lines), store: brokenChannels })
    const res = await t.app.request(
      V4388,
      jsonInit(
        'POST',
        { data: '' },
        { 'x-test-peer': '127.0.0.1', 'x-forwarded-for': '198.51.100.7', 'x-request-id': 'lb-7f3c9a2e:1', traceparent: TRACEPARENT },
      ),
    )
    expect(res.status).toBe(500)
    expect(res.headers.get('x-request-id')).toBe('lb-7f3c9a2e:1')
    const messages = lines.map((l) => l.message)
    expect(messages).toEqual(['request failed', 'request'])
    for (const line of lines) expect(line).toMatchObject({ req: 'lb-7f3c9a2e:1', trace: TRACE_ID })
    expect(lines.at(-1)).toMatchObject({ status: 500, error: 'INTERNAL', client: '198.51.100.7' })
    expect(lines.at(-1)).not.toHaveProperty('reason')
  })

  it('generates the id and keeps no trace when the peer is not a trusted proxy, and logs neither raw value', async () => {
    const lines: Line[] = []
    const t = makeApp({ env: PROXY, logger: capturingLogger(lines) })
    const res = await t.app.request('/healthz', {
      headers: { 'x-test-peer': '198.51.100.9', 'x-request-id': 'chosen-by-a-stranger', traceparent: TRACEPARENT },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-request-id')).toMatch(GENERATED)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ req: res.headers.get('x-request-id') })
    expect(lines[0]).not.toHaveProperty('trace')
    expect(JSON.stringify(lines)).not.toContain('chosen-by-a-stranger')
    expect(JSON.stringify(lines)).not.toContain(TRACE_ID)
  })

  it('believes no peer without QRELAY_TRUSTED_PROXY_HEADER, loopback included', async () => {
    const lines: Line[] = []
    const t = makeApp({ logger: capturingLogger(lines) })
    const res = await t.app.request('/healthz', {
      headers: { 'x-test-peer': '127.0.0.1', 'x-request-id': 'from-loopback', traceparent: TRACEPARENT },
    })
    expect(res.headers.get('x-request-id')).toMatch(GENERATED)
    expect(lines[0]).not.toHaveProperty('trace')
  })

  it.each([
    ['too long', 'a'.repeat(129)],
    ['a space', 'two words'],
    ['markup', '<script>alert(1)</script>'],
    ['a quote', 'id"injected'],
    ['a non-ASCII letter', 'réquest'],
    ['empty', ''],
  ])('replaces an X-Request-Id with %s, and never logs it', async (_what, value) => {
    const lines: Line[] = []
    const t = makeApp({ env: PROXY, logger: capturingLogger(lines) })
    const res = await t.app.request('/healthz', { headers: { 'x-test-peer': '127.0.0.1', 'x-request-id': value } })
    expect(res.headers.get('x-request-id')).toMatch(GENERATED)
    expect(lines[0]?.req).toBe(res.headers.get('x-request-id'))
    if (value !== '') expect(JSON.stringify(lines)).not.toContain(JSON.stringify(value).slice(1, -1))
  })

  it.each([
    ['an all-zero trace id', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`],
    ['an all-zero parent id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`],
    ['version ff', `ff-${TRACE_ID}-00f067aa0ba902b7-01`],
    ['upper-case hex', `00-${TRACE_ID.toUpperCase()}-00f067aa0ba902b7-01`],
    ['version 00 with an extra field', `${TRACEPARENT}-extra`],
    ['a short trace id', `00-${TRACE_ID.slice(2)}-00f067aa0ba902b7-01`],
  ])('ignores a traceparent with %s, and never logs it', async (_what, value) => {
    const lines: Line[] = []
    const t = makeApp({ env: PROXY, logger: capturingLogger(lines) })
    await t.app.request('/healthz', { headers: { 'x-test-peer': '127.0.0.1', traceparent: value } })
    expect(lines[0]).not.toHaveProperty('trace')
    expect(JSON.stringify(lines)).not.toContain(value.slice(3, 20).toLowerCase())
  })

  it('reads the parsers as W3C Trace Context says: later versions may append fields', () => {
    expect(traceIdOf(`01-${TRACE_ID}-00f067aa0ba902b7-01-what-comes-later`)).toBe(TRACE_ID)
    expect(traceIdOf(TRACEPARENT)).toBe(TRACE_ID)
    expect(traceIdOf(undefined)).toBeUndefined()
    expect(traceIdOf(`${TRACEPARENT}${'x'.repeat(300)}`)).toBeUndefined()
    expect(requestIdOf('7f3c9a2e-1b4d-4e8f-9a6b-2c1d0e9f8a7b')).toBe('7f3c9a2e-1b4d-4e8f-9a6b-2c1d0e9f8a7b')
    expect(requestIdOf('a'.repeat(128))).toBe('a'.repeat(128))
    expect(requestIdOf(undefined)).toBeUndefined()
  })
})

describe('access lines of refusals', () => {
  const accessLine = (lines: Line[]): Line | undefined => lines.filter((l) => l.message === 'request').at(-1)

  it('carries the error code and the public reason of a 4xx', async () => {
    const lines: Line[] = []
    const t = makeApp({ logger: capturingLogger(lines) })
    expect((await t.app.request('/no/such/endpoint')).status).toBe(404)
    expect(accessLine(lines)).toMatchObject({ status: 404, error: 'UNRECOGNIZED', reason: 'unknown endpoint' })
    expect((await t.app.request(V2024, { method: 'PATCH' })).status).toBe(405)
    expect(accessLine(lines)).toMatchObject({ status: 405, error: 'METHOD_NOT_ALLOWED' })
    expect((await t.app.request(`${NATIVE}/not-a-channel`)).status).toBe(404)
    expect(accessLine(lines)).toMatchObject({ status: 404, error: 'NOT_FOUND', route: `${NATIVE}/:id` })
  })

  it('carries the policy reason code of a denied network, and RATE_LIMITED of a 429', async () => {
    const lines: Line[] = []
    const t = makeApp({
      logger: capturingLogger(lines),
      env: { QRELAY_POLICY_DENIED_NETWORKS: '203.0.113.0/24', QRELAY_RATE_CREATE_PER_CLIENT: '1/60s' },
    })
    expect((await t.app.request(V4388, jsonInit('POST', { data: '' }, { 'x-test-peer': '203.0.113.5' }))).status).toBe(403)
    expect(accessLine(lines)).toMatchObject({
      status: 403,
      error: 'NETWORK_DENIED',
      reason: 'channels cannot be created from this network',
    })
    expect((await t.app.request(V4388, jsonInit('POST', { data: '' }))).status).toBe(200)
    expect((await t.app.request(V4388, jsonInit('POST', { data: '' }))).status).toBe(429)
    expect(accessLine(lines)).toMatchObject({ status: 429, error: 'RATE_LIMITED' })
  })

  it('carries the RFC 6749 error of an OAuth refusal', async () => {
    const lines: Line[] = []
    const t = makeApp({ logger: capturingLogger(lines) })
    const res = await t.app.request('/oauth2/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(res.status).toBe(400)
    expect(accessLine(lines)).toMatchObject({
      status: 400,
      error: 'invalid_request',
      reason: 'Content-Type must be application/x-www-form-urlencoded',
    })
  })

  it('carries AUTH_STAGE_REQUIRED on a sign-in challenge, with the reason once a stage failed', async () => {
    const lines: Line[] = []
    const t = makeApp({ logger: capturingLogger(lines) })
    await t.auth.accounts.create('alice', 'correct horse battery staple')
    const first = await t.app.request('/v1/login', jsonInit('POST', { username: 'alice' }))
    expect(first.status).toBe(401)
    expect(accessLine(lines)).toMatchObject({ status: 401, error: 'AUTH_STAGE_REQUIRED' })
    expect(accessLine(lines)).not.toHaveProperty('reason')
    const { session } = (await first.json()) as { session: string }
    const auth = { type: 'm.login.password', session, password: 'not the password' }
    const wrong = await t.app.request('/v1/login', jsonInit('POST', { username: 'alice', auth }))
    expect(wrong.status).toBe(401)
    expect(accessLine(lines)).toMatchObject({ status: 401, error: 'AUTH_STAGE_REQUIRED', reason: 'wrong username or password' })
    expect(JSON.stringify(lines)).not.toContain('not the password')
  })

  it('keeps a reason that names what a client sent to printable ASCII and 160 characters', async () => {
    const lines: Line[] = []
    const t = makeApp({ logger: capturingLogger(lines) })
    const name = `f\u00e9ld\u2028${'x'.repeat(300)}`
    const body = `${encodeURIComponent(name)}=1&${encodeURIComponent(name)}=2`
    const res = await t.app.request('/oauth2/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    })
    expect(res.status).toBe(400)
    const reason = accessLine(lines)?.reason as string
    expect(reason.startsWith('f?ld?xxx')).toBe(true)
    expect(reason).toHaveLength(160)
  })

  it('carries no error field on a success', async () => {
    const lines: Line[] = []
    const t = makeApp({ logger: capturingLogger(lines) })
    await t.app.request('/healthz')
    expect(accessLine(lines)).not.toHaveProperty('error')
  })
})
