/**
 * The MSC4108 (2024) check code: two decimal digits from the two CHECKCODE bytes, `b0 % 10` then
 * `b1 % 10`, so a leading zero is allowed ("07"). S (the scanner) shows it; G's user types it into G,
 * which closes the one MITM the protocol leaves open: someone else scanning G's QR code first.
 * (MSC4388 later uses `(b0 % 9) + 1`, giving 10–99; that is not this code.)
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4108
 */
import { equalConstantTime } from '../crypto/secrets.ts'
import { fail, ok, type Result } from '../errors.ts'

const TWO_DIGITS = /^[0-9]{2}$/

/**
 * The two-character check code of the 2024 protocol (js-sdk `getCheckCode()`, vodozemac
 * `to_digit(AllowLeadingZero)` padded to two places).
 *
 * @example
 * checkCodeDigits(new Uint8Array([0xe9, 0x8e])) // '32'
 * checkCodeDigits(new Uint8Array([0x0a, 0x07])) // '07'
 */
export const checkCodeDigits = (bytes: Uint8Array): string => {
  if (bytes.length < 2) throw new RangeError('check code needs two bytes')
  return `${(bytes[0] as number) % 10}${(bytes[1] as number) % 10}`
}

/**
 * Reads what a user typed: two ASCII digits once surrounding white space is trimmed.
 * Errors: INVALID_PARAM when it is not two digits (a typo to ask again about, not a wrong code).
 *
 * @example
 * parseEnteredCheckCode(' 07 ') // ok: '07'
 * parseEnteredCheckCode('7') // INVALID_PARAM
 */
export const parseEnteredCheckCode = (entered: string): Result<string, 'INVALID_PARAM'> => {
  const code = entered.trim()
  return TWO_DIGITS.test(code) ? ok(code) : fail('INVALID_PARAM', 'a check code is two digits')
}

/**
 * True when the typed code equals the derived one, compared in constant time.
 *
 * @example
 * checkCodesMatch('32', '32') // true
 */
export const checkCodesMatch = (expected: string, entered: string): boolean => equalConstantTime(expected, entered)
