/**
 * OAuth side of the hardening review: user-code guessing limits that do not punish an office behind
 * one address (17), the device flow for standard clients through `dpop_jkt` (23), and server DPoP
 * nonces (24). Through app.request() with the fake clock and seeded randomness.
 */
import { describe, expect, it } from 'vitest'
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

const setup = (env: Record<string, string> = {}): TestApp =>
  makeApp({ env: { ...ENV, ...env }, clock: fakeClock(Date.UTC(2026, 10, 22)) })

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
