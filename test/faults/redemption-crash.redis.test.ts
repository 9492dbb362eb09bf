/**
 * Fault: a process killed inside the device-code redemption, two processes on one real Redis (each
 * with its own connection; the killed one's is cut at the kill). Inside the mint, the kill (or the
 * store error) comes after the token's and the family's pointers were claimed, before the account's
 * script. The suite is in redemption-crash-suite.ts.
 */
import { afterAll, describe, it } from 'vitest'
import { redisDurableStore } from '../../src/adapters/durable/redis.ts'
import { redisWebhookOutbox } from '../../src/adapters/durable/redis-webhook-outbox.ts'
import { redisStore } from '../../src/adapters/storage/redis.ts'
import type { FakeClock } from '../helpers/fake-clock.ts'
import { redisClient, redisUrl, uniquePrefix } from '../helpers/redis.ts'
import { describeRedemptionCrash, type MintCut } from './redemption-crash-suite.ts'

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
  describeRedemptionCrash('redis', () => {
    const keyPrefix = uniquePrefix('redeem-crash')
    const on = (client: ReturnType<typeof redisClient>) => ({
      store: (clock: FakeClock) => redisStore({ client, keyPrefix: `${keyPrefix}kv:`, clock }),
      durable: (clock: FakeClock) => redisDurableStore({ client, keyPrefix: `${keyPrefix}d:`, clock }),
    })
    // Process A's mint is cut where it has a step before the account's one: after the pointers'
    // claims, at the session script (which then runs only if the cut lets it).
    const forA = (cut: MintCut) => {
      const client = connect()
      const cutting = new Proxy(client, {
        get(target, name, receiver) {
          const value: unknown = Reflect.get(target, name, receiver)
          if (name !== 'qdSessionMint' || typeof value !== 'function') return value
          return async (...args: unknown[]) => {
            await cut()
            return (value as (...a: unknown[]) => unknown).apply(target, args)
          }
        },
      })
      return { ...on(cutting), kill: () => client.disconnect(), cutsInsideMint: true }
    }
    const outbox = () => redisWebhookOutbox({ client: connect(), keyPrefix: `${keyPrefix}wh:` })
    // Real wall-clock start: Redis expires keys by its own clock too.
    return { ...on(connect()), forA, outbox, startMs: Date.now() }
  })
}
