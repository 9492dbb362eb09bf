/**
 * The account, device-management and admin APIs and their pages, reviewed as an attacker would (issue
 * findings 37 on), through app.request() with the fake clock: a session the owner signed out learns
 * nothing more of the account, not even through a read it started before.
 */
import { describe, expect, it } from 'vitest'
import { call, login, viaApp, type Answer, type Send } from '../helpers/account-client.ts'
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
