/**
 * A process started while its Redis is down: the change notices' SUBSCRIBE fails (logged), and once
 * Redis answers the topic is subscribed after all, so a change on another process wakes the waiters
 * here at once again. Before, ioredis resubscribed only what Redis had confirmed: this process stayed
 * deaf to the others' notices until restarted (its held polls woke only at their re-read).
 * docs/security/faults.md, "Fixed here".
 */
import { afterAll, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { redisChangeNotices, type RedisChangeNotices } from '../../src/adapters/pubsub/redis-notices.ts'
import { openRedis } from '../../src/adapters/storage/redis-client.ts'
import type { RedisClient } from '../../src/adapters/storage/redis-client.ts'
import { redisTarget } from '../../src/config/parse-redis.ts'
import { changeWaiters, sharedChangeWaiters } from '../../src/services/change-waiters.ts'
import { hasRedisServer, ownRedis, type OwnRedis } from './own-redis.ts'

const settled = async (promise: Promise<unknown>, ms: number): Promise<boolean> =>
  Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))])

let redis: OwnRedis | undefined
const clients: RedisClient[] = []
const notices: RedisChangeNotices[] = []
afterAll(async () => {
  await Promise.all(notices.map((n) => n.close()))
  for (const client of clients) client.disconnect()
  await redis?.close()
})

const processOn = (url: string, origin: string, errors: unknown[] = []) => {
  const target = redisTarget(url)
  if ('problem' in target) throw new Error(target.problem)
  const client = openRedis(target, { commandTimeoutMs: 1000 })
  client.on('error', () => {})
  clients.push(client)
  const n = redisChangeNotices({ client, keyPrefix: 'late:', origin, onError: (error) => errors.push(error) })
  notices.push(n)
  return sharedChangeWaiters(changeWaiters(true), n, 'grant', (key) => `name-${key}`)
}

it.skipIf(!hasRedisServer())(
  'subscribes the notices once a Redis that was down at start answers',
  async () => {
    redis = await ownRedis()
    await redis.kill()
    const late = processOn(redis.url, 'late')
    await expect(late.ready).rejects.toThrow()

    await redis.start()
    // The topic's subscriber shows up on Redis once the duplicate connection is ready again.
    const probe = new Redis(redis.port, '127.0.0.1', { maxRetriesPerRequest: 1 })
    try {
      const deadline = Date.now() + 10_000
      let subscribers = 0
      while (subscribers === 0 && Date.now() < deadline) {
        const [, count] = (await probe.pubsub('NUMSUB', 'late:notice:grant')) as [string, number]
        subscribers = count
        if (subscribers === 0) await new Promise((resolve) => setTimeout(resolve, 100))
      }
      expect(subscribers).toBe(1)
    } finally {
      probe.disconnect()
    }

    const other = processOn(redis.url, 'other')
    await other.ready
    const waiting = late.nextChange('g1', 20_000)
    other.changed('g1')
    expect(await settled(waiting, 5_000)).toBe(true)
  },
  30_000,
)
