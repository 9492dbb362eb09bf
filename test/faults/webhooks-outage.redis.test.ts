import { describe } from 'vitest'
import { redisWebhookOutbox } from '../../src/adapters/durable/redis-webhook-outbox.ts'
import { redisClient, redisUrl, uniquePrefix } from '../helpers/redis.ts'
import { webhookOutageScenario } from './webhooks-outage-suite.ts'

describe.skipIf(redisUrl() === null)('faults: webhook receiver down for an hour, qrelay restarted mid-delivery (Redis outbox)', () => {
  webhookOutageScenario('redis', async () => {
    const keyPrefix = uniquePrefix('faults-outbox')
    const clients = [redisClient()]
    return {
      outbox: redisWebhookOutbox({ client: clients[0]!, keyPrefix }),
      // A new process: a new connection to the same Redis and prefix.
      reopen: async () => {
        const client = redisClient()
        clients.push(client)
        return redisWebhookOutbox({ client, keyPrefix })
      },
      close: async () => {
        await Promise.all(clients.map((c) => c.quit()))
      },
    }
  })
})
