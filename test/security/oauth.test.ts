/**
 * OAuth side of the hardening review: user-code guessing limits that do not punish an office behind
 * one address (17), the device flow for standard clients through `dpop_jkt` (23), and server DPoP
 * nonces (24). Through app.request() with the fake clock and seeded randomness.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config.ts'
import { startNodeServer } from '../../src/runtime/node-server.ts'
import { E2E_ENV, HOME, HOME_TOO, createUser, passwordLogin, qrLogin, whoami } from '../integration/approval/e2e-harness.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp, type TestApp } from '../helpers/make-app.ts'
import { call, login, viaApp } from '../helpers/account-client.ts'
import { dpopHolder, type DpopHolder } from '../helpers/dpop.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const BINDING = 'B'.repeat(43)
const OFFICE = '198.51.100.20'
const BASE = 'https://relay.example'

const ENV: Record<string, string> = {
  ...TEST_ENV,
  QRELAY_APPROVER_MIN_AGE_SECONDS: '0',
  QRELAY_RATE_DEVICE_AUTHORIZATION_PER_CLIENT: '1000/60s',
  QRELAY_ABUSE_ENABLED: 'false',
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString()

const setup = (env: Record<string, string> = {}): TestApp => makeApp({ env: { ...ENV, ...env }, clock: fakeClock(Date.UTC(2026, 10, 22)) })

/** Creates `name` and signs its phone in from `peer`; the phone's access token. */
const signedInUser = async (t: TestApp, name: string, peer = OFFICE): Promise<string> => {
  const send = viaApp(t.app, peer)
  expect((await call(send, 'POST', '/v1/admin/users', { username: name, password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
  return (await login(send, name, PASSWORD)).access_token as string
}

/** A new device's grant, asked for with a DPoP proof from `peer`. */
const newGrant = async (t: TestApp, peer = OFFICE, key?: DpopHolder) => {
  const holder = key ?? (await dpopHolder())
  const res = await t.app.request('/oauth2/device_authorization', {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      dpop: await holder.prove('POST', `${BASE}/oauth2/device_authorization`, t.clock.now()),
      'x-test-peer': peer,
    },
    body: form({ channel_binding: BINDING }),
  })
  expect(res.status).toBe(200)
  return { holder, codes: (await res.json()) as { device_code: string; user_code: string } }
}

describe('finding 17: user-code limits per account first, failed look-ups per address', () => {
  it('finding 17: 30 colleagues behind one address each look up and approve their own code, none gets 429', async () => {
    const t = setup()
    const statuses: number[] = []
    for (let i = 0; i < 30; i++) {
      const token = await signedInUser(t, `colleague${i}`)
      const { holder, codes } = await newGrant(t)
      const send = viaApp(t.app, OFFICE)
      statuses.push((await call(send, 'GET', `/v1/approvals/${codes.user_code}`, undefined, token)).status)
      const decided = await call(
        send,
        'POST',
        `/v1/approvals/${codes.user_code}`,
        { decision: 'approve', channel_binding: BINDING, dpop_jkt: holder.jkt },
        token,
      )
      statuses.push(decided.status)
      expect(decided.body).toMatchObject({ status: 'approved' })
    }
    expect(statuses.filter((s) => s !== 200)).toEqual([])
  })

  it('finding 17: one account guessing codes is stopped by the per-account rule', async () => {
    const t = setup()
    const token = await signedInUser(t, 'guesser')
    const send = viaApp(t.app, OFFICE)
    const statuses: number[] = []
    for (let i = 0; i < 12; i++) statuses.push((await call(send, 'GET', '/v1/approvals/BCDFG-HJKLM', undefined, token)).status)
    expect(statuses).toEqual([...Array(10).fill(404), 429, 429])
  })

  it('finding 17: many accounts guessing from one address are stopped, and then even a valid code is refused there', async () => {
    const t = setup({ QRELAY_RATE_USER_CODE_PER_CLIENT: '5/300s' })
    const tokens = [await signedInUser(t, 'g1'), await signedInUser(t, 'g2'), await signedInUser(t, 'g3')]
    const send = viaApp(t.app, OFFICE)
    const statuses: number[] = []
    for (let i = 0; i < 7; i++) statuses.push((await call(send, 'GET', '/v1/approvals/BCDFG-HJKLM', undefined, tokens[i % 3])).status)
    expect(statuses).toEqual([404, 404, 404, 404, 404, 429, 429])
    // Blocked: a hit and a miss look alike from this address.
    const { codes } = await newGrant(t)
    expect((await call(send, 'GET', `/v1/approvals/${codes.user_code}`, undefined, tokens[0])).status).toBe(429)
    // Another address is not blocked.
    const elsewhere = viaApp(t.app, '203.0.113.9')
    expect((await call(elsewhere, 'GET', `/v1/approvals/${codes.user_code}`, undefined, tokens[1])).status).toBe(200)
  })
})

/** `POST /oauth2/device_authorization` with the given fields and optional proof. */
const askGrant = (t: TestApp, fields: Record<string, string>, proof?: string) =>
  t.app.request('/oauth2/device_authorization', {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-test-peer': OFFICE,
      ...(proof === undefined ? {} : { dpop: proof }),
    },
    body: form(fields),
  })

/** One device-code poll with `proof`. */
const poll = (t: TestApp, deviceCode: string, proof: string) =>
  t.app.request('/oauth2/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-test-peer': OFFICE, dpop: proof },
    body: form({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: deviceCode }),
  })

