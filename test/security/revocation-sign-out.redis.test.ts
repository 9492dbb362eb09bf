/**
 * Finding 45 over Redis with two app instances sharing it: a revocation on one instance signs the
 * device out for both (its tokens dead on the other, gone from the list there), and its
 * `device_signed_out` reaches a read held on the other and the shared webhook outbox, once. Finding 46:
 * a refresh token rotated on one instance and replayed on the other after the grace signs the device out
 * on both, reported once.
 */
import { describe, expect, it } from 'vitest'
import { redisDurableStore } from '../../src/adapters/durable/redis.ts'
import { redisWebhookOutbox } from '../../src/adapters/durable/redis-webhook-outbox.ts'
import { silentLogger } from '../../src/adapters/platform/node.ts'
import { redisStore } from '../../src/adapters/storage/redis.ts'
import { webhookSecurityEvents } from '../../src/services/webhooks.ts'
import { call, login, refresh, viaApp, type Send } from '../helpers/account-client.ts'
import { dpopHolder } from '../helpers/dpop.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp } from '../helpers/make-app.ts'
import { drainWebhooks } from '../helpers/webhook-outbox.ts'
import { BASE, bindingOf, callWithDpop, decide, pollToken, requestGrant } from '../helpers/qr-login.ts'
import { redisClient, redisUrl, uniquePrefix } from '../helpers/redis.ts'
import { seededRandom } from '../helpers/seeded-random.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'
const HOME = '198.51.100.20'

const revokeForm = async (send: Send, token: string, headers: Record<string, string> = {}) =>
  (
    await send('/oauth2/revoke', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams({ token }).toString(),
    })
  ).status

/** Two app instances sharing one Redis and one webhook outbox, and how to drain that outbox (every message, in order). */
const twoInstances = (tag: string, seed: number) => {
  const clients = [redisClient(), redisClient(), redisClient()] as const
  const keyPrefix = uniquePrefix(tag)
  const clock = fakeClock(Date.now())
  const env = { ...TEST_ENV, QRELAY_APPROVER_MIN_AGE_SECONDS: '0', QRELAY_PROXIMITY_ALLOW_AT_LEAST: 'unknown' }
  const outbox = redisWebhookOutbox({ client: clients[2], keyPrefix: `${keyPrefix}wh:` })
  const [a, b] = [clients[0], clients[1]].map((client, i) =>
    makeApp({
      env,
      clock,
      random: seededRandom(seed + i),
      store: (c) => redisStore({ client, keyPrefix, clock: c }),
      durable: (c) => redisDurableStore({ client, keyPrefix, clock: c }),
      sinks: (c) => [webhookSecurityEvents({ outbox, clock: c, random: seededRandom(100 + seed + i), logger: silentLogger })],
    }),
  ) as [ReturnType<typeof makeApp>, ReturnType<typeof makeApp>]
  const delivered = () => drainWebhooks(outbox, clock.now())

  return { clock, a, b, delivered, quit: () => Promise.all(clients.map((c) => c.quit())) }
}

