/**
 * Finding 21 on Redis: no TOTP seed in any stored value, and the event feed and last-authenticated
 * marks kept by the durable store when the ephemeral data is gone (an ephemeral Redis without
 * persistence, or evicted keys: here, a restart onto an empty ephemeral key prefix).
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Redis } from 'ioredis'
import { redisDurableStore } from '../../src/adapters/durable/redis.ts'
import { redisStore } from '../../src/adapters/storage/redis.ts'
import { generateTotp, totpSecretFromBase32 } from '../../src/core/auth/totp.ts'
import { call, login, viaApp, withUia } from '../helpers/account-client.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp, type TestApp } from '../helpers/make-app.ts'
import { redisClient, redisUrl, uniquePrefix } from '../helpers/redis.ts'
import { ADMIN_TOKEN, TEST_ENV } from '../integration/accounts/flow-suite.ts'

const PASSWORD = 'correct horse battery staple'

/** Every value stored under `prefix`, whatever its type, as one string. */
const dumpPrefix = async (client: Redis, prefix: string): Promise<string> => {
  const parts: string[] = []
  let cursor = '0'
  for (let round = 0; round < 1000; round++) {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 200)
    for (const key of keys) {
      const type = await client.type(key)
      if (type === 'string') parts.push((await client.get(key)) ?? '')
      else if (type === 'hash') parts.push(JSON.stringify(await client.hgetall(key)))
      else if (type === 'set') parts.push(JSON.stringify(await client.smembers(key)))
      else if (type === 'zset') parts.push(JSON.stringify(await client.zrange(key, '0', '-1')))
      else if (type === 'list') parts.push(JSON.stringify(await client.lrange(key, 0, -1)))
    }
    cursor = next
    if (cursor === '0') break
  }
  return parts.join('\n')
}

if (redisUrl() === null) {
  describe.skip('finding 21 on redis (no redis-server on this machine)', () => it('skipped', () => {}))
} else {
  describe('finding 21: secrets and security state at rest on redis', () => {
    const clients: Redis[] = []
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((c) => c.quit()))
    })
    const app = (durablePrefix: string, ephemeralPrefix: string, clock = fakeClock(Date.now())): { t: TestApp; client: Redis } => {
      const client = redisClient()
      clients.push(client)
      const t = makeApp({
        env: { ...TEST_ENV },
        clock,
        store: (c) => redisStore({ client, keyPrefix: ephemeralPrefix, clock: c }),
        durable: (c) => redisDurableStore({ client, keyPrefix: durablePrefix, clock: c }),
      })
      return { t, client }
    }

    it('finding 21: a TOTP key is not readable in any Redis value, and the feed survives losing the ephemeral data', async () => {
      const durablePrefix = uniquePrefix('at-rest-d')
      const { t, client } = app(durablePrefix, uniquePrefix('at-rest-e'))
      const send = viaApp(t.app)
      const created = await call(send, 'POST', '/v1/admin/users', { username: 'alice', password: PASSWORD }, ADMIN_TOKEN)
      const { access_token: token } = await login(send, 'alice', PASSWORD)
      const { final } = await withUia(send, 'POST', '/v1/account/totp', {}, PASSWORD, undefined, token)
      const base32 = final.body.secret as string
      const key = totpSecretFromBase32(base32)
      if (!key.ok) throw new Error('bad secret')
      const confirmed = await call(
        send,
        'POST',
        '/v1/account/totp/confirm',
        { code: generateTotp(key.value.bytes(), t.clock.now()) },
        token,
      )
      expect(confirmed.status).toBe(200)

      const stored = JSON.parse((await client.hget(`${durablePrefix}{a:${created.body.account_id}}:acct`, 'j')) ?? '{}')
      expect(stored.totp.secret).toMatch(/^v1\.test\.[\w-]+$/)
      const everything = await dumpPrefix(client, durablePrefix)
      expect(everything).toContain(created.body.account_id)
      expect(everything.includes(base32)).toBe(false)

      const before = await call(send, 'GET', '/v1/events?since=0', undefined, token)
      // The password sign-in, stored with its session (finding 40), then the 2FA change.
      expect(before.body.events.map((e: { type: string }) => e.type)).toEqual(['device_signed_in', 'totp_enabled'])
      // A restart whose ephemeral data is gone: the feed is durable.
      const restarted = app(durablePrefix, uniquePrefix('at-rest-e2'), t.clock).t
      const after = await call(viaApp(restarted.app), 'GET', '/v1/events?since=0', undefined, token)
      expect(after.status).toBe(200)
      expect(after.body.events).toEqual(before.body.events)
      const devices = await restarted.durable.devices.listByAccount(created.body.account_id)
      const approver = devices[0]
      if (approver === undefined) throw new Error('no device')
      await restarted.durable.security.markAuthenticated(created.body.account_id, approver.id, t.clock.now())
      expect(
        await app(durablePrefix, uniquePrefix('at-rest-e3'), t.clock).t.durable.security.lastAuthenticated(
          created.body.account_id,
          approver.id,
        ),
      ).toBe(t.clock.now())
    })
  })
}
