/**
 * Fault: a process cut in the middle of a password change (finding 43), two processes on one real
 * Redis, each with its own connection (the killed one's is cut at the kill). The suite is in
 * password-change-crash-suite.ts.
 */
import { afterAll, describe, it } from 'vitest'
import { redisDurableStore } from '../../src/adapters/durable/redis.ts'
import { redisWebhookOutbox } from '../../src/adapters/durable/redis-webhook-outbox.ts'
import { redisStore } from '../../src/adapters/storage/redis.ts'
import type { FakeClock } from '../helpers/fake-clock.ts'
import { redisClient, redisUrl, uniquePrefix } from '../helpers/redis.ts'
import { describePasswordChangeCrash } from './password-change-crash-suite.ts'

if (redisUrl() === null) {
  describe.skip('faults (redis): no redis-server on this machine', () => it('skipped', () => {}))
} else {
  const clients: Array<ReturnType<typeof redisClient>> = []
  const connect = () => {
    const client = redisClient()
    clients.push(client)
    return client
  }
  afterAll(async () => {
    await Promise.all(clients.map((c) => (c.status === 'end' ? undefined : c.quit().catch(() => undefined))))
  })
  describePasswordChangeCrash('redis', () => {
    const keyPrefix = uniquePrefix('password-crash')
    const durableOn = (client: ReturnType<typeof redisClient>) => (clock: FakeClock) =>
      redisDurableStore({ client, keyPrefix: `${keyPrefix}d:`, clock })
    const shared = connect()
    const forA = () => {
      const client = connect()
      return { durable: durableOn(client), kill: () => client.disconnect() }
    }
    return {
      store: (clock: FakeClock) => redisStore({ client: shared, keyPrefix: `${keyPrefix}kv:`, clock }),
      durable: durableOn(shared),
      forA,
      outbox: () => redisWebhookOutbox({ client: connect(), keyPrefix: `${keyPrefix}wh:` }),
      // Real wall-clock start: Redis expires keys by its own clock too.
      startMs: Date.now(),
    }
  })
}
