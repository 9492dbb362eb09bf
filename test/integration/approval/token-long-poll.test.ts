/**
 * The token endpoint's long poll: a device-code poll with `Prefer: wait=N` (RFC 7240) is held while
 * its grant is pending and answered the moment the existing device decides (tokens on an approval,
 * `access_denied` on a decline), with `Preference-Applied`; held no longer than the grant's interval;
 * a poll without a readable `wait` is answered at once, as before. No timing is asserted.
 */
import { describe, expect, it } from 'vitest'
import { preferredWait } from '../../../src/http/routes/oauth-token.ts'
import { call, login, viaApp, type Send } from '../../helpers/account-client.ts'
import { dpopHolder, type DpopHolder } from '../../helpers/dpop.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { makeApp, type TestApp } from '../../helpers/make-app.ts'
import { bindingOf, decide, pollToken, requestGrant } from '../../helpers/qr-login.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../accounts/flow-suite.ts'

const BINDING = bindingOf('L')
const PEER = '198.51.100.20'

const setup = async (): Promise<{ t: TestApp; approver: Send; token: string }> => {
  const t = makeApp({
    env: { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0', QRELAY_POLL_INTERVAL_SECONDS: '2' },
    clock: fakeClock(Date.UTC(2026, 10, 22)),
  })
  const approver = viaApp(t.app, PEER)
  const created = await call(
    approver,
    'POST',
    '/v1/admin/users',
    { username: 'alice', password: 'correct horse battery staple' },
    ADMIN_TOKEN,
  )
  expect(created.status).toBe(201)
  const tokens = await login(approver, 'alice', 'correct horse battery staple')
  return { t, approver, token: tokens.access_token }
}

/** One device-code poll (`pollToken`) with `prefer` (when given); the answer with its `Preference-Applied`. */
const poll = async (send: Send, holder: DpopHolder, nowMs: number, deviceCode: string, prefer?: string) => {
  let applied: string | null = null
  const noting: Send = async (path, init) => {
    const res = await send(path, init)
    applied = res.headers.get('preference-applied')
    return res
  }
  const answer = await pollToken(noting, holder, nowMs, deviceCode, prefer === undefined ? {} : { headers: { prefer } })
  return { ...answer, applied }
}

/** A fresh app, a new device with its DPoP key, and that device's pending grant. */
const pendingGrant = async () => {
  const s = await setup()
  const holder = await dpopHolder()
  const send = viaApp(s.t.app, PEER)
  const grant = await requestGrant(send, holder, s.t.clock.now(), { channel_binding: BINDING })
  expect(grant.status).toBe(200)
  return { ...s, holder, send, codes: grant.codes }
}

/** Resolves once `promise` settled, or with 'still waiting' after `ms` (default: a few turns of the event loop). */
const settledSoon = async <T>(promise: Promise<T>, ms = 50): Promise<T | 'still waiting'> =>
  Promise.race([promise, new Promise<'still waiting'>((resolve) => setTimeout(() => resolve('still waiting'), ms))])

describe('POST /oauth2/token with Prefer: wait (long poll)', () => {
  it('holds a pending poll and answers tokens as soon as the existing device approves', async () => {
    const s = await pendingGrant()
    const { holder, send, codes } = s
    const held = poll(send, holder, s.t.clock.now(), codes.device_code, 'wait=2')
    expect(await settledSoon(held)).toBe('still waiting')
    const approved = await decide(s.approver, s.token, codes.user_code, {
      decision: 'approve',
      channel_binding: BINDING,
      dpop_jkt: holder.jkt,
    })
    expect(approved.status).toBe(200)
    const answer = await held
    expect(answer).toMatchObject({ status: 200, body: { token_type: 'DPoP' }, applied: 'wait=2' })
  })

  it('answers access_denied to a held poll as soon as the existing device declines', async () => {
    const s = await pendingGrant()
    const { holder, send, codes } = s
    const held = poll(send, holder, s.t.clock.now(), codes.device_code, 'respond-async, wait=2')
    expect(await settledSoon(held)).toBe('still waiting')
    await decide(s.approver, s.token, codes.user_code, { decision: 'decline', channel_binding: BINDING, dpop_jkt: holder.jkt })
    expect(await held).toMatchObject({ status: 400, body: { error: 'access_denied' }, applied: 'wait=2' })
  })

  it("answers authorization_pending after at most the grant's interval, and the next poll is not slowed down", async () => {
    const s = await pendingGrant()
    const { holder, send, codes } = s
    // Asks for 30 s: held at most the grant's 2 s interval.
    const first = await poll(send, holder, s.t.clock.now(), codes.device_code, 'wait=30')
    expect(first).toMatchObject({ status: 400, body: { error: 'authorization_pending' }, applied: 'wait=30' })
    s.t.clock.advance(2000)
    const second = await poll(send, holder, s.t.clock.now(), codes.device_code)
    expect(second).toMatchObject({ status: 400, body: { error: 'authorization_pending' }, applied: null })
  })

  it('answers at once, without Preference-Applied, when the preference has no readable wait', async () => {
    const s = await pendingGrant()
    const { holder, send, codes } = s
    // A held poll would be answered at the grant's 2 s interval; 1 s tells the two apart on a loaded machine.
    const answer = await settledSoon(poll(send, holder, s.t.clock.now(), codes.device_code, 'wait=0'), 1000)
    expect(answer).toMatchObject({ status: 400, body: { error: 'authorization_pending' }, applied: null })
  })

  it('reads the wait of a Prefer header (RFC 7240) and caps it at 30 s', () => {
    expect(preferredWait('wait=5')).toBe(5)
    expect(preferredWait('respond-async, wait=10')).toBe(10)
    expect(preferredWait('wait="7"; foo')).toBe(7)
    expect(preferredWait('WAIT=3')).toBe(3)
    expect(preferredWait('wait=600')).toBe(30)
    for (const ignored of [undefined, '', 'wait=0', 'wait=-1', 'wait=1.5', 'wait=abc', 'nowait=5', 'return=minimal']) {
      expect(preferredWait(ignored)).toBeUndefined()
    }
  })
})
