/**
 * Finding 85: a decline, and a policy deny, *burn* the grant. The burn took any error of its store
 * step for "already decided or gone": while the store could not be reached, the approver was told
 * "declined" and the grant stayed pending, so the login the owner refused could still be approved
 * later (another device, a second try), and the new device kept polling. A store that cannot be
 * reached is a 503 (finding 12), the grant untouched, and the owner's retry declines it.
 */
import { describe, expect, it } from 'vitest'
import { memoryStore } from '../../src/adapters/storage/memory.ts'
import { StoreUnavailableError } from '../../src/core/store-unavailable.ts'
import type { EphemeralStore } from '../../src/ports.ts'
import { call, login, viaApp } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import type { FakeClock } from '../helpers/fake-clock.ts'
import { makeApp } from '../helpers/make-app.ts'
import { bindingOf, decide, pollToken, requestGrant } from '../helpers/qr-login.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const BINDING = bindingOf('D')

/** The memory store, whose KV compare-and-swap fails as unreachable while `down.now` is set. */
const flakyKv = (down: { now: boolean }) => (clock: FakeClock) => {
  const store = memoryStore({ clock, sweepIntervalMs: 0 })
  const replaceIfMatch = store.kv.replaceIfMatch.bind(store.kv)
  store.kv.replaceIfMatch = (...args: Parameters<typeof replaceIfMatch>) =>
    down.now ? Promise.reject(new StoreUnavailableError('the store is unreachable')) : replaceIfMatch(...args)
  return store as EphemeralStore
}

describe('finding 85: a decline during a store outage', () => {
  it('finding 85: is a 503 with the grant still pending, not "declined"; the retry declines it', async () => {
    const down = { now: false }
    const t = makeApp({ env: { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0' }, store: flakyKv(down) })
    const approver = viaApp(t.app, '198.51.100.20')
    expect((await call(approver, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
    const token = (await login(approver, 'alice', PASSWORD)).access_token as string
    const holder = await dpopHolder()
    const device = viaApp(t.app, '198.51.100.77')
    const { codes } = await requestGrant(device, holder, t.clock.now(), { channel_binding: BINDING })
    const decision = { decision: 'decline', channel_binding: BINDING, dpop_jkt: holder.jkt } as const
    down.now = true
    const during = await decide(approver, token, codes.user_code, decision)
    expect(during.status).toBe(503)
    down.now = false
    expect((await pollToken(device, holder, t.clock.now(), codes.device_code)).body.error).toBe('authorization_pending')
    const retried = await decide(approver, token, codes.user_code, decision)
    expect(retried.body).toEqual({ status: 'declined' })
    t.clock.advance(10_000)
    expect((await pollToken(device, holder, t.clock.now(), codes.device_code)).body.error).toBe('access_denied')
  })

  it('finding 85: a policy deny during the outage is a 503 too, and its retry burns the grant', async () => {
    const down = { now: false }
    const env = { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0', QRELAY_POLICY_DENIED_NETWORKS: '203.0.113.0/24' }
    const t = makeApp({ env, store: flakyKv(down) })
    const approver = viaApp(t.app, '198.51.100.20')
    expect((await call(approver, 'POST', '/v1/admin/users', { username: 'bob', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
    const token = (await login(approver, 'bob', PASSWORD)).access_token as string
    const holder = await dpopHolder()
    const device = viaApp(t.app, '203.0.113.5')
    const grant = await requestGrant(device, holder, t.clock.now(), { channel_binding: BINDING })
    expect(grant.status).toBe(200)
    const decision = { decision: 'approve', channel_binding: BINDING, dpop_jkt: holder.jkt } as const
    down.now = true
    const during = await decide(approver, token, grant.codes.user_code, decision)
    expect(during.status).toBe(503)
    down.now = false
    expect((await pollToken(device, holder, t.clock.now(), grant.codes.device_code)).body.error).toBe('authorization_pending')
    const retried = await decide(approver, token, grant.codes.user_code, decision)
    expect(retried.status).toBe(403)
    expect(retried.body.reason).toBe('network_denied')
    t.clock.advance(10_000)
    expect((await pollToken(device, holder, t.clock.now(), grant.codes.device_code)).body.error).toBe('access_denied')
  })
})
