/**
 * Counterexamples the fuzzer found (test/fuzz), shrunk and pinned: each `it` names the invariant it
 * broke and the request that broke it.
 */
import { describe, expect, it } from 'vitest'
import { call, login, viaApp } from '../helpers/account-client.ts'
import { makeApp } from '../helpers/make-app.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import { bindingOf, callWithDpop, decide, pollToken, requestGrant } from '../helpers/qr-login.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'
import { createJson, jsonInit, NATIVE } from '../helpers/rendezvous-requests.ts'

const PASSWORD = 'correct horse battery staple'

const signedIn = async () => {
  const t = makeApp({ env: TEST_ENV })
  const send = viaApp(t.app)
  const created = await call(send, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
  expect(created.status).toBe(201)
  const tokens = await login(send, 'alice', PASSWORD)
  const accountId = created.body.account_id as string
  const deviceId = tokens.device_id as string
  const lastSeen = async () => {
    const device = await t.durable.devices.get(accountId, deviceId)
    return { at: device?.lastSeenAtMs, network: device?.lastSeenNetwork }
  }
  return { t, send, token: tokens.access_token as string, lastSeen }
}

describe('fuzz counterexamples', () => {
  it('state change on a 4xx: `Authorization: DPoP <bearer-only token>` (401 INVALID_TOKEN) updated the device last-seen', async () => {
    const { t, send, token, lastSeen } = await signedIn()
    const before = await lastSeen()
    t.clock.advance(120_000)
    const res = await send('/v1/approvals/ABCD%20EFGH', {
      method: 'GET',
      headers: { authorization: `DPoP ${token}`, 'x-test-peer': '203.0.113.9' },
    })
    expect(res.status).toBe(401)
    expect(((await res.json()) as { qrelay_code: string }).qrelay_code).toBe('INVALID_TOKEN')
    expect(await lastSeen()).toEqual(before)
  })

  it('state change on a 4xx: a DPoP scheme with a proof by another key (401 INVALID_DPOP_PROOF) leaves last-seen alone', async () => {
    const { t, send, token, lastSeen } = await signedIn()
    const before = await lastSeen()
    t.clock.advance(120_000)
    const holder = await dpopHolder()
    const proof = await holder.prove('GET', 'https://relay.example/v1/account/whoami', t.clock.now(), { accessToken: token })
    const res = await send('/v1/account/whoami', {
      method: 'GET',
      headers: { authorization: `DPoP ${token}`, dpop: proof, 'x-test-peer': '203.0.113.9' },
    })
    expect(res.status).toBe(401)
    expect(await lastSeen()).toEqual(before)
  })

  it('an accepted request still records last-seen (the sighting moved, not lost)', async () => {
    const { t, send, token, lastSeen } = await signedIn()
    const before = await lastSeen()
    t.clock.advance(120_000)
    expect((await call(send, 'GET', '/v1/account/whoami', undefined, token)).status).toBe(200)
    // The request does not await the last-seen write: poll for it (bounded), a fixed sleep flakes under load.
    await expect.poll(async () => (await lastSeen()).at, { timeout: 5_000, interval: 10 }).toBe((before.at ?? 0) + 120_000)
  })

  it('state change on a 4xx (F5): a native PUT without a secret and with a stale token (409) claimed the channel first', async () => {
    const t = makeApp()
    const created = await createJson(t, NATIVE, 'offer')
    const path = `${NATIVE}/${created.id}`
    const before = await t.store.channels.get(created.id)
    const res = await t.app.request(path, jsonInit('PUT', { sequence_token: 'stale', data: 'x' }))
    expect(res.status).toBe(409)
    expect(((await res.json()) as { qrelay_code: string }).qrelay_code).toBe('CONCURRENT_WRITE')
    expect(await t.store.channels.get(created.id)).toEqual(before)
    // The one real joiner can still claim it.
    const claim = await t.app.request(path, { headers: { 'x-test-peer': '198.51.100.20' } })
    expect(claim.status).toBe(200)
    expect(((await claim.json()) as { joiner_secret?: string }).joiner_secret).toBeDefined()
  })

  it('a claiming PUT stores the claim and the data in one compare-and-swap; a retry of it (stale token, same data) still claims', async () => {
    const t = makeApp()
    const created = await createJson(t, NATIVE, 'offer')
    const path = `${NATIVE}/${created.id}`
    const put = await t.app.request(path, jsonInit('PUT', { sequence_token: created.sequence_token, data: 'answer' }))
    expect(put.status).toBe(200)
    const stored = await t.store.channels.get(created.id)
    expect(stored).toMatchObject({ data: 'answer', version: 1, rev: 2 })
    expect(stored?.joinerSecretHash).toBeDefined()

    const other = await createJson(t, NATIVE, 'same')
    // MSC4388 idempotent retry: the token is stale but the payload is already the one sent.
    const retry = await t.app.request(`${NATIVE}/${other.id}`, jsonInit('PUT', { sequence_token: 'stale', data: 'same' }))
    expect(retry.status).toBe(200)
    expect(((await retry.json()) as { joiner_secret?: string }).joiner_secret).toBeDefined()
    expect(await t.store.channels.get(other.id)).toMatchObject({ data: 'same', version: 0, rev: 1 })
  })
})

describe('counterexamples of the secrets scenario (test/integration/secrets)', () => {
  it('a DPoP-bound session lists its devices: GET /v1/devices ran the token check twice and refused its own proof as a replay', async () => {
    const t = makeApp({ env: { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0' } })
    const send = viaApp(t.app)
    expect((await call(send, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
    const tokens = await login(send, 'alice', PASSWORD)
    const holder = await dpopHolder()
    const binding = bindingOf('C')
    const grant = await requestGrant(send, holder, t.clock.now(), { channel_binding: binding })
    expect(grant.status).toBe(200)
    const approved = await decide(send, tokens.access_token as string, grant.codes.user_code, {
      decision: 'approve',
      channel_binding: binding,
      dpop_jkt: holder.jkt,
    })
    expect(approved.status, JSON.stringify(approved.body)).toBe(200)
    const minted = await pollToken(send, holder, t.clock.now(), grant.codes.device_code)
    expect(minted.status, JSON.stringify(minted.body)).toBe(200)
    const devices = await callWithDpop(send, holder, t.clock.now(), 'GET', '/v1/devices', minted.body.access_token as string)
    expect(devices.status, JSON.stringify(devices.body)).toBe(200)
  })
})
