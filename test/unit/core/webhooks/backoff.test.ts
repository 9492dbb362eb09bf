import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { afterFailure, jitterFrom, retryDelayMs, type BackoffPolicy } from '../../../../src/core/webhooks/backoff.ts'
import { seededRandom } from '../../../helpers/seeded-random.ts'

const policyArb = fc
  .record({
    baseMs: fc.integer({ min: 1, max: 60_000 }),
    maxMs: fc.integer({ min: 1, max: 86_400_000 }),
    jitterRatio: fc.double({ min: 0, max: 0.99, noNaN: true }),
  })
  .filter((p) => p.maxMs >= p.baseMs)
const jitterArb = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })
const attemptArb = fc.integer({ min: 1, max: 1000 })

describe('retryDelayMs', () => {
  it('doubles from the base and stops at the cap without jitter', () => {
    const policy: BackoffPolicy = { baseMs: 1000, maxMs: 10_000, jitterRatio: 0.25 }
    expect([1, 2, 3, 4, 5, 6, 100].map((a) => retryDelayMs(policy, a, 0))).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000, 10_000])
    expect(retryDelayMs(policy, 2, 0.5)).toBe(1750)
  })

  it('never decreases from one attempt to the next for the same jitter', () => {
    fc.assert(
      fc.property(policyArb, attemptArb, jitterArb, (policy, attempt, jitter) => {
        expect(retryDelayMs(policy, attempt + 1, jitter)).toBeGreaterThanOrEqual(retryDelayMs(policy, attempt, jitter))
      }),
    )
  })

  it('is never longer than the cap', () => {
    fc.assert(
      fc.property(policyArb, attemptArb, jitterArb, (policy, attempt, jitter) => {
        expect(retryDelayMs(policy, attempt, jitter)).toBeLessThanOrEqual(policy.maxMs)
      }),
    )
  })

  it('never rounds a 1 ms delay down to 0 (a counterexample fast-check found)', () => {
    expect(retryDelayMs({ baseMs: 1, maxMs: 1, jitterRatio: 5.551115123125791e-17 }, 1, 0.9999999999999987)).toBe(1)
  })

  it('takes away at most jitterRatio of the unjittered delay', () => {
    fc.assert(
      fc.property(policyArb, attemptArb, jitterArb, (policy, attempt, jitter) => {
        const ceiling = retryDelayMs({ ...policy, jitterRatio: 0 }, attempt, 0)
        const delay = retryDelayMs(policy, attempt, jitter)
        expect(delay).toBeLessThanOrEqual(ceiling)
        expect(delay).toBeGreaterThanOrEqual(Math.floor(ceiling * (1 - policy.jitterRatio)))
        expect(delay).toBeGreaterThan(0)
      }),
    )
  })
})

describe('jitterFrom', () => {
  it('stays in [0, 1) and spreads out', () => {
    const random = seededRandom(7)
    const values = Array.from({ length: 1000 }, () => jitterFrom(random))
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true)
    expect(values.filter((v) => v < 0.5).length).toBeGreaterThan(400)
    expect(values.filter((v) => v < 0.5).length).toBeLessThan(600)
  })
})

describe('afterFailure', () => {
  const policy: BackoffPolicy = { baseMs: 1000, maxMs: 60_000, jitterRatio: 0.25 }
  it('retries after the delay until the last attempt, then gives up', () => {
    expect(afterFailure(policy, 1, 3, 5000, 0)).toEqual({ kind: 'retry', atMs: 6000 })
    expect(afterFailure(policy, 2, 3, 5000, 0)).toEqual({ kind: 'retry', atMs: 7000 })
    expect(afterFailure(policy, 3, 3, 5000, 0)).toEqual({ kind: 'dead' })
  })
})