const approve = async (t: TestApp, token: string, userCode: string, jkt: string) =>
  call(viaApp(t.app, OFFICE), 'POST', `/v1/approvals/${userCode}`, { decision: 'approve', channel_binding: BINDING, dpop_jkt: jkt }, token)

describe('finding 17 (sibling): the token endpoint does not make one office share one allowance', () => {
  it('finding 17: 30 new devices behind one address polling every 5 s for a minute never get 429 (default rates)', async () => {
    const t = makeApp({ env: { ...TEST_ENV }, clock: fakeClock(Date.UTC(2026, 10, 22)) })
    const grants = []
    for (let i = 0; i < 30; i++) grants.push(await newGrant(t))
    const url = `${BASE}/oauth2/token`
    const statuses = new Map<number, number>()
    for (let round = 0; round < 13; round++) {
      t.clock.advance(5_000)
      for (const { holder, codes } of grants) {
        const res = await poll(t, codes.device_code, await holder.prove('POST', url, t.clock.now()))
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
      }
    }
    expect([...statuses.keys()]).toEqual([400]) // authorization_pending, never 429
  })
})

describe('finding 23: standard clients start the device flow with dpop_jkt', () => {
  it('finding 23: a grant asked for with dpop_jkt and no proof is bound to that key; only a proof by it redeems', async () => {
    const t = setup()
    const token = await signedInUser(t, 'alice')
    const holder = await dpopHolder()
    const thief = await dpopHolder()
    const res = await askGrant(t, { client_id: 'stock-client', channel_binding: BINDING, dpop_jkt: holder.jkt })
    expect(res.status).toBe(200)
    const codes = (await res.json()) as { device_code: string; user_code: string }
    expect((await approve(t, token, codes.user_code, holder.jkt)).body).toMatchObject({ status: 'approved' })
    const url = `${BASE}/oauth2/token`
    const stolen = await poll(t, codes.device_code, await thief.prove('POST', url, t.clock.now()))
    expect(stolen.status).toBe(400)
    const redeemed = await poll(t, codes.device_code, await holder.prove('POST', url, t.clock.now()))
    expect(redeemed.status).toBe(200)
    expect(await redeemed.json()).toMatchObject({ token_type: 'DPoP' })
  })

  it('finding 23: a proof and a dpop_jkt naming different keys, a malformed dpop_jkt, and neither are refused', async () => {
    const t = setup()
    const holder = await dpopHolder()
    const other = await dpopHolder()
    const url = `${BASE}/oauth2/device_authorization`
    const mismatched = await askGrant(t, { channel_binding: BINDING, dpop_jkt: other.jkt }, await holder.prove('POST', url, t.clock.now()))
    expect(mismatched.status).toBe(400)
    expect(await mismatched.json()).toMatchObject({ error: 'invalid_dpop_proof' })
    const malformed = await askGrant(t, { channel_binding: BINDING, dpop_jkt: 'short' })
    expect(await malformed.json()).toMatchObject({ error: 'invalid_request' })
    const neither = await askGrant(t, { channel_binding: BINDING })
    expect(await neither.json()).toMatchObject({ error: 'invalid_dpop_proof' })
    // A standard client still has to name the channel binding: no unbound grants.
    const unbound = await askGrant(t, { dpop_jkt: holder.jkt })
    expect(await unbound.json()).toMatchObject({ error: 'invalid_request' })
    const matching = await askGrant(t, { channel_binding: BINDING, dpop_jkt: holder.jkt }, await holder.prove('POST', url, t.clock.now()))
    expect(matching.status).toBe(200)
  })

  it('finding 23: the metadata advertises the DPoP algorithms and dpop_jkt at device authorization', async () => {
    const t = setup()
    const body = (await (await t.app.request('/.well-known/oauth-authorization-server')).json()) as Record<string, unknown>
    expect(body).toMatchObject({
      device_authorization_endpoint: `${BASE}/oauth2/device_authorization`,
      dpop_signing_alg_values_supported: ['ES256', 'EdDSA'],
      device_authorization_dpop_jkt_supported: true,
    })
  })
})

