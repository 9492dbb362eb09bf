/**
 * Findings 50–52 (owner protections, docs/security/owner-protections.md), through app.request() with
 * the fake clock on the memory store:
 * - 50: a thief signed in with a stolen password reports the owner's older phone "not me": the phone is
 *   signed out (finding 41 accepts that), but the owner's home network is not denied to the owner;
 * - 51: a session in QR quarantine does not learn the last-seen networks of the owner's other devices;
 * - 52: the operator's reset of the second factor commits `totp_disabled` with the change, as the
 *   owner's own removal does since finding 43, and the operator's enable commits `account_enabled`.
 */
import { describe, expect, it } from 'vitest'
import { memoryDurableStore } from '../../src/adapters/durable/memory.ts'
import { generateTotp } from '../../src/core/auth/totp.ts'
import type { DurableStore } from '../../src/ports.ts'
import { call, enrolTotp, login, viaApp, withUia, refreshingSession } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp } from '../helpers/make-app.ts'
import { BASE, bindingOf, callWithDpop, decide, pollToken, requestGrant } from '../helpers/qr-login.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const HOME = '198.51.100.20'
const THIEF = '203.0.113.77'
const START = Date.UTC(2026, 10, 23, 8, 0)

/** A memory durable store whose feed appends (the ones made apart from a change) fail while `failing.on`. */
const flakyFeed =
  (failing: { on: boolean }) =>
  (clock: ReturnType<typeof fakeClock>): DurableStore => {
    const inner = memoryDurableStore({ clock })
    const appendEvent = inner.security.appendEvent.bind(inner.security)
    inner.security.appendEvent = async (accountId, event, bounds) => {
      if (failing.on) throw new Error('store unavailable (test)')
      return appendEvent(accountId, event, bounds)
    }
    return inner
  }

