/**
 * The fuzzer on Redis inside `npm test`: 1 000 generated requests against a real server on the test
 * redis-server (own key prefix), store writes seen through keyspace notifications on a second client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisUrl } from '../helpers/redis.ts'
import { formatSummary, runFuzz } from './run.ts'
import { startFuzzTarget, type FuzzTarget } from './target.ts'

const url = redisUrl()

describe.skipIf(url === null)('fuzz: Redis', () => {
  let target: FuzzTarget
  beforeAll(async () => {
    target = await startFuzzTarget({ store: 'redis', redisUrl: url as string })
  })
  afterAll(async () => {
    await target?.stop()
  })

  it('1 000 hostile requests: no 5xx, documented error bodies, no state change on a 4xx, still ready', async () => {
    const summary = await runFuzz(target, { requests: 1_000, seed: 4388, timeBudgetMs: 90_000, shrink: true })
    expect(summary.violations, formatSummary(summary, 'redis')).toEqual([])
    expect(summary.fiveHundreds).toBe(0)
    expect(summary.writesSeen).toBeGreaterThan(0)
  }, 180_000)
})
