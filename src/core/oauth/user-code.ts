/**
 * RFC 8628 codes: the user code a person reads and types (short, unambiguous, ≥ 40 bits) and the
 * device code only the new device holds (256 bits, base64url). Both are bearer values: the grant keeps
 * only their SHA-256 (`hashSecret`), and neither is ever logged.
 *
 * The alphabet is upper-case consonants without the easily confused ones (no vowels, so no words and
 * no O/0 or I/1; no Y): 20 letters, 10 of them give 20^10 ≈ 2^43.2 codes, shown as `XXXXX-XXXXX`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-6.1 (user code recommendations)
 */
import type { Random } from '../../ports.ts'
import { hashSecret, newOpaqueId } from '../crypto/secrets.ts'

/** The letters a user code is drawn from. */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ'

/** Letters in a user code (without the dash). */
export const USER_CODE_LENGTH = 10

/** Bytes of randomness in a device code (256 bits). */
export const DEVICE_CODE_BYTES = 32

/**
 * Entropy of a code drawn uniformly from `alphabetSize` symbols, `length` times, in bits.
 *
 * @example
 * codeEntropyBits(USER_CODE_ALPHABET.length, USER_CODE_LENGTH) // ≈ 43.22
 */
export const codeEntropyBits = (alphabetSize: number, length: number): number => length * Math.log2(alphabetSize)

// Rejection sampling keeps the letters uniform: 240 is the largest multiple of 20 that fits in a byte.
const ACCEPT_BELOW = 256 - (256 % USER_CODE_ALPHABET.length)
// Each byte is accepted with probability 240/256; 64 rounds failing to fill 10 letters is impossible in practice.
const MAX_ROUNDS = 64

/**
 * A new user code in its canonical form (10 letters, no dash); show it with {@link formatUserCode}.
 * Throws only when `random` keeps returning rejected bytes (a broken source).
 *
 * @example
 * const code = generateUserCode(random) // 'KXPRTBMZQD'
 */
export const generateUserCode = (random: Random): string => {
  let code = ''
  for (let round = 0; round < MAX_ROUNDS && code.length < USER_CODE_LENGTH; round++) {
    for (const byte of random.bytes(USER_CODE_LENGTH - code.length + 2)) {
      if (byte >= ACCEPT_BELOW || code.length === USER_CODE_LENGTH) continue
      code += USER_CODE_ALPHABET[byte % USER_CODE_ALPHABET.length]
    }
  }
  if (code.length < USER_CODE_LENGTH) throw new Error('user code: the random source returned no usable bytes')
  return code
}

/**
 * The code as shown to people: two groups of five, `XXXXX-XXXXX`.
 *
 * @example
 * formatUserCode('KXPRTBMZQD') // 'KXPRT-BMZQD'
 */
export const formatUserCode = (canonical: string): string => `${canonical.slice(0, 5)}-${canonical.slice(5)}`

/**
 * Normalizes typed input: case folded, spaces and dashes (any Unicode dash) dropped. Null when what is
 * left is not 10 letters of the alphabet, so a mistyped code never reaches a lookup.
 *
 * @example
 * normalizeUserCode(' kxprt – bmzqd ') // 'KXPRTBMZQD'
 */
export const normalizeUserCode = (input: string): string | null => {
  const folded = input
    .normalize('NFKC')
    .toUpperCase()
    .replace(/[\s\p{Pd}_.]/gu, '')
  if (folded.length !== USER_CODE_LENGTH) return null
  for (const char of folded) if (!USER_CODE_ALPHABET.includes(char)) return null
  return folded
}

/** What the grant store keeps for a user code: SHA-256 of its canonical form. */
export const hashUserCode = (canonical: string): string => hashSecret(canonical)

/**
 * A new device code: 256 random bits, unpadded base64url (43 characters).
 *
 * @example
 * const deviceCode = generateDeviceCode(random)
 * const stored = hashSecret(deviceCode)
 */
export const generateDeviceCode = (random: Random): string => newOpaqueId(random, DEVICE_CODE_BYTES)
