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
    await new Promise((r) => setTimeout(r, 10))
    expect((await lastSeen()).at).toBe((before.at ?? 0) + 120_000)
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
