/**
 * What a new password must satisfy: a length range counted in Unicode code points after NFKC
 * normalization, not one of the most common passwords, not the username. No composition rules
 * (NIST SP 800-63B §5.1.1.2: they do not help and users work around them). The list of common
 * passwords is a parameter: `password-policy.ts` checks against the built-in one; the Worker reads
 * the same list from its assets (its script does not carry it).
 *
 * @see https://pages.nist.gov/800-63-4/sp800-63b.html#passwordver
 */
import { fail, ok, type Result } from '../errors.ts'

/** The common passwords a new password must not be, looked up lower-cased and NFKC-normalized. */
export interface CommonPasswords {
  has(lowercased: string): boolean
}

/** The configurable part of the password policy. */
export interface PasswordPolicy {
  /** Fewest code points a new password may have. */
  minLength: number
  /** Most code points a new password may have (bounds hashing work and storage). */
  maxLength: number
}

/** Defaults: 10 code points at least, 256 at most. */
export const DEFAULT_PASSWORD_POLICY: Readonly<PasswordPolicy> = Object.freeze({ minLength: 10, maxLength: 256 })

/** Lower case, and without the leading `@` and the `:server` part of a Matrix user id. */
const userForms = (username: string): string[] => {
  const lower = username.normalize('NFKC').toLowerCase()
  const localpart = /^@([^:]+)(?::.*)?$/.exec(lower)?.[1]
  return localpart === undefined ? [lower] : [lower, localpart]
}

/**
 * Checks a new password against the policy and `common`. The common-password and username checks
 * ignore case. Errors: PASSWORD_TOO_WEAK, with a detail saying which rule failed (never echoing the password).
 *
 * @example
 * const checked = checkPasswordAgainst('hunter2', COMMON_PASSWORDS, { username: '@alice:example.org' })
 * // { ok: false, code: 'PASSWORD_TOO_WEAK', detail: 'the password must have at least 10 characters' }
 */
export const checkPasswordAgainst = (
  password: string,
  common: CommonPasswords,
  options: { username?: string; policy?: PasswordPolicy } = {},
): Result<true, 'PASSWORD_TOO_WEAK'> => {
  const policy = options.policy ?? DEFAULT_PASSWORD_POLICY
  const normalized = password.normalize('NFKC')
  const length = [...normalized].length
  if (length < policy.minLength) {
    return fail('PASSWORD_TOO_WEAK', `the password must have at least ${policy.minLength} characters`)
  }
  if (length > policy.maxLength) {
    return fail('PASSWORD_TOO_WEAK', `the password must have at most ${policy.maxLength} characters`)
  }
  const lower = normalized.toLowerCase()
  if (common.has(lower)) return fail('PASSWORD_TOO_WEAK', 'the password is too common')
  if (options.username !== undefined && userForms(options.username).includes(lower)) {
    return fail('PASSWORD_TOO_WEAK', 'the password must differ from the username')
  }
  return ok(true)
}
