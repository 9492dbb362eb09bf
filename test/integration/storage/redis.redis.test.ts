import { describe, it } from 'vitest'
import { redisStore } from '../../../src/adapters/storage/redis.ts'
import { describeEphemeralStore } from './conformance.ts'
import { redisClient, redisUrl, uniquePrefix } from '../../helpers/redis.ts'

if (redisUrl() === null) {
  describe.skip('EphemeralStore conformance: redis (no redis-server on this machine)', () => it('skipped', () => {}))
} else {
  describeEphemeralStore('redis', (clock) => {
    const client = redisClient()
    const store = redisStore({ client, keyPrefix: uniquePrefix('conf'), clock })
    return { ...store, close: async () => void (await client.quit()) }
  })
}
