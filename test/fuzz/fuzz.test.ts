/**
 * The fuzzer inside `npm test` on memory + SQLite: 2 500 generated requests against a real server, every one
 * of them (bounded by count, not by time: the test fails when the time guard cuts the run short),
 * every invariant of invariants.ts checked per response, `/readyz` every 100. With the other store's
 * 2 500 (Redis: fuzz.redis.test.ts) that makes 5 000 cases per `npm test`. The long runs are
 * `npm run fuzz -- --requests N` (BENCHMARKS.md, "Fuzzing").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formatSummary, runFuzz } from './run.ts'
import { startFuzzTarget, type FuzzTarget } from './target.ts'

describe('fuzz: memory + SQLite', () => {
  let target: FuzzTarget
  beforeAll(async () => {
    target = await startFuzzTarget({ store: 'memory' })
  }, 60_000)
  // A graceful stop of a server that served thousands of requests can outlast the default hook bound under load.
  afterAll(async () => {
    await target?.stop()
  }, 60_000)

  it('2 500 hostile requests, all of them (no time cut): no 5xx, documented error bodies, no state change on a 4xx, still ready', async () => {
    const summary = await runFuzz(target, { requests: 2_500, seed: 4108, timeBudgetMs: 540_000, shrink: true })
    expect(summary.stoppedByTime, formatSummary(summary, 'memory')).toBe(false)
    expect(summary.requests).toBe(2_500)
    expect(summary.violations, formatSummary(summary, 'memory')).toEqual([])
    expect(summary.fiveHundreds).toBe(0)
    expect(summary.writesSeen).toBeGreaterThan(0)
  }, 600_000)
})
