/**
 * Which budgets one credential guess (password, TOTP code, recovery code) draws on, by where it comes
 * from, in the style of OWASP's "device cookies": a client that proved a device bound to the account
 * (a device-trust token from an earlier sign-in, or a signed-in session) only uses its own small
 * budget, so an attacker elsewhere cannot lock it out; a client on a network where one of the
 * account's devices was last seen uses the per-(account, network) budget; every other client also
 * draws on the account-wide ceiling, which bounds what all untrusted clients together can try.
 * Trusted devices and known networks together draw on a second account-wide ceiling, so holding a
 * session (whose device can be taken from network to network) never buys unbounded guesses either:
 * per fixed window of the rules (aligned to multiples of their length), an account sees at most
 * `perAccount.limit + perAccountTrusted.limit` wrong guesses checked, whoever sends them, so over any
 * span T at most (T / window + 1) times that: a span shorter than a window can straddle two.
 *
 * @see https://owasp.org/www-community/Slow_Down_Online_Guessing_Attacks_with_Device_Cookies
 * @see https://cheatsheetseries.owasp.org/cheatsheets/Authentication_Cheat_Sheet.html#account-lockout
 */
import type { RateRule } from './rate-limit.ts'

/** Where a guess comes from (decided by the caller from what the client proved). */
export type GuessOrigin =
  /** A device bound to the account; `key` names that device's own budget (a token hash, a device id). */
  | { kind: 'trusted-device'; key: string }
  /** A network (see `rateKeyOf`) where one of the account's devices was last seen. */
  | { kind: 'known-network' }
  | { kind: 'unknown' }

/** The rules of the budgets. */
export interface GuessLimits {
  /** All guesses at one account from untrusted clients (neither a trusted device nor a known network). */
  perAccount: RateRule
  /** All guesses at one account from trusted devices and known networks together. */
  perAccountTrusted: RateRule
  /** Guesses at one account from one network. */
  perAccountNetwork: RateRule
  /** Guesses from one network across accounts. */
  perClient: RateRule
  /** Guesses from one trusted device at its account. */
  perTrustedDevice: RateRule
}

/** One budget to reserve a slot from. */
export interface GuessBudget {
  key: string
  rule: RateRule
  /** Which limit it is (for the error detail; never a secret). */
  scope: 'account' | 'account-trusted' | 'account-network' | 'client' | 'trusted-device'
}

/**
 * The budgets a guess at `accountKey` from network `clientKey` draws on, narrowest first. Every one
 * of them must grant a slot before the credential is checked.
 *
 * @example
 * for (const b of guessBudgets('acct', '192.0.2.1', { kind: 'unknown' }, limits)) await limiter.reserve(b.key, b.rule)
 */
export const guessBudgets = (accountKey: string, clientKey: string, origin: GuessOrigin, limits: GuessLimits): GuessBudget[] => {
  const trustedCeiling: GuessBudget = { key: `guess:trusted:${accountKey}`, rule: limits.perAccountTrusted, scope: 'account-trusted' }
  if (origin.kind === 'trusted-device') {
    return [{ key: `guess:device:${accountKey}:${origin.key}`, rule: limits.perTrustedDevice, scope: 'trusted-device' }, trustedCeiling]
  }
  const budgets: GuessBudget[] = [
    { key: `guess:net:${accountKey}:${clientKey}`, rule: limits.perAccountNetwork, scope: 'account-network' },
    origin.kind === 'unknown' ? { key: `guess:account:${accountKey}`, rule: limits.perAccount, scope: 'account' } : trustedCeiling,
  ]
  budgets.push({ key: `guess:client:${clientKey}`, rule: limits.perClient, scope: 'client' })
  return budgets
}
