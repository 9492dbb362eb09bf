/**
 * Brute-force guard for passwords, TOTP codes and recovery codes: failures are counted per account
 * and per client address in sliding windows; once either is over its rule, a block mark (in the
 * ephemeral key-value store, expiring with the window's retry hint) refuses every further attempt
 * with 429 before any credential is checked, right or wrong. Successful attempts count nothing.
 *
 * @see https://cheatsheetseries.owasp.org/cheatsheets/Authentication_Cheat_Sheet.html#protect-against-automated-attacks
 */
import { RelayError } from '../core/errors.ts'
import type { RateRule } from '../core/policy/rate-limit.ts'
import type { Clock, KvStore } from '../ports.ts'
import type { RateLimiter } from './rate-limiter.ts'

/** Who is trying: the account key (a username key also for unknown names) and the client key. */
export interface Attempt {
  accountKey: string
  clientKey: string
}

/** The guard. */
export interface AuthFailures {
  /** Throws RATE_LIMITED (with `retryAfterMs`) when the account or the client is blocked. */
  check(attempt: Attempt): Promise<void>
  /** Counts one failure; throws RATE_LIMITED when it crosses a rule (the block starts now). */
  fail(attempt: Attempt): Promise<void>
}

/** What {@link authFailures} needs. */
export interface AuthFailuresDeps {
  kv: KvStore
  limiter: RateLimiter
  clock: Clock
  perAccount: RateRule
  perClient: RateRule
}

const blockKey = (scope: 'account' | 'client', key: string): string => `authblock:${scope}:${key}`

/**
 * Builds the guard.
 *
 * @example
 * await failures.check({ accountKey, clientKey })
 * if (!passwordOk) await failures.fail({ accountKey, clientKey })
 */
export const authFailures = ({ kv, limiter, clock, perAccount, perClient }: AuthFailuresDeps): AuthFailures => {
  const blockedFor = async (key: string): Promise<number> => {
    const until = Number((await kv.get(key)) ?? 0)
    return Math.max(0, until - clock.now())
  }
  const limited = (retryAfterMs: number): RelayError =>
    new RelayError('RATE_LIMITED', { detail: 'too many failed attempts', retryAfterMs: Math.max(1, retryAfterMs) })

  return {
    async check({ accountKey, clientKey }) {
      const waits = await Promise.all([blockedFor(blockKey('account', accountKey)), blockedFor(blockKey('client', clientKey))])
      const wait = Math.max(...waits)
      if (wait > 0) throw limited(wait)
    },
    async fail({ accountKey, clientKey }) {
      const rules: Array<[string, string, RateRule]> = [
        [`authfail:account:${accountKey}`, blockKey('account', accountKey), perAccount],
        [`authfail:client:${clientKey}`, blockKey('client', clientKey), perClient],
      ]
      let wait = 0
      for (const [counter, block, rule] of rules) {
        const decision = await limiter.hit(counter, rule)
        if (decision.allowed) continue
        const until = clock.now() + decision.retryAfterMs
        await kv.put(block, String(until), decision.retryAfterMs)
        wait = Math.max(wait, decision.retryAfterMs)
      }
      if (wait > 0) throw limited(wait)
    },
  }
}
