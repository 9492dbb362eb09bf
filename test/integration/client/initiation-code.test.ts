/**
 * The SDK's `submitInitiationCode` against the server (app.request, fake clock): the new device of a
 * grant approved with request-initiation verification types the approver's code; a wrong code leaves
 * tries, another key is refused, the right code lets the token endpoint answer, five wrong ones burn it.
 */
import { describe, expect, it } from 'vitest'
import { generateDpopKey, submitInitiationCode } from '../../../src/client/index.ts'
import { call, login, viaApp } from '../../helpers/account-client.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { makeApp } from '../../helpers/make-app.ts'
import { bindingOf, decide, pollToken, requestGrant } from '../../helpers/qr-login.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const BINDING = bindingOf('i')

const setup = async () => {
  const t = makeApp({
    env: { ...TEST_ENV, QRELAY_INITIATION_VERIFY_CODE: 'true', QRELAY_APPROVER_MIN_AGE_SECONDS: '0' },
    clock: fakeClock(Date.UTC(2026, 10, 23)),
  })
  const send = viaApp(t.app, '198.51.100.20')
  await call(send, 'POST', '/v1/admin/users', { username: 'ivy', password: PASSWORD }, ADMIN_TOKEN)
  const phone = await login(send, 'ivy', PASSWORD)
  const fetch = (url: string | URL | Request, init?: RequestInit) =>
    t.app.request(String(url), { ...init, headers: { ...(init?.headers as Record<string, string>), 'x-test-peer': '198.51.100.20' } })
  const key = await generateDpopKey({ now: () => t.clock.now() })
  const holder = { jkt: key.jkt, prove: (method: string, url: string) => key.proof(method, url) }
  const { codes } = await requestGrant(send, holder, t.clock.now(), { channel_binding: BINDING })
  const approved = await decide(send, phone.access_token, codes.user_code, {
    decision: 'approve',
    channel_binding: BINDING,
    dpop_jkt: key.jkt,
  })
  const code = approved.body.verification_code as string
  expect(code).toMatch(/^\d{6}$/)
  const endpoints = { baseUrl: 'https://relay.example', fetch: fetch as typeof globalThis.fetch }
  return { t, send, key, holder, codes, code, endpoints, wrong: code === '000000' ? '111111' : '000000' }
}

describe('submitInitiationCode (SDK)', () => {
  it('verifies the right code after a wrong one, and the token endpoint then answers', async () => {
    const { t, send, key, holder, codes, code, endpoints, wrong } = await setup()
    expect(await submitInitiationCode({ ...endpoints, deviceCode: codes.device_code, code: wrong, dpopKey: key })).toEqual({
      status: 'wrong_code',
      attemptsLeft: 4,
    })
    const thief = await generateDpopKey({ now: () => t.clock.now() })
    await expect(submitInitiationCode({ ...endpoints, deviceCode: codes.device_code, code, dpopKey: thief })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    })
    const typed = `${code.slice(0, 3)} ${code.slice(3)}`
    expect(await submitInitiationCode({ ...endpoints, deviceCode: codes.device_code, code: typed, dpopKey: key })).toEqual({
      status: 'verified',
    })
    const tokens = await pollToken(send, holder, t.clock.now(), codes.device_code)
    expect(tokens.status).toBe(200)
    expect(tokens.body.token_type).toBe('DPoP')
  })

  it('five wrong codes burn the grant: ACCESS_DENIED', async () => {
    const { key, codes, endpoints, wrong, code } = await setup()
    const submit = (typed: string) => submitInitiationCode({ ...endpoints, deviceCode: codes.device_code, code: typed, dpopKey: key })
    for (const left of [4, 3, 2, 1]) expect(await submit(wrong)).toEqual({ status: 'wrong_code', attemptsLeft: left })
    await expect(submit(wrong)).rejects.toMatchObject({ code: 'ACCESS_DENIED' })
    await expect(submit(code)).rejects.toMatchObject({ code: 'ACCESS_DENIED' })
  })
})
