/**
 * The account API over Redis with two app instances sharing it: a device signed out on one instance
 * hears nothing more through a read it holds open on the other (finding 37); a session in QR
 * quarantine guessing on one instance spends none of the trusted budget the owner uses on the other
 * (finding 39).
 */
import { describe, expect, it } from 'vitest'
import { redisDurableStore } from '../../src/adapters/durable/redis.ts'
import { redisStore } from '../../src/adapters/storage/redis.ts'
import { call, login, viaApp, withUia, type Send } from '../helpers/account-client.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp } from '../helpers/make-app.ts'
import { redisClient, redisUrl, uniquePrefix } from '../helpers/redis.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'

/** Two instances sharing one Redis, with the same fake clock. */
const twoInstances = () => {
  const clients = [redisClient(), redisClient()]
  const keyPrefix = uniquePrefix('acct')
  const clock = fakeClock(Date.now())
  const [a, b] = clients.map((client) =>
    makeApp({
      env: TEST_ENV,
      clock,
      store: (c) => redisStore({ client, keyPrefix, clock: c }),
      durable: (c) => redisDurableStore({ client, keyPrefix, clock: c }),
    }),
  ) as [ReturnType<typeof makeApp>, ReturnType<typeof makeApp>]
  return { a, b, clock, close: () => Promise.all(clients.map((c) => c.quit())) }
}

if (redisUrl() === null) {
  describe.skip('account API: redis (no redis-server on this machine)', () => it('skipped', () => {}))
} else {
  describe('finding 37: a read held open across a sign-out, over Redis', () => {
    it('finding 37: GET /v1/events held on one instance answers 401, not the report, once another instance signs its device out', async () => {
      const { a, b, clock, close } = twoInstances()
      try {
        const onA = viaApp(a.app, '203.0.113.77')
        const onB = viaApp(b.app, '198.51.100.20')
        await call(onB, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
        const token = (await login(onB, 'alice', PASSWORD, undefined, 'Phone')).access_token as string
        const account = await a.durable.accounts.findByUsername('alice')
        if (account === null) throw new Error('no account')
        const phished = await a.auth.sessions.mint(account, {
          displayName: 'Phone',
          origin: 'qr',
          quarantineUntilMs: clock.now() + 86_400_000,
        })
        const since = (await call(onA, 'GET', '/v1/events', undefined, phished.accessToken)).body.next_since as number
        const held = call(onA, 'GET', `/v1/events?since=${since}&timeout_ms=10000`, undefined, phished.accessToken)
        await new Promise((resolve) => setTimeout(resolve, 150))
        expect((await call(onB, 'POST', `/v1/devices/${phished.deviceId}/not-me`, {}, token)).status).toBe(200)
        const answer = await held
        expect(answer.status, JSON.stringify(answer.body)).toBe(401)
        const feed = await call(onB, 'GET', `/v1/events?since=${since}`, undefined, token)
        expect(feed.body.events.map((e: { type: string }) => e.type)).toEqual(['device_not_me'])
      } finally {
        await close()
      }
    })
  })

  describe("finding 39: a session in QR quarantine spends none of the owner's trusted guess budget, over Redis", () => {
    it('finding 39: a phished session guessing on one instance, through its step-ups and from its networks, leaves the password change on the other', async () => {
      const { a, b, clock, close } = twoInstances()
      try {
        const owner = viaApp(b.app, '198.51.100.20')
        await call(owner, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
        const token = (await login(owner, 'alice', PASSWORD, undefined, 'Phone')).access_token as string
        const account = await a.durable.accounts.findByUsername('alice')
        if (account === null) throw new Error('no account')
        const phished = await a.auth.sessions.mint(account, {
          displayName: 'Phone',
          origin: 'qr',
          network: '203.0.113.77',
          quarantineUntilMs: clock.now() + 86_400_000,
        })
        const wrong = (session: unknown) => ({ auth: { type: 'm.login.password', session, password: 'not her password' } })
        const tenLogins = async (send: Send) => {
          for (let i = 0; i < 10; i++) {
            const first = await call(send, 'POST', '/v1/login', { username: 'alice' })
            await call(send, 'POST', '/v1/login', { username: 'alice', ...wrong(first.body.session) })
          }
        }
        const phisher = viaApp(a.app, '203.0.113.77')
        const self = `/v1/devices/${phished.deviceId}`
        for (let i = 0; i < 10; i++) {
          const first = await call(phisher, 'DELETE', self, {}, phished.accessToken)
          await call(phisher, 'DELETE', self, wrong(first.body.session), phished.accessToken)
        }
        await tenLogins(phisher)
        const elsewhere = viaApp(a.app, '203.0.113.200')
        clock.advance(61_000)
        await call(elsewhere, 'GET', '/v1/account/whoami', undefined, phished.accessToken)
        await tenLogins(elsewhere)
        const { final } = await withUia(
          owner,
          'POST',
          '/v1/account/password',
          { new_password: 'a different long passphrase' },
          PASSWORD,
          undefined,
          token,
        )
        expect(final.status, JSON.stringify(final.body)).toBe(200)
      } finally {
        await close()
      }
    })
  })
}
