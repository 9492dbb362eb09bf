/**
 * Finding 12 of the hardening review on Redis (durable and ephemeral stores in one Redis): the
 * sealed refresh successor and the grant rollback work through the Redis adapters too.
 */
import { afterAll, describe, it } from 'vitest'
import { redisDurableStore } from '../../src/adapters/durable/redis.ts'
import { redisStore } from '../../src/adapters/storage/redis.ts'
import { redisClient, redisUrl, uniquePrefix } from '../helpers/redis.ts'
import { describeTransientFailures } from './tokens-transient-suite.ts'

if (redisUrl() === null) {
  describe.skip('finding 12 (redis): no redis-server on this machine', () => it('skipped', () => {}))
} else {
  const client = redisClient()
  afterAll(async () => void (await client.quit()))
  describeTransientFailures('redis', {
    durable: (clock) => redisDurableStore({ client, keyPrefix: uniquePrefix('tokens'), clock }),
    extra: () => {
      const keyPrefix = uniquePrefix('tokens-kv')
      // Real wall-clock start: Redis expires keys by its own clock too.
      return { store: (clock) => redisStore({ client, keyPrefix, clock }), startMs: Date.now() }
    },
  })
}
