/**
 * Rate limits and the live-channel cap (protocol.md §8.10): per client (IPv6 per /64), per channel,
 * 429 M_LIMIT_EXCEEDED with retry_after_ms and Retry-After; the cap refuses without evicting.
 */
import { describe, expect, it } from 'vitest'
import { makeApp } from '../../helpers/make-app.ts'
import { create2024, createJson, jsonInit, textInit, V2024, V4388 } from '../../helpers/rendezvous-requests.ts'

describe('rate limits', () => {
  it('limits creation per client address with 429, retry_after_ms and Retry-After', async () => {
    const t = makeApp({ env: { QRELAY_RATE_CREATE_PER_CLIENT: '3/60s' } })
    for (let i = 0; i < 3; i++) expect((await t.app.request(V2024, textInit('POST', ''))).status).toBe(201)
    const refused = await t.app.request(V2024, textInit('POST', ''))
    expect(refused.status).toBe(429)
    const body = (await refused.json()) as { errcode: string; retry_after_ms: number }
    expect(body.errcode).toBe('M_LIMIT_EXCEEDED')
    expect(body.retry_after_ms).toBeGreaterThan(0)
    expect(Number(refused.headers.get('retry-after'))).toBe(Math.ceil(body.retry_after_ms / 1000))
    // Another client is unaffected.
    expect((await t.app.request(V2024, textInit('POST', '', { 'x-test-peer': '198.51.100.9' }))).status).toBe(201)
    // After the advised wait, the first client may create again.
    t.clock.advance(body.retry_after_ms)
    expect((await t.app.request(V2024, textInit('POST', ''))).status).toBe(201)
  })

  it('counts IPv6 clients per /64', async () => {
    const t = makeApp({ env: { QRELAY_RATE_CREATE_PER_CLIENT: '2/60s' } })
    const peers = ['2001:db8:1:2::1', '2001:db8:1:2:ffff::2', '2001:db8:1:2:abcd::3']
    const statuses = []
    for (const peer of peers) statuses.push((await t.app.request(V4388, jsonInit('POST', { data: '' }, { 'x-test-peer': peer }))).status)
    expect(statuses).toEqual([200, 200, 429])
    expect((await t.app.request(V4388, jsonInit('POST', { data: '' }, { 'x-test-peer': '2001:db8:1:3::1' }))).status).toBe(200)
  })

  it('limits reads per channel but leaves a polling client room', async () => {
    const t = makeApp({ env: { QRELAY_RATE_READS_PER_CHANNEL: '120/60s' } })
    const { path } = await create2024(t)
    // Two clients polling once a second for a minute: 120 reads.
    for (let i = 0; i < 60; i++) {
      expect((await t.app.request(path)).status).toBe(200)
      expect((await t.app.request(path)).status).toBe(200)
      t.clock.advance(1000)
    }
    const burst = []
    for (let i = 0; i < 130; i++) burst.push((await t.app.request(path)).status)
    expect(burst).toContain(429)
  })

  it('limits writes per channel', async () => {
    const t = makeApp({ env: { QRELAY_RATE_WRITES_PER_CHANNEL: '5/60s' } })
    const created = await createJson(t)
    let token = created.sequence_token
    const statuses = []
    for (let i = 0; i < 7; i++) {
      const res = await t.app.request(`${V4388}/${created.id}`, jsonInit('PUT', { sequence_token: token, data: `m${i}` }))
      statuses.push(res.status)
      if (res.status === 200) token = ((await res.json()) as { sequence_token: string }).sequence_token
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429])
  })
})

describe('live-channel cap', () => {
  it('refuses new channels at the cap with 429 and never evicts live ones', async () => {
    const t = makeApp({ env: { QRELAY_MAX_LIVE_CHANNELS: '3', QRELAY_RATE_CREATE_PER_CLIENT: '1000/60s' } })
    const live = []
    for (let i = 0; i < 3; i++) live.push(await create2024(t, `victim ${i}`))
    const refused = await t.app.request(V2024, textInit('POST', 'attacker'))
    expect(refused.status).toBe(429)
    expect(await refused.json()).toMatchObject({ errcode: 'M_LIMIT_EXCEEDED', qrelay_code: 'CAPACITY_EXCEEDED' })
    for (const [i, { path }] of live.entries()) expect(await (await t.app.request(path)).text()).toBe(`victim ${i}`)
  })

  it('admits new channels again once old ones expire', async () => {
    const t = makeApp({ env: { QRELAY_MAX_LIVE_CHANNELS: '2', QRELAY_RATE_CREATE_PER_CLIENT: '1000/60s' } })
    await create2024(t)
    await create2024(t)
    expect((await t.app.request(V2024, textInit('POST', ''))).status).toBe(429)
    t.clock.advance(120_000)
    expect((await t.app.request(V2024, textInit('POST', ''))).status).toBe(201)
  })
})
