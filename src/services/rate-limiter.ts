/**
 * Applies a {@link RateRule} to a key: counts the hit in the store, lets the pure core decide, and
 * throws RATE_LIMITED with a retry hint when the rule is exceeded.
 */
import { RelayError } from '../core/errors.ts'
import { decideRate, windowAt, type RateDecision, type RateRule } from '../core/policy/rate-limit.ts'
import type { Clock, CounterStore } from '../ports.ts'

/** Counts and decides rate limits. */
export interface RateLimiter {
  /** Counts one hit of `key` under `rule` and returns the decision. */
  hit(key: string, rule: RateRule): Promise<RateDecision>
  /** Like `hit`, but throws RATE_LIMITED when the hit is over the limit. */
  consume(key: string, rule: RateRule): Promise<void>
}

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
    const counts = await counters.hitWindow(`rl:${key}`, index, 2 * rule.windowMs)
    return decideRate(counts, rule, clock.now())
  }
  return {
    hit,
    async consume(key, rule) {
      const decision = await hit(key, rule)
      if (!decision.allowed) {
        throw new RelayError('RATE_LIMITED', { detail: 'too many requests', retryAfterMs: decision.retryAfterMs })
      }
    },
  }
}
