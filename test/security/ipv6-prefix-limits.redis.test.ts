/**
 * Finding 48 on the Redis-backed app: the same suite as the memory app, the /64 counter and the
 * create in one script, the /56 and /48 reservations in Redis too.
 */
import { describe, it } from 'vitest'
import { redisDurableStore } from '../../src/adapters/durable/redis.ts'
import { redisStore } from '../../src/adapters/storage/redis.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp } from '../helpers/make-app.ts'
import { redisClient, redisUrl, uniquePrefix } from '../helpers/redis.ts'
import { describeIpv6PrefixLimits } from './ipv6-prefix-limits-suite.ts'

if (redisUrl() === null) {
  describe.skip('finding 48: redis (no redis-server on this machine)', () => it('skipped', () => {}))
} else {
  describeIpv6PrefixLimits('redis', async (env, options) => {
    const client = redisClient()
    const keyPrefix = uniquePrefix('v6-prefixes')
    const t = makeApp({
      env,
      // Real wall-clock start: Redis expires keys by its own clock too.
      clock: fakeClock(Date.now()),
      abuse: options?.abuse === true,
      store: (clock) => redisStore({ client, keyPrefix, clock }),
      durable: (clock) => redisDurableStore({ client, keyPrefix, clock }),
    })
    return { t, close: async () => void (await client.quit()) }
  })
}
