/**
 * Finding 49: "not me" never denies a network one of the account's trusted devices used in the last
 * 30 days, not only the one each was seen on last (`DeviceRecord.recentNetworks`). Through
 * app.request() with the fake clock. The first two tests are the review's (branch h/review,
 * test/security/review-owner-lens.test.ts); the guards keep the rule from protecting a network seen
 * only long ago, or only by a device in quarantine.
 */
import { describe, expect, it } from 'vitest'
import { call, viaApp, refreshingSession } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp } from '../helpers/make-app.ts'
import { bindingOf, callWithDpop, decide, pollToken, requestGrant } from '../helpers/qr-login.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const HOME = '198.51.100.20'
const OFFICE = '192.0.2.80'
const CAFE = '203.0.113.90'
const START = Date.UTC(2026, 10, 23, 8, 0)
const HOUR = 3_600_000
const DAY = 24 * HOUR

type Via = ReturnType<typeof viaApp>

const setup = (env: Record<string, string> = {}) =>
  makeApp({
    env: { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0', QRELAY_PROXIMITY_ALLOW_AT_LEAST: 'unknown', ...env },
    clock: fakeClock(START),
    abuse: true,
  })

const session = (send: Via, deviceName: string) => refreshingSession(send, 'alice', PASSWORD, deviceName)

/** Approves on the owner's device, answering a step-up with the password when the policy asks for one. */
const approveAs = async (send: Via, token: string, userCode: string, binding: string, jkt: string) => {
  const body = { decision: 'approve' as const, channel_binding: binding, dpop_jkt: jkt }
  const first = await decide(send, token, userCode, body)
  if (first.status !== 401 || typeof first.body.session !== 'string') return first
  return decide(send, token, userCode, { ...body, auth: { type: 'm.login.password', session: first.body.session, password: PASSWORD } })
}

/** A QR login requested from `from`, approved by `approver` through `approveVia`; the new session's id and a whoami caller. */
const qrLogin = async (t: ReturnType<typeof setup>, from: Via, approveVia: Via, approverToken: string, tag: string) => {
  const holder = await dpopHolder()
  const binding = bindingOf(tag)
  const { codes } = await requestGrant(from, holder, t.clock.now(), { channel_binding: binding })
  expect((await approveAs(approveVia, approverToken, codes.user_code, binding, holder.jkt)).status).toBe(200)
  const minted = await pollToken(from, holder, t.clock.now(), codes.device_code)
  expect(minted.status).toBe(200)
  const token = minted.body.access_token as string
  return {
    deviceId: minted.body.device_id as string,
    whoami: async (via: Via) => (await callWithDpop(via, holder, t.clock.now(), 'GET', '/v1/account/whoami', token)).status,
  }
}

describe('finding 49: "not me" keeps every network the account\'s trusted devices used lately, not only their last', () => {
  it("finding 49: a coworker's phished session seen at the office: the owner's report from home keeps the office, where her laptop was this morning", async () => {
    const t = setup()
    const home = viaApp(t.app, HOME)
    const office = viaApp(t.app, OFFICE)
    await call(home, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
    const phone = await session(home, 'Phone')
    // 08:00, at the office: Alice's laptop (a password sign-in, trusted, never quarantined) works there.
    const laptop = await session(office, 'Office laptop')
    expect((await call(office, 'GET', '/v1/account/whoami', undefined, await laptop.token(office))).status).toBe(200)

    // 09:00, at the office: a coworker gets a QR login of his own approved on Alice's phone (phished,
    // or the phone left unlocked a minute), and uses the session from the office.
    t.clock.advance(HOUR)
    const holder = await dpopHolder()
    const binding = bindingOf('C')
    const { codes } = await requestGrant(office, holder, t.clock.now(), { channel_binding: binding })
    expect((await approveAs(office, await phone.token(office), codes.user_code, binding, holder.jkt)).status).toBe(200)
    const minted = await pollToken(office, holder, t.clock.now(), codes.device_code)
    expect(minted.status).toBe(200)
    t.clock.advance(60_000)
    const phishedWhoami = await callWithDpop(office, holder, t.clock.now(), 'GET', '/v1/account/whoami', minted.body.access_token as string)
    expect(phishedWhoami.status).toBe(200)

    // 19:00, at home: the laptop and the phone are home; Alice sees the sign-in and reports it.
    t.clock.advance(9 * HOUR)
    expect((await call(home, 'GET', '/v1/account/whoami', undefined, await laptop.token(home))).status).toBe(200)
    const report = await call(home, 'POST', `/v1/devices/${minted.body.device_id}/not-me`, {}, await phone.token(home))
    expect(report.status).toBe(200)
    // SECURITY.md (finding 1): a report never denies "one where a trusted device of the account was
    // seen in 30 days"; her laptop was at the office this morning.
    expect(report.body).toMatchObject({ network_denied_for_seconds: 0, network_kept_because: 'trusted_device_network' })
  })

  it('finding 49: …and the next morning at the office the owner can still approve her own new device there', async () => {
    const t = setup()
    const home = viaApp(t.app, HOME)
    const office = viaApp(t.app, OFFICE)
    await call(home, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
    const phone = await session(home, 'Phone')
    const laptop = await session(office, 'Office laptop')
    t.clock.advance(HOUR)
    const holder = await dpopHolder()
    const binding = bindingOf('C')
    const { codes } = await requestGrant(office, holder, t.clock.now(), { channel_binding: binding })
    expect((await approveAs(office, await phone.token(office), codes.user_code, binding, holder.jkt)).status).toBe(200)
    const minted = await pollToken(office, holder, t.clock.now(), codes.device_code)
    t.clock.advance(60_000)
    await callWithDpop(office, holder, t.clock.now(), 'GET', '/v1/account/whoami', minted.body.access_token as string)
    t.clock.advance(9 * HOUR)
    await call(home, 'GET', '/v1/account/whoami', undefined, await laptop.token(home))
    expect((await call(home, 'POST', `/v1/devices/${minted.body.device_id}/not-me`, {}, await phone.token(home))).status).toBe(200)

    // 08:00 next day, at the office: Alice approves her new tablet's QR login with her phone.
    t.clock.advance(13 * HOUR)
    const tablet = await dpopHolder()
    const tabletBinding = bindingOf('T')
    const grant = await requestGrant(office, tablet, t.clock.now(), { channel_binding: tabletBinding })
    const approved = await approveAs(office, await phone.token(office), grant.codes.user_code, tabletBinding, tablet.jkt)
    expect(approved.status, JSON.stringify(approved.body)).toBe(200)
  })

  it("finding 49: the history stays on the server: GET /v1/devices shows each device's last network only", async () => {
    const t = setup()
    const home = viaApp(t.app, HOME)
    const office = viaApp(t.app, OFFICE)
    await call(home, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
    const laptop = await session(office, 'Laptop')
    expect((await call(office, 'GET', '/v1/account/whoami', undefined, await laptop.token(office))).status).toBe(200)
    t.clock.advance(HOUR)
    const token = await laptop.token(home)
    const whoami = await call(home, 'GET', '/v1/account/whoami', undefined, token)
    expect(whoami.status).toBe(200)
    const stored = await t.durable.devices.get(whoami.body.account_id as string, laptop.deviceId)
    expect(stored?.recentNetworks?.map((e) => e.network)).toEqual([HOME, OFFICE])
    const listed = await call(home, 'GET', '/v1/devices', undefined, token)
    expect(listed.status).toBe(200)
    expect(JSON.stringify(listed.body)).not.toContain(OFFICE)
    expect(JSON.stringify(listed.body)).not.toMatch(/recent/i)
  })

  it('finding 49 guard: a network the trusted devices used only more than 30 days ago is denied', async () => {
    const t = setup({ QRELAY_REFRESH_TOKEN_TTL_SECONDS: String(90 * 86_400) })
    const home = viaApp(t.app, HOME)
    const office = viaApp(t.app, OFFICE)
    await call(home, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
    const phone = await session(home, 'Phone')
    // Day 0: the laptop at the office, then at home; it never goes back to the office.
    const laptop = await session(office, 'Office laptop')
    expect((await call(office, 'GET', '/v1/account/whoami', undefined, await laptop.token(office))).status).toBe(200)
    t.clock.advance(HOUR)
    expect((await call(home, 'GET', '/v1/account/whoami', undefined, await laptop.token(home))).status).toBe(200)

    // 31 days later, both at home; a phished session (approved from home) is used from the office.
    t.clock.advance(31 * DAY)
    expect((await call(home, 'GET', '/v1/account/whoami', undefined, await laptop.token(home))).status).toBe(200)
    const phished = await qrLogin(t, office, home, await phone.token(home), 'C')
    t.clock.advance(60_000)
    expect(await phished.whoami(office)).toBe(200)
    t.clock.advance(HOUR)
    const report = await call(home, 'POST', `/v1/devices/${phished.deviceId}/not-me`, {}, await phone.token(home))
    expect(report.status).toBe(200)
    expect(report.body.network_denied_for_seconds).toBeGreaterThan(0)
  })

  it('finding 49 guard: a network only a device in quarantine was seen on is denied', async () => {
    const t = setup()
    const home = viaApp(t.app, HOME)
    const office = viaApp(t.app, OFFICE)
    const cafe = viaApp(t.app, CAFE)
    await call(home, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
    const phone = await session(home, 'Phone')
    // A QR session (quarantined for a day) used at the office, then at a café minutes later (its
    // access token lives minutes): the office is in its history only.
    const quarantined = await qrLogin(t, office, home, await phone.token(home), 'Q')
    t.clock.advance(60_000)
    expect(await quarantined.whoami(office)).toBe(200)
    t.clock.advance(2 * 60_000)
    expect(await quarantined.whoami(cafe)).toBe(200)
    // An hour later: another QR session (another channel) used at the office, reported from home.
    t.clock.advance(HOUR)
    const phished = await qrLogin(t, office, home, await phone.token(home), 'C')
    t.clock.advance(60_000)
    expect(await phished.whoami(office)).toBe(200)
    t.clock.advance(HOUR)
    const report = await call(home, 'POST', `/v1/devices/${phished.deviceId}/not-me`, {}, await phone.token(home))
    expect(report.status).toBe(200)
    expect(report.body.network_denied_for_seconds).toBeGreaterThan(0)
  })
})
