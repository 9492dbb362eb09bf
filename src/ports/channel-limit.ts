import type { WindowBudget, WindowCounts } from './counter-store.ts'

/**
 * A rate-limit hit that a channel operation counts in the same step (see the optional fused methods of
 * `ChannelStore`): one hit of the sliding-window counter `key` (the {@link CounterStore} name the rate
 * limiter would hit) in window `windowIndex`, windows living `ttlMs`. The hit is always counted; it is
 * admitted while `previous × previousWeight + current × currentWeight ≤ capacity`, `current` including
 * the hit (the test `decideRate` applies at the moment `budget` was computed for).
 */
export interface ChannelLimit {
  key: string
  windowIndex: number
  ttlMs: number
  budget: WindowBudget
}

/**
 * Outcome of a fused operation: the counts after the hit, and the operation's value when the hit was
 * admitted. A refused hit changes nothing but its counter.
 */
export type Limited<T> = { admitted: false; counts: WindowCounts } | { admitted: true; counts: WindowCounts; value: T }
