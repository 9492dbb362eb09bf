/**
 * Owner protections over Redis with two app instances sharing it: a "not me" deny made on one
 * instance is the account's on the other, and an operator's lift on one clears it on both; reports
 * made on either instance count toward the deny of everybody only from established, independent
 * accounts (finding 42); a sign-out or a rename made on one instance is heard on the other and in
 * the shared webhook outbox (finding 41).
 */
import { describe, expect, it } from 'vitest'
import { redisDurableStore } from '../../src/adapters/durable/redis.ts'
import { redisWebhookOutbox } from '../../src/adapters/durable/redis-webhook-outbox.ts'
import { silentLogger } from '../../src/adapters/platform/node.ts'
import { webhookSecurityEvents } from '../../src/services/webhooks.ts'
import { redisStore } from '../../src/adapters/storage/redis.ts'
import { call, login, viaApp, withUia } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp } from '../helpers/make-app.ts'
import { drainWebhooks } from '../helpers/webhook-outbox.ts'
import { bindingOf, callWithDpop, decide, pollToken, requestGrant } from '../helpers/qr-login.ts'
import { seededRandom } from '../helpers/seeded-random.ts'
import { redisClient, redisUrl, uniquePrefix } from '../helpers/redis.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const HOME = '198.51.100.20'
const PHISHER = '203.0.113.77'
const CAFE = '203.0.113.90'
const DAY = 86_400_000

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

  describe('finding 42: the deny of everybody across instances sharing Redis', () => {
    it('finding 42: three fresh accounts reporting on both instances deny the café to themselves only; three established ones deny it to everybody on both', async () => {
      const clients = [redisClient(), redisClient()]
      const keyPrefix = uniquePrefix('sybil')
      const clock = fakeClock(Date.now())
      const env = { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0', QRELAY_PROXIMITY_ALLOW_AT_LEAST: 'unknown' }
      const apps = clients.map((client, i) =>
        makeApp({
          env,
          clock,
          // Two apps sharing stores need different seeds (their ids would collide).
          random: seededRandom(42 + i),
          abuse: true,
          store: (c) => redisStore({ client, keyPrefix, clock: c }),
          durable: (c) => redisDurableStore({ client, keyPrefix, clock: c }),
        }),
      ) as [ReturnType<typeof makeApp>, ReturnType<typeof makeApp>]
      const appOf = (i: number) => apps[i % 2] as ReturnType<typeof makeApp>
      try {
        const register = async (names: string[], network: (i: number) => string) => {
          for (const [i, name] of names.entries()) {
            const send = viaApp(appOf(i).app, network(i))
            const created = await call(send, 'POST', '/v1/admin/users', { username: name, password: PASSWORD }, ADMIN_TOKEN)
            expect(created.status, JSON.stringify(created.body)).toBeLessThan(300)
            await login(send, name, PASSWORD, undefined, 'Phone')
          }
        }
        /** Each account, signed in afresh on instance i % 2, approves a device at the café and reports it there. */
        const reportAll = async (names: string[], network: (i: number) => string) => {
          const scopes: string[] = []
          for (const [i, name] of names.entries()) {
            const send = viaApp(appOf(i).app, network(i))
            const token = (await login(send, name, PASSWORD, undefined, 'Laptop')).access_token as string
            const holder = await dpopHolder()
            const fromCafe = viaApp(appOf(i + 1).app, CAFE)
            const { codes } = await requestGrant(fromCafe, holder, clock.now(), { channel_binding: bindingOf(`${name}`) })
            const approved = await decide(send, token, codes.user_code, {
              decision: 'approve',
              channel_binding: bindingOf(name),
              dpop_jkt: holder.jkt,
            })
            expect(approved.status).toBe(200)
            const minted = await pollToken(fromCafe, holder, clock.now(), codes.device_code)
            const report = await call(send, 'POST', `/v1/devices/${minted.body.device_id as string}/not-me`, {}, token)
            expect(report.status).toBe(200)
            scopes.push(report.body.network_deny_scope as string)
          }
          return scopes
        }
        const createAtCafe = (i: number) => call(viaApp(appOf(i).app, CAFE), 'POST', '/v1/rendezvous', { data: '' })

        const throwaways = ['sybil1', 'sybil2', 'sybil3']
        await register(throwaways, (i) => `192.0.2.${11 + i}`)
        expect(await reportAll(throwaways, (i) => `192.0.2.${11 + i}`)).toEqual(['account', 'account', 'account'])
        expect((await createAtCafe(0)).status).toBeLessThan(300)
        expect((await createAtCafe(1)).status).toBeLessThan(300)

        const owners = ['rita', 'sam', 'tom']
        await register(owners, (i) => `198.51.100.${50 + i}`)
        clock.advance(8 * DAY)
        expect(await reportAll(owners, (i) => `198.51.100.${50 + i}`)).toEqual(['account', 'account', 'global'])
        expect((await createAtCafe(0)).body.qrelay_code).toBe('NETWORK_DENIED')
        expect((await createAtCafe(1)).body.qrelay_code).toBe('NETWORK_DENIED')

        expect((await call(viaApp(apps[1].app, HOME), 'POST', '/v1/admin/abuse/lift', { network: CAFE }, ADMIN_TOKEN)).status).toBe(200)
        expect((await createAtCafe(0)).status).toBeLessThan(300)
      } finally {
        await Promise.all(clients.map((c) => c.quit()))
      }
    })
  })

  describe("finding 41: the owner's devices changed on one instance, heard on the other, over Redis", () => {
    it('finding 41: a sign-out and a rename made on one instance reach a read held on the other and the shared webhook outbox, once each', async () => {
      const clients = [redisClient(), redisClient(), redisClient()]
      const keyPrefix = uniquePrefix('owner41')
      const clock = fakeClock(Date.now())
      const env = {
        ...TEST_ENV,
        QRELAY_APPROVER_MIN_AGE_SECONDS: '0',
        QRELAY_PROXIMITY_ALLOW_AT_LEAST: 'unknown',
        QRELAY_QUARANTINE_SECONDS: '60',
      }
      const outbox = redisWebhookOutbox({ client: clients[2] as NonNullable<(typeof clients)[2]>, keyPrefix: `${keyPrefix}wh:` })
      const [a, b] = [clients[0], clients[1]].map((client, i) =>
        makeApp({
          env,
          clock,
          random: seededRandom(41 + i),
          store: (c) => redisStore({ client: client as NonNullable<typeof client>, keyPrefix, clock: c }),
          durable: (c) => redisDurableStore({ client: client as NonNullable<typeof client>, keyPrefix, clock: c }),
          sinks: (c) => [webhookSecurityEvents({ outbox, clock: c, random: seededRandom(141 + i), logger: silentLogger })],
        }),
      ) as [ReturnType<typeof makeApp>, ReturnType<typeof makeApp>]
      const delivered = () => drainWebhooks(outbox, clock.now())
      try {
        const onA = viaApp(a.app, '192.0.2.80')
        const onB = viaApp(b.app, HOME)
        await call(onB, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
        const phone = await login(onB, 'alice', PASSWORD, undefined, 'Phone')
        const tablet = await login(onB, 'alice', PASSWORD, undefined, 'Tablet')
        const laptop = await login(onA, 'alice', PASSWORD, undefined, 'Laptop')
        // The tablet waits on B; a QR session on A, just out of quarantine, renames the tablet.
        const holder = await dpopHolder()
        const phisher = viaApp(a.app, PHISHER)
        const { codes } = await requestGrant(phisher, holder, clock.now(), { channel_binding: bindingOf('P') })
        const approval = { decision: 'approve' as const, channel_binding: bindingOf('P'), dpop_jkt: holder.jkt }
        expect((await decide(onB, phone.access_token, codes.user_code, approval)).status).toBe(200)
        const minted = await pollToken(phisher, holder, clock.now(), codes.device_code)
        const since = (await call(onB, 'GET', '/v1/events', undefined, tablet.access_token)).body.next_since as number
        await delivered()
        clock.advance(61_000)
        const rename = (body: Record<string, unknown>) =>
          callWithDpop(phisher, holder, clock.now(), 'PATCH', `/v1/devices/${tablet.device_id}`, minted.body.access_token as string, body)
        const asked = await rename({ display_name: 'old tablet - unused' })
        expect(asked.status, JSON.stringify(asked.body)).toBe(401)
        const held = call(onB, 'GET', `/v1/events?since=${since}&timeout_ms=10000`, undefined, tablet.access_token)
        await new Promise((resolve) => setTimeout(resolve, 150))
        const done = await rename({
          display_name: 'old tablet - unused',
          auth: { type: 'm.login.password', session: asked.body.session, password: PASSWORD },
        })
        expect(done.status, JSON.stringify(done.body)).toBe(200)
        const woken = await held
        expect(woken.body.events).toEqual([
          expect.objectContaining({
            type: 'device_renamed',
            device_id: tablet.device_id,
            details: { by_device: minted.body.device_id, self: false, old_name: 'Tablet', new_name: 'old tablet - unused' },
          }),
        ])
        // The phone holds a read on B while the laptop on A signs it out: 401 there, the news to the tablet.
        const phoneHeld = call(onB, 'GET', `/v1/events?since=${woken.body.next_since}&timeout_ms=10000`, undefined, phone.access_token)
        await new Promise((resolve) => setTimeout(resolve, 150))
        const { final } = await withUia(onA, 'DELETE', `/v1/devices/${phone.device_id}`, {}, PASSWORD, undefined, laptop.access_token)
        expect(final.status, JSON.stringify(final.body)).toBe(200)
        expect((await phoneHeld).status).toBe(401)
        const feed = (await call(onB, 'GET', `/v1/events?since=${since}`, undefined, tablet.access_token)).body.events as Array<
          Record<string, any>
        >
        expect(feed.map((e) => [e.type, e.device_id])).toEqual([
          ['device_renamed', tablet.device_id],
          ['device_signed_out', phone.device_id],
        ])
        expect(feed[1]?.details).toEqual({ by_device: laptop.device_id, self: false, device_name: 'Phone' })
        const hooks = await delivered()
        expect(hooks.map((w) => [w.type, w.data.device_id, w.data.details])).toEqual([
          ['security.device_renamed', tablet.device_id, feed[0]?.details],
          ['security.device_signed_out', phone.device_id, feed[1]?.details],
        ])
      } finally {
        await Promise.all(clients.map((c) => c.quit()))
      }
    })
  })
}
