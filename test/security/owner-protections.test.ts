/**
 * Owner protections (issue #10 findings 1, 7 and 18, and finding 41), through app.request() with the
 * fake clock: a QR-minted session cannot act on the owner's other devices, "not me" needs a recent
 * authentication and denies networks with care; a decline burns a login only with the channel's proof;
 * the abuse guard blocks a phishing kit but never a kiosk or an office NAT, logs every block and can be
 * lifted; every sign-out and rename of a device is told to the account and the operator, and renaming
 * another device needs a recent authentication.
 */
import { describe, expect, it } from 'vitest'
import { call, login, refresh, viaApp, withUia, type Answer, type Send } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp, type TestApp } from '../helpers/make-app.ts'
import { drainWebhooks } from '../helpers/webhook-outbox.ts'
import { bindingOf, callWithDpop, decide, pollToken, requestGrant } from '../helpers/qr-login.ts'
import { seededRandom } from '../helpers/seeded-random.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'
import { memoryWebhookOutbox } from '../../src/adapters/durable/memory-webhook-outbox.ts'
import { silentLogger } from '../../src/adapters/platform/node.ts'
import type { Logger } from '../../src/ports.ts'
import { webhookSecurityEvents } from '../../src/services/webhooks.ts'

const PASSWORD = 'correct horse battery staple'
const HOME = '198.51.100.20'
const PHISHER = '203.0.113.77'
const START = Date.UTC(2026, 10, 23, 8, 0)
const CAFE = '203.0.113.90'
const DAY = 86_400_000

