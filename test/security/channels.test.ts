/**
 * Regression tests of the channel findings of the hardening review (SECURITY.md: 4, 5, 6, 8, 9):
 * proximity on one ASN, outsiders spending a channel's allowance, mismatch strikes, made-up channel
 * ids, and the live-channel cap.
 */
import { describe, expect, it } from 'vitest'
import { memoryStore, type MemoryStore } from '../../src/adapters/storage/memory.ts'
import { madeUpIds } from '../helpers/made-up-ids.ts'
import { createChannel, type ChannelRecord } from '../../src/core/rendezvous/channel.ts'
import type { NetworkFacts, NetworkLocator } from '../../src/ports.ts'
import { call, login, viaApp, type Send } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp, type TestApp } from '../helpers/make-app.ts'
import { bindingOf, decide, requestGrant } from '../helpers/qr-login.ts'
import { create2024, createJson, jsonInit, NATIVE, textInit, V2024, V4388 } from '../helpers/rendezvous-requests.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const APPROVER = '198.51.100.20'
const NEW_DEVICE = '203.0.113.5'
const BINDING = bindingOf('Q')
const SEATTLE = { latitude: 47.61, longitude: -122.33 }
const NEW_YORK = { latitude: 40.71, longitude: -74.01 }
const BERLIN = { latitude: 52.52, longitude: 13.405 }
const POTSDAM = { latitude: 52.39, longitude: 13.065 }
/** One national carrier. */
const CARRIER = 7922

