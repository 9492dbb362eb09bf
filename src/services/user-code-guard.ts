/**
 * Guessing guard of user-code look-ups (`/v1/approvals/{user_code}`). Per account first: every
 * look-up counts against the approving account, so one account cannot try many codes. Per client
 * address second, and only *failed* look-ups (unknown, expired or decided codes) count there: many
 * colleagues behind one NAT, each approving their own valid code, never refuse each other, while
 * many accounts guessing from one address are stopped. Once the address is over its rule a block mark
 * (ephemeral key-value store, expiring with the window's retry hint) refuses every look-up from it,
 * valid or not, so a blocked guesser cannot tell a hit from a miss by the status.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-5.1 (user code brute forcing)
 */
import { RelayError } from '../core/errors.ts'
import type { RateRule } from '../core/policy/rate-limit.ts'
import type { Clock, KvStore } from '../ports.ts'
import type { RateLimiter } from './rate-limiter.ts'

/** The guard. */
export interface UserCodeGuard {
  /** Before a look-up: counts it for the account; throws RATE_LIMITED when the account or the address is over. */
  before(accountId: string, clientKey: string): Promise<void>
  /** After a failed look-up: counts it for the address; throws RATE_LIMITED when that crosses the rule. */
  failed(clientKey: string): Promise<void>
}

/** What {@link userCodeGuard} needs. */
export interface UserCodeGuardDeps {
  kv: KvStore
  limiter: RateLimiter
  clock: Clock
  /** Look-ups (any outcome) per approving account. */
  perAccount: RateRule
  /** Failed look-ups per client address. */
  failuresPerClient: RateRule
}

const blockKey = (clientKey: string): string => `user-code:block:${clientKey}`

const limited = (retryAfterMs: number): RelayError =>
  new RelayError('RATE_LIMITED', { detail: 'too many requests', retryAfterMs: Math.max(1, retryAfterMs) })

/**
 * Builds the guard.
 *
 * @example
 * await guard.before(accountId, clientKey)
 * if (grant === null) { await guard.failed(clientKey); throw notFound }
 */
export const userCodeGuard = ({ kv, limiter, clock, perAccount, failuresPerClient }: UserCodeGuardDeps): UserCodeGuard => ({
  async before(accountId, clientKey) {
    await limiter.consume(`user-code:account:${accountId}`, perAccount)
    const until = Number((await kv.get(blockKey(clientKey))) ?? 0)
    const wait = until - clock.now()
    if (wait > 0) throw limited(wait)
  },
  async failed(clientKey) {
    const decision = await limiter.hit(`user-code:client-failures:${clientKey}`, failuresPerClient)
    if (decision.allowed) return
    await kv.put(blockKey(clientKey), String(clock.now() + decision.retryAfterMs), decision.retryAfterMs)
    throw limited(decision.retryAfterMs)
  },
})
