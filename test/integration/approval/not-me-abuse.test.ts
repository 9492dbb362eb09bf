/**
 * Remediation and abuse, through app.request(): "not me" signs the reported QR session (and every
 * device from the same code) out and denies its network; abuse counters deny a network that creates
 * channels nobody completes, and forgive it later; deny lists refuse channel creation.
 */
import { describe, expect, it } from 'vitest'
import { call, login, refresh, viaApp } from '../../helpers/account-client.ts'
import { dpopHolder, type DpopHolder } from '../../helpers/dpop.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { makeApp, type TestApp } from '../../helpers/make-app.ts'
import { BASE, bindingOf, callWithDpop, decide, pollToken, requestGrant } from '../../helpers/qr-login.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const HOME = '198.51.100.20'
const NEW_DEVICE = '198.51.100.77'

const setup = async (env: Record<string, string> = {}) => {
  const t = makeApp({
    env: { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0', ...env },
    clock: fakeClock(Date.UTC(2026, 10, 22)),
    abuse: true,
  })
  const approver = viaApp(t.app, HOME)
  const created = await call(approver, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
  const tokens = await login(approver, 'alice', PASSWORD)
  return { t, approver, token: tokens.access_token as string, accountId: created.body.account_id as string }
}

const qrSignIn = async (t: TestApp, approver: ReturnType<typeof viaApp>, token: string, holder: DpopHolder, binding: string) => {
  const send = viaApp(t.app, NEW_DEVICE)
  const { codes } = await requestGrant(send, holder, t.clock.now(), { channel_binding: binding })
  expect(
    (await decide(approver, token, codes.user_code, { decision: 'approve', channel_binding: binding, dpop_jkt: holder.jkt })).status,
  ).toBe(200)
  const tokens = await pollToken(send, holder, t.clock.now(), codes.device_code)
  expect(tokens.status).toBe(200)
  return { send, tokens: tokens.body }
}

describe('not me', () => {
  it('signs the reported device out at once, denies its network and tells the account', async () => {
    const { t, approver, token, accountId } = await setup()
    const holder = await dpopHolder()
    const { send, tokens } = await qrSignIn(t, approver, token, holder, bindingOf('N'))
    expect((await callWithDpop(send, holder, t.clock.now(), 'GET', '/v1/account/whoami', tokens.access_token)).status).toBe(200)

    const report = await call(approver, 'POST', `/v1/devices/${tokens.device_id}/not-me`, {}, token)
    expect(report).toMatchObject({
      status: 200,
      body: { revoked_device_ids: [tokens.device_id], network_denied_for_seconds: 86_400, network_deny_scope: 'account' },
    })
    expect((await callWithDpop(send, holder, t.clock.now(), 'GET', '/v1/account/whoami', tokens.access_token)).status).toBe(401)
    const refreshed = await send('/oauth2/token', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        dpop: await holder.prove('POST', `${BASE}/oauth2/token`, t.clock.now()),
      },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }).toString(),
    })
    expect(((await refreshed.json()) as { error: string }).error).toBe('invalid_grant')
    expect(t.events.list(accountId).map((e) => e.type)).toContain('device_not_me')

    // The network it came from cannot get a new login into this account approved; one report from
    // one account does not deny it to everybody (anonymous channel creation still works).
    expect((await call(send, 'POST', '/v1/rendezvous', { data: '' })).status).toBeLessThan(300)
    const again = await dpopHolder()
    const { codes } = await requestGrant(send, again, t.clock.now(), { channel_binding: bindingOf('M') })
    const refused = await decide(approver, token, codes.user_code, {
      decision: 'approve',
      channel_binding: bindingOf('M'),
      dpop_jkt: again.jkt,
    })
    expect(refused).toMatchObject({ status: 403, body: { reason: 'abuse_blocked' } })
    // The approver's own network is untouched.
    expect((await call(approver, 'POST', '/v1/rendezvous', { data: '' })).status).toBeLessThan(300)
  })

  it('revokes every device minted through the same channel', async () => {
    const { t, approver, token } = await setup()
    const binding = bindingOf('S')
    const first = await qrSignIn(t, approver, token, await dpopHolder(), binding)
    const second = await qrSignIn(t, approver, token, await dpopHolder(), binding)
    const report = await call(approver, 'POST', `/v1/devices/${first.tokens.device_id}/not-me`, {}, token)
    expect(new Set(report.body.revoked_device_ids)).toEqual(new Set([first.tokens.device_id, second.tokens.device_id]))
  })

  it("refuses reporting itself (400), an unknown or another account's device (404), and needs a token", async () => {
    const { t, approver, token } = await setup()
    const me = await call(approver, 'GET', '/v1/account/whoami', undefined, token)
    expect((await call(approver, 'POST', `/v1/devices/${me.body.device_id}/not-me`, {}, token)).status).toBe(400)
    expect((await call(approver, 'POST', '/v1/devices/NOSUCHDEVICE/not-me', {}, token)).status).toBe(404)
    expect((await call(approver, 'POST', `/v1/devices/${me.body.device_id}/not-me`, {})).status).toBe(401)
    await call(approver, 'POST', '/v1/admin/users', { username: 'bob', password: PASSWORD }, ADMIN_TOKEN)
    const bob = await login(viaApp(t.app, '192.0.2.50'), 'bob', PASSWORD)
    expect((await call(approver, 'POST', `/v1/devices/${bob.device_id}/not-me`, {}, token)).status).toBe(404)
    expect((await call(viaApp(t.app, '192.0.2.50'), 'GET', '/v1/account/whoami', undefined, bob.access_token)).status).toBe(200)
    expect((await refresh(viaApp(t.app, '192.0.2.50'), bob.refresh_token)).status).toBe(200)
  })
})

