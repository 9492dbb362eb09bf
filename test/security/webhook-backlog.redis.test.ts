/**
 * Finding 69 on Redis: a claim of the outbox is one Lua script, and Redis runs nothing else meanwhile.
 * It read past every message waiting behind an older one of its key, by pages whose offset grew with
 * what it had skipped, so one account's backlog made each claim quadratic in it: 80 000 waiting
 * messages held Redis for over a second per claim, and a claim follows every new event. Measured here
 * by the commands the script runs (Redis counts those a script calls in INFO commandstats).
 */
import type { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { redisWebhookOutbox } from '../../src/adapters/durable/redis-webhook-outbox.ts'
import { redisClient, redisUrl, uniquePrefix } from '../helpers/redis.ts'
import { withBacklog } from '../helpers/webhook-outbox.ts'

/** Calls of the commands a claim makes per message it looks at, counted by the server so far. */
const lookups = async (client: Redis): Promise<number> => {
  const stats = await client.info('commandstats')
  let total = 0
  for (const command of ['hget', 'zrange', 'zrangebyscore']) {
    const match = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)
    total += Number(match?.[1] ?? 0)
  }
  return total
}

if (redisUrl() === null) {
  describe.skip('finding 69 (redis): no redis-server on this machine', () => it('skipped', () => {}))
} else {
  const client = redisClient()
  afterAll(async () => {
    await client.quit()
  })

  describe("finding 69: a claim does not walk one account's backlog (Redis)", () => {
    it('finding 69: with 5 000 messages waiting behind one head, a claim looks at a handful, not at the 5 000', async () => {
      const outbox = redisWebhookOutbox({ client, keyPrefix: uniquePrefix('backlog') })
      await withBacklog(outbox, 5_000)
      expect((await outbox.claimDue(10_000, 10, 3_600_000)).map((m) => m.id)).toEqual(['victim'])
      const before = await lookups(client)
      expect(await outbox.claimDue(10_000, 10, 3_600_000)).toEqual([])
      // Before: every waiting message looked at (≥ 10 000 calls). Other test files share this Redis: a margin.
      expect((await lookups(client)) - before).toBeLessThan(1_000)
      expect(await outbox.complete('flood-0000000')).toBe(true)
      expect((await outbox.claimDue(10_000, 10, 3_600_000)).map((m) => m.id)).toEqual(['flood-0000001'])
    }, 120_000)

    it('finding 69: an outbox written before the ready set keeps its order: its first claim builds the set from the heads', async () => {
      const keyPrefix = uniquePrefix('backlog-upgrade')
      const outbox = redisWebhookOutbox({ client, keyPrefix })
      for (const [id, key, at] of [
        ['k1-a', 'k1', 1],
        ['k1-b', 'k1', 2],
        ['k2-a', 'k2', 3],
        ['none', undefined, 4],
      ] as const) {
        await outbox.enqueue({ id, body: '{}', createdAtMs: at, nextAttemptAtMs: at, ...(key === undefined ? {} : { orderKey: key }) })
      }
      // As the release before left it: no ready set.
      await client.del(`${keyPrefix}{wh}:ready`)
      expect((await outbox.claimDue(10, 10, 60_000)).map((m) => m.id).sort()).toEqual(['k1-a', 'k2-a', 'none'])
      expect(await outbox.complete('k1-a')).toBe(true)
      expect((await outbox.claimDue(10, 10, 60_000)).map((m) => m.id)).toEqual(['k1-b'])
    })
  })
}
