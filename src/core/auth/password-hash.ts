/**
 * Password hashing with argon2id, stored as a PHC string
 * (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`, standard base64 without padding). The parameters
 * live in the string, so a change of configuration is detected at the next login ({@link needsRehash})
 * and old hashes keep verifying. `@noble/hashes` keeps this identical on Node and Workers.
 *
 * Passwords are NFKC-normalized before hashing (NIST SP 800-63B §5.1.1.2), so the same password typed
 * on two keyboards that compose characters differently still verifies.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9106
 * @see https://github.com/P-H-C/phc-string-format/blob/master/phc-sf-spec.md
 */
import { argon2id, argon2idAsync } from '@noble/hashes/argon2.js'
import { base64nopad } from '../encoding/radix.ts'
import type { Random } from '../../ports.ts'
import { equalBytesConstantTime } from '../crypto/secrets.ts'
import { fail, ok, type Result } from '../errors.ts'

/** Argon2id cost parameters: the knobs of password hashing. */
export interface Argon2Params {
  /** Memory in KiB (`m`). */
  memoryKiB: number
  /** Passes over memory (`t`). */
  iterations: number
  /** Lanes (`p`). */
  parallelism: number
  /** Salt length of new hashes, in bytes. */
  saltBytes: number
  /** Tag length of new hashes, in bytes. */
  hashBytes: number
}

/** OWASP's argon2id baseline (m=19 MiB, t=2, p=1): ≈ 200–300 ms on one core, on Node and Workers alike. */
export const DEFAULT_ARGON2_PARAMS: Readonly<Argon2Params> = Object.freeze({
  memoryKiB: 19_456,
  iterations: 2,
  parallelism: 1,
  saltBytes: 16,
  hashBytes: 32,
})

/** A decoded PHC string. */
export interface PasswordHash {
  memoryKiB: number
  iterations: number
  parallelism: number
  salt: Uint8Array
  hash: Uint8Array
}

