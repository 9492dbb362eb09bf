/**
 * Applies a {@link RateRule} to a key: counts the hit in the store, lets the pure core decide, and
 * throws RATE_LIMITED with a retry hint when the rule is exceeded. `reserve` is the variant for work
 * that must never run more often than the rule allows, even under concurrency (credential checks):
 * the slot is taken atomically before the work, and may be given back afterwards.
 */
import { RelayError } from '../core/errors.ts'
import { decideRate, retryAfterRefused, windowAt, windowBudget, type RateDecision, type RateRule } from '../core/policy/rate-limit.ts'
import type { Clock, CounterKey, CounterStore, InProcessStore } from '../ports.ts'

/** A slot taken by {@link RateLimiter.reserve}: which window of which counter. */
export interface RateSlot {
  key: string
  windowIndex: number
}

/** Outcome of {@link RateLimiter.reserve}: a slot when allowed, else the retry hint. */
export type RateReservation = { allowed: true; slot: RateSlot } | { allowed: false; retryAfterMs: number }

/** Counts and decides rate limits. */
export interface RateLimiter {
  /** Counts one hit of `key` under `rule` and returns the decision. */
  hit(key: string, rule: RateRule): Promise<RateDecision>
  /** Like `hit`, but throws RATE_LIMITED when the hit is over the limit. */
  consume(key: string, rule: RateRule): Promise<void>
  /**
   * Takes one slot of `key` under `rule` in one atomic step, or none when the rule is used up (a
   * refused call counts nothing). Of N concurrent callers at most `rule.limit` get a slot.
   */
  reserve(key: string, rule: RateRule): Promise<RateReservation>
  /** Gives a slot back (e.g. the credential was right: only failures should use the budget). */
  release(slot: RateSlot): Promise<void>
}

/** The counter store's name for the rate-limit counter of `key` (also what fused channel intents hit). */
export const rateKey = (key: string): string => `rl:${key}`
const storeKey = rateKey

const refuse = (decision: RateDecision): void => {
  if (!decision.allowed) throw new RelayError('RATE_LIMITED', { detail: 'too many requests', retryAfterMs: decision.retryAfterMs })
}

/**
 * {@link RateLimiter.consume} on a store that answers in this process (`InProcessStore`), done at
 * once: the same hit of the same counter, the same decision, the same RATE_LIMITED.
 *
 * @example
 * consumeNow(store.inProcess, clock, `write:${id}`, config.rateLimit.writesPerChannel)
 * (`key` may be one {@link limitKeyNow} prepared.)
 */
export const consumeNow = (store: InProcessStore, clock: Clock, key: string | CounterKey, rule: RateRule): void => {
  const { index } = windowAt(rule, clock.now())
  refuse(decideRate(store.hitWindow(typeof key === 'string' ? storeKey(key) : key, index, 2 * rule.windowMs), rule, clock.now()))
}

/**
 * The counter of `key` prepared once for {@link consumeNow} (hashed once, not on every hit): the same
 * counter as `key` itself.
 *
 * @example
 * const limit = limitKeyNow(store.inProcess, `write:${id}`) // kept, then: consumeNow(store.inProcess, clock, limit, rule)
 */
export const limitKeyNow = (store: InProcessStore, key: string): CounterKey => store.counterKey(storeKey(key))

/**
 * Builds a rate limiter over a counter store.
 *
 * @example
 * await limiter.consume(`create:${clientKey}`, config.rateLimit.createPerClient)
 */
export const rateLimiter = (counters: CounterStore, clock: Clock): RateLimiter => {
  const hit = async (key: string, rule: RateRule): Promise<RateDecision> => {
    const now = clock.now()
    const { index } = windowAt(rule, now)
    const counts = await counters.hitWindow(storeKey(key), index, 2 * rule.windowMs)
    return decideRate(counts, rule, clock.now())
  }
  return {
    hit,
    async consume(key, rule) {
      refuse(await hit(key, rule))
    },
    async reserve(key, rule) {
      const now = clock.now()
      const { index, budget } = windowBudget(rule, now)
      const result = await counters.reserveWindow(storeKey(key), index, 2 * rule.windowMs, budget)
      if (result.reserved) return { allowed: true, slot: { key, windowIndex: index } }
      return { allowed: false, retryAfterMs: retryAfterRefused(result, rule, now) }
    },
    async release(slot) {
      await counters.releaseWindow(storeKey(slot.key), slot.windowIndex)
    },
  }
}
