/**
 * Brute-force guard for passwords, TOTP codes and recovery codes. Every guess first reserves a slot,
 * atomically in the counter store, in each budget it draws on (see `core/policy/guess-limits.ts`):
 * only then is the credential checked, and a right one gives its slots back. So however many guesses
 * arrive at once, no more are ever checked than the budgets allow, and a guess over a budget gets 429
 * without any credential being looked at, right or wrong.
 *
 * @see https://cheatsheetseries.owasp.org/cheatsheets/Authentication_Cheat_Sheet.html#protect-against-automated-attacks
 */
import { RelayError } from '../core/errors.ts'
import { guessBudgets, type GuessLimits, type GuessOrigin } from '../core/policy/guess-limits.ts'
import type { RateLimiter, RateSlot } from './rate-limiter.ts'

/** Who is trying: the account key (a username key also for unknown names), the network, where from. */
export interface Attempt {
  accountKey: string
  clientKey: string
  /** What the client proved (default: nothing, `unknown`). */
  origin?: GuessOrigin
}

/** The guard. */
export interface AuthFailures {
  /**
   * Reserves one guess for `attempt`, runs `verify` (true: the credential was right), and gives the
   * reservation back on success. Throws RATE_LIMITED (with `retryAfterMs`) without calling `verify`
   * when a budget is used up. When `verify` throws, the guess stays counted.
   */
  attempt(attempt: Attempt, verify: () => Promise<boolean>): Promise<boolean>
}

/** What {@link authFailures} needs. */
export interface AuthFailuresDeps {
  limiter: RateLimiter
  limits: GuessLimits
}

const limited = (retryAfterMs: number): RelayError =>
  new RelayError('RATE_LIMITED', { detail: 'too many failed attempts', retryAfterMs: Math.max(1, retryAfterMs) })

/**
 * Builds the guard.
 *
 * @example
 * const ok = await failures.attempt({ accountKey, clientKey }, async () => (await accounts.checkPassword(a, pw)).ok)
 */
export const authFailures = ({ limiter, limits }: AuthFailuresDeps): AuthFailures => {
  const releaseAll = async (slots: readonly RateSlot[]): Promise<void> => {
    await Promise.all(slots.map((slot) => limiter.release(slot)))
  }

  return {
    async attempt({ accountKey, clientKey, origin = { kind: 'unknown' } }, verify) {
      const slots: RateSlot[] = []
      for (const budget of guessBudgets(accountKey, clientKey, origin, limits)) {
        const reserved = await limiter.reserve(budget.key, budget.rule)
        if (!reserved.allowed) {
          await releaseAll(slots)
          throw limited(reserved.retryAfterMs)
        }
        slots.push(reserved.slot)
      }
      const ok = await verify()
      if (ok) await releaseAll(slots)
      return ok
    },
  }
}
