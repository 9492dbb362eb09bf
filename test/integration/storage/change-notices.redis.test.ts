/**
 * Change notices over Redis pub/sub between two "processes" (two clients, two origins): a change reported
 * on one wakes the waiters of that key on the other long before their deadline; a process does not hear
 * its own notices; other keys' waiters stay asleep.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Redis } from 'ioredis'
import { redisChangeNotices, type RedisChangeNotices } from '../../../src/adapters/pubsub/redis-notices.ts'
import { changeWaiters, sharedChangeWaiters } from '../../../src/services/change-waiters.ts'
import { redisClient, redisUrl, uniquePrefix } from '../../helpers/redis.ts'

const url = redisUrl()
const settled = async (promise: Promise<unknown>, ms: number): Promise<boolean> =>
  Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))])

describe.skipIf(url === null)('change notices over Redis pub/sub', () => {
  const clients: Redis[] = []
  const notices: RedisChangeNotices[] = []
  let prefix: string

  beforeAll(() => {
    prefix = uniquePrefix('notices')
  })
  afterAll(async () => {
    await Promise.all(notices.map((n) => n.close()))
    for (const c of clients) c.disconnect()
  })

  const process = async (origin: string) => {
    const client = redisClient()
    clients.push(client)
    const n = redisChangeNotices({ client, keyPrefix: prefix, origin })
    notices.push(n)
    const waiters = sharedChangeWaiters(changeWaiters(true), n, 'grant', (key) => `name-${key}`)
    await waiters.ready
    return waiters
  }

  it("wakes its own and another process's waiters of the key at once, and no other key's", async () => {
    const one = await process('one')
    const two = await process('two')
    const started = Date.now()
    const waiting = two.nextChange('g1', 20_000)
    const other = two.nextChange('g2', 20_000)
    const ownWaiter = one.nextChange('g1', 20_000)
    one.changed('g1')
    expect(await settled(ownWaiter, 5_000)).toBe(true)
    expect(await settled(waiting, 10_000)).toBe(true)
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(await settled(other, 200)).toBe(false)
    two.changed('g2')
    expect(await settled(other, 1_000)).toBe(true)
  })
})
