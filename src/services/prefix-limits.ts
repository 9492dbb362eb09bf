/**
 * Per-client limits that one IPv6 /48 would otherwise multiply by 65 536 (channel creation, device
 * authorization, registration, the registration check), charged also to the client's /56 and /48
 * (`widerBudgetsOf`). The wider budgets are reserved (`RateLimiter.reserve`): a refused reservation
 * counts nothing, and a slot is given back when the work it guarded did not happen, so a client
 * refused by its own /64 limit, or a full cap, does not use up its neighbours' share. IPv4 clients
 * touch no extra counter.
 */
import { RelayError } from '../core/errors.ts'
import { hasWiderNetworks, widerBudgetsOf, type WiderShares } from '../core/policy/ipv6-prefixes.ts'
import type { RateRule } from '../core/policy/rate-limit.ts'
import type { RateLimiter, RateSlot } from './rate-limiter.ts'

/** The wider-network budgets of named per-client limits. */
export interface PrefixLimits {
  /**
   * Takes one slot of `name` in each wider network of `clientKey` (none for IPv4). Throws RATE_LIMITED,
   * holding none, when a network's budget is used up.
   */
  reserve(name: string, clientKey: string, rule: RateRule): Promise<readonly RateSlot[]>
  /**
   * Counts one hit of `name` for the client itself (`${name}:${clientKey}`), then takes its wider
   * networks' slots ({@link reserve}). Throws RATE_LIMITED when either is used up.
   */
  consume(name: string, clientKey: string, rule: RateRule): Promise<void>
  /** Gives slots back (the work they guarded did not happen). */
  release(slots: readonly RateSlot[]): Promise<void>
  /**
   * Runs `work` within the slots of `reserve`, giving them back when it throws or when `done` says
   * nothing was made. For an IPv4 key, `work` alone.
   */
  within<T>(name: string, clientKey: string, rule: RateRule, work: () => Promise<T>, done: (value: T) => boolean): Promise<T>
}

const NONE: readonly RateSlot[] = []

/**
 * Builds the wider-network limits over a rate limiter.
 *
 * @example
 * const prefixes = prefixLimits(limiter, config.rateLimit)
 * const outcome = await prefixes.within('create', clientKey, rule, () => create(record), (o) => o === 'ok')
 */
export const prefixLimits = (limiter: RateLimiter, shares: WiderShares): PrefixLimits => {
  const release = async (slots: readonly RateSlot[]): Promise<void> => {
    await Promise.all(slots.map((slot) => limiter.release(slot)))
  }
  const reserve = async (name: string, clientKey: string, rule: RateRule): Promise<readonly RateSlot[]> => {
    const budgets = widerBudgetsOf(clientKey, rule, shares)
    if (budgets.length === 0) return NONE
    const outcomes = await Promise.all(budgets.map((b) => limiter.reserve(`${name}:${b.network}`, b.rule)))
    const slots = outcomes.flatMap((o) => (o.allowed ? [o.slot] : []))
    if (slots.length === outcomes.length) return slots
    await release(slots)
    const retryAfterMs = Math.max(1, ...outcomes.map((o) => (o.allowed ? 0 : o.retryAfterMs)))
    throw new RelayError('RATE_LIMITED', { detail: 'too many requests from this network', retryAfterMs })
  }
  return {
    reserve,
    release,
    async consume(name, clientKey, rule) {
      await limiter.consume(`${name}:${clientKey}`, rule)
      await reserve(name, clientKey, rule)
    },
    within(name, clientKey, rule, work, done) {
      if (!hasWiderNetworks(clientKey)) return work()
      return (async () => {
        const slots = await reserve(name, clientKey, rule)
        const value = await work().catch(async (error: unknown) => {
          await release(slots)
          throw error
        })
        if (!done(value)) await release(slots)
        return value
      })()
    },
  }
}
