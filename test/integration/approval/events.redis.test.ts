/** The account event feed with two app instances sharing one Redis (the long poll crosses processes). */
import { describe, it } from 'vitest'
import { redisDurableStore } from '../../../src/adapters/durable/redis.ts'
import { redisStore } from '../../../src/adapters/storage/redis.ts'
import { fakeClock } from '../../helpers/fake-clock.ts'
import { makeApp } from '../../helpers/make-app.ts'
import { redisClient, redisUrl, uniquePrefix } from '../../helpers/redis.ts'
import { describeEventFeed } from './events.suite.ts'

if (redisUrl() === null) {
  describe.skip('account event feed: redis (no redis-server on this machine)', () => it('skipped', () => {}))
} else {
  describeEventFeed('two instances on redis', async (env) => {
    const clientA = redisClient()
    const clientB = redisClient()
    const keyPrefix = uniquePrefix('events')
    const clock = fakeClock(Date.now())
    const make = (client: ReturnType<typeof redisClient>) =>
      makeApp({
        env,
        clock,
        store: (c) => redisStore({ client, keyPrefix, clock: c }),
        durable: (c) => redisDurableStore({ client, keyPrefix, clock: c }),
      })
    return { a: make(clientA), b: make(clientB), close: async () => void (await Promise.all([clientA.quit(), clientB.quit()])) }
  })
}