if (redisUrl() === null) {
  describe.skip('finding 45: redis (no redis-server on this machine)', () => it('skipped', () => {}))
} else {
  describe('finding 45: a revocation on one instance signs the device out on both, over Redis', () => {
    it('finding 45: a password and a QR session revoked on one instance are gone on the other; the held read and the shared outbox hear it once each', async () => {
      const { clock, a, b, delivered, quit } = twoInstances('revoke45', 45)
      try {
        const onA = viaApp(a.app, '192.0.2.80')
        const onB = viaApp(b.app, HOME)
        await call(onB, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
        const phone = await login(onB, 'alice', PASSWORD, undefined, 'Phone')
        const laptop = await login(onA, 'alice', PASSWORD, undefined, 'Laptop')
        const holder = await dpopHolder()
        const tvOnA = viaApp(a.app, '198.51.100.77')
        const { codes } = await requestGrant(tvOnA, holder, clock.now(), { channel_binding: bindingOf('T'), device_name: 'TV' })
        const approval = { decision: 'approve' as const, channel_binding: bindingOf('T'), dpop_jkt: holder.jkt }
        expect((await decide(onB, phone.access_token, codes.user_code, approval)).status).toBe(200)
        const tv = (await pollToken(tvOnA, holder, clock.now(), codes.device_code)).body
        const since = (await call(onB, 'GET', '/v1/events', undefined, phone.access_token)).body.next_since as number
        await delivered()

        // The phone holds a read on B while the laptop revokes its access token on A.
        const held = call(onB, 'GET', `/v1/events?since=${since}&timeout_ms=10000`, undefined, phone.access_token)
        await new Promise((resolve) => setTimeout(resolve, 150))
        expect(await revokeForm(onA, laptop.access_token)).toBe(200)
        const laptopOut = { by_device: laptop.device_id, self: true, device_name: 'Laptop', via: 'token_revocation' }
        expect((await held).body.events).toEqual([
          expect.objectContaining({ type: 'device_signed_out', device_id: laptop.device_id, details: laptopOut }),
        ])
        // On B: the laptop's refresh token is dead (before: it still refreshed), the device gone from the list.
        expect((await refresh(onB, laptop.refresh_token)).body.error).toBe('invalid_grant')
        // The TV revokes its refresh token on A with its key's proof; its access token is dead on B.
        const proof = await holder.prove('POST', `${BASE}/oauth2/revoke`, clock.now())
        expect(await revokeForm(onA, tv.refresh_token, { dpop: proof })).toBe(200)
        expect(
          (await callWithDpop(viaApp(b.app, '198.51.100.77'), holder, clock.now(), 'GET', '/v1/devices', tv.access_token)).status,
        ).toBe(401)
        const listed = (await call(onB, 'GET', '/v1/devices', undefined, phone.access_token)).body.devices as Array<{ device_id: string }>
        expect(listed.map((d) => d.device_id)).toEqual([phone.device_id])
        // Again, on B this time: nothing more.
        expect(await revokeForm(onB, laptop.refresh_token)).toBe(200)
        const feed = (await call(onB, 'GET', `/v1/events?since=${since}`, undefined, phone.access_token)).body.events as Array<
          Record<string, any>
        >
        const tvOut = { by_device: tv.device_id, self: true, device_name: 'TV', via: 'token_revocation' }
        expect(feed.map((e) => [e.type, e.device_id, e.details])).toEqual([
          ['device_signed_out', laptop.device_id, laptopOut],
          ['device_signed_out', tv.device_id, tvOut],
        ])
        expect((await delivered()).map((w) => [w.type, w.data.device_id, w.data.details])).toEqual([
          ['security.device_signed_out', laptop.device_id, laptopOut],
          ['security.device_signed_out', tv.device_id, tvOut],
        ])
      } finally {
        await quit()
      }
    })

    it('finding 46: a refresh token rotated on one instance and replayed on the other signs the device out on both, reported once', async () => {
      const { clock, a, b, delivered, quit } = twoInstances('reuse46', 46)
      try {
        const onA = viaApp(a.app, '192.0.2.80')
        const onB = viaApp(b.app, HOME)
        await call(onB, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
        const phone = await login(onB, 'alice', PASSWORD, undefined, 'Phone')
        const laptop = await login(onA, 'alice', PASSWORD, undefined, 'Laptop')
        const since = (await call(onB, 'GET', '/v1/events', undefined, phone.access_token)).body.next_since as number
        const rotated = await refresh(onA, laptop.refresh_token)
        expect(rotated.status).toBe(200)
        clock.advance(a.config.auth.refreshGraceMs + 1000)
        expect((await refresh(onB, laptop.refresh_token)).body.error).toBe('invalid_grant')
        expect((await refresh(onA, rotated.body.refresh_token as string)).body.error).toBe('invalid_grant')
        expect((await refresh(onA, laptop.refresh_token)).body.error).toBe('invalid_grant')
        const listed = (await call(onA, 'GET', '/v1/devices', undefined, phone.access_token)).body.devices as Array<{ device_id: string }>
        expect(listed.map((d) => d.device_id)).toEqual([phone.device_id])
        const reuse = { by_device: laptop.device_id, self: true, device_name: 'Laptop', via: 'refresh_token_reuse' }
        const feed = (await call(onB, 'GET', `/v1/events?since=${since}`, undefined, phone.access_token)).body.events as Array<
          Record<string, any>
        >
        expect(feed.map((e) => [e.type, e.device_id, e.details])).toEqual([['device_signed_out', laptop.device_id, reuse]])
        const types = (await delivered()).map((w) => w.type as string)
        expect(types.filter((t) => t === 'security.device_signed_out')).toEqual(['security.device_signed_out'])
      } finally {
        await quit()
      }
    })
  })
}
