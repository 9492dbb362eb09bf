/**
 * The MSC4108 2024 (ETag) API through app.request(), point by point against protocol.md §1 and §8.
 */
import { describe, expect, it } from 'vitest'
import { makeApp } from '../../helpers/make-app.ts'
import { create2024, textInit, V2024 } from '../../helpers/rendezvous-requests.ts'

const COMMON = ['etag', 'expires', 'last-modified', 'cache-control', 'pragma'] as const

const expectCommonHeaders = (res: Response): void => {
  for (const name of COMMON) expect(res.headers.get(name), name).not.toBeNull()
  expect(res.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]+"$/)
  expect(res.headers.get('cache-control')).toBe('no-store, no-transform')
  expect(res.headers.get('pragma')).toBe('no-cache')
  expect(res.headers.get('access-control-allow-origin')).toBe('*')
  expect(res.headers.get('access-control-expose-headers')).toMatch(/\bETag\b/)
}

describe('MSC4108 2024 rendezvous', () => {
  it('creates a session with 201, an absolute URL and the common headers', async () => {
    const t = makeApp()
    const { url, res } = await create2024(t, 'initial')
    expect(res.status).toBe(201)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(url).toMatch(/^https:\/\/relay\.example\/_matrix\/client\/unstable\/org\.matrix\.msc4108\/rendezvous\/[A-Za-z0-9_-]{32}$/)
    expectCommonHeaders(res)
  })

  it('uses the request origin when no public base URL is configured, for loopback hosts only', async () => {
    const t = makeApp({ env: { QRELAY_PUBLIC_BASE_URL: '' } })
    const res = await t.app.request(`http://localhost:8080${V2024}`, textInit('POST', ''))
    expect(((await res.json()) as { url: string }).url.startsWith(`http://localhost:8080${V2024}/`)).toBe(true)
    expect((await t.app.request(`http://203.0.113.5:8080${V2024}`, textInit('POST', ''))).status).toBe(403)
  })

  it('serves the payload as exactly text/plain with the common headers (§8.3, §8.4)', async () => {
    const t = makeApp()
    const { path, etag } = await create2024(t, 'payload ✓')
    const res = await t.app.request(path)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/plain')
    expect(await res.text()).toBe('payload ✓')
    expect(res.headers.get('etag')).toBe(etag)
    expect(res.headers.get('content-length')).toBe(String(new TextEncoder().encode('payload ✓').length))
    expectCommonHeaders(res)
  })

  it('answers 304 with the common headers when If-None-Match holds the current ETag (§8.4)', async () => {
    const t = makeApp()
    const { path, etag } = await create2024(t)
    const res = await t.app.request(path, { headers: { 'If-None-Match': etag } })
    expect(res.status).toBe(304)
    expect(await res.text()).toBe('')
    expectCommonHeaders(res)
  })

  it('puts with If-Match, answers 202 with a Content-Type and a new ETag (§8.2, §8.5)', async () => {
    const t = makeApp()
    const { path, etag } = await create2024(t)
    const res = await t.app.request(path, textInit('PUT', 'next', { 'If-Match': etag }))
    expect(res.status).toBe(202)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
    expectCommonHeaders(res)
    const next = res.headers.get('etag')
    expect(next).not.toBe(etag)
    const read = await t.app.request(path)
    expect(await read.text()).toBe('next')
    expect(read.headers.get('etag')).toBe(next)
  })

  it('changes the ETag on every write, even of identical bytes (§8.5)', async () => {
    const t = makeApp()
    const { path, etag } = await create2024(t, 'same')
    const seen = new Set([etag])
    let current = etag
    for (let i = 0; i < 5; i++) {
      const res = await t.app.request(path, textInit('PUT', 'same', { 'If-Match': current }))
      expect(res.status).toBe(202)
      current = res.headers.get('etag') as string
      seen.add(current)
    }
    expect(seen.size).toBe(6)
  })

  it('refuses a stale If-Match with 412 M_CONCURRENT_WRITE carrying the current headers (§8.1, §8.4)', async () => {
    const t = makeApp()
    const { path, etag } = await create2024(t)
    const first = await t.app.request(path, textInit('PUT', 'a', { 'If-Match': etag }))
    const current = first.headers.get('etag')
    const stale = await t.app.request(path, textInit('PUT', 'b', { 'If-Match': etag }))
    expect(stale.status).toBe(412)
    expect(await stale.json()).toMatchObject({ errcode: 'M_CONCURRENT_WRITE' })
    expectCommonHeaders(stale)
    expect(stale.headers.get('etag')).toBe(current)
    expect(await (await t.app.request(path)).text()).toBe('a')
  })

  it('lets exactly one of 20 concurrent PUTs with the same If-Match win (§8.1)', async () => {
    const t = makeApp()
    const { path, etag } = await create2024(t)
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => t.app.request(path, textInit('PUT', `w${i}`, { 'If-Match': etag }))),
    )
    expect(results.filter((r) => r.status === 202)).toHaveLength(1)
    expect(results.filter((r) => r.status === 412)).toHaveLength(19)
  })

  it.each([
    ['a weak ETag', 'W/"abc"'],
    ['a list', '"a", "b"'],
    ['a wildcard', '*'],
    ['an unquoted value', 'abc'],
  ])('refuses %s in If-Match with 400 M_INVALID_PARAM and changes nothing', async (_, header) => {
    const t = makeApp()
    const { path } = await create2024(t, 'kept')
    const res = await t.app.request(path, textInit('PUT', 'x', { 'If-Match': header }))
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ errcode: 'M_INVALID_PARAM' })
    expect(await (await t.app.request(path)).text()).toBe('kept')
  })

  it('requires If-Match on PUT (400 M_MISSING_PARAM)', async () => {
    const t = makeApp()
    const { path } = await create2024(t)
    const res = await t.app.request(path, textInit('PUT', 'x'))
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ errcode: 'M_MISSING_PARAM' })
  })

  it('requires Content-Type and Content-Length, and text/plain exactly', async () => {
    const t = makeApp()
    // A string body would make Request add `text/plain;charset=UTF-8` by itself: send bytes.
    const noType = await t.app.request(V2024, { method: 'POST', body: new Uint8Array(0), headers: { 'Content-Length': '0' } })
    expect(noType.status).toBe(400)
    expect(await noType.json()).toMatchObject({ errcode: 'M_MISSING_PARAM' })
    const noLength = await t.app.request(V2024, { method: 'POST', body: 'x', headers: { 'Content-Type': 'text/plain' } })
    expect(noLength.status).toBe(400)
    expect(await noLength.json()).toMatchObject({ errcode: 'M_MISSING_PARAM' })
    const json = await t.app.request(V2024, textInit('POST', '{}', { 'Content-Type': 'application/json' }))
    expect(json.status).toBe(400)
    expect(await json.json()).toMatchObject({ errcode: 'M_INVALID_PARAM' })
    const latin1 = await t.app.request(V2024, textInit('POST', 'x', { 'Content-Type': 'text/plain; charset=iso-8859-1' }))
    expect(latin1.status).toBe(400)
    expect(await t.store.channels.liveCount()).toBe(0)
  })

  it('accepts 4096 UTF-8 bytes and refuses 4097 with 413 M_TOO_LARGE (§8.9)', async () => {
    const t = makeApp()
    const fits = '€'.repeat(1365) + 'a' // 4096 bytes, 1366 UTF-16 units
    expect((await t.app.request(V2024, textInit('POST', fits))).status).toBe(201)
    const over = '€'.repeat(1365) + 'ab' // 4097 bytes
    const res = await t.app.request(V2024, textInit('POST', over))
    expect(res.status).toBe(413)
    expect(await res.json()).toMatchObject({ errcode: 'M_TOO_LARGE' })
  })

  it('refuses an oversized Content-Length before reading the body (§8.9)', async () => {
    const t = makeApp()
    let pulled = 0
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++
        controller.enqueue(new Uint8Array(1024))
        if (pulled > 100) controller.close()
      },
    })
    const res = await t.app.request(V2024, {
      method: 'POST',
      body,
      headers: { 'Content-Type': 'text/plain', 'Content-Length': '10000000' },
      duplex: 'half',
    } as RequestInit)
    expect(res.status).toBe(413)
    expect(pulled).toBeLessThanOrEqual(1)
  })

  it('reports an absolute Expires at creation + TTL, and 404 M_NOT_FOUND after it (§8.7, §8.8)', async () => {
    const t = makeApp()
    const { path, res } = await create2024(t)
    expect(Date.parse(res.headers.get('expires') as string)).toBe(Math.floor((t.clock.now() + 120_000) / 1000) * 1000)
    t.clock.advance(119_000)
    expect((await t.app.request(path)).status).toBe(200)
    t.clock.advance(1_000)
    const gone = await t.app.request(path)
    expect(gone.status).toBe(404)
    expect(await gone.json()).toMatchObject({ errcode: 'M_NOT_FOUND' })
  })

  it('deletes with 204, then answers 404 M_NOT_FOUND everywhere (§8.8)', async () => {
    const t = makeApp()
    const { path, etag } = await create2024(t)
    const res = await t.app.request(path, { method: 'DELETE' })
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    for (const init of [{}, { method: 'DELETE' }, textInit('PUT', 'x', { 'If-Match': etag })]) {
      const after = await t.app.request(path, init)
      expect(after.status).toBe(404)
      expect(await after.json()).toMatchObject({ errcode: 'M_NOT_FOUND' })
    }
  })

  it('answers unknown and malformed session ids with 404 M_NOT_FOUND', async () => {
    const t = makeApp()
    for (const id of ['AAAAAAAAAAAAAAAAAAAAAA', 'not%20valid', 'x'.repeat(300)]) {
      const res = await t.app.request(`${V2024}/${id}`)
      expect(res.status).toBe(404)
      expect(await res.json()).toMatchObject({ errcode: 'M_NOT_FOUND' })
    }
  })

  it('answers CORS preflights for the conditional headers and methods (§8.11)', async () => {
    const t = makeApp()
    const { path } = await create2024(t)
    for (const target of [V2024, path]) {
      const res = await t.app.request(target, {
        method: 'OPTIONS',
        headers: {
          Origin: 'https://app.example',
          'Access-Control-Request-Method': 'PUT',
          'Access-Control-Request-Headers': 'if-match, content-type',
        },
      })
      expect(res.status).toBe(204)
      expect(res.headers.get('access-control-allow-origin')).toBe('*')
      const methods = res.headers.get('access-control-allow-methods') as string
      for (const m of ['GET', 'PUT', 'DELETE', 'POST']) expect(methods).toContain(m)
      const headers = (res.headers.get('access-control-allow-headers') as string).toLowerCase()
      for (const h of ['if-match', 'if-none-match', 'content-type', 'authorization']) expect(headers).toContain(h)
    }
  })

  it('makes unguessable, short, opaque-grammar session ids (§8.12)', async () => {
    const t = makeApp()
    const ids = new Set<string>()
    for (let i = 0; i < 20; i++) ids.add((await create2024(t)).path.split('/').pop() as string)
    expect(ids.size).toBe(20)
    for (const id of ids) expect(id).toMatch(/^[0-9A-Za-z\-._~]{32}$/)
  })

  it('does not serve a 2024 session on the MSC4388 paths', async () => {
    const t = makeApp()
    const { path } = await create2024(t, 'secret stuff')
    const id = path.split('/').pop() as string
    const res = await t.app.request(`/_matrix/client/unstable/io.element.msc4388/rendezvous/${id}`)
    expect(res.status).toBe(404)
  })
})
