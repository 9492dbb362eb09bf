/**
 * The crash suites' stores on one real Redis (./crash-stores.ts): each process on its own connection,
 * the killed one's cut at the kill.
 */
import { afterAll } from 'vitest'
import { redisDurableStore } from '../../src/adapters/durable/redis.ts'
import { redisWebhookOutbox } from '../../src/adapters/durable/redis-webhook-outbox.ts'
import { redisStore } from '../../src/adapters/storage/redis.ts'
import type { FakeClock } from '../helpers/fake-clock.ts'
import { redisClient, uniquePrefix } from '../helpers/redis.ts'
import type { CrashRunStores } from './crash-stores.ts'

/** Runs under a key prefix each; call at a test file's top level (its connections end after the file's tests). */
export const redisRuns = (prefix: string): (() => CrashRunStores) => {
  const clients: Array<ReturnType<typeof redisClient>> = []
  const connect = () => {
    const client = redisClient()
    clients.push(client)
    return client
  }
  afterAll(async () => {
    await Promise.all(clients.map((c) => (c.status === 'end' ? undefined : c.quit().catch(() => undefined))))
  })
  return () => {
    const keyPrefix = uniquePrefix(prefix)
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
  }
}
