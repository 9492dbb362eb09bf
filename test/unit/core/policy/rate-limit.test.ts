import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decideRate, retryAfterRefused, windowAt, windowBudget, type RateRule } from '../../../../src/core/policy/rate-limit.ts'

const rule: RateRule = { limit: 10, windowMs: 60_000 }

describe('windowAt', () => {
  it('locates the fixed window and the elapsed fraction', () => {
    expect(windowAt(rule, 120_000)).toEqual({ index: 2, elapsedFraction: 0 })
    expect(windowAt(rule, 150_000)).toEqual({ index: 2, elapsedFraction: 0.5 })
  })
})

describe('decideRate', () => {
  it('allows up to the limit within one window', () => {
    expect(decideRate({ current: 10, previous: 0 }, rule, 0)).toEqual({ allowed: true, retryAfterMs: 0 })
    expect(decideRate({ current: 11, previous: 0 }, rule, 0).allowed).toBe(false)
  })

  it('weights the previous window by how much of it still overlaps', () => {
    // Half-way into the window, half of the previous window's 10 still counts.
    expect(decideRate({ current: 5, previous: 10 }, rule, 30_000).allowed).toBe(true)
    expect(decideRate({ current: 6, previous: 10 }, rule, 30_000).allowed).toBe(false)
  })

  it('tells a refused client to come back when the previous weight has decayed enough', () => {
    const decision = decideRate({ current: 6, previous: 10 }, rule, 30_000)
    // The next hit makes 7 current; 10 × (1 − f) + 7 ≤ 10 ⇔ f ≥ 0.7 ⇒ 42 s into the window.
    expect(decision.retryAfterMs).toBe(12_000)
    expect(decideRate({ current: 7, previous: 10 }, rule, 30_000 + decision.retryAfterMs).allowed).toBe(true)
  })

  it('sends a client that filled this window to the next one', () => {
    const decision = decideRate({ current: 11, previous: 0 }, rule, 59_000)
    expect(decision.retryAfterMs).toBeGreaterThan(1_000)
    expect(59_000 + decision.retryAfterMs).toBeGreaterThanOrEqual(60_000)
  })

  it('never says to retry at a time when the next hit would still be refused', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 0, max: 59_999 }),
        (limit, previous, current, offset) => {
          const r: RateRule = { limit, windowMs: 60_000 }
          const now = 600_000 + offset
          const decision = decideRate({ current, previous }, r, now)
          if (decision.allowed) return
          expect(decision.retryAfterMs).toBeGreaterThan(0)
          const at = now + decision.retryAfterMs
          const sameWindow = windowAt(r, at).index === windowAt(r, now).index
          const next = sameWindow ? { current: current + 1, previous } : { current: 1, previous: current }
          if (windowAt(r, at).index - windowAt(r, now).index <= 1) expect(decideRate(next, r, at).allowed).toBe(true)
        },
      ),
      { numRuns: 500 },
    )
  })
})

describe('windowBudget', () => {
  it('admits a reservation exactly when decideRate would allow the hit, and a refused one is told a time that admits it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 59_999 }),
        (limit, previous, current, offset) => {
          const r: RateRule = { limit, windowMs: 60_000 }
          const now = 600_000 + offset
          const { index, budget } = windowBudget(r, now)
          expect(index).toBe(windowAt(r, now).index)
          const admitted = previous * budget.previousWeight + (current + 1) * budget.currentWeight <= budget.capacity
          expect(admitted).toBe(decideRate({ current: current + 1, previous }, r, now).allowed)
          if (admitted) return
          const at = now + retryAfterRefused({ current, previous }, r, now)
          const later = windowBudget(r, at)
          const counts =
            later.index === index
              ? { current, previous }
              : later.index === index + 1
                ? { current: 0, previous: current }
                : { current: 0, previous: 0 }
          const b = later.budget
          expect(counts.previous * b.previousWeight + (counts.current + 1) * b.currentWeight).toBeLessThanOrEqual(b.capacity)
        },
      ),
      { numRuns: 500 },
    )
  })
})
