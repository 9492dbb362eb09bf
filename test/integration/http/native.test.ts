/**
 * The native two-party channels: MSC4388 semantics plus the claim rule and abort (DESIGN.md, "The
 * server's part in the channel", point 3).
 */
import { describe, expect, it } from 'vitest'
import { makeApp, type TestApp } from '../../helpers/make-app.ts'
import { createJson, jsonInit, NATIVE } from '../../helpers/rendezvous-requests.ts'

const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` })

const opened = async (t: TestApp) => {
  const created = await createJson(t, NATIVE, 'offer')
  const claim = await t.app.request(`${NATIVE}/${created.id}`, { headers: { 'x-test-peer': '198.51.100.20' } })
  const joined = (await claim.json()) as { data: string; sequence_token: string; joiner_secret: string }
  return { created, joined, path: `${NATIVE}/${created.id}`, creator: created.creator_secret as string }
}

describe('native rendezvous', () => {
  it('gives the creator a secret at creation', async () => {
    const t = makeApp()
    const created = await createJson(t, NATIVE)
    expect(created.creator_secret).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  it('lets the first other reader claim the channel and hands it a joiner secret once', async () => {
    const t = makeApp()
    const { joined, path, creator } = await opened(t)
    expect(joined.data).toBe('offer')
    expect(joined.joiner_secret).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const again = await t.app.request(path, { headers: bearer(joined.joiner_secret) })
    expect(again.status).toBe(200)
    expect(await again.json()).not.toHaveProperty('joiner_secret')
    expect((await t.app.request(path, { headers: bearer(creator) })).status).toBe(200)
  })

  it('refuses a third party with 403 and counts it, then shuts it out with 429', async () => {
    const t = makeApp({ env: { QRELAY_RATE_REFUSED_PER_CLIENT: '3/600s' } })
    const { path } = await opened(t)
    const statuses: number[] = []
    for (let i = 0; i < 5; i++) {
      const res = await t.app.request(path, { headers: { 'x-test-peer': '203.0.113.66' } })
      statuses.push(res.status)
      const body = (await res.json()) as { errcode: string }
      expect(body.errcode).toBe(res.status === 403 ? 'M_FORBIDDEN' : 'M_LIMIT_EXCEEDED')
    }
    expect(statuses).toEqual([403, 403, 403, 429, 429])
  })

  it('refuses a wrong secret like a third party', async () => {
    const t = makeApp()
    const { path } = await opened(t)
    const res = await t.app.request(path, { headers: bearer('A'.repeat(43)) })
    expect(res.status).toBe(403)
  })

  it('lets exactly one of many concurrent first readers claim', async () => {
    const t = makeApp()
    const created = await createJson(t, NATIVE)
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => t.app.request(`${NATIVE}/${created.id}`, { headers: { 'x-test-peer': `198.51.100.${i + 1}` } })),
    )
    expect(results.filter((r) => r.status === 200)).toHaveLength(1)
    expect(results.filter((r) => r.status === 403)).toHaveLength(9)
  })

  it('lets a first writer claim too, and relays between the two parties', async () => {
    const t = makeApp()
    const created = await createJson(t, NATIVE, 'offer')
    const path = `${NATIVE}/${created.id}`
    const put = await t.app.request(path, jsonInit('PUT', { sequence_token: created.sequence_token, data: 'answer' }))
    expect(put.status).toBe(200)
    const { sequence_token, joiner_secret } = (await put.json()) as { sequence_token: string; joiner_secret: string }
    expect(joiner_secret).toBeDefined()
    const read = (await (await t.app.request(path, { headers: bearer(created.creator_secret as string) })).json()) as {
      data: string
      sequence_token: string
    }
    expect(read).toMatchObject({ data: 'answer', sequence_token })
    const reply = await t.app.request(path, jsonInit('PUT', { sequence_token, data: 'next' }, bearer(created.creator_secret as string)))
    expect(reply.status).toBe(200)
  })

  it('does not let a stale-token writer claim an unclaimed channel without an error', async () => {
    const t = makeApp()
    const created = await createJson(t, NATIVE, 'offer')
    const res = await t.app.request(`${NATIVE}/${created.id}`, jsonInit('PUT', { sequence_token: 'stale', data: 'x' }))
    expect(res.status).toBe(409)
  })

  it('aborts with a party secret: the channel is gone for both and the joiner gets a strike', async () => {
    const t = makeApp()
    const { path, creator, joined } = await opened(t)
    const res = await t.app.request(`${path}/abort`, jsonInit('POST', { reason: 'check_code_mismatch' }, bearer(creator)))
    expect(res.status).toBe(200)
    expect((await t.app.request(path, { headers: bearer(joined.joiner_secret) })).status).toBe(404)
    expect(await t.store.counters.read('strike:mismatch:198.51.100.20')).toBe(1)
  })

  it('refuses abort and delete without a party secret, and keeps the channel', async () => {
    const t = makeApp()
    const { path, creator } = await opened(t)
    const abort = await t.app.request(`${path}/abort`, jsonInit('POST', { reason: 'user_cancelled' }))
    expect(abort.status).toBe(401)
    const del = await t.app.request(path, { method: 'DELETE' })
    expect(del.status).toBe(401)
    expect((await t.app.request(path, { headers: bearer(creator) })).status).toBe(200)
  })

  it('refuses an unknown abort reason with 400', async () => {
    const t = makeApp()
    const { path, creator } = await opened(t)
    const res = await t.app.request(`${path}/abort`, jsonInit('POST', { reason: 'because' }, bearer(creator)))
    expect(res.status).toBe(400)
    expect((await t.app.request(path, { headers: bearer(creator) })).status).toBe(200)
  })

  it('deletes with a party secret', async () => {
    const t = makeApp()
    const { path, joined } = await opened(t)
    expect((await t.app.request(path, { method: 'DELETE', headers: bearer(joined.joiner_secret) })).status).toBe(200)
    expect((await t.app.request(path, { headers: bearer(joined.joiner_secret) })).status).toBe(404)
  })

  it('refuses a malformed Authorization header with 400', async () => {
    const t = makeApp()
    const { path } = await opened(t)
    expect((await t.app.request(path, { headers: { Authorization: 'Basic Zm9vOmJhcg==' } })).status).toBe(400)
  })

  it('does not serve a native channel on the MSC4388 paths (the two-party rule cannot be bypassed)', async () => {
    const t = makeApp()
    const created = await createJson(t, NATIVE)
    expect((await t.app.request(`/_matrix/client/unstable/io.element.msc4388/rendezvous/${created.id}`)).status).toBe(404)
  })

  it('refuses top-level navigation', async () => {
    const t = makeApp()
    const created = await createJson(t, NATIVE)
    expect((await t.app.request(`${NATIVE}/${created.id}`, { headers: { 'Sec-Fetch-Mode': 'navigate' } })).status).toBe(403)
  })
})
