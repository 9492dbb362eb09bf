import { describe, it } from 'vitest'
import { redisDurableStore } from '../../../src/adapters/durable/redis.ts'
import { redisStore } from '../../../src/adapters/storage/redis.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { makeApp } from '../../helpers/make-app.ts'
import { redisClient, redisUrl, uniquePrefix } from '../../helpers/redis.ts'
import { describeAccountFlow } from './flow-suite.ts'

if (redisUrl() === null) {
  describe.skip('accounts end to end: redis (no redis-server on this machine)', () => it('skipped', () => {}))
} else {
  describeAccountFlow('redis', async (env) => {
    const client = redisClient()
    const keyPrefix = uniquePrefix('accounts')
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
