/**
 * The password policy with qrelay's built-in list of common passwords (`password-rules.ts` has the
 * rules, with the list as a parameter).
 *
 * @see https://pages.nist.gov/800-63-4/sp800-63b.html#passwordver
 */
import type { Result } from '../errors.ts'
import { COMMON_PASSWORDS } from './common-passwords.ts'
import { checkPasswordAgainst, type PasswordPolicy } from './password-rules.ts'

export { DEFAULT_PASSWORD_POLICY, type PasswordPolicy } from './password-rules.ts'

/**
 * Checks a new password against the policy and the built-in list of common passwords (see
 * `checkPasswordAgainst`). Errors: PASSWORD_TOO_WEAK, with a detail saying which rule failed.
 *
 * @example
 * const checked = checkPassword('hunter2', { username: '@alice:example.org' })
 * // { ok: false, code: 'PASSWORD_TOO_WEAK', detail: 'the password must have at least 10 characters' }
 */
export const checkPassword = (
  password: string,
  options: { username?: string; policy?: PasswordPolicy } = {},
): Result<true, 'PASSWORD_TOO_WEAK'> => checkPasswordAgainst(password, COMMON_PASSWORDS, options)