const ARGON2_VERSION = 0x13
// Bounds on what a stored string may ask for, so a corrupted row cannot make a login allocate gigabytes.
const MAX_MEMORY_KIB = 1 << 20
const MAX_ITERATIONS = 64
const MAX_PARALLELISM = 64
const PHC = /^\$argon2id\$v=19\$m=([1-9][0-9]{0,7}),t=([1-9][0-9]{0,2}),p=([1-9][0-9]{0,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/

const normalize = (password: string): string => password.normalize('NFKC')

const decodeB64 = (text: string): Uint8Array | null => {
  try {
    return base64nopad.decode(text)
  } catch {
    // Safe: the decoder throws only on text that is not base64; the caller treats null as a malformed hash.
    return null
  }
}

/**
 * Decodes a PHC argon2id string strictly: version 19 only, parameters in the order m,t,p, canonical
 * unpadded base64, salt ≥ 8 bytes, tag ≥ 4 bytes, costs within sane bounds.
 * Errors: INVALID_PARAM when the string is not such a hash.
 *
 * @example
 * const parsed = parsePasswordHash(row.passwordHash)
 * if (parsed.ok) console.log(parsed.value.memoryKiB)
 */
export const parsePasswordHash = (phc: string): Result<PasswordHash, 'INVALID_PARAM'> => {
  const match = PHC.exec(phc)
  if (match === null) return fail('INVALID_PARAM', 'not an argon2id v19 PHC string')
  const [memoryKiB, iterations, parallelism] = [match[1], match[2], match[3]].map(Number) as [number, number, number]
  const salt = decodeB64(match[4] as string)
  const hash = decodeB64(match[5] as string)
  if (salt === null || hash === null) return fail('INVALID_PARAM', 'non-canonical base64 in the PHC string')
  if (salt.length < 8 || hash.length < 4) return fail('INVALID_PARAM', 'salt or hash too short')
  if (memoryKiB > MAX_MEMORY_KIB || iterations > MAX_ITERATIONS || parallelism > MAX_PARALLELISM) {
    return fail('INVALID_PARAM', 'argon2 cost out of bounds')
  }
  if (memoryKiB < 8 * parallelism) return fail('INVALID_PARAM', 'argon2 memory below 8 KiB per lane')
  return ok({ memoryKiB, iterations, parallelism, salt, hash })
}

/** Encodes a hash as its PHC string. */
export const formatPasswordHash = (h: PasswordHash): string =>
  `$argon2id$v=19$m=${h.memoryKiB},t=${h.iterations},p=${h.parallelism}` + `$${base64nopad.encode(h.salt)}$${base64nopad.encode(h.hash)}`

const optionsOf = (p: Pick<PasswordHash, 'memoryKiB' | 'iterations' | 'parallelism'>, dkLen: number) => ({
  m: p.memoryKiB,
  t: p.iterations,
  p: p.parallelism,
  dkLen,
  version: ARGON2_VERSION,
})

/**
 * Hashes a password with a fresh salt from `random`; returns the PHC string to store. Synchronous:
 * at the default parameters it blocks ≈ 200–300 ms, so servers prefer {@link hashPasswordAsync}.
 * Throws only on invalid `params` (a configuration bug).
 *
 * @example
 * const phc = hashPassword(random, 'correct horse battery staple')
 * // '$argon2id$v=19$m=19456,t=2,p=1$…$…'
 */
export const hashPassword = (random: Random, password: string, params: Argon2Params = DEFAULT_ARGON2_PARAMS): string => {
  const salt = random.bytes(params.saltBytes)
  const hash = argon2id(normalize(password), salt, optionsOf(params, params.hashBytes))
  return formatPasswordHash({ ...params, salt, hash })
}

/** {@link hashPassword} that yields to the event loop while it works (same output). */
export const hashPasswordAsync = async (
  random: Random,
  password: string,
  params: Argon2Params = DEFAULT_ARGON2_PARAMS,
): Promise<string> => {
  const salt = random.bytes(params.saltBytes)
  const hash = await argon2idAsync(normalize(password), salt, optionsOf(params, params.hashBytes))
  return formatPasswordHash({ ...params, salt, hash })
}

type VerifyResult = Result<true, 'INVALID_CREDENTIALS' | 'INTERNAL'>

const compare = (computed: Uint8Array, stored: PasswordHash): VerifyResult =>
  equalBytesConstantTime(computed, stored.hash) ? ok(true) : fail('INVALID_CREDENTIALS', 'wrong password')

/**
 * Checks a password against a stored PHC string, comparing the tags in constant time.
 * Errors: INVALID_CREDENTIALS for a wrong password; INTERNAL when the stored string is malformed.
 *
 * @example
 * const checked = verifyPassword(row.passwordHash, entered)
 * if (checked.ok && needsRehash(row.passwordHash, config.argon2)) save(hashPassword(random, entered))
 */
export const verifyPassword = (phc: string, password: string): VerifyResult => {
  const stored = parsePasswordHash(phc)
  if (!stored.ok) return fail('INTERNAL', 'stored password hash is malformed')
  const p = stored.value
  return compare(argon2id(normalize(password), p.salt, optionsOf(p, p.hash.length)), p)
}

/** {@link verifyPassword} that yields to the event loop while it works (same result). */
export const verifyPasswordAsync = async (phc: string, password: string): Promise<VerifyResult> => {
  const stored = parsePasswordHash(phc)
  if (!stored.ok) return fail('INTERNAL', 'stored password hash is malformed')
  const p = stored.value
  return compare(await argon2idAsync(normalize(password), p.salt, optionsOf(p, p.hash.length)), p)
}

/**
 * True when a stored hash should be replaced after a successful login: it is malformed, or any of its
 * costs, salt length or tag length differs from `params` (weaker or stronger: config is the truth).
 *
 * @example
 * needsRehash('$argon2id$v=19$m=65536,t=3,p=4$…$…', DEFAULT_ARGON2_PARAMS) // true
 */
export const needsRehash = (phc: string, params: Argon2Params): boolean => {
  const parsed = parsePasswordHash(phc)
  if (!parsed.ok) return true
  const p = parsed.value
  return (
    p.memoryKiB !== params.memoryKiB ||
    p.iterations !== params.iterations ||
    p.parallelism !== params.parallelism ||
    p.salt.length !== params.saltBytes ||
    p.hash.length !== params.hashBytes
  )
}
