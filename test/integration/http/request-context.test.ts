/**
 * The request-context middleware: a request id header on every kind of response, and the client
 * address (from the socket, or a trusted proxy's header) that limits are counted under, also when
 * the same peer comes back with other headers.
 */
import { describe, expect, it } from 'vitest'
import type { Logger } from '../../../src/ports.ts'
import { makeApp } from '../../helpers/make-app.ts'
import { create2024, jsonInit, V2024, V4388 } from '../../helpers/rendezvous-requests.ts'

const capturingLogger = (lines: Record<string, unknown>[]): Logger => {
  const make = (base: Record<string, unknown>): Logger => {
    const log = (fields: Record<string, unknown>, message: string) => void lines.push({ ...base, ...fields, message })
    return { debug: log, info: log, warn: log, error: log, child: (f) => make({ ...base, ...f }) }
  }
  return make({})
}

describe('requestContext', () => {
  it('sets a distinct X-Request-Id on 200, 304, 404, 405 and preflight responses', async () => {
    const t = makeApp()
    const { path, etag } = await create2024(t)
    const responses = [
      await t.app.request(V4388, jsonInit('POST', { data: '' })),
      await t.app.request(path, { headers: { 'If-None-Match': etag } }),
      await t.app.request(`${V4388}/nope`),
      await t.app.request(V2024, { method: 'PATCH' }),
      await t.app.request(V4388, { method: 'OPTIONS', headers: { Origin: 'https://app.example' } }),
    ]
    expect(responses.map((r) => r.status)).toEqual([200, 304, 404, 405, 204])
    const ids = responses.map((r) => r.headers.get('x-request-id'))
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{12}$/)
    expect(new Set(ids).size).toBe(ids.length)
    expect(responses[0]!.headers.get('access-control-allow-origin')).toBe('*')
  })

  it('logs the request id and client address of each request when one peer sends many', async () => {
    const lines: Record<string, unknown>[] = []
    const t = makeApp({ logger: capturingLogger(lines) })
    for (let i = 0; i < 3; i++) await t.app.request('/healthz', { headers: { 'x-test-peer': '2001:db8::1' } })
    await t.app.request('/healthz', { headers: { 'x-test-peer': '192.0.2.77' } })
    const access = lines.filter((l) => l.message === 'request')
    expect(access.map((l) => l.client)).toEqual(['2001:db8::1', '2001:db8::1', '2001:db8::1', '192.0.2.77'])
    expect(new Set(access.map((l) => l.req)).size).toBe(4)
  })

  it('counts limits per forwarded client when a trusted proxy sends different headers', async () => {
    const t = makeApp({
      env: { QRELAY_TRUSTED_PROXY_HEADER: 'x-forwarded-for', QRELAY_RATE_CREATE_PER_CLIENT: '2/60s' },
    })
    const create = (forwarded?: string) =>
      t.app.request(
        V4388,
        jsonInit('POST', { data: '' }, { 'x-test-peer': '127.0.0.1', ...(forwarded ? { 'x-forwarded-for': forwarded } : {}) }),
      )
    expect((await create('198.51.100.1')).status).toBe(200)
    expect((await create('198.51.100.1')).status).toBe(200)
    expect((await create('198.51.100.1')).status).toBe(429)
    expect((await create('198.51.100.2')).status).toBe(200)
    expect((await create()).status).toBe(200)
    expect((await create('198.51.100.2')).status).toBe(200)
    expect((await create('198.51.100.2')).status).toBe(429)
  })
})