describe('finding 24: server DPoP nonces (QRELAY_DPOP_NONCE)', () => {
  const approvedGrant = async (t: TestApp) => {
    const token = await signedInUser(t, 'alice')
    const holder = await dpopHolder()
    const res = await askGrant(t, { channel_binding: BINDING, dpop_jkt: holder.jkt })
    expect(res.status).toBe(200)
    const codes = (await res.json()) as { device_code: string; user_code: string }
    expect((await approve(t, token, codes.user_code, holder.jkt)).status).toBe(200)
    return { holder, codes }
  }
  const url = `${BASE}/oauth2/token`

  it('finding 24: the token endpoint answers use_dpop_nonce with a DPoP-Nonce, and the retry with it succeeds', async () => {
    const t = setup({ QRELAY_DPOP_NONCE: 'true' })
    const { holder, codes } = await approvedGrant(t)
    const first = await poll(t, codes.device_code, await holder.prove('POST', url, t.clock.now()))
    expect(first.status).toBe(400)
    expect(await first.json()).toMatchObject({ error: 'use_dpop_nonce' })
    const nonce = first.headers.get('dpop-nonce')
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{20,}$/)
    const wrong = await poll(t, codes.device_code, await holder.prove('POST', url, t.clock.now(), { nonce: 'not-the-nonce' }))
    expect(await wrong.json()).toMatchObject({ error: 'use_dpop_nonce' })
    const retried = await poll(t, codes.device_code, await holder.prove('POST', url, t.clock.now(), { nonce: nonce! }))
    expect(retried.status).toBe(200)
    const tokens = (await retried.json()) as { refresh_token: string }
    expect(retried.headers.get('dpop-nonce')).toBe(nonce)
    // The refresh grant demands it too.
    const refresh = (proof: string) =>
      t.app.request('/oauth2/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: proof },
        body: form({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }),
      })
    expect(await (await refresh(await holder.prove('POST', url, t.clock.now()))).json()).toMatchObject({ error: 'use_dpop_nonce' })
    expect((await refresh(await holder.prove('POST', url, t.clock.now(), { nonce: nonce! }))).status).toBe(200)
  })

  it('finding 24: a nonce of the previous window still works, an older one does not', async () => {
    const t = setup({ QRELAY_DPOP_NONCE: 'true' })
    const { holder, codes } = await approvedGrant(t)
    const nonce = (await poll(t, codes.device_code, await holder.prove('POST', url, t.clock.now()))).headers.get('dpop-nonce')!
    t.clock.advance(10 * 60 * 1000 + 1)
    const stale = await poll(t, codes.device_code, await holder.prove('POST', url, t.clock.now(), { nonce }))
    expect(await stale.json()).toMatchObject({ error: 'use_dpop_nonce' })
    const fresh = stale.headers.get('dpop-nonce')!
    expect(fresh).not.toBe(nonce)
    t.clock.advance(5 * 60 * 1000)
    // The grant has expired meanwhile, but the nonce was accepted: the answer is about the grant.
    const previous = await poll(t, codes.device_code, await holder.prove('POST', url, t.clock.now(), { nonce: fresh }))
    expect(((await previous.json()) as { error: string }).error).not.toBe('use_dpop_nonce')
  })

  it('finding 24: device authorization demands the nonce of a proof, not of a dpop_jkt', async () => {
    const t = setup({ QRELAY_DPOP_NONCE: 'true' })
    const holder = await dpopHolder()
    const at = `${BASE}/oauth2/device_authorization`
    const first = await askGrant(t, { channel_binding: BINDING }, await holder.prove('POST', at, t.clock.now()))
    expect(await first.json()).toMatchObject({ error: 'use_dpop_nonce' })
    const nonce = first.headers.get('dpop-nonce')!
    expect((await askGrant(t, { channel_binding: BINDING }, await holder.prove('POST', at, t.clock.now(), { nonce }))).status).toBe(200)
    expect((await askGrant(t, { channel_binding: BINDING, dpop_jkt: holder.jkt })).status).toBe(200)
  })

  it('finding 24: nonces on Redis (several processes) need the shared key they are derived from', () => {
    const redis = { QRELAY_STORE: 'redis', QRELAY_REDIS_URL: 'redis://127.0.0.1:6379', QRELAY_DPOP_NONCE: 'true' }
    expect(() => parseConfig(redis)).toThrow(/QRELAY_UIA_KEY is required when QRELAY_DPOP_NONCE/)
    expect(parseConfig({ ...redis, QRELAY_UIA_KEY: 'ab'.repeat(32) }).oauth.dpopNonce).toBe(true)
  })

  it('finding 24: off by default: no DPoP-Nonce header and proofs without a nonce pass', async () => {
    const t = setup()
    const { holder, codes } = await approvedGrant(t)
    const res = await poll(t, codes.device_code, await holder.prove('POST', url, t.clock.now()))
    expect(res.status).toBe(200)
    expect(res.headers.get('dpop-nonce')).toBeNull()
  })
})

describe('finding 24: the qrelay SDK follows server nonces', () => {
  it('finding 24: signIn, authorizedFetch and refresh work against a server demanding DPoP nonces', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'qrelay-nonce-'))
    const server = await startNodeServer(parseConfig({ ...E2E_ENV, QRELAY_PORT: '0', QRELAY_DATA_DIR: dataDir, QRELAY_DPOP_NONCE: 'true' }))
    try {
      const phone = { baseUrl: server.url, peer: HOME }
      await createUser(phone, 'alice')
      const accessToken = await passwordLogin(phone, 'alice')
      const outcome = await qrLogin({ intent: 'new shows', newAt: { baseUrl: server.url, peer: HOME_TOO }, existingAt: phone, accessToken })
      if (outcome.session instanceof Error) throw outcome.session
      expect((await whoami(outcome.session)).status).toBe(200)
      const before = outcome.session.refreshToken
      await outcome.session.refresh()
      expect(outcome.session.refreshToken).not.toBe(before)
    } finally {
      await server.stop()
      await rm(dataDir, { recursive: true, force: true })
    }
  })
})
