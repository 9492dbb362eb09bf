/**
 * What a counter key counts, by the namespace its service counts it under: the memory store's bounded
 * counter table evicts, at its cap, only from the kind that holds the most (`counter-table.ts`), so a
 * flood of one kind of new key (an attacker's own DPoP proofs, say, one replay mark each) cannot evict
 * the live counters of another (the guess budgets that stop password guessing: finding 53).
 *
 * @see ../../services/dpop.ts (`dpop:`), ../../core/policy/guess-limits.ts (`guess:` under the rate
 *   limiter's `rl:`), ../../services/abuse-state.ts (`abuse:`), ../../services/mismatch-strikes.ts (`strike:`)
 */

/** The kinds, each a number below `MAX_KINDS` of the counter table. */
export const COUNTER_KIND = {
  other: 0,
  /** DPoP `jti` replay marks: one per accepted proof. */
  dpopReplay: 1,
  /** Password, TOTP and recovery-code guess budgets. */
  guessBudget: 2,
  /** The abuse guard's signal counts and check-code mismatch strikes. */
  abuseSignal: 3,
  /** Every other rate limit (channel creation, writes, reads, look-ups). */
  rateLimit: 4,
} as const

/**
 * The kind of the counter `key`.
 *
 * @example
 * counterKind('rl:guess:net:a1:192.0.2.1') // COUNTER_KIND.guessBudget
 */
export const counterKind = (key: string): number => {
  if (key.startsWith('rl:')) return key.startsWith('rl:guess:') ? COUNTER_KIND.guessBudget : COUNTER_KIND.rateLimit
  if (key.startsWith('dpop:')) return COUNTER_KIND.dpopReplay
  if (key.startsWith('abuse:') || key.startsWith('strike:')) return COUNTER_KIND.abuseSignal
  return COUNTER_KIND.other
}
