/**
 * Findings 62 and 63 over Redis (durable and ephemeral stores in one Redis): the device cap is checked
 * in the session mint's script, and each family keeps only its newest rotated-out hashes (`rfz:`).
 */
import { afterAll, describe, it } from 'vitest'
import { redisDurableStore } from '../../src/adapters/durable/redis.ts'
import { redisStore } from '../../src/adapters/storage/redis.ts'
import { redisClient, redisUrl, uniquePrefix } from '../helpers/redis.ts'
import { accountGrowthCases } from './account-growth-suite.ts'

if (redisUrl() === null) {
  describe.skip('findings 62 and 63 (redis): no redis-server on this machine', () => it('skipped', () => {}))
} else {
  const client = redisClient()
  afterAll(async () => void (await client.quit()))
  accountGrowthCases('redis', (tag) => {
    const keyPrefix = uniquePrefix(tag)
    return {
      store: (clock) => redisStore({ client, keyPrefix: `${keyPrefix}kv:`, clock }),
      durable: (clock) => redisDurableStore({ client, keyPrefix, clock }),
      // Real wall-clock start: Redis expires keys by its own clock too.
      startMs: Date.now(),
      usedHashes: async (accountId) => {
        let n = 0
        for (const key of await client.keys(`${keyPrefix}{a:${accountId}}:rf[uz]:*`)) {
          n += (await client.type(key)) === 'zset' ? await client.zcard(key) : await client.scard(key)
        }
        return n
      },
    }
  })
}
