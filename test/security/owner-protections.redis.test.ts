/**
 * Owner protections over Redis with two app instances sharing it: a "not me" deny made on one
 * instance is the account's on the other, and an operator's lift on one clears it on both.
 */
import { describe, expect, it } from 'vitest'
import { redisDurableStore } from '../../src/adapters/durable/redis.ts'
import { redisStore } from '../../src/adapters/storage/redis.ts'
import { call, login, viaApp } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp } from '../helpers/make-app.ts'
import { bindingOf, decide, pollToken, requestGrant } from '../helpers/qr-login.ts'
import { redisClient, redisUrl, uniquePrefix } from '../helpers/redis.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const HOME = '198.51.100.20'
const PHISHER = '203.0.113.77'

if (redisUrl() === null) {
  describe.skip('owner protections: redis (no redis-server on this machine)', () => it('skipped', () => {}))
} else {
  describe('finding 1: "not me" denies across instances sharing Redis', () => {
    it('finding 1: an account-scoped deny made on one instance holds on the other, and a lift on either clears it', async () => {
      const clients = [redisClient(), redisClient()]
      const keyPrefix = uniquePrefix('owner')
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
        const onA = viaApp(a.app, HOME)
        const onB = viaApp(b.app, HOME)
        await call(onA, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
        const token = (await login(onA, 'alice', PASSWORD)).access_token as string
        const grantFrom = async (seed: string) => {
          const holder = await dpopHolder()
          const send = viaApp(a.app, PHISHER)
          const { codes } = await requestGrant(send, holder, clock.now(), { channel_binding: bindingOf(seed) })
          return { holder, send, codes, binding: bindingOf(seed) }
        }
        const g = await grantFrom('P')
        expect(
          (await decide(onA, token, g.codes.user_code, { decision: 'approve', channel_binding: g.binding, dpop_jkt: g.holder.jkt })).status,
        ).toBe(200)
        const minted = await pollToken(g.send, g.holder, clock.now(), g.codes.device_code)
        const report = await call(onA, 'POST', `/v1/devices/${minted.body.device_id as string}/not-me`, {}, token)
        expect(report).toMatchObject({ status: 200, body: { network_deny_scope: 'account' } })

        const again = await grantFrom('Q')
        const refused = await decide(onB, token, again.codes.user_code, {
          decision: 'approve',
          channel_binding: again.binding,
          dpop_jkt: again.holder.jkt,
        })
        expect(refused).toMatchObject({ status: 403, body: { reason: 'abuse_blocked' } })

        expect((await call(onB, 'POST', '/v1/admin/abuse/lift', { network: PHISHER }, ADMIN_TOKEN)).status).toBe(200)
        const third = await grantFrom('R')
        expect(
          (
            await decide(onA, token, third.codes.user_code, {
              decision: 'approve',
              channel_binding: third.binding,
              dpop_jkt: third.holder.jkt,
            })
          ).status,
        ).toBe(200)
      } finally {
        await Promise.all(clients.map((c) => c.quit()))
      }
    })
  })
}
