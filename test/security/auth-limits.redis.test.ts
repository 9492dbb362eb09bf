/**
 * Guess limits on the Redis-backed app (findings 2 and 3): the same suite as the memory app, with the
 * counters, values and accounts in a real Redis.
 */
import { describe, it } from 'vitest'
import { redisDurableStore } from '../../src/adapters/durable/redis.ts'
import { redisStore } from '../../src/adapters/storage/redis.ts'
import { fakeClock } from '../helpers/fake-clock.ts'
import { makeApp } from '../helpers/make-app.ts'
import { redisClient, redisUrl, uniquePrefix } from '../helpers/redis.ts'
import { describeAuthLimits } from './auth-limits-suite.ts'

if (redisUrl() === null) {
  describe.skip('auth limits: redis (no redis-server on this machine)', () => it('skipped', () => {}))
} else {
  describeAuthLimits('redis', async (env) => {
    const client = redisClient()
    const keyPrefix = uniquePrefix('auth-limits')
    const t = makeApp({
      env,
      // Real wall-clock start: Redis expires keys by its own clock too.
      clock: fakeClock(Date.now()),
      store: (clock) => redisStore({ client, keyPrefix, clock }),
      durable: (clock) => redisDurableStore({ client, keyPrefix, clock }),
    })
    return { t, close: async () => void (await client.quit()) }
  })
}
