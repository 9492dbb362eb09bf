/**
 * The Worker's fetch handler inside workerd (the real entry, src/runtime/workers.ts, over the Durable
 * Object store): the Matrix rendezvous APIs end to end, with the headers clients depend on.
 */
import { SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'

const ORIGIN = 'https://relay.example'
const V2024 = '/_matrix/client/unstable/org.matrix.msc4108/rendezvous'
const V4388 = '/_matrix/client/unstable/io.element.msc4388/rendezvous'

let client = 0
/** A fresh client address per test, so per-client rate limits never couple tests. */
const nextClient = (): string => `198.51.100.${++client}`

const byteLength = (text: string): number => new TextEncoder().encode(text).length
interface Body {
  type: string
  text: string
}
const send = (path: string, method: string, ip: string, body?: Body, headers: Record<string, string> = {}) =>
  SELF.fetch(`${ORIGIN}${path}`, {
    method,
    headers: {
      'CF-Connecting-IP': ip,
      ...(body === undefined ? {} : { 'Content-Type': body.type, 'Content-Length': String(byteLength(body.text)) }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: body.text }),
  })
const text = (value: string) => ({ type: 'text/plain', text: value })
const json = (value: unknown) => ({ type: 'application/json', text: JSON.stringify(value) })

const expectCommonHeaders = (res: Response): void => {
  for (const name of ['etag', 'expires', 'last-modified']) expect(res.headers.get(name), name).not.toBeNull()
  expect(res.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]+"$/)
  expect(res.headers.get('cache-control')).toBe('no-store, no-transform')
  expect(res.headers.get('pragma')).toBe('no-cache')
  expect(res.headers.get('access-control-allow-origin')).toBe('*')
  expect(res.headers.get('access-control-expose-headers')).toMatch(/\bETag\b/)
}

describe('workers: MSC4108 2024 rendezvous', () => {
  it('creates, reads, writes, refuses a stale ETag and deletes when served by the Worker', async () => {
    const ip = nextClient()
    const created = await send(V2024, 'POST', ip, text('first ✓'))
    expect(created.status).toBe(201)
    expect(created.headers.get('content-type')).toMatch(/^application\/json/)
    expectCommonHeaders(created)
    const { url } = (await created.json()) as { url: string }
    expect(url.startsWith(`${ORIGIN}${V2024}/`)).toBe(true)
    expect(url.slice(`${ORIGIN}${V2024}/`.length)).toMatch(/^[A-Za-z0-9_-]{32}$/)
    const path = new URL(url).pathname
    const etag = created.headers.get('etag') as string

    const read = await send(path, 'GET', ip)
    expect(read.status).toBe(200)
    expect(read.headers.get('content-type')).toBe('text/plain')
    expect(read.headers.get('etag')).toBe(etag)
    expect(read.headers.get('content-length')).toBe(String(byteLength('first ✓')))
    expectCommonHeaders(read)
    expect(await read.text()).toBe('first ✓')

    const notModified = await send(path, 'GET', ip, undefined, { 'If-None-Match': etag })
    expect(notModified.status).toBe(304)
    expectCommonHeaders(notModified)

    const put = await send(path, 'PUT', ip, text('second'), { 'If-Match': etag })
    expect(put.status).toBe(202)
    expectCommonHeaders(put)
    const next = put.headers.get('etag')
    expect(next).not.toBe(etag)

    const stale = await send(path, 'PUT', ip, text('third'), { 'If-Match': etag })
    expect(stale.status).toBe(412)
    expect(await stale.json()).toMatchObject({ errcode: 'M_CONCURRENT_WRITE' })
    expectCommonHeaders(stale)
    expect(stale.headers.get('etag')).toBe(next)
    expect(await (await send(path, 'GET', ip)).text()).toBe('second')

    const deleted = await send(path, 'DELETE', ip)
    expect(deleted.status).toBe(204)
    const gone = await send(path, 'GET', ip)
    expect(gone.status).toBe(404)
    expect(await gone.json()).toMatchObject({ errcode: 'M_NOT_FOUND' })
  })

  it('lets exactly one of 10 concurrent PUTs with the same If-Match win when served by the Worker', async () => {
    const ip = nextClient()
    const created = await send(V2024, 'POST', ip, text(''))
    const path = new URL(((await created.json()) as { url: string }).url).pathname
    const etag = created.headers.get('etag') as string
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => send(path, 'PUT', ip, text(`w${i}`), { 'If-Match': etag })))
    expect(results.filter((r) => r.status === 202)).toHaveLength(1)
    expect(results.filter((r) => r.status === 412)).toHaveLength(9)
  })
})

describe('workers: MSC4388 rendezvous', () => {
  it('creates, writes, refuses a stale token with 409 and deletes when served by the Worker', async () => {
    const ip = nextClient()
    const created = await send(V4388, 'POST', ip, json({ data: 'hello' }))
    expect(created.status).toBe(200)
    expect(created.headers.get('cache-control')).toBe('no-store, no-transform')
    expect(created.headers.get('access-control-allow-origin')).toBe('*')
    const body = (await created.json()) as { id: string; sequence_token: string; expires_in_ms: number }
    expect(Object.keys(body).sort()).toEqual(['expires_in_ms', 'id', 'sequence_token'])
    expect(body.id).toMatch(/^[0-9A-Za-z\-._~]{32}$/)
    expect(body.expires_in_ms).toBeGreaterThan(119_000)
    expect(body.expires_in_ms).toBeLessThanOrEqual(120_000)
    const path = `${V4388}/${body.id}`

    const put = await send(path, 'PUT', ip, json({ sequence_token: body.sequence_token, data: 'one' }))
    expect(put.status).toBe(200)
    const { sequence_token } = (await put.json()) as { sequence_token: string }
    expect(sequence_token).not.toBe(body.sequence_token)

    const stale = await send(path, 'PUT', ip, json({ sequence_token: body.sequence_token, data: 'two' }))
    expect(stale.status).toBe(409)
    expect(await stale.json()).toMatchObject({ errcode: 'IO_ELEMENT_MSC4388_CONCURRENT_WRITE' })

    const read = await send(path, 'GET', ip)
    expect(read.status).toBe(200)
    expect(await read.json()).toMatchObject({ data: 'one', sequence_token })

    const deleted = await send(path, 'DELETE', ip)
    expect(deleted.status).toBe(200)
    expect((await send(path, 'GET', ip)).status).toBe(404)
  })

  it('answers readyz with the durable-object store when served by the Worker', async () => {
    const res = await send('/readyz', 'GET', nextClient())
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ready', store: 'durable-object' })
  })
})
