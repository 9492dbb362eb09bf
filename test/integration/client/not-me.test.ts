/** The SDK's `reportNotMe`: a fresh device reports at once; a stale one answers the step-up through the app. */
import { describe, expect, it } from 'vitest'
import { reportNotMe } from '../../../src/client/devices.ts'
import { call, login, viaApp } from '../../helpers/account-client.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { makeApp } from '../../helpers/make-app.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'

const setup = async () => {
  const t = makeApp({
    env: { ...TEST_ENV, QRELAY_POLICY_DEVICE_ACTION_MAX_AUTH_AGE_SECONDS: '60' },
    clock: fakeClock(Date.UTC(2026, 10, 23)),
    abuse: true,
  })
  const home = viaApp(t.app, '198.51.100.20')
  await call(home, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
  const phone = await login(home, 'alice', PASSWORD)
  const other = await login(viaApp(t.app, '203.0.113.5'), 'alice', PASSWORD)
  const fetch = (url: string | URL | Request, init?: RequestInit) =>
    t.app.request(String(url), { ...init, headers: { ...(init?.headers as Record<string, string>), 'x-test-peer': '198.51.100.20' } })
  return { t, phone, other, endpoints: { baseUrl: 'https://relay.example', fetch: fetch as typeof globalThis.fetch } }
}

describe('reportNotMe (SDK)', () => {
  it('reports a device and tells what happened to its network', async () => {
    const { phone, other, endpoints } = await setup()
    const result = await reportNotMe(other.device_id, { ...endpoints, accessToken: phone.access_token })
    // A new account's report denies the network to itself only, and says why not to everybody (finding 42).
    expect(result).toEqual({
      revokedDeviceIds: [other.device_id],
      networkDeniedForSeconds: 86_400,
      networkDenyScope: 'account',
      networkKeptBecause: 'reporter_not_established',
    })
  })

  it('answers the step-up through the app when this device authenticated too long ago, and fails without it', async () => {
    const { t, phone, other, endpoints } = await setup()
    t.clock.advance(120_000)
    await expect(reportNotMe(other.device_id, { ...endpoints, accessToken: phone.access_token })).rejects.toMatchObject({
      code: 'STEP_UP_FAILED',
    })
    const seen: string[][] = []
    const result = await reportNotMe(other.device_id, {
      ...endpoints,
      accessToken: phone.access_token,
      stepUp: (challenge) => {
        seen.push(challenge.flows[0]?.stages ?? [])
        return { type: 'm.login.password', password: PASSWORD }
      },
    })
    expect(seen).toEqual([['m.login.password']])
    expect(result.revokedDeviceIds).toEqual([other.device_id])
  })
})