describe('abuse counters', () => {
  it('denies a network that creates many channels and completes none, then forgives it', async () => {
    const { t } = await setup({ QRELAY_RATE_CREATE_PER_CLIENT: '1000/60s', QRELAY_ABUSE_MIN_CREATED_FOR_RATIO: '20' })
    const kit = viaApp(t.app, '203.0.113.66')
    for (let i = 0; i < 20; i++) expect((await call(kit, 'POST', '/v1/rendezvous', { data: '' })).status).toBeLessThan(300)
    const denied = await call(kit, 'POST', '/v1/rendezvous', { data: '' })
    expect(denied).toMatchObject({ status: 403, body: { qrelay_code: 'NETWORK_DENIED', retry_after_ms: 600_000 } })
    // Another network is not affected.
    expect((await call(viaApp(t.app, '203.0.113.67'), 'POST', '/v1/rendezvous', { data: '' })).status).toBeLessThan(300)
    t.clock.advance(600_000)
    expect((await call(kit, 'POST', '/v1/rendezvous', { data: '' })).status).toBeLessThan(300)
  })

  it('counts completed channels: a network whose channels get joined is never denied', async () => {
    const { t } = await setup({ QRELAY_RATE_CREATE_PER_CLIENT: '1000/60s' })
    const office = viaApp(t.app, '203.0.113.80')
    const phone = viaApp(t.app, '203.0.113.81')
    for (let i = 0; i < 30; i++) {
      const created = await call(office, 'POST', '/v1/rendezvous', { data: '' })
      expect(created.status).toBeLessThan(300)
      expect((await call(phone, 'GET', `/v1/rendezvous/${created.body.id}`)).status).toBe(200)
    }
  })

  it('counts per ASN too: many addresses of one network operator creating channels nobody joins', async () => {
    const t = makeApp({
      env: { ...TEST_ENV, QRELAY_RATE_CREATE_PER_CLIENT: '1000/60s', QRELAY_ABUSE_MIN_CREATED_FOR_RATIO: '20' },
      clock: fakeClock(Date.UTC(2026, 10, 22)),
      abuse: true,
      locator: { locate: (ip) => ({ asn: ip.startsWith('203.0.113.') ? 64500 : 64501 }) },
    })
    // 200 addresses, one channel each: no single address trips, the ASN does (≥ 200, none completed).
    for (let i = 1; i <= 200; i++)
      expect((await call(viaApp(t.app, `203.0.113.${i}`), 'POST', '/v1/rendezvous', { data: '' })).status).toBeLessThan(300)
    expect((await call(viaApp(t.app, '203.0.113.201'), 'POST', '/v1/rendezvous', { data: '' })).body.qrelay_code).toBe('NETWORK_DENIED')
    expect((await call(viaApp(t.app, '198.51.100.201'), 'POST', '/v1/rendezvous', { data: '' })).status).toBeLessThan(300)
  })

  it('refuses channel creation from a denied network list', async () => {
    const { t } = await setup({ QRELAY_POLICY_DENIED_NETWORKS: '203.0.113.0/24' })
    expect((await call(viaApp(t.app, '203.0.113.9'), 'POST', '/v1/rendezvous', { data: '' })).body.qrelay_code).toBe('NETWORK_DENIED')
    expect((await call(viaApp(t.app, '198.51.100.9'), 'POST', '/v1/rendezvous', { data: '' })).status).toBeLessThan(300)
  })
})