/** The approval's answer when the approver is at `approver` and the new device at `newDevice`. */
const approve = async (approver: NetworkFacts, newDevice: NetworkFacts, env: Record<string, string> = {}) => {
  const facts: Record<string, NetworkFacts> = { [APPROVER]: approver, [NEW_DEVICE]: newDevice }
  const locator: NetworkLocator = { locate: (ip) => facts[ip] ?? {} }
  const t: TestApp = makeApp({
    env: { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0', ...env },
    clock: fakeClock(Date.UTC(2026, 10, 22)),
    locator,
  })
  const send: Send = viaApp(t.app, APPROVER)
  expect((await call(send, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
  const { access_token: token } = await login(send, 'alice', PASSWORD)
  const holder = await dpopHolder()
  const { codes } = await requestGrant(viaApp(t.app, NEW_DEVICE), holder, t.clock.now(), { channel_binding: BINDING })
  return decide(send, token, codes.user_code, { decision: 'approve', channel_binding: BINDING, dpop_jkt: holder.jkt })
}

describe('finding 4: a shared ASN never beats distance', () => {
  it('finding 4: Seattle and New York on one ASN are not approved without a step-up (far: denied by default)', async () => {
    const denied = await approve({ asn: CARRIER, geo: SEATTLE }, { asn: CARRIER, geo: NEW_YORK })
    expect(denied).toMatchObject({ status: 403, body: { reason: 'far_away' } })
    const stepped = await approve({ asn: CARRIER, geo: SEATTLE }, { asn: CARRIER, geo: NEW_YORK }, { QRELAY_POLICY_FAR_ACTION: 'step_up' })
    expect(stepped.status).toBe(401)
    expect(stepped.body.flows).toEqual([{ stages: ['m.login.password'] }])
  })

  it('finding 4: an ASN match without coordinates asks for a step-up', async () => {
    const res = await approve({ asn: CARRIER }, { asn: CARRIER })
    expect(res.status).toBe(401)
  })

  it('finding 4: Berlin and Potsdam are nearby and approved, on one ASN or two', async () => {
    expect(await approve({ asn: CARRIER, geo: BERLIN }, { asn: CARRIER, geo: POTSDAM })).toMatchObject({
      status: 200,
      body: { status: 'approved' },
    })
    expect(await approve({ asn: 3320, geo: BERLIN }, { asn: 6805, geo: POTSDAM })).toMatchObject({
      status: 200,
      body: { status: 'approved' },
    })
  })
})

describe('finding 9: a refused create at the cap costs O(1) in the memory store', () => {
  it('finding 9: 2 000 refused creates at a cap of 5 000 never walk the live channels', async () => {
    const clock = fakeClock(Date.UTC(2026, 10, 22))
    const store = memoryStore({ clock, sweepIntervalMs: 0 })
    let reads = 0
    /** A record whose expiry counts how often anybody looks at it. */
    const watched = (n: number): ChannelRecord => {
      const record = createChannel({ id: `cap-${n}`, api: 'msc4388', data: '', now: clock.now(), ttlMs: 120_000 })
      const expiresAtMs = record.expiresAtMs
      return Object.defineProperty({ ...record }, 'expiresAtMs', {
        enumerable: true,
        get: () => {
          reads++
          return expiresAtMs
        },
      })
    }
    for (let n = 0; n < 5000; n++) expect(await store.channels.create(watched(n), 5000)).toBe('ok')
    reads = 0
    for (let n = 0; n < 2000; n++) {
      expect(await store.channels.create(watched(10_000 + n), 5000)).toBe('capacity')
    }
    // Each refused create may look at its own record and the next expiry, never at the 5 000 live ones.
    expect(reads).toBeLessThan(2000 * 4)
    expect(await store.channels.liveCount()).toBe(5000)
  })
})

const bearer = (secret: string): Record<string, string> => ({ Authorization: `Bearer ${secret}` })
const CREATOR = '192.0.2.1'
const JOINER = '198.51.100.20'
const OUTSIDER = '203.0.113.66'
const peer = (address: string, headers: Record<string, string> = {}): Record<string, string> => ({ 'x-test-peer': address, ...headers })

/** A native channel its joiner has claimed: the path and both secrets. */
const openedNative = async (t: TestApp) => {
  const created = await createJson(t, NATIVE, 'offer', peer(CREATOR))
  const claim = await t.app.request(`${NATIVE}/${created.id}`, { headers: peer(JOINER) })
  expect(claim.status).toBe(200)
  const { joiner_secret: joiner } = (await claim.json()) as { joiner_secret: string }
  return { path: `${NATIVE}/${created.id}`, creator: created.creator_secret as string, joiner }
}

describe("finding 5: an outsider cannot spend a channel's allowance", () => {
  it('finding 5: 60 DELETEs and 300 GETs without a secret on a native channel do not make the parties wait', async () => {
    const t = makeApp()
    const { path, creator, joiner } = await openedNative(t)
    const deletes: number[] = []
    for (let i = 0; i < 60; i++) deletes.push((await t.app.request(path, { method: 'DELETE', headers: peer(OUTSIDER) })).status)
    const reads: number[] = []
    for (let i = 0; i < 300; i++) reads.push((await t.app.request(path, { headers: peer(OUTSIDER) })).status)
    // The outsider is refused, then shut out under its own key.
    expect(new Set(deletes)).toEqual(new Set([401, 429]))
    expect(reads.every((status) => status === 429)).toBe(true)
    const read = await t.app.request(path, { headers: peer(JOINER, bearer(joiner)) })
    expect(read.status).toBe(200)
    const { sequence_token } = (await read.json()) as { sequence_token: string }
    const put = await t.app.request(path, jsonInit('PUT', { sequence_token, data: 'answer' }, peer(CREATOR, bearer(creator))))
    expect(put.status).toBe(200)
    expect((await t.app.request(path, { method: 'DELETE', headers: peer(CREATOR, bearer(creator)) })).status).toBe(200)
  })

  it("finding 5: an outsider flooding an MSC4388 channel spends its own allowance, not the parties'", async () => {
    const t = makeApp({ env: { QRELAY_RATE_READS_PER_CHANNEL: '30/60s', QRELAY_RATE_WRITES_PER_CHANNEL: '10/60s' } })
    const created = await createJson(t, V4388, 'offer', peer(CREATOR))
    const path = `${V4388}/${created.id}`
    const statuses: number[] = []
    for (let i = 0; i < 40; i++) statuses.push((await t.app.request(path, { headers: peer(OUTSIDER) })).status)
    for (let i = 0; i < 12; i++)
      statuses.push((await t.app.request(path, jsonInit('PUT', { sequence_token: 'stale', data: 'x' }, peer(OUTSIDER)))).status)
    expect(statuses).toContain(429)
    const read = await t.app.request(path, { headers: peer(JOINER) })
    expect(read.status).toBe(200)
    const { sequence_token } = (await read.json()) as { sequence_token: string }
    expect((await t.app.request(path, jsonInit('PUT', { sequence_token, data: 'answer' }, peer(JOINER)))).status).toBe(200)
    expect((await t.app.request(path, { headers: peer(CREATOR) })).status).toBe(200)
  })

  it('finding 5: the same holds for MSC4108 sessions (per session and client)', async () => {
    const t = makeApp({ env: { QRELAY_RATE_READS_PER_CHANNEL: '30/60s' } })
    const { path } = await create2024(t, 'offer', peer(CREATOR))
    for (let i = 0; i < 40; i++) await t.app.request(path, { headers: peer(OUTSIDER) })
    expect((await t.app.request(path, { headers: peer(OUTSIDER) })).status).toBe(429)
    expect((await t.app.request(path, { headers: peer(JOINER) })).status).toBe(200)
    expect((await t.app.request(path, textInit('PUT', 'x', peer(CREATOR, { 'If-Match': '"nope"' })))).status).not.toBe(429)
  })
})

describe("finding 6: a mismatch strike is not one party's to inflict on the other", () => {
  it("finding 6: a creator aborting with check_code_mismatch five times does not get the joiner's network blocked", async () => {
    const t = makeApp({ abuse: true })
    for (let i = 0; i < 5; i++) {
      const { path, creator } = await openedNative(t)
      const res = await t.app.request(`${path}/abort`, jsonInit('POST', { reason: 'check_code_mismatch' }, peer(CREATOR, bearer(creator))))
      expect(res.status).toBe(200)
    }
    // One strike from one reporter, whatever the number of aborts.
    expect(await t.store.counters.read(`strike:mismatch:${JOINER}`)).toBe(1)
    const victim = await t.app.request(NATIVE, jsonInit('POST', { data: '' }, peer(JOINER)))
    expect(victim.status).toBe(200)
    // The reporter's own aborts count against itself.
    expect(await t.abuse?.isDenied(CREATOR)).toBeTruthy()
  })

  it('finding 6: strikes from distinct reporting networks still add up against the accused', async () => {
    const t = makeApp({ abuse: true })
    for (let i = 0; i < 5; i++) {
      const created = await createJson(t, NATIVE, 'offer', peer(`203.0.${i}.7`))
      const path = `${NATIVE}/${created.id}`
      expect((await t.app.request(path, { headers: peer(JOINER) })).status).toBe(200)
      const res = await t.app.request(
        `${path}/abort`,
        jsonInit('POST', { reason: 'check_code_mismatch' }, peer(`203.0.${i}.7`, bearer(created.creator_secret as string))),
      )
      expect(res.status).toBe(200)
    }
    expect(await t.store.counters.read(`strike:mismatch:${JOINER}`)).toBe(5)
    expect((await t.app.request(NATIVE, jsonInit('POST', { data: '' }, peer(JOINER)))).status).toBe(403)
  })
})

describe('finding 8: a made-up channel id costs no storage', () => {
  it("finding 8: 20 000 requests for made-up ids from one address leave the memory store's counters and channels unchanged", async () => {
    const t = makeApp()
    const store = t.store as MemoryStore
    const live = await createJson(t, V4388, 'offer', peer(CREATOR))
    const before = store.sizes()
    const ids = madeUpIds(20_000)
    const statuses = new Set<number>()
    for (const [i, id] of ids.entries()) {
      const prefix = [V2024, V4388, NATIVE][i % 3] as string
      const method = i % 10 === 9 ? 'DELETE' : 'GET'
      statuses.add((await t.app.request(`${prefix}/${id}`, { method, headers: peer(OUTSIDER) })).status)
    }
    expect([...statuses]).toEqual([404])
    expect(store.sizes()).toEqual(before)
    // The real channel is untouched and still answers.
    expect((await t.app.request(`${V4388}/${live.id}`, { headers: peer(JOINER) })).status).toBe(200)
  }, 120_000)

  it('finding 8: writes and aborts of made-up ids are refused the same way', async () => {
    const t = makeApp()
    const store = t.store as MemoryStore
    const before = store.sizes()
    for (const id of madeUpIds(300)) {
      expect((await t.app.request(`${V4388}/${id}`, jsonInit('PUT', { sequence_token: 'x', data: 'x' }, peer(OUTSIDER)))).status).toBe(404)
      expect((await t.app.request(`${V2024}/${id}`, textInit('PUT', 'x', peer(OUTSIDER, { 'If-Match': '"x"' })))).status).toBe(404)
      expect(
        (
          await t.app.request(
            `${NATIVE}/${id}/abort`,
            jsonInit('POST', { reason: 'user_cancelled' }, peer(OUTSIDER, bearer('A'.repeat(43)))),
          )
        ).status,
      ).toBe(404)
    }
    expect(store.sizes()).toEqual(before)
  })

  it('finding 8: memory counters stay under their cap whatever the number of keys', async () => {
    const clock = fakeClock()
    const store = memoryStore({ clock, sweepIntervalMs: 0, maxCounters: 1000 })
    for (let i = 0; i < 5000; i++) await store.counters.increment(`k${i}`, 60_000)
    expect(store.sizes().counters).toBe(1000)
    // The newest survive, the oldest went.
    expect(await store.counters.read('k4999')).toBe(1)
    expect(await store.counters.read('k0')).toBe(0)
  })
})