const setup = async (env: Record<string, string> = {}, logger?: Logger) => {
  const t = makeApp({
    env: { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0', QRELAY_PROXIMITY_ALLOW_AT_LEAST: 'unknown', ...env },
    clock: fakeClock(START),
    abuse: true,
    ...(logger === undefined ? {} : { logger }),
  })
  const owner = viaApp(t.app, HOME)
  await call(owner, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
  const tokens = await login(owner, 'alice', PASSWORD, undefined, 'Phone')
  return { t, owner, token: tokens.access_token as string, ownerDevice: tokens.device_id as string }
}

/** The owner approves a QR login of a new device at `peer`; returns the new session. */
const qrSignIn = async (t: TestApp, owner: Send, token: string, peer: string, seed: string) => {
  const holder = await dpopHolder()
  const send = viaApp(t.app, peer)
  const binding = bindingOf(seed)
  const { codes } = await requestGrant(send, holder, t.clock.now(), { channel_binding: binding })
  expect(
    (await decide(owner, token, codes.user_code, { decision: 'approve', channel_binding: binding, dpop_jkt: holder.jkt })).status,
  ).toBe(200)
  const tokens = await pollToken(send, holder, t.clock.now(), codes.device_code)
  expect(tokens.status).toBe(200)
  const as = (method: string, path: string, body?: unknown): Promise<Answer> =>
    callWithDpop(send, holder, t.clock.now(), method, path, tokens.body.access_token as string, body)
  return { send, holder, as, deviceId: tokens.body.device_id as string }
}

const whoami = (send: Send, token: string) => call(send, 'GET', '/v1/account/whoami', undefined, token)

describe('finding 1: "not me" and other-device actions from a quarantined session', () => {
  it('finding 1: a quarantined QR session cannot report the approving device "not me": 403 quarantined, nothing changes', async () => {
    const { t, owner, token, ownerDevice } = await setup()
    const phished = await qrSignIn(t, owner, token, PHISHER, 'P')
    // The new session learns which device approved it (its own record names it), then reports that.
    const listed = await phished.as('GET', '/v1/devices')
    const approvedBy = listed.body.devices.find((d: { current: boolean }) => d.current).approved_by_device_id as string
    expect(approvedBy).toBe(ownerDevice)
    const report = await phished.as('POST', `/v1/devices/${approvedBy}/not-me`, {})
    expect(report).toMatchObject({ status: 403, body: { reason: 'quarantined' } })
    expect((await whoami(owner, token)).status).toBe(200)
    // The owner's network was not denied: it still creates channels and approves logins.
    expect((await call(owner, 'POST', '/v1/rendezvous', { data: '' })).status).toBeLessThan(300)
    await qrSignIn(t, owner, token, '198.51.100.30', 'Q')
  })

  it('finding 1: a quarantined session cannot sign out or rename another device, but lists devices and signs itself out', async () => {
    const { t, owner, token, ownerDevice } = await setup()
    const phished = await qrSignIn(t, owner, token, PHISHER, 'P')
    expect(await phished.as('DELETE', `/v1/devices/${ownerDevice}`, {})).toMatchObject({ status: 403, body: { reason: 'quarantined' } })
    expect(await phished.as('PATCH', `/v1/devices/${ownerDevice}`, { display_name: 'old junk' })).toMatchObject({
      status: 403,
      body: { reason: 'quarantined' },
    })
    const listed = await phished.as('GET', '/v1/devices')
    expect(listed.status, JSON.stringify(listed.body)).toBe(200)
    expect(listed.body.devices.find((d: { device_id: string }) => d.device_id === ownerDevice).display_name).toBe('Phone')
    expect((await phished.as('PATCH', `/v1/devices/${phished.deviceId}`, { display_name: 'Laptop' })).status).toBe(200)
    // (The device list still needs a token: one auth pass, not two.)
    expect((await call(viaApp(t.app), 'GET', '/v1/devices')).status).toBe(401)
    expect((await phished.as('POST', '/v1/logout', {})).status).toBeLessThan(300)
    expect((await whoami(owner, token)).status).toBe(200)
  })

  it('finding 1: once out of quarantine a QR session still needs a step-up (it never proved a credential)', async () => {
    const { t, owner, token, ownerDevice } = await setup({ QRELAY_QUARANTINE_SECONDS: '60' })
    const laptop = await qrSignIn(t, owner, token, PHISHER, 'L')
    t.clock.advance(61_000)
    const first = await laptop.as('POST', `/v1/devices/${ownerDevice}/not-me`, {})
    expect(first.status).toBe(401)
    expect(first.body.flows).toEqual([{ stages: ['m.login.password'] }])
    const wrong = await laptop.as('POST', `/v1/devices/${ownerDevice}/not-me`, {
      auth: { type: 'm.login.password', session: first.body.session, password: 'nope nope nope nope' },
    })
    expect(wrong.status).toBe(401)
    expect((await whoami(owner, token)).status).toBe(200)
    // With the password (the real owner on their laptop), the report goes through.
    const done = await laptop.as('POST', `/v1/devices/${ownerDevice}/not-me`, {
      auth: { type: 'm.login.password', session: first.body.session, password: PASSWORD },
    })
    expect(done.status).toBe(200)
    expect((await whoami(owner, token)).status).toBe(401)
  })

  it('finding 1: a stale password session is asked for UIA before reporting; a fresh one is not', async () => {
    const { t, owner, token } = await setup({ QRELAY_POLICY_DEVICE_ACTION_MAX_AUTH_AGE_SECONDS: '60' })
    const a = await qrSignIn(t, owner, token, PHISHER, 'A')
    expect((await call(owner, 'POST', `/v1/devices/${a.deviceId}/not-me`, {}, token)).status).toBe(200)
    const b = await qrSignIn(t, owner, token, '203.0.113.78', 'B')
    t.clock.advance(120_000)
    const stale = await call(owner, 'POST', `/v1/devices/${b.deviceId}/not-me`, {}, token)
    expect(stale.status).toBe(401)
    const done = await call(
      owner,
      'POST',
      `/v1/devices/${b.deviceId}/not-me`,
      { auth: { type: 'm.login.password', session: stale.body.session, password: PASSWORD } },
      token,
    )
    expect(done).toMatchObject({ status: 200, body: { revoked_device_ids: [b.deviceId] } })
  })

  it("finding 1: a report never denies the reporter's network nor one where a trusted device was seen recently", async () => {
    const { t, owner, token } = await setup()
    const sameNet = await qrSignIn(t, owner, token, HOME, 'H')
    const r1 = await call(owner, 'POST', `/v1/devices/${sameNet.deviceId}/not-me`, {}, token)
    expect(r1).toMatchObject({ status: 200, body: { network_denied_for_seconds: 0, network_kept_because: 'reporter_network' } })
    // The office laptop (a password login) is trusted; a QR device seen there must not get it denied.
    const office = viaApp(t.app, '192.0.2.80')
    const laptop = await login(office, 'alice', PASSWORD, undefined, 'Office laptop')
    expect((await whoami(office, laptop.access_token)).status).toBe(200)
    const atOffice = await qrSignIn(t, owner, token, '192.0.2.80', 'O')
    const r2 = await call(owner, 'POST', `/v1/devices/${atOffice.deviceId}/not-me`, {}, token)
    expect(r2).toMatchObject({ status: 200, body: { network_denied_for_seconds: 0, network_kept_because: 'trusted_device_network' } })
    expect((await call(office, 'POST', '/v1/rendezvous', { data: '' })).status).toBeLessThan(300)
  })

  it("finding 1: one account's report denies the network to that account only; reports from three accounts deny it to everybody", async () => {
    const { t, owner } = await setup()
    const names = ['alice', 'bob', 'carol']
    const sends = [owner, viaApp(t.app, '198.51.100.40'), viaApp(t.app, '198.51.100.41')]
    for (const [i, name] of names.entries()) {
      if (i > 0) await call(sends[i] as Send, 'POST', '/v1/admin/users', { username: name, password: PASSWORD }, ADMIN_TOKEN)
      if (i > 0) await login(sends[i] as Send, name, PASSWORD, undefined, 'Phone')
    }
    // Established accounts (finding 42): each has had its phone for more than 7 days; they sign in
    // again today on a laptop at the same place, to report with a fresh authentication.
    t.clock.advance(8 * DAY)
    const accounts: { owner: Send; token: string }[] = []
    for (const [i, name] of names.entries()) {
      accounts.push({
        owner: sends[i] as Send,
        token: (await login(sends[i] as Send, name, PASSWORD, undefined, 'Laptop')).access_token as string,
      })
    }
    const token = accounts[0]?.token as string
    const scopes: string[] = []
    for (const [i, a] of accounts.entries()) {
      const phished = await qrSignIn(t, a.owner, a.token, PHISHER, `${i}`)
      const r = await call(a.owner, 'POST', `/v1/devices/${phished.deviceId}/not-me`, {}, a.token)
      expect(r.status).toBe(200)
      scopes.push(r.body.network_deny_scope as string)
      if (i === 0) {
        // Alice cannot be phished from there again; Bob still can sign in a device from there.
        const holder = await dpopHolder()
        const { codes } = await requestGrant(viaApp(t.app, PHISHER), holder, t.clock.now(), { channel_binding: bindingOf('x') })
        const refused = await decide(owner, token, codes.user_code, {
          decision: 'approve',
          channel_binding: bindingOf('x'),
          dpop_jkt: holder.jkt,
        })
        expect(refused).toMatchObject({ status: 403, body: { reason: 'abuse_blocked' } })
        expect((await call(viaApp(t.app, PHISHER), 'POST', '/v1/rendezvous', { data: '' })).status).toBeLessThan(300)
      }
    }
    expect(scopes).toEqual(['account', 'account', 'global'])
    expect((await call(viaApp(t.app, PHISHER), 'POST', '/v1/rendezvous', { data: '' })).body.qrelay_code).toBe('NETWORK_DENIED')
  })
})

/** Registers `name` and signs it in from `network`; its password device and token. */
const account = async (t: TestApp, name: string, network: string) => {
  const send = viaApp(t.app, network)
  await call(send, 'POST', '/v1/admin/users', { username: name, password: PASSWORD }, ADMIN_TOKEN)
  return { owner: send, token: (await login(send, name, PASSWORD)).access_token as string }
}

describe('finding 42: "not me" reports from throwaway accounts do not deny a shared network to everybody', () => {
  it('finding 42: three fresh accounts reporting sign-ins from a café network deny it only to themselves', async () => {
    const { t, owner, token } = await setup()
    const throwaways = [
      await account(t, 'sybil1', '192.0.2.11'),
      await account(t, 'sybil2', '192.0.2.12'),
      await account(t, 'sybil3', '192.0.2.13'),
    ]
    const answers: Answer[] = []
    for (const [i, a] of throwaways.entries()) {
      const signedIn = await qrSignIn(t, a.owner, a.token, CAFE, `s${i}`)
      answers.push(await call(a.owner, 'POST', `/v1/devices/${signedIn.deviceId}/not-me`, {}, a.token))
    }
    expect(answers.map((r) => r.body.network_deny_scope)).toEqual(['account', 'account', 'account'])
    // Everybody else behind the café's address still signs in by QR there.
    expect((await call(viaApp(t.app, CAFE), 'POST', '/v1/rendezvous', { data: '' })).status).toBeLessThan(300)
    for (const r of answers) {
      expect(r).toMatchObject({ status: 200, body: { network_deny_scope: 'account', network_kept_because: 'reporter_not_established' } })
    }
    await qrSignIn(t, owner, token, CAFE, 'honest')
  })
})

/**
 * Accounts that had a phone signed in at `phone` for 8 days (established), signed in again today on a
 * laptop at `today` (a fresh authentication to approve and report with).
 */
const establishedAccounts = async (t: TestApp, specs: { name: string; phone: string; today: string }[]) => {
  for (const { name, phone } of specs) {
    const send = viaApp(t.app, phone)
    await call(send, 'POST', '/v1/admin/users', { username: name, password: PASSWORD }, ADMIN_TOKEN)
    await login(send, name, PASSWORD, undefined, 'Phone')
  }
  t.clock.advance(8 * DAY)
  const accounts: { owner: Send; token: string }[] = []
  for (const { name, today } of specs) {
    const send = viaApp(t.app, today)
    accounts.push({ owner: send, token: (await login(send, name, PASSWORD, undefined, 'Laptop')).access_token as string })
  }
  return accounts
}

/** Each account signs a device in by QR from `network` and reports it "not me"; the answers. */
const reportSignInsFrom = async (t: TestApp, accounts: { owner: Send; token: string }[], network: string): Promise<Answer[]> => {
  const answers: Answer[] = []
  for (const [i, a] of accounts.entries()) {
    const signedIn = await qrSignIn(t, a.owner, a.token, network, `r${i}`)
    answers.push(await call(a.owner, 'POST', `/v1/devices/${signedIn.deviceId}/not-me`, {}, a.token))
  }
  return answers
}

/** `approver` approves a login of a new device at `network` (a typed-code grant: no channel created). */
const approveFrom = async (t: TestApp, approver: { owner: Send; token: string }, network: string, seed: string): Promise<Answer> => {
  const holder = await dpopHolder()
  const { codes } = await requestGrant(viaApp(t.app, network), holder, t.clock.now(), { channel_binding: bindingOf(seed) })
  return decide(approver.owner, approver.token, codes.user_code, {
    decision: 'approve',
    channel_binding: bindingOf(seed),
    dpop_jkt: holder.jkt,
  })
}

describe('finding 42: a deny of everybody needs independent, established reporters, and spares the owners who know the network', () => {
  it('finding 42: established accounts whose devices share one network count as one reporter', async () => {
    const { t } = await setup()
    // One person's three accounts: phones at one home, reporting today from three other places.
    const accounts = await establishedAccounts(t, [
      { name: 'sybil1', phone: '192.0.2.30', today: '192.0.2.31' },
      { name: 'sybil2', phone: '192.0.2.30', today: '192.0.2.32' },
      { name: 'sybil3', phone: '192.0.2.30', today: '192.0.2.33' },
    ])
    const answers = await reportSignInsFrom(t, accounts, CAFE)
    expect(answers.map((r) => [r.body.network_deny_scope, r.body.network_kept_because])).toEqual([
      ['account', 'below_global_threshold'],
      ['account', 'shared_reporter_network'],
      ['account', 'shared_reporter_network'],
    ])
    expect((await call(viaApp(t.app, CAFE), 'POST', '/v1/rendezvous', { data: '' })).status).toBeLessThan(300)
  })

  it('finding 42: a deny of everybody never locks out an account whose established trusted device was seen on that network; the lift ends it', async () => {
    // Channels are created signed in here (QRELAY_INITIATION_REQUIRE_AUTH): the creator has an account.
    const { t, owner } = await setup({ QRELAY_INITIATION_REQUIRE_AUTH: 'true' })
    const [r1, r2, r3, dave] = await establishedAccounts(t, [
      { name: 'rita', phone: '192.0.2.21', today: '192.0.2.21' },
      { name: 'sam', phone: '192.0.2.22', today: '192.0.2.22' },
      { name: 'tom', phone: '192.0.2.23', today: '192.0.2.23' },
      // Dave works from the café: his phone (trusted, a week old) was signed in there.
      { name: 'dave', phone: CAFE, today: CAFE },
    ])
    const answers = await reportSignInsFrom(t, [r1, r2, r3] as { owner: Send; token: string }[], CAFE)
    expect(answers.map((r) => r.body.network_deny_scope)).toEqual(['account', 'account', 'global'])
    // Strangers: no channel from the café, no approval of a device there.
    const alice = { owner, token: (await login(owner, 'alice', PASSWORD)).access_token as string }
    const createAtCafe = (token: string) => call(viaApp(t.app, CAFE), 'POST', '/v1/rendezvous', { data: '' }, token)
    expect((await createAtCafe(alice.token)).body.qrelay_code).toBe('NETWORK_DENIED')
    expect(await approveFrom(t, alice, CAFE, 'a')).toMatchObject({ status: 403, body: { reason: 'abuse_blocked' } })
    // Dave still approves a new device at the café from his laptop there.
    expect((await approveFrom(t, dave as { owner: Send; token: string }, CAFE, 'd')).status).toBe(200)
    // The reporters themselves stay denied (their own reports), trusted device or not.
    expect(await approveFrom(t, r1 as { owner: Send; token: string }, CAFE, 'r')).toMatchObject({ status: 403 })
    // A fresh account signed in at the café is not vouched for by the very request that marks it seen there.
    const cafe = viaApp(t.app, CAFE)
    await call(owner, 'POST', '/v1/admin/users', { username: 'mallory', password: PASSWORD }, ADMIN_TOKEN)
    const mallory = { owner: cafe, token: (await login(cafe, 'mallory', PASSWORD)).access_token as string }
    expect(await approveFrom(t, mallory, CAFE, 'm')).toMatchObject({ status: 403, body: { reason: 'abuse_blocked' } })
    // No channel is created there, signed in or not, Dave included (his device would vouch for the request itself).
    expect((await createAtCafe(mallory.token)).body.qrelay_code).toBe('NETWORK_DENIED')
    expect((await createAtCafe((dave as { token: string }).token)).body.qrelay_code).toBe('NETWORK_DENIED')
    expect((await call(owner, 'POST', '/v1/admin/abuse/lift', { network: CAFE }, ADMIN_TOKEN)).status).toBe(200)
    expect((await approveFrom(t, alice, CAFE, 'a2')).status).toBe(200)
    expect((await createAtCafe(alice.token)).status).toBeLessThan(300)
  })
})

describe('finding 42 (sibling): declined logins from one account do not block a shared network', () => {
  it('finding 42: one account declining its own logins from a café five times an hour does not block the café', async () => {
    const { t } = await setup()
    const [sybil] = await establishedAccounts(t, [{ name: 'sybil', phone: '192.0.2.40', today: '192.0.2.40' }])
    const a = sybil as { owner: Send; token: string }
    for (let i = 0; i < 6; i++) {
      const holder = await dpopHolder()
      const { codes } = await requestGrant(viaApp(t.app, CAFE), holder, t.clock.now(), { channel_binding: bindingOf(`d${i}`) })
      const declined = await decide(a.owner, a.token, codes.user_code, {
        decision: 'decline',
        channel_binding: bindingOf(`d${i}`),
        dpop_jkt: holder.jkt,
      })
      expect(declined.status, `${i} ${JSON.stringify(declined.body)}`).toBe(200)
      t.clock.advance(30_000)
    }
    expect((await call(viaApp(t.app, CAFE), 'POST', '/v1/rendezvous', { data: '' })).status).toBeLessThan(300)
  })

  it('finding 42: declines by five accounts in an hour still block the network (the signal stays)', async () => {
    const { t } = await setup()
    const names = ['v1', 'v2', 'v3', 'v4', 'v5']
    const victims = await establishedAccounts(
      t,
      names.map((name, i) => ({ name, phone: `192.0.2.${50 + i}`, today: `192.0.2.${50 + i}` })),
    )
    for (const [i, v] of victims.entries()) {
      const holder = await dpopHolder()
      const { codes } = await requestGrant(viaApp(t.app, PHISHER), holder, t.clock.now(), { channel_binding: bindingOf(`k${i}`) })
      expect(
        (
          await decide(v.owner, v.token, codes.user_code, {
            decision: 'decline',
            channel_binding: bindingOf(`k${i}`),
            dpop_jkt: holder.jkt,
          })
        ).status,
      ).toBe(200)
    }
    expect((await call(viaApp(t.app, PHISHER), 'POST', '/v1/rendezvous', { data: '' })).body.qrelay_code).toBe('NETWORK_DENIED')
  })
})

describe('finding 7: a decline needs the same proof as an approval', () => {
  const twoAccounts = async () => {
    const s = await setup()
    const mallory = viaApp(s.t.app, '192.0.2.66')
    await call(mallory, 'POST', '/v1/admin/users', { username: 'mallory', password: PASSWORD }, ADMIN_TOKEN)
    const malloryToken = (await login(mallory, 'mallory', PASSWORD)).access_token as string
    const holder = await dpopHolder()
    const newDevice = viaApp(s.t.app, '198.51.100.21')
    const { codes } = await requestGrant(newDevice, holder, s.t.clock.now(), { channel_binding: bindingOf('G') })
    return { ...s, mallory, malloryToken, holder, newDevice, codes }
  }

  it('finding 7: a decline with a random binding only hides the request from that account; the owner still approves it', async () => {
    const s = await twoAccounts()
    const burn = await decide(s.mallory, s.malloryToken, s.codes.user_code, {
      decision: 'decline',
      channel_binding: bindingOf('Z'),
      dpop_jkt: bindingOf('Y'),
    })
    expect(burn).toMatchObject({ status: 200, body: { status: 'declined' } })
    expect((await pollToken(s.newDevice, s.holder, s.t.clock.now(), s.codes.device_code)).body.error).toBe('authorization_pending')
    expect((await call(s.mallory, 'GET', `/v1/approvals/${s.codes.user_code}`, undefined, s.malloryToken)).status).toBe(404)
    s.t.clock.advance(10_000)
    const ok = await decide(s.owner, s.token, s.codes.user_code, {
      decision: 'approve',
      channel_binding: bindingOf('G'),
      dpop_jkt: s.holder.jkt,
    })
    expect(ok.status).toBe(200)
    expect((await pollToken(s.newDevice, s.holder, s.t.clock.now(), s.codes.device_code)).status).toBe(200)
  })

  it('finding 7: an approval with a wrong binding does not burn it either', async () => {
    const s = await twoAccounts()
    const wrong = await decide(s.mallory, s.malloryToken, s.codes.user_code, {
      decision: 'approve',
      channel_binding: bindingOf('Z'),
      dpop_jkt: s.holder.jkt,
    })
    expect(wrong.body.qrelay_code).toBe('CHANNEL_BINDING_MISMATCH')
    expect(
      (await decide(s.owner, s.token, s.codes.user_code, { decision: 'approve', channel_binding: bindingOf('G'), dpop_jkt: s.holder.jkt }))
        .status,
    ).toBe(200)
  })

  it('finding 7: a decline with the binding and key burns the login (access_denied)', async () => {
    const s = await twoAccounts()
    const declined = await decide(s.owner, s.token, s.codes.user_code, {
      decision: 'decline',
      channel_binding: bindingOf('G'),
      dpop_jkt: s.holder.jkt,
    })
    expect(declined).toMatchObject({ status: 200, body: { status: 'declined' } })
    expect((await pollToken(s.newDevice, s.holder, s.t.clock.now(), s.codes.device_code)).body.error).toBe('access_denied')
  })

  it("finding 7: unproven declines are not counted against the new device's network", async () => {
    const s = await setup({ QRELAY_ABUSE_MAX_DECLINED_APPROVALS: '1' })
    const victim = viaApp(s.t.app, '198.51.100.99')
    const holder = await dpopHolder()
    const { codes } = await requestGrant(victim, holder, s.t.clock.now(), { channel_binding: bindingOf('V') })
    await decide(s.owner, s.token, codes.user_code, { decision: 'decline', channel_binding: bindingOf('Z'), dpop_jkt: bindingOf('Y') })
    expect((await call(victim, 'POST', '/v1/rendezvous', { data: '' })).status).toBeLessThan(300)
  })
})

/** Creates one channel from `peer`; with `complete`, a phone on another network joins it. */
const createChannel = async (t: TestApp, peer: string, complete: boolean): Promise<Answer> => {
  const created = await call(viaApp(t.app, peer), 'POST', '/v1/rendezvous', { data: '' })
  if (complete && created.status < 300) {
    expect((await call(viaApp(t.app, '100.64.0.9'), 'GET', `/v1/rendezvous/${created.body.id as string}`)).status).toBe(200)
  }
  return created
}

const MIN = 60_000

describe('finding 18: abuse thresholds from realistic traffic', () => {
  it('finding 18: a kiosk page re-creating its QR every 2 min for 8 h is never blocked', async () => {
    const { t } = await setup()
    for (let i = 0; i < (8 * 60) / 2; i++) {
      const created = await createChannel(t, '203.0.113.10', i % 40 === 39)
      expect(created.status, `channel ${i}: ${JSON.stringify(created.body)}`).toBeLessThan(300)
      t.clock.advance(2 * MIN)
    }
  })

  it('finding 18: 300 users behind one NAT at 9:00, some abandoning and retrying, are never blocked', async () => {
    const { t } = await setup()
    t.clock.set(Date.UTC(2026, 10, 23, 8, 45))
    const random = seededRandom('nat')
    const byte = () => random.bytes(1)[0] as number
    // Arrivals 8:45–9:15, each user creating a channel; ~15 % abandon, half of those try again later.
    const plan: { atMs: number; complete: boolean }[] = []
    for (let u = 0; u < 300; u++) {
      const atMs = t.clock.now() + Math.floor(((byte() * 256 + byte()) / 65_536) * 30 * MIN)
      const abandons = byte() < 38
      plan.push({ atMs, complete: !abandons })
      if (abandons && byte() < 128) plan.push({ atMs: atMs + 3 * MIN, complete: true })
    }
    plan.sort((a, b) => a.atMs - b.atMs)
    for (const step of plan) {
      if (step.atMs > t.clock.now()) t.clock.advance(step.atMs - t.clock.now())
      const created = await createChannel(t, '203.0.113.20', step.complete)
      expect(created.status, JSON.stringify(created.body)).toBeLessThan(300)
    }
  })

  it('finding 18: a kit creating 1 000 channels an hour is blocked within 10 minutes, and the block doubles', async () => {
    const { t } = await setup()
    let blockedAt = -1
    let first: Answer | undefined
    for (let i = 0; i < 1000 && blockedAt < 0; i++) {
      const created = await createChannel(t, '203.0.113.30', false)
      if (created.status === 403) {
        blockedAt = i
        first = created
      }
      t.clock.advance(3_600)
    }
    expect(blockedAt).toBeGreaterThan(0)
    expect(blockedAt * 3_600).toBeLessThanOrEqual(10 * MIN)
    expect(first?.body).toMatchObject({ qrelay_code: 'NETWORK_DENIED', retry_after_ms: 10 * MIN })
    // It comes back after the block and keeps going: the next strike blocks it twice as long.
    t.clock.advance(10 * MIN)
    let second: Answer | undefined
    for (let i = 0; i < 300 && second === undefined; i++) {
      const created = await createChannel(t, '203.0.113.30', false)
      if (created.status === 403) second = created
      t.clock.advance(3_600)
    }
    expect(second?.body).toMatchObject({ qrelay_code: 'NETWORK_DENIED', retry_after_ms: 20 * MIN })
  })

  it('finding 18: every block is logged at warn with its reason and counts', async () => {
    const lines: { fields: Record<string, unknown>; message: string }[] = []
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      warn: (fields, message) => lines.push({ fields, message }),
      error: () => {},
      child: () => logger,
    }
    const { t } = await setup({ QRELAY_RATE_CREATE_PER_CLIENT: '1000/60s', QRELAY_ABUSE_MIN_CREATED_FOR_RATIO: '20' }, logger)
    for (let i = 0; i < 21; i++) await createChannel(t, '203.0.113.40', false)
    const block = lines.find((l) => l.message === 'network blocked after abuse signals')
    expect(block?.fields).toMatchObject({ network: '203.0.113.40', reason: 'low_completion', strikes: 1, blockedForSeconds: 600 })
    expect(block?.fields.counts).toMatchObject({ channelsCreated: 20, channelsCompleted: 0 })
  })

  it('finding 18: loopback is exempt by default, trusted networks when configured', async () => {
    const { t } = await setup({
      QRELAY_RATE_CREATE_PER_CLIENT: '1000/60s',
      QRELAY_ABUSE_MIN_CREATED_FOR_RATIO: '20',
      QRELAY_POLICY_TRUSTED_NETWORKS: '192.0.2.0/24',
      QRELAY_ABUSE_EXEMPT_TRUSTED_NETWORKS: 'true',
    })
    for (let i = 0; i < 40; i++) {
      expect((await createChannel(t, '127.0.0.1', false)).status).toBeLessThan(300)
      expect((await createChannel(t, '192.0.2.77', false)).status).toBeLessThan(300)
    }
    for (let i = 0; i < 20; i++) await createChannel(t, '203.0.113.50', false)
    expect((await createChannel(t, '203.0.113.50', false)).status).toBe(403)
  })

  it('finding 18: the operator sees and lifts a block with the admin token', async () => {
    const { t } = await setup({ QRELAY_RATE_CREATE_PER_CLIENT: '1000/60s', QRELAY_ABUSE_MIN_CREATED_FOR_RATIO: '20' })
    for (let i = 0; i < 21; i++) await createChannel(t, '203.0.113.60', false)
    const admin = viaApp(t.app, HOME)
    expect((await call(admin, 'POST', '/v1/admin/abuse/lift', { network: '203.0.113.60' }, 'wrong')).status).toBe(401)
    expect((await call(admin, 'GET', '/v1/admin/abuse?network=203.0.113.60', undefined, ADMIN_TOKEN)).body).toEqual({
      network: '203.0.113.60',
      denied_for_seconds: 600,
    })
    const lifted = await call(admin, 'POST', '/v1/admin/abuse/lift', { network: '203.0.113.60' }, ADMIN_TOKEN)
    expect(lifted).toMatchObject({ status: 200, body: { was_denied_for_seconds: 600 } })
    // The counts that caused it do not strike again at once.
    expect((await createChannel(t, '203.0.113.60', false)).status).toBeLessThan(300)
    expect((await call(admin, 'POST', '/v1/admin/abuse/lift', { network: 'not a network' }, ADMIN_TOKEN)).status).toBe(400)
  })
})

describe("finding 41: the owner's devices signed out or renamed without a trace", () => {
  const ORIGIN = 'https://relay.example'
  const LAPTOP_NET = '192.0.2.80'

  /** Alice's phone and tablet, and a laptop signed in with her (stolen) password; every event also goes to a webhook outbox. */
  const withDevices = async (env: Record<string, string> = {}) => {
    const outbox = memoryWebhookOutbox()
    const t = makeApp({
      env: { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0', QRELAY_PROXIMITY_ALLOW_AT_LEAST: 'unknown', ...env },
      clock: fakeClock(START),
      sinks: (clock) => [webhookSecurityEvents({ outbox, clock, random: seededRandom(41), logger: silentLogger })],
    })
    const owner = viaApp(t.app, HOME)
    await call(owner, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
    const phone = await login(owner, 'alice', PASSWORD, undefined, 'Phone')
    const tablet = await login(owner, 'alice', PASSWORD, undefined, 'Tablet')
    const laptopSend = viaApp(t.app, LAPTOP_NET)
    const laptop = await login(laptopSend, 'alice', PASSWORD, undefined, 'Laptop')
    const since = (await call(owner, 'GET', '/v1/events', undefined, tablet.access_token)).body.next_since as number
    /** Every webhook waiting, in order (one account's are handed out one at a time), delivered. */
    const webhooks = () => drainWebhooks(outbox, t.clock.now())

    // The sign-ins' webhooks are finding 40's: delivered before each test looks at its own.
    await webhooks()
    const news = async (token: string = tablet.access_token) =>
      (await call(owner, 'GET', `/v1/events?since=${since}`, undefined, token)).body.events as Array<Record<string, any>>
    return { t, owner, phone, tablet, laptop, laptopSend, since, news, webhooks }
  }

  it("finding 41: a sign-out of the owner's phone from another device is in the feed and the webhook, naming who did it", async () => {
    const s = await withDevices()
    // The phone holds a read open: it is signed out, so it hears nothing (finding 37).
    const held = call(s.owner, 'GET', `/v1/events?since=${s.since}&timeout_ms=10000`, undefined, s.phone.access_token)
    await new Promise((resolve) => setTimeout(resolve, 150))
    const { final } = await withUia(
      s.laptopSend,
      'DELETE',
      `/v1/devices/${s.phone.device_id}`,
      {},
      PASSWORD,
      undefined,
      s.laptop.access_token,
    )
    expect(final.status, JSON.stringify(final.body)).toBe(200)
    expect((await held).status).toBe(401)
    // Before: no event at all, and no webhook.
    const details = { by_device: s.laptop.device_id, self: false, device_name: 'Phone' }
    expect(await s.news()).toEqual([expect.objectContaining({ type: 'device_signed_out', device_id: s.phone.device_id, details })])
    expect(await s.webhooks()).toEqual([
      {
        type: 'security.device_signed_out',
        timestamp: new Date(s.t.clock.now()).toISOString(),
        data: { account_id: expect.any(String), device_id: s.phone.device_id, at_ms: s.t.clock.now(), details },
      },
    ])
  })

  it('finding 41: a device signing itself out (POST /v1/logout, DELETE of itself) is reported with self: true', async () => {
    const s = await withDevices()
    expect((await call(s.laptopSend, 'POST', '/v1/logout', {}, s.laptop.access_token)).status).toBe(200)
    const { final } = await withUia(s.owner, 'DELETE', `/v1/devices/${s.phone.device_id}`, {}, PASSWORD, undefined, s.phone.access_token)
    expect(final.status).toBe(200)
    expect((await s.news()).map((e) => [e.type, e.device_id, e.details])).toEqual([
      ['device_signed_out', s.laptop.device_id, { by_device: s.laptop.device_id, self: true, device_name: 'Laptop' }],
      ['device_signed_out', s.phone.device_id, { by_device: s.phone.device_id, self: true, device_name: 'Phone' }],
    ])
    expect((await s.webhooks()).map((w) => [w.type, w.data.device_id])).toEqual([
      ['security.device_signed_out', s.laptop.device_id],
      ['security.device_signed_out', s.phone.device_id],
    ])
  })

  it("finding 41: the pages' sign-outs (another device on /account, this browser on /signout) are reported and worded", async () => {
    const s = await withDevices()
    const account = await s.t.durable.accounts.findByUsername('alice')
    if (account === null) throw new Error('no account')
    const browser = await s.t.auth.sessions.mint(account, { displayName: 'Web browser', origin: 'password' })
    const cookie = `__Host-qrelay-page=${browser.accessToken}`
    const post = (path: string, fields: Record<string, string>) =>
      s.t.app.request(`${ORIGIN}${path}`, {
        method: 'POST',
        headers: { cookie, origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded', 'x-test-peer': HOME },
        body: new URLSearchParams(fields).toString(),
      })
    const signedOut = await post('/account/devices/sign-out', { device_id: s.laptop.device_id, confirm: '1', password: PASSWORD })
    expect(signedOut.status).toBe(200)
    const feed = async (lang: string) => {
      const res = await s.t.app.request(`${ORIGIN}/account/events?since=${s.since}&lang=${lang}`, {
        headers: { cookie, 'x-test-peer': HOME },
      })
      return ((await res.json()) as { events: Array<{ text: string }> }).events.map((e) => e.text)
    }
    expect(await feed('en')).toEqual(['“Laptop” was signed out from “Web browser”.'])
    expect(await feed('de')).toEqual(['“Laptop” wurde von “Web browser” abgemeldet.'])
    expect((await post('/signout', {})).status).toBe(200)
    expect((await s.news()).map((e) => [e.type, e.device_id, e.details.by_device, e.details.self])).toEqual([
      ['device_signed_out', s.laptop.device_id, browser.deviceId, false],
      ['device_signed_out', browser.deviceId, browser.deviceId, true],
    ])
    expect((await s.webhooks()).map((w) => w.type)).toEqual(['security.device_signed_out', 'security.device_signed_out'])
  })

  it("finding 41: a QR session just out of quarantine is asked for a step-up before renaming the owner's phone; renaming itself is not, and both are reported", async () => {
    const s = await withDevices({ QRELAY_QUARANTINE_SECONDS: '60' })
    const phished = await qrSignIn(s.t, s.owner, s.phone.access_token, PHISHER, 'P')
    await s.webhooks()
    // In quarantine it still renames itself (to look like the owner's phone), and that is reported.
    expect((await phished.as('PATCH', `/v1/devices/${phished.deviceId}`, { display_name: 'Phone' })).status).toBe(200)
    s.t.clock.advance(61_000)
    const rename = { display_name: 'old tablet - unused' }
    const asked = await phished.as('PATCH', `/v1/devices/${s.phone.device_id}`, rename)
    // Before: 200, the owner's phone renamed without any proof.
    expect(asked.status, JSON.stringify(asked.body)).toBe(401)
    expect(asked.body.flows).toEqual([{ stages: ['m.login.password'] }])
    const names = async () =>
      ((await call(s.owner, 'GET', '/v1/devices', undefined, s.tablet.access_token)).body.devices as Array<Record<string, any>>).map(
        (d) => d.display_name,
      )
    expect(await names()).toContain('Phone')
    expect(await names()).not.toContain('old tablet - unused')
    // With the password (a phisher who has it too), it goes through, and the owner sees who did it.
    const done = await phished.as('PATCH', `/v1/devices/${s.phone.device_id}`, {
      ...rename,
      auth: { type: 'm.login.password', session: asked.body.session, password: PASSWORD },
    })
    expect(done.status, JSON.stringify(done.body)).toBe(200)
    const renamed = (await s.news()).filter((e) => e.type === 'device_renamed')
    expect(renamed.map((e) => [e.device_id, e.details])).toEqual([
      [phished.deviceId, { by_device: phished.deviceId, self: true, old_name: 'New device', new_name: 'Phone' }],
      [s.phone.device_id, { by_device: phished.deviceId, self: false, old_name: 'Phone', new_name: 'old tablet - unused' }],
    ])
    const hooks = await s.webhooks()
    expect(hooks.map((w) => [w.type, w.data.device_id, w.data.details])).toEqual(
      renamed.map((e) => ['security.device_renamed', e.device_id, e.details]),
    )
    const cookie = `__Host-qrelay-page=${s.tablet.access_token}`
    const res = await s.t.app.request(`${ORIGIN}/account/events?since=${s.since}`, { headers: { cookie, 'x-test-peer': HOME } })
    const texts = ((await res.json()) as { events: Array<{ text: string }> }).events.map((e) => e.text)
    expect(texts).toContain('“New device” renamed itself to “Phone”.')
    expect(texts).toContain('“Phone” renamed “Phone” to “old tablet - unused”.')
  })

  it("finding 41: a phished session cannot push its own sign-in out of the owner's feed by renaming itself over and over", async () => {
    const s = await withDevices()
    const phished = await qrSignIn(s.t, s.owner, s.phone.access_token, PHISHER, 'P')
    const statuses: number[] = []
    // The feed keeps the newest 100 events: 150 renames would leave only renames in it.
    for (let i = 0; i < 150; i++) {
      statuses.push((await phished.as('PATCH', `/v1/devices/${phished.deviceId}`, { display_name: `Phone ${i}` })).status)
    }
    expect(statuses.slice(0, 10).every((status) => status === 200)).toBe(true)
    expect(statuses.slice(10).every((status) => status === 429)).toBe(true)
    const news = await s.news()
    expect(news.filter((e) => e.type === 'device_renamed')).toHaveLength(10)
    expect(news.filter((e) => e.type === 'device_signed_in' && e.device_id === phished.deviceId)).toHaveLength(1)
    // The owner's own renames are counted per device: the phone still renames after the phisher's 429s.
    const path = `/v1/devices/${s.tablet.device_id}`
    expect((await call(s.owner, 'PATCH', path, { display_name: 'Old tablet' }, s.phone.access_token)).status).toBe(200)
  })

  it('finding 41: a stale password session is asked for UIA before renaming another device; a fresh one is not', async () => {
    const s = await withDevices({ QRELAY_POLICY_DEVICE_ACTION_MAX_AUTH_AGE_SECONDS: '60' })
    const path = `/v1/devices/${s.tablet.device_id}`
    expect((await call(s.laptopSend, 'PATCH', path, { display_name: 'Old tablet' }, s.laptop.access_token)).status).toBe(200)
    s.t.clock.advance(120_000)
    const stale = await call(s.laptopSend, 'PATCH', path, { display_name: 'Unused' }, s.laptop.access_token)
    expect(stale.status).toBe(401)
    // The step-up is bound to this very request: another name needs its own.
    const other = await call(
      s.laptopSend,
      'PATCH',
      path,
      { display_name: 'Something else', auth: { type: 'm.login.password', session: stale.body.session, password: PASSWORD } },
      s.laptop.access_token,
    )
    expect(other.status).not.toBe(200)
    const { final } = await withUia(s.laptopSend, 'PATCH', path, { display_name: 'Unused' }, PASSWORD, undefined, s.laptop.access_token)
    expect(final.status).toBe(200)
    // Renaming itself never asks.
    expect(
      (await call(s.laptopSend, 'PATCH', `/v1/devices/${s.laptop.device_id}`, { display_name: 'Mine' }, s.laptop.access_token)).status,
    ).toBe(200)
    expect((await s.news()).map((e) => [e.type, e.details.old_name, e.details.new_name])).toEqual([
      ['device_renamed', 'Tablet', 'Old tablet'],
      ['device_renamed', 'Old tablet', 'Unused'],
      ['device_renamed', 'Laptop', 'Mine'],
    ])
  })

  it('finding 41: "not me", the operator\'s sign-out, a password change and an expiring session add no device_signed_out (no double events)', async () => {
    const s = await withDevices()
    // A session that expires (its refresh token too) is nobody's sign-out.
    const spare = await login(s.owner, 'alice', PASSWORD, undefined, 'Spare')
    s.t.clock.advance((s.t.config.auth.refreshTokenTtlSeconds + 60) * 1000)
    expect((await call(s.owner, 'GET', '/v1/account/whoami', undefined, spare.access_token)).status).toBe(401)
    expect((await refresh(s.owner, spare.refresh_token)).status).toBe(400)
    const fresh = await login(s.owner, 'alice', PASSWORD, undefined, 'Phone again')
    const since = (await call(s.owner, 'GET', '/v1/events', undefined, fresh.access_token)).body.next_since as number
    // Each of these is reported once, by its own event.
    expect((await call(s.owner, 'POST', `/v1/devices/${s.laptop.device_id}/not-me`, {}, fresh.access_token)).status).toBe(200)
    expect((await call(s.owner, 'DELETE', `/v1/admin/users/alice/devices/${s.tablet.device_id}`, undefined, ADMIN_TOKEN)).status).toBe(204)
    const { final } = await withUia(
      s.owner,
      'POST',
      '/v1/account/password',
      { new_password: 'a different long passphrase' },
      PASSWORD,
      undefined,
      fresh.access_token,
    )
    expect(final.status).toBe(200)
    const news = (await call(s.owner, 'GET', `/v1/events?since=${since}`, undefined, fresh.access_token)).body.events as Array<{
      type: string
    }>
    expect(news.map((e) => e.type)).toEqual(['device_not_me', 'device_revoked', 'password_changed'])
    expect((await s.webhooks()).map((w) => w.type).filter((type) => type !== 'security.device_signed_in')).toEqual([
      'security.device_not_me',
      'security.device_revoked',
      'security.password_changed',
    ])
  })
})
