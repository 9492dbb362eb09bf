/**
 * Recovery codes: the fallback second factor of MSC1997 (`m.login.2fa.recovery`), each usable once.
 *
 * A code is 12 characters of Crockford's base32 alphabet in lower case (digits and letters without
 * i, l, o, u), so 60 bits, shown as `abcd-efgh-jkmn`. Input is normalized the Crockford way: case,
 * spaces and dashes ignored, `i`/`l` read as `1` and `o` as `0`. Only SHA-256 hashes of the normalized
 * code are stored.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/issues/1997
 * @see https://www.crockford.com/base32.html
 */
import type { Random } from '../../ports.ts'
import { equalConstantTime, hashSecret } from '../crypto/secrets.ts'
import { fail, ok, type Result } from '../errors.ts'

/** The 32 symbols: 5 bits each. */
export const RECOVERY_CODE_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'
/** Symbols per code: 12 × 5 = 60 bits. */
export const RECOVERY_CODE_LENGTH = 12
/** Codes per set. */
export const RECOVERY_CODE_COUNT = 10

const GROUP = 4
const CONFUSABLE: Readonly<Record<string, string>> = { i: '1', l: '1', o: '0' }

/** A fresh set: the codes to show the user once, and the hashes to store. Prints as `{ kind, count }` only. */
export class RecoveryCodeSet {
  readonly #codes: readonly string[]
  /** SHA-256 (base64url) of each normalized code, in the same order. */
  readonly hashes: readonly string[]

  constructor(codes: readonly string[]) {
    this.#codes = Object.freeze([...codes])
    this.hashes = Object.freeze(codes.map((code) => hashSecret(normalizeRecoveryCode(code) ?? '')))
  }

  /** The codes as shown to the user (`abcd-efgh-jkmn`). Show once; never log or store them. */
  codes(): readonly string[] {
    return this.#codes
  }

  toJSON(): { kind: 'recovery-codes'; count: number } {
    return { kind: 'recovery-codes', count: this.#codes.length }
  }
}

const format = (normalized: string): string => normalized.match(new RegExp(`.{1,${GROUP}}`, 'g'))?.join('-') ?? ''

/**
 * Makes `count` (default 10) distinct random codes. Each symbol takes the low 5 bits of one random byte,
 * so every symbol is uniform (no modulo bias).
 *
 * @example
 * const set = generateRecoveryCodes(random)
 * show(set.codes()); save(set.hashes)
 */
export const generateRecoveryCodes = (random: Random, count = RECOVERY_CODE_COUNT): RecoveryCodeSet => {
  const codes = new Set<string>()
  // Duplicates have probability ~count²/2⁶¹; the bound only keeps the loop provably finite.
  for (let attempt = 0; codes.size < count && attempt < count * 4; attempt++) {
    const bytes = random.bytes(RECOVERY_CODE_LENGTH)
    let code = ''
    for (const b of bytes) code += RECOVERY_CODE_ALPHABET[b & 31]
    codes.add(format(code))
  }
  if (codes.size < count) throw new Error('the random source repeats itself')
  return new RecoveryCodeSet([...codes])
}

/**
 * The canonical form of a typed code (12 symbols, no dashes), or null if it cannot be one.
 *
 * @example
 * normalizeRecoveryCode(' ABCD efgh-JKMN ') // 'abcdefghjkmn'
 * normalizeRecoveryCode('0Il1-...')         // Crockford: O→0, I/L→1
 */
export const normalizeRecoveryCode = (input: string): string | null => {
  const compact = input.toLowerCase().replace(/[\s\-‐‑–—]/g, '')
  let out = ''
  for (const ch of compact) {
    const symbol = CONFUSABLE[ch] ?? ch
    if (!RECOVERY_CODE_ALPHABET.includes(symbol)) return null
    out += symbol
  }
  return out.length === RECOVERY_CODE_LENGTH ? out : null
}

/** The stored form of a code: SHA-256 of its normalized form, or null when the input is no code. */
export const hashRecoveryCode = (input: string): string | null => {
  const normalized = normalizeRecoveryCode(input)
  return normalized === null ? null : hashSecret(normalized)
}

/**
 * Finds the entered code among the stored hashes and returns its index and the hashes that remain
 * once it is spent. Every entry is compared, in constant time, whatever matches; the caller writes
 * `remaining` back atomically (compare-and-swap) so a code cannot be spent twice.
 * Errors: RECOVERY_CODE_INVALID when the input is no code or matches no stored hash.
 *
 * @example
 * const r = consumeRecoveryCode(account.recoveryHashes, 'abcd-efgh-jkmn')
 * if (r.ok) account.recoveryHashes = r.value.remaining
 */
export const consumeRecoveryCode = (
  storedHashes: readonly string[],
  entered: string,
): Result<{ index: number; remaining: string[] }, 'RECOVERY_CODE_INVALID'> => {
  const normalized = normalizeRecoveryCode(entered)
  // Hash and compare even malformed input, so the work done does not tell a typo from a wrong code.
  const hash = hashSecret(normalized ?? entered)
  let index = -1
  for (let i = 0; i < storedHashes.length; i++) {
    if (equalConstantTime(hash, storedHashes[i] as string) && index < 0) index = i
  }
  if (normalized === null || index < 0) return fail('RECOVERY_CODE_INVALID', 'wrong or used recovery code')
  return ok({ index, remaining: storedHashes.filter((_, i) => i !== index) })
}