/** Alice with TOTP on, signed in on her phone. */
const aliceWithTotp = async (failing: { on: boolean }) => {
  const t = makeApp({ env: { ...TEST_ENV }, clock: fakeClock(START), durable: flakyFeed(failing) })
  const owner = viaApp(t.app, HOME)
  await call(owner, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
  const phone = await login(owner, 'alice', PASSWORD, undefined, 'Phone')
  const token = phone.access_token as string
  const { key } = await enrolTotp(owner, token, PASSWORD, t.clock.now())
  return { t, owner, token, key: key.bytes() }
}

const feedTypes = async (send: ReturnType<typeof viaApp>, token: string): Promise<string[]> => {
  const read = await call(send, 'GET', '/v1/events?since=0', undefined, token)
  expect(read.status).toBe(200)
  return (read.body.events as { type: string }[]).map((e) => e.type)
}

const session = (send: ReturnType<typeof viaApp>, deviceName: string) => refreshingSession(send, 'alice', PASSWORD, deviceName)

/** Approves on the owner's device, answering a step-up with the password when the policy asks for one. */
const approveAs = async (send: ReturnType<typeof viaApp>, token: string, userCode: string, binding: string, jkt: string) => {
  const body = { decision: 'approve' as const, channel_binding: binding, dpop_jkt: jkt }
  const first = await decide(send, token, userCode, body)
  if (first.status !== 401 || typeof first.body.session !== 'string') return first
  return decide(send, token, userCode, { ...body, auth: { type: 'm.login.password', session: first.body.session, password: PASSWORD } })
}

describe('finding 50: a stolen password does not turn "not me" against the owner\'s own network', () => {
  it('finding 50: a thief signed in with the password reports the owner\'s older phone "not me": the phone is out, but the owner\'s home is not denied and she approves there', async () => {
    const t = makeApp({
      env: { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0', QRELAY_PROXIMITY_ALLOW_AT_LEAST: 'unknown' },
      clock: fakeClock(START),
      abuse: true,
    })
    const home = viaApp(t.app, HOME)
    await call(home, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
    const phone = await session(home, 'Phone')
    expect((await call(home, 'GET', '/v1/account/whoami', undefined, await phone.token(home))).status).toBe(200)
    // A week later (the phone is an established, trusted device), a thief signs in with the stolen password.
    t.clock.advance(8 * 24 * 3_600_000)
    expect((await call(home, 'GET', '/v1/account/whoami', undefined, await phone.token(home))).status).toBe(200)
    const thiefSend = viaApp(t.app, THIEF)
    const thief = await session(thiefSend, 'Phone 2')
    // A fresh password session passes the recency rule: no step-up, no quarantine.
    const report = await call(thiefSend, 'POST', `/v1/devices/${phone.deviceId}/not-me`, {}, await thief.token(thiefSend))
    expect(report.status).toBe(200)
    // Before: 86 400 s, scope "account": the owner's own home network, denied to the owner's account.
    expect(report.body.network_denied_for_seconds).toBe(0)
    expect(report.body.network_kept_because).toBe('reported_device_older')

    // The owner, at home, signs in again and adds her laptop by QR: refused at home for a day.
    const again = await session(home, 'Phone')
    const laptop = await dpopHolder()
    const binding = bindingOf('L')
    const grant = await requestGrant(home, laptop, t.clock.now(), { channel_binding: binding })
    const approved = await approveAs(home, await again.token(home), grant.codes.user_code, binding, laptop.jkt)
    expect(approved.status, JSON.stringify(approved.body)).toBe(200)
  })
})

describe("finding 51: a phished session in quarantine does not follow the owner's networks", () => {
  it("finding 51: GET /v1/devices and the /account page show a quarantined QR session no other device's network; out of quarantine they do", async () => {
    const t = makeApp({
      env: { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0', QRELAY_PROXIMITY_ALLOW_AT_LEAST: 'unknown' },
      clock: fakeClock(START),
    })
    const home = viaApp(t.app, HOME)
    await call(home, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
    const phone = await session(home, 'Phone')
    // The phished QR login (approved by the owner, phished), in quarantine.
    const holder = await dpopHolder()
    const phisher = viaApp(t.app, THIEF)
    const binding = bindingOf('P')
    const { codes } = await requestGrant(phisher, holder, t.clock.now(), { channel_binding: binding })
    expect((await approveAs(home, await phone.token(home), codes.user_code, binding, holder.jkt)).status).toBe(200)
    const minted = await pollToken(phisher, holder, t.clock.now(), codes.device_code)
    expect(minted.status).toBe(200)
    // Later the owner's phone is used from another place (a hotel); the phished session polls the list.
    t.clock.advance(2 * 60_000)
    const hotel = viaApp(t.app, '198.51.100.99')
    expect((await call(hotel, 'GET', '/v1/account/whoami', undefined, await phone.token(hotel))).status).toBe(200)
    const listed = await callWithDpop(phisher, holder, t.clock.now(), 'GET', '/v1/devices', minted.body.access_token as string)
    expect(listed.status).toBe(200)
    const owners = (listed.body.devices as { current: boolean; last_seen_network?: string }[]).filter((d) => !d.current)
    // Before: the owner's current address, in full, to a session the owner never vouched for.
    expect(owners.map((d) => d.last_seen_network)).toEqual([undefined])
    const own = (listed.body.devices as { current: boolean; last_seen_network?: string }[]).find((d) => d.current)
    expect(own?.last_seen_network).toBe(THIEF)
    // The owner's phone still sees every network.
    const mine = await call(hotel, 'GET', '/v1/devices', undefined, await phone.token(hotel))
    expect((mine.body.devices as { last_seen_network?: string }[]).map((d) => d.last_seen_network).sort()).toEqual(['198.51.100.99', THIEF])

    // The same on the /account page, after the page hand-over of the QR session (unbound page tokens).
    const url = `${BASE}/login/session`
    const handed = await t.app.request(url, {
      method: 'POST',
      headers: {
        origin: BASE,
        'x-test-peer': THIEF,
        authorization: `DPoP ${minted.body.access_token as string}`,
        dpop: await holder.prove('POST', url, t.clock.now(), { accessToken: minted.body.access_token as string }),
      },
    })
    expect(handed.status).toBe(204)
    const cookies = handed.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ')
    const page = async () => (await t.app.request(`${BASE}/account`, { headers: { cookie: cookies, 'x-test-peer': THIEF } })).text()
    const quarantined = await page()
    expect(quarantined).toContain('Phone')
    expect(quarantined).not.toContain('198.51.100.99')
    // Out of quarantine (24 h by default), the session is the owner's like any other and sees them.
    t.clock.advance(25 * 3_600_000)
    expect((await call(hotel, 'GET', '/v1/account/whoami', undefined, await phone.token(hotel))).status).toBe(200)
    const later = await callWithDpop(phisher, holder, t.clock.now(), 'GET', '/v1/devices', minted.body.access_token as string)
    expect(later.status).toBe(401) // the access token of the QR session has expired; its page tokens still work
    expect(await page()).toContain('198.51.100.99')
  })
})

describe("finding 52: the operator's second-factor reset and enable keep their events with the change", () => {
  it("finding 52 (guard): the owner's own TOTP removal keeps its event when the feed append fails (it is in the change's step)", async () => {
    const failing = { on: false }
    const { t, owner, token, key } = await aliceWithTotp(failing)
    t.clock.advance(30_000)
    failing.on = true
    const removed = await withUia(
      owner,
      'DELETE',
      '/v1/account/totp',
      {},
      PASSWORD,
      { type: 'm.login.2fa.totp', code: generateTotp(key, t.clock.now()) },
      token,
    )
    failing.on = false
    expect(removed.final.status, JSON.stringify(removed.final.body)).toBe(200)
    expect(await feedTypes(owner, token)).toContain('totp_disabled')
  })

  it("finding 52: the operator's reset-2fa keeps totp_disabled in the owner's feed when the separate feed append fails", async () => {
    const failing = { on: false }
    const { owner, token } = await aliceWithTotp(failing)
    failing.on = true // one store hiccup (or a process killed) right after the reset's write
    const reset = await call(owner, 'POST', '/v1/admin/users/alice/reset-2fa', {}, ADMIN_TOKEN)
    failing.on = false
    // 200, the factor is gone…
    expect(reset.status).toBe(200)
    expect((await call(owner, 'GET', '/v1/admin/users/alice', undefined, ADMIN_TOKEN)).body).toMatchObject({ two_factor: 'none' })
    // …and the owner's devices are told (before: the feed had totp_enabled and no totp_disabled after it).
    expect(await feedTypes(owner, token)).toContain('totp_disabled')
  })
  it("finding 52: the operator's enable keeps account_enabled in the owner's feed when the separate feed append fails", async () => {
    const failing = { on: false }
    const { owner, token } = await aliceWithTotp(failing)
    expect((await call(owner, 'POST', '/v1/admin/users/alice/disable', {}, ADMIN_TOKEN)).status).toBe(200)
    failing.on = true
    const enabled = await call(owner, 'POST', '/v1/admin/users/alice/enable', {}, ADMIN_TOKEN)
    failing.on = false
    expect(enabled.status).toBe(200)
    // Before: the enable was written, then its event appended apart (lost with that append).
    const seen = await call(owner, 'GET', '/v1/admin/users/alice/events?since=0', undefined, ADMIN_TOKEN)
    expect(seen.status).toBe(200)
    expect((seen.body.events as { type: string }[]).map((e) => e.type)).toEqual(
      expect.arrayContaining(['account_disabled', 'account_enabled']),
    )
    expect(token).toBeTypeOf('string')
  })
})
