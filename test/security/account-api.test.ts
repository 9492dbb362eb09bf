/**
 * The account, device-management and admin APIs and their pages, reviewed as an attacker would (issue
 * findings 37 on), through app.request() with the fake clock: a session the owner signed out learns
 * nothing more of the account, not even through a read it started before.
 */
import { describe, expect, it } from 'vitest'
import { call, login, viaApp, withUia, type Answer, type Send } from '../helpers/account-client.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp } from '../helpers/make-app.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

const ORIGIN = 'https://relay.example'
const PASSWORD = 'correct horse battery staple'
const HOME = '198.51.100.20'
const PHISHER = '203.0.113.77'
const START = Date.UTC(2026, 10, 23, 8, 0)

/** Alice signed in on her phone, and a session minted by QR for a phisher (unbound, as a page session is). */
const setup = async () => {
  const t = makeApp({ env: TEST_ENV, clock: fakeClock(START) })
  const owner = viaApp(t.app, HOME)
  await call(owner, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
  const phone = await login(owner, 'alice', PASSWORD, undefined, 'Phone')
  const account = await t.durable.accounts.findByUsername('alice')
  if (account === null) throw new Error('no account')
  const phished = await t.auth.sessions.mint(account, {
    displayName: 'Phone',
    origin: 'qr',
    network: PHISHER,
    quarantineUntilMs: START + 86_400_000,
  })
  return { t, owner, token: phone.access_token as string, phished, phisher: viaApp(t.app, PHISHER) }
}

/** Waits until a long poll has had time to start waiting (real time: the feed waits in real time). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 150))

describe('finding 37: a read held open across a sign-out answers nothing to the signed-out session', () => {
  it('finding 37: GET /v1/events held by a session reported "not me" does not hand it the report', async () => {
    const { owner, token, phished, phisher } = await setup()
    const first = await call(phisher, 'GET', '/v1/events', undefined, phished.accessToken)
    expect(first.status).toBe(200)
    const held = call(phisher, 'GET', `/v1/events?since=${first.body.next_since}&timeout_ms=10000`, undefined, phished.accessToken)
    await settle()
    const report = await call(owner, 'POST', `/v1/devices/${phished.deviceId}/not-me`, {}, token)
    expect(report.status).toBe(200)
    const answer = await held
    // Before: 200 with the `device_not_me` event (who reported it, whether its network was denied).
    expect(answer.status, JSON.stringify(answer.body)).toBe(401)
    expect(JSON.stringify(answer.body)).not.toContain('device_not_me')
    // The owner's own devices still read it.
    const feed = await call(owner, 'GET', `/v1/events?since=${first.body.next_since}`, undefined, token)
    expect(feed.body.events.map((e: { type: string }) => e.type)).toEqual(['device_not_me'])
  })

  it('finding 37: GET /v1/events held across a password change that signs the other devices out answers them nothing', async () => {
    const { owner, token, phished, phisher } = await setup()
    const first = await call(phisher, 'GET', '/v1/events', undefined, phished.accessToken)
    const held = call(phisher, 'GET', `/v1/events?since=${first.body.next_since}&timeout_ms=10000`, undefined, phished.accessToken)
    await settle()
    const changed = await call(owner, 'POST', '/v1/account/password', { new_password: 'a different long passphrase' }, token)
    expect(changed.status).toBe(401)
    const done = await call(
      owner,
      'POST',
      '/v1/account/password',
      {
        new_password: 'a different long passphrase',
        auth: { type: 'm.login.password', session: changed.body.session, password: PASSWORD },
      },
      token,
    )
    expect(done.status).toBe(200)
    const answer = await held
    // Before: 200 with the `password_changed` event.
    expect(answer.status, JSON.stringify(answer.body)).toBe(401)
    expect((await call(phisher, 'GET', '/v1/account/whoami', undefined, phished.accessToken)).status).toBe(401)
    expect((await call(owner, 'GET', '/v1/account/whoami', undefined, token)).status).toBe(200)
  })

  it('finding 37: the /account page feed held by a session reported "not me" does not hand it the report', async () => {
    const { t, owner, token, phished } = await setup()
    const cookie = `__Host-qrelay-page=${phished.accessToken}`
    const since = (await call(owner, 'GET', '/v1/events', undefined, token)).body.next_since as number
    const held = t.app.request(`${ORIGIN}/account/events?since=${since}`, { headers: { cookie, 'x-test-peer': PHISHER } })
    await settle()
    expect((await call(owner, 'POST', `/v1/devices/${phished.deviceId}/not-me`, {}, token)).status).toBe(200)
    const answer = await held
    const text = await answer.text()
    expect(answer.status, text).toBe(401)
    expect(text).not.toContain('Phone')
  })

  it('finding 37: a held read still answers the news to a session that stays signed in', async () => {
    const { owner, token, phished } = await setup()
    const since = (await call(owner, 'GET', '/v1/events', undefined, token)).body.next_since as number
    const held = call(owner, 'GET', `/v1/events?since=${since}&timeout_ms=10000`, undefined, token)
    await settle()
    expect((await call(owner, 'POST', `/v1/devices/${phished.deviceId}/not-me`, {}, token)).status).toBe(200)
    const answer = await held
    expect(answer.status).toBe(200)
    expect(answer.body.events.map((e: { type: string }) => e.type)).toEqual(['device_not_me'])
  })
})

describe('finding 38: /v1/register tells one address whether a bounded number of names are taken', () => {
  /** The first round of a registration: 400 M_USER_IN_USE (taken), 401 UIA (free) or 429 (tells nothing). */
  const probe = (send: Send, username: string) => call(send, 'POST', '/v1/register', { username, password: 'purple elephant dances 42' })
  const tells = (a: Answer) => a.status === 401 || a.body.errcode === 'M_USER_IN_USE'

  it('finding 38: a stranger probing 100 names from one address learns at most 30 answers, then taken and free names look the same', async () => {
    const { t } = await setup()
    const stranger = viaApp(t.app, PHISHER)
    const answers: Answer[] = []
    for (let i = 0; i < 99; i++) answers.push(await probe(stranger, `user${i}`))
    const alice = await probe(stranger, 'alice')
    // Before: all 100 told (99 × 401 free, then 400 M_USER_IN_USE for alice).
    expect(answers.filter(tells).length).toBeLessThanOrEqual(30)
    expect(tells(alice), JSON.stringify(alice.body)).toBe(false)
    const free = await probe(stranger, 'nobody-here')
    expect({ status: alice.status, errcode: alice.body.errcode }).toEqual({ status: free.status, errcode: free.body.errcode })
    expect(alice.status).toBe(429)
  })

  it('finding 38: someone registering from another address, after a taken name or two, is not refused', async () => {
    const { t } = await setup()
    const stranger = viaApp(t.app, PHISHER)
    for (let i = 0; i < 40; i++) await probe(stranger, `user${i}`)
    const person = viaApp(t.app, '198.51.100.99')
    expect((await probe(person, 'alice')).body.errcode).toBe('M_USER_IN_USE')
    expect((await probe(person, 'ALICE')).body.errcode).toBe('M_USER_IN_USE')
    const first = await probe(person, 'carol')
    expect(first.status).toBe(401)
    const done = await call(person, 'POST', '/v1/register', {
      username: 'carol',
      password: 'purple elephant dances 42',
      auth: { type: 'm.login.dummy', session: first.body.session },
    })
    expect(done.status, JSON.stringify(done.body)).toBe(201)
  })
})

