/**
 * The MSC4388 (sequence token) API through app.request(), against protocol.md §2 and §8.
 */
import { describe, expect, it } from 'vitest'
import { makeApp } from '../../helpers/make-app.ts'
import { createJson, jsonInit, textInit, V4388 } from '../../helpers/rendezvous-requests.ts'

describe('MSC4388 rendezvous', () => {
  it('reports that creation is available', async () => {
    const t = makeApp()
    const res = await t.app.request(V4388)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ create_available: true })
  })

  it('creates a channel with id, sequence_token and relative expires_in_ms', async () => {
    const t = makeApp()
    const res = await t.app.request(V4388, jsonInit('POST', { data: 'hello' }))
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store, no-transform')
    const body = (await res.json()) as Record<string, unknown>
    expect(Object.keys(body).sort()).toEqual(['expires_in_ms', 'id', 'sequence_token'])
    expect(body.id).toMatch(/^[0-9A-Za-z\-._~]{32}$/)
    expect(body.sequence_token).toMatch(/^[0-9A-Za-z\-._~]{1,255}$/)
    expect(body.expires_in_ms).toBe(120_000)
  })

  it('reads back data, the same token, and a shrinking expires_in_ms', async () => {
    const t = makeApp()
    const created = await createJson(t, V4388, 'hello')
    t.clock.advance(30_000)
    const res = await t.app.request(`${V4388}/${created.id}`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ data: 'hello', sequence_token: created.sequence_token, expires_in_ms: 90_000 })
  })

  it('writes with the current token, returns a new token that later reads return too (§8.5)', async () => {
    const t = makeApp()
    const created = await createJson(t)
    const put = await t.app.request(`${V4388}/${created.id}`, jsonInit('PUT', { sequence_token: created.sequence_token, data: 'one' }))
    expect(put.status).toBe(200)
    const { sequence_token } = (await put.json()) as { sequence_token: string }
    expect(sequence_token).not.toBe(created.sequence_token)
    const read = (await (await t.app.request(`${V4388}/${created.id}`)).json()) as { data: string; sequence_token: string }
    expect(read).toMatchObject({ data: 'one', sequence_token })
  })

  it('changes the token on every write, even with identical data', async () => {
    const t = makeApp()
    const created = await createJson(t, V4388, 'same')
    let token = created.sequence_token
    const seen = new Set([token])
    for (let i = 0; i < 4; i++) {
      const res = await t.app.request(`${V4388}/${created.id}`, jsonInit('PUT', { sequence_token: token, data: 'same' }))
      token = ((await res.json()) as { sequence_token: string }).sequence_token
      seen.add(token)
    }
    expect(seen.size).toBe(5)
  })

  it('refuses a stale token with 409 IO_ELEMENT_MSC4388_CONCURRENT_WRITE and changes nothing (§8.1)', async () => {
    const t = makeApp()
    const created = await createJson(t)
    await t.app.request(`${V4388}/${created.id}`, jsonInit('PUT', { sequence_token: created.sequence_token, data: 'a' }))
    const stale = await t.app.request(`${V4388}/${created.id}`, jsonInit('PUT', { sequence_token: created.sequence_token, data: 'b' }))
    expect(stale.status).toBe(409)
    expect(await stale.json()).toMatchObject({ errcode: 'IO_ELEMENT_MSC4388_CONCURRENT_WRITE' })
    const read = (await (await t.app.request(`${V4388}/${created.id}`)).json()) as { data: string }
    expect(read.data).toBe('a')
  })

  it('treats a retried identical PUT as success with the current token, advancing nothing (§8.6)', async () => {
    const t = makeApp()
    const created = await createJson(t)
    const path = `${V4388}/${created.id}`
    const first = (await (await t.app.request(path, jsonInit('PUT', { sequence_token: created.sequence_token, data: 'msg' }))).json()) as {
      sequence_token: string
    }
    const retry = await t.app.request(path, jsonInit('PUT', { sequence_token: created.sequence_token, data: 'msg' }))
    expect(retry.status).toBe(200)
    expect(await retry.json()).toEqual({ sequence_token: first.sequence_token })
    const read = (await (await t.app.request(path)).json()) as { sequence_token: string }
    expect(read.sequence_token).toBe(first.sequence_token)
  })

  it('lets exactly one of 20 concurrent PUTs with the same token win', async () => {
    const t = makeApp()
    const created = await createJson(t)
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.app.request(`${V4388}/${created.id}`, jsonInit('PUT', { sequence_token: created.sequence_token, data: `w${i}` })),
      ),
    )
    expect(results.filter((r) => r.status === 200)).toHaveLength(1)
    expect(results.filter((r) => r.status === 409)).toHaveLength(19)
  })

  it.each([
    ['navigate mode', { 'Sec-Fetch-Mode': 'navigate' }],
    ['a document destination', { 'Sec-Fetch-Dest': 'document' }],
    ['an image destination', { 'Sec-Fetch-Dest': 'image' }],
    ['a user activation', { 'Sec-Fetch-User': '?1' }],
    ['a typed URL', { 'Sec-Fetch-Site': 'none' }],
  ])('refuses a read by top-level navigation (%s) with 403 (§8.13)', async (_, headers) => {
    const t = makeApp()
    const created = await createJson(t, V4388, 'secret')
    const res = await t.app.request(`${V4388}/${created.id}`, { headers })
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({ errcode: 'M_FORBIDDEN' })
  })

  it('serves a script fetch (Sec-Fetch-Mode cors, Dest empty)', async () => {
    const t = makeApp()
    const created = await createJson(t)
    const res = await t.app.request(`${V4388}/${created.id}`, {
      headers: { 'Sec-Fetch-Mode': 'cors', 'Sec-Fetch-Dest': 'empty', 'Sec-Fetch-Site': 'cross-site' },
    })
    expect(res.status).toBe(200)
  })

  it('deletes with 200 {}, then 404 M_NOT_FOUND for read, write and delete (§8.8)', async () => {
    const t = makeApp()
    const created = await createJson(t)
    const path = `${V4388}/${created.id}`
    const res = await t.app.request(path, { method: 'DELETE' })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({})
    for (const init of [{}, { method: 'DELETE' }, jsonInit('PUT', { sequence_token: created.sequence_token, data: 'x' })]) {
      const after = await t.app.request(path, init)
      expect(after.status).toBe(404)
      expect(await after.json()).toMatchObject({ errcode: 'M_NOT_FOUND' })
    }
  })

  it('expires after the TTL, whatever the sweeper does (§8.7)', async () => {
    const t = makeApp({ env: { QRELAY_MSC4388_TTL_SECONDS: '300' } })
    const created = await createJson(t)
    expect(created.expires_in_ms).toBe(300_000)
    t.clock.advance(300_000)
    expect((await t.app.request(`${V4388}/${created.id}`)).status).toBe(404)
  })

  it('counts the data limit in UTF-8 bytes (§8.9)', async () => {
    const t = makeApp()
    expect((await t.app.request(V4388, jsonInit('POST', { data: '€'.repeat(1365) + 'a' }))).status).toBe(200)
    const over = await t.app.request(V4388, jsonInit('POST', { data: '€'.repeat(1365) + 'ab' }))
    expect(over.status).toBe(413)
    expect(await over.json()).toMatchObject({ errcode: 'M_TOO_LARGE' })
  })

  it('passes a realistic 4.0 KB base64 ciphertext', async () => {
    const t = makeApp()
    const ciphertext = Buffer.from(new Uint8Array(3000).map((_, i) => i * 7)).toString('base64') // 4000 chars
    const created = await createJson(t, V4388, ciphertext)
    const read = (await (await t.app.request(`${V4388}/${created.id}`)).json()) as { data: string }
    expect(read.data).toBe(ciphertext)
  })

  it.each([
    ['not JSON', textInit('POST', '{"data":'), 'M_NOT_JSON'],
    ['a JSON array', jsonInit('POST', ['data']), 'M_NOT_JSON'],
    ['the wrong Content-Type', textInit('POST', '{"data":""}'), 'M_NOT_JSON'],
    ['no data', jsonInit('POST', {}), 'M_MISSING_PARAM'],
    ['data that is not a string', jsonInit('POST', { data: 5 }), 'M_INVALID_PARAM'],
  ])('refuses a create with %s (400) and creates nothing', async (_, init, errcode) => {
    const t = makeApp()
    const res = await t.app.request(V4388, init)
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ errcode })
    expect(await t.store.channels.liveCount()).toBe(0)
  })

  it('refuses a PUT without a sequence_token (400) and changes nothing', async () => {
    const t = makeApp()
    const created = await createJson(t, V4388, 'kept')
    const res = await t.app.request(`${V4388}/${created.id}`, jsonInit('PUT', { data: 'x' }))
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ errcode: 'M_MISSING_PARAM' })
    expect(((await (await t.app.request(`${V4388}/${created.id}`)).json()) as { data: string }).data).toBe('kept')
  })
})
