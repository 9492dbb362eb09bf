/**
 * Finding 59 (SECURITY.md, docs/security/auth-limits.md): every new user-interactive auth session (the
 * first 401 of a login, a registration or a step-up) is stored until it expires. Without a limit, one
 * address asking `POST /v1/login` with no `auth` over and over filled the store with them (memory by
 * default; Redis runs with `noeviction`, so a full one refuses every write). New sessions are now counted
 * per client address, and for IPv6 per /56 and /48 too, before one is made.
 */
import { describe, expect, it } from 'vitest'
import { call, viaApp, type Send } from '../helpers/account-client.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp } from '../helpers/make-app.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const START = Date.UTC(2026, 10, 23, 8, 0)

/** `n` login starts (no `auth`) from `send`: how many got a session (401) and how many were refused (429). */
const loginStarts = async (send: Send, n: number): Promise<{ sessions: number; refused: number }> => {
  let sessions = 0
  let refused = 0
  for (let i = 0; i < n; i++) {
    const r = await call(send, 'POST', '/v1/login', { username: `user${i}` })
    if (r.status === 401 && typeof r.body.session === 'string') sessions++
    else if (r.status === 429 && r.body.errcode === 'M_LIMIT_EXCEEDED') refused++
  }
  return { sessions, refused }
}

describe('finding 59: new UIA sessions are counted per client before one is stored', () => {
  it('finding 59: one address asking for 1 000 login challenges gets 600 sessions a minute, then 429; others and the next minute get theirs', async () => {
    const t = makeApp({ env: { ...TEST_ENV }, clock: fakeClock(START) })
    const stranger = viaApp(t.app, '203.0.113.7')
    expect(await loginStarts(stranger, 1_000)).toEqual({ sessions: 600, refused: 400 })
    // Another address is not affected, and the owner signs in.
    const owner = viaApp(t.app, '192.0.2.1')
    expect((await call(owner, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)).status).toBe(201)
    const first = await call(owner, 'POST', '/v1/login', { username: 'alice' })
    expect(first.status).toBe(401)
    const done = await call(owner, 'POST', '/v1/login', {
      username: 'alice',
      auth: { type: 'm.login.password', session: first.body.session, password: PASSWORD },
    })
    expect(done.status).toBe(200)
    // A stage of a session already made is not a new session: it is not counted.
    // Two minutes later (the sliding window's previous minute gone) the stranger gets sessions again.
    t.clock.advance(120_000)
    expect((await loginStarts(stranger, 10)).sessions).toBe(10)
  }, 60_000)

  it('finding 59: the /64s of one IPv6 /48 share four addresses worth of sessions; another /48 is not affected', async () => {
    const t = makeApp({ env: { ...TEST_ENV, QRELAY_RATE_UIA_STARTS_PER_CLIENT: '5/60s' }, clock: fakeClock(START) })
    // Ten /64s in one /56: five each alone, but their /56 gets 2 × 5 (QRELAY_RATE_IPV6_56_FACTOR).
    let oneSite = 0
    for (let lan = 0; lan < 10; lan++) oneSite += (await loginStarts(viaApp(t.app, `2001:db8:ab00:${lan.toString(16)}::1`), 5)).sessions
    expect(oneSite).toBe(10)
    // Ten more /56s of the same /48: the /48 as a whole gets 4 × 5 (QRELAY_RATE_IPV6_48_FACTOR), 10 of it left.
    let otherSites = 0
    for (let site = 1; site <= 10; site++) {
      otherSites += (await loginStarts(viaApp(t.app, `2001:db8:ab00:${(site << 8).toString(16)}::1`), 5)).sessions
    }
    expect(otherSites).toBe(10)
    expect((await loginStarts(viaApp(t.app, '2001:db8:cd00::1'), 5)).sessions).toBe(5)
  }, 60_000)
})
