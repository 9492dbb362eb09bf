/**
 * Rate-limit decisions as a pure function: a sliding-window counter (the previous fixed window's
 * count weighted by how much of it still overlaps the sliding window, plus the current window's).
 * The store only counts (`CounterStore.hitWindow`); this file decides.
 *
 * @see https://blog.cloudflare.com/counting-things-a-lot-of-different-things/
 */
import type { WindowBudget, WindowCounts } from '../../ports.ts'

/** At most `limit` requests per `windowMs`, measured over a sliding window. */
export interface RateRule {
  limit: number
  windowMs: number
}

/** Where `now` falls: the fixed window's index and how far into it (0 ≤ elapsed < 1). */
export interface WindowPosition {
  index: number
  elapsedFraction: number
}

/** Locates `now` among fixed windows of `rule.windowMs`. */
export const windowAt = (rule: RateRule, now: number): WindowPosition => {
  const index = Math.floor(now / rule.windowMs)
  return { index, elapsedFraction: (now - index * rule.windowMs) / rule.windowMs }
}

/** A rate-limit verdict. `retryAfterMs` is 0 when allowed. */
export interface RateDecision {
  allowed: boolean
  retryAfterMs: number
}

/**
 * Decides a request whose hit is already counted in `counts.current`.
 *
 * @example
 * const pos = windowAt(rule, now)
 * const counts = await counters.hitWindow(key, pos.index, 2 * rule.windowMs)
 * const { allowed, retryAfterMs } = decideRate(counts, rule, now)
 */
export const decideRate = (counts: WindowCounts, rule: RateRule, now: number): RateDecision => {
  const { index } = windowAt(rule, now)
  // In integers scaled by the window length, so rounding never flips a verdict:
  // previous × (1 − elapsed/window) + current ≤ limit.
  const remainingOfWindow = (index + 1) * rule.windowMs - now
  const scaled = counts.previous * remainingOfWindow + counts.current * rule.windowMs
  if (scaled <= rule.limit * rule.windowMs) return { allowed: true, retryAfterMs: 0 }
  return { allowed: false, retryAfterMs: retryAfter(counts, rule, now, index) }
}

/**
 * The admission test for reserving one hit at `now` (see `CounterStore.reserveWindow`): the same
 * inequality {@link decideRate} checks, with the candidate hit included, so a store that admits by it
 * never lets the sliding-window count pass `rule.limit`.
 *
 * @example
 * const { index, budget } = windowBudget(rule, now)
 * const r = await counters.reserveWindow(key, index, 2 * rule.windowMs, budget)
 */
export const windowBudget = (rule: RateRule, now: number): { index: number; budget: WindowBudget } => {
  const { index } = windowAt(rule, now)
  return {
    index,
    budget: { previousWeight: (index + 1) * rule.windowMs - now, currentWeight: rule.windowMs, capacity: rule.limit * rule.windowMs },
  }
}

/**
 * The retry hint of a refused reservation (counts as the store saw them, the refused hit not counted).
 */
export const retryAfterRefused = (counts: WindowCounts, rule: RateRule, now: number): number =>
  retryAfter(counts, rule, now, windowAt(rule, now).index)

/** Earliest time at which one more request (one more hit) would be allowed, assuming no others. */
const retryAfter = (counts: WindowCounts, rule: RateRule, now: number, index: number): number => {
  const windowEnd = (index + 1) * rule.windowMs
  // Still in this window: wait until the previous window's weight has decayed enough.
  const room = rule.limit - counts.current - 1
  if (room >= 0 && counts.previous > 0) {
    const at = index * rule.windowMs + Math.ceil((1 - room / counts.previous) * rule.windowMs)
    if (at < windowEnd) return Math.max(1, at - now)
  }
  // Next window: this window's count becomes "previous" and must decay below the limit.
  const fraction = counts.current > 0 ? Math.max(0, 1 - (rule.limit - 1) / counts.current) : 0
  return Math.max(1, windowEnd + Math.ceil(fraction * rule.windowMs) - now)
}
