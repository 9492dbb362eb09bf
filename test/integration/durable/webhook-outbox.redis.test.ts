import { describe, it } from 'vitest'
import { redisWebhookOutbox } from '../../../src/adapters/durable/redis-webhook-outbox.ts'
import { redisClient, redisUrl, uniquePrefix } from '../../helpers/redis.ts'
import { describeWebhookOutbox } from './webhook-outbox-suite.ts'

if (redisUrl() === null) {
  describe.skip('WebhookOutbox conformance: redis (no redis-server on this machine)', () => it('skipped', () => {}))
} else {
  describeWebhookOutbox('redis', () => {
    const keyPrefix = uniquePrefix('outbox')
    const [clientA, clientB] = [redisClient(), redisClient()]
    return {
      a: redisWebhookOutbox({ client: clientA, keyPrefix }),
      b: redisWebhookOutbox({ client: clientB, keyPrefix }),
      close: async () => {
        await Promise.all([clientA.quit(), clientB.quit()])
      },
    }
  })
}
