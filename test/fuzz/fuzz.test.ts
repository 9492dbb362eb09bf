/**
 * The fuzzer inside `npm test`: 4 000 generated requests against a real server (127.0.0.1, port 0,
 * memory + SQLite), every invariant of invariants.ts checked per response, `/readyz` every 100.
 * The long runs are `npm run fuzz -- --requests N` (BENCHMARKS.md, "Fuzzing").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formatSummary, runFuzz } from './run.ts'
import { startFuzzTarget, type FuzzTarget } from './target.ts'

describe('fuzz: memory + SQLite', () => {
  let target: FuzzTarget
  beforeAll(async () => {
    target = await startFuzzTarget({ store: 'memory' })
  })
  afterAll(async () => {
    await target?.stop()
  })

  it('4 000 hostile requests: no 5xx, documented error bodies, no state change on a 4xx, still ready', async () => {
    const summary = await runFuzz(target, { requests: 4_000, seed: 4108, timeBudgetMs: 90_000, shrink: true })
    expect(summary.violations, formatSummary(summary, 'memory')).toEqual([])
    expect(summary.fiveHundreds).toBe(0)
    expect(summary.writesSeen).toBeGreaterThan(0)
  }, 180_000)
})
