/**
 * Finding 49 over Redis with two app instances sharing it: the laptop's morning at the office is
 * recorded by one instance, the report from home is judged by the other, and the office stays the
 * owner's (the recent networks live in the device hash, merged by the touch script).
 */
import { describe, expect, it } from 'vitest'
import { redisDurableStore } from '../../src/adapters/durable/redis.ts'
import { redisStore } from '../../src/adapters/storage/redis.ts'
import { call, viaApp, refreshingSession } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp } from '../helpers/make-app.ts'
import { bindingOf, callWithDpop, decide, pollToken, requestGrant } from '../helpers/qr-login.ts'
import { redisClient, redisUrl, uniquePrefix } from '../helpers/redis.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const HOME = '198.51.100.20'
const OFFICE = '192.0.2.80'
const HOUR = 3_600_000

type Via = ReturnType<typeof viaApp>

const session = (send: Via, deviceName: string) => refreshingSession(send, 'alice', PASSWORD, deviceName)

if (redisUrl() === null) {
  describe.skip('finding 49: redis (no redis-server on this machine)', () => it('skipped', () => {}))
} else {
  describe('finding 49: "not me" keeps the networks the trusted devices used lately, across instances sharing Redis', () => {
    it("finding 49: the laptop's morning at the office, seen by one instance, keeps the office from the report judged by the other", async () => {
      const clients = [redisClient(), redisClient()]
      const keyPrefix = uniquePrefix('nethist')
      const clock = fakeClock(Date.now())
      const env = { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0', QRELAY_PROXIMITY_ALLOW_AT_LEAST: 'unknown' }
      const [a, b] = clients.map((client) =>
        makeApp({
          env,
          clock,
          abuse: true,
          store: (c) => redisStore({ client, keyPrefix, clock: c }),
          durable: (c) => redisDurableStore({ client, keyPrefix, clock: c }),
        }),
      ) as [ReturnType<typeof makeApp>, ReturnType<typeof makeApp>]
      try {
        const officeA = viaApp(a.app, OFFICE)
        const homeB = viaApp(b.app, HOME)
        await call(homeB, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
        const phone = await session(homeB, 'Phone')
        const laptop = await session(officeA, 'Office laptop')
        expect((await call(officeA, 'GET', '/v1/account/whoami', undefined, await laptop.token(officeA))).status).toBe(200)

        // The coworker's QR login, approved on the phone from home, used at the office.
        clock.advance(HOUR)
        const holder = await dpopHolder()
        const binding = bindingOf('C')
        const { codes } = await requestGrant(officeA, holder, clock.now(), { channel_binding: binding })
        const body = { decision: 'approve' as const, channel_binding: binding, dpop_jkt: holder.jkt }
        expect((await decide(homeB, await phone.token(homeB), codes.user_code, body)).status).toBe(200)
        const minted = await pollToken(officeA, holder, clock.now(), codes.device_code)
        expect(minted.status).toBe(200)
        clock.advance(60_000)
        expect(
          (await callWithDpop(officeA, holder, clock.now(), 'GET', '/v1/account/whoami', minted.body.access_token as string)).status,
        ).toBe(200)

        // Evening: the laptop is home too; the report goes to the other instance.
        clock.advance(9 * HOUR)
        expect((await call(homeB, 'GET', '/v1/account/whoami', undefined, await laptop.token(homeB))).status).toBe(200)
        const report = await call(homeB, 'POST', `/v1/devices/${minted.body.device_id as string}/not-me`, {}, await phone.token(homeB))
        expect(report.status).toBe(200)
        expect(report.body).toMatchObject({ network_denied_for_seconds: 0, network_kept_because: 'trusted_device_network' })
      } finally {
        await Promise.all(clients.map((c) => c.quit()))
      }
    })
  })
}