describe("finding 39: a session in QR quarantine spends none of the owner's trusted guess budget", () => {
  const wrongLogin = (send: Send, session: string) =>
    call(send, 'POST', '/v1/login', { username: 'alice', auth: { type: 'm.login.password', session, password: 'not her password' } })
  /** Ten wrong passwords through `POST /v1/login` from `send`'s address; the statuses. */
  const tenLogins = async (send: Send) => {
    const statuses: number[] = []
    for (let i = 0; i < 10; i++) {
      const first = await call(send, 'POST', '/v1/login', { username: 'alice' })
      statuses.push((await wrongLogin(send, first.body.session as string)).status)
    }
    return statuses
  }

  it('finding 39: a phished session and the networks it is seen from cannot lock the owner out of changing the password', async () => {
    const { t, owner, token, phished } = await setup()
    // 1. Through its own session: `DELETE /v1/devices/{itself}` asks for the password, ten times.
    const self = `/v1/devices/${phished.deviceId}`
    const phisher = viaApp(t.app, PHISHER)
    for (let i = 0; i < 10; i++) {
      const first = await call(phisher, 'DELETE', self, {}, phished.accessToken)
      const wrong = { auth: { type: 'm.login.password', session: first.body.session, password: 'not her password' } }
      await call(phisher, 'DELETE', self, wrong, phished.accessToken)
    }
    // 2. From the network its device was last seen on, and 3. from another one it carries it to.
    await tenLogins(phisher)
    const elsewhere = viaApp(t.app, '203.0.113.200')
    t.clock.advance(61_000)
    expect((await call(elsewhere, 'GET', '/v1/account/whoami', undefined, phished.accessToken)).status).toBe(200)
    await tenLogins(elsewhere)
    // The owner, signed in on the phone, changes the password to shut the phisher out.
    const { final } = await withUia(
      owner,
      'POST',
      '/v1/account/password',
      { new_password: 'a different long passphrase' },
      PASSWORD,
      undefined,
      token,
    )
    // Before: 429 (the account's trusted ceiling, 30 a window, spent by the phisher).
    expect(final.status, JSON.stringify(final.body)).toBe(200)
    expect((await call(phisher, 'GET', '/v1/account/whoami', undefined, phished.accessToken)).status).toBe(401)
  })

  it('finding 39: the owner still signs in from home while a phished session guesses there and elsewhere', async () => {
    const { t, owner, phished } = await setup()
    const phisher = viaApp(t.app, PHISHER)
    await tenLogins(phisher)
    for (const [i, address] of ['203.0.113.201', '203.0.113.202'].entries()) {
      t.clock.advance(61_000 * (i + 1))
      const send = viaApp(t.app, address)
      await call(send, 'GET', '/v1/account/whoami', undefined, phished.accessToken)
      await tenLogins(send)
    }
    // Before: 429 from home too (a known network draws on the same trusted ceiling).
    await login(owner, 'alice', PASSWORD, undefined, 'Laptop')
  })

  it("finding 39: once out of quarantine, a QR-signed-in device is the owner's again: its guesses use its own budget", async () => {
    const { t, phished } = await setup()
    t.clock.advance(86_400_000 + 1000)
    const refreshed = await t.auth.sessions.refresh(phished.refreshToken)
    const send = viaApp(t.app, PHISHER)
    const statuses: number[] = []
    for (let i = 0; i < 12; i++) {
      const first = await call(send, 'DELETE', `/v1/devices/${phished.deviceId}`, {}, refreshed.accessToken)
      const wrong = { auth: { type: 'm.login.password', session: first.body.session, password: 'not her password' } }
      statuses.push((await call(send, 'DELETE', `/v1/devices/${phished.deviceId}`, wrong, refreshed.accessToken)).status)
    }
    // Ten checked (401 with the stage's error), then its own budget refuses (429); the untrusted ceiling is untouched.
    expect(statuses.filter((s) => s === 401)).toHaveLength(10)
    expect(statuses.slice(10)).toEqual([429, 429])
    const stranger = viaApp(t.app, '192.0.2.77')
    expect((await tenLogins(stranger)).every((s) => s === 401)).toBe(true)
  })
})
