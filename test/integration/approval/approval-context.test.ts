/**
 * `GET /v1/approvals/{user_code}` through app.request(): the existing device sees what it would
 * approve (another device, its networks, the proximity verdict), never the codes or the binding;
 * unknown codes and guessing are refused.
 */
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import { describe, expect, it } from 'vitest'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { makeApp, type TestApp } from '../../helpers/make-app.ts'
import { call, login, viaApp } from '../../helpers/account-client.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const BINDING = 'B'.repeat(43)

const setup = async (env: Record<string, string> = {}) => {
  const t = makeApp({ env: { ...TEST_ENV, ...env }, clock: fakeClock(Date.UTC(2026, 10, 22)) })
  const send = viaApp(t.app, '198.51.100.20')
  expect((await call(send, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
  const tokens = await login(send, 'alice', PASSWORD)
  return { t, send, token: tokens.access_token as string }
}

const newGrant = async (t: TestApp, peer: string) => {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const proof = await new SignJWT({
    jti: `j-${Math.floor(t.clock.now())}-${peer}`,
    htm: 'POST',
    htu: 'https://relay.example/oauth2/device_authorization',
    iat: Math.floor(t.clock.now() / 1000),
  })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: await exportJWK(publicKey) })
    .sign(privateKey)
  const res = await t.app.request('/oauth2/device_authorization', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: proof, 'x-test-peer': peer },
    body: new URLSearchParams({ channel_binding: BINDING, device_name: 'Kitchen TV' }).toString(),
  })
  expect(res.status).toBe(200)
  return (await res.json()) as { device_code: string; user_code: string }
}

describe('approval context', () => {
  it('tells the approver it signs in another device and how near it is when the code is pending', async () => {
    const { t, send, token } = await setup()
    const codes = await newGrant(t, '198.51.100.77')
    const res = await call(send, 'GET', `/v1/approvals/${codes.user_code}`, undefined, token)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({
      action: 'sign_in_another_device',
      requested_device_name: 'Kitchen TV',
      started_at: new Date(Date.UTC(2026, 10, 22)).toISOString(),
      new_device_networks: [{ seen_at: 'device_authorization', network: '198.51.100.0/24' }],
      proximity: { relation: 'same_prefix', inconsistent: false },
    })
    const text = JSON.stringify(res.body)
    for (const secret of [codes.user_code, codes.device_code, BINDING, '198.51.100.77']) expect(text).not.toContain(secret)
  })

  it('reports a far-off new device as unknown proximity when the networks differ', async () => {
    const { t, send, token } = await setup()
    const codes = await newGrant(t, '203.0.113.5')
    const res = await call(send, 'GET', `/v1/approvals/${codes.user_code.replace('-', '').toLowerCase()}`, undefined, token)
    expect(res.status).toBe(200)
    expect(res.body.proximity.relation).toBe('unknown')
  })

  it('answers not found when the code is unknown or expired, and 401 without a token', async () => {
    const { t, send, token } = await setup({ QRELAY_GRANT_TTL_SECONDS: '60' })
    expect((await call(send, 'GET', '/v1/approvals/BCDFG-HJKLM', undefined, token)).status).toBe(404)
    expect((await call(send, 'GET', '/v1/approvals/not-a-code', undefined, token)).status).toBe(404)
    const codes = await newGrant(t, '198.51.100.77')
    expect((await call(send, 'GET', `/v1/approvals/${codes.user_code}`)).status).toBe(401)
    t.clock.advance(60_000)
    expect((await call(send, 'GET', `/v1/approvals/${codes.user_code}`, undefined, token)).status).toBe(404)
  })

  it('answers 429 when one account tries too many codes', async () => {
    const { send, token } = await setup({ QRELAY_RATE_USER_CODE_PER_ACCOUNT: '3/300s' })
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) statuses.push((await call(send, 'GET', '/v1/approvals/BCDFG-HJKLM', undefined, token)).status)
    expect(statuses).toEqual([404, 404, 404, 429])
  })
})
