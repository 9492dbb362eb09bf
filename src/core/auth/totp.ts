/**
 * HOTP (RFC 4226) and TOTP (RFC 6238): code generation, and verification with a ±window of steps and a
 * replay guard. The second factor of MSC1997 (`m.login.2fa.totp`). Secrets are 160 bits (RFC 4226 §4
 * recommends it) and travel as unpadded RFC 4648 base32, as authenticator apps expect.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6238
 * @see https://www.rfc-editor.org/rfc/rfc4226
 * @see https://github.com/matrix-org/matrix-spec-proposals/issues/1997
 */
import { hmac } from '@noble/hashes/hmac.js'
import { sha1 } from '@noble/hashes/legacy.js'
import { sha256, sha512 } from '@noble/hashes/sha2.js'
import { base32nopad } from '../encoding/radix.ts'
import type { Random } from '../../ports.ts'
import { equalConstantTime } from '../crypto/secrets.ts'
import { fail, ok, type Result } from '../errors.ts'

/** HMAC hash of the code (RFC 6238 §1.2 allows SHA-1, SHA-256, SHA-512). */
export type TotpAlgorithm = 'SHA1' | 'SHA256' | 'SHA512'

/** What both ends must agree on; goes into the key URI. */
export interface TotpParams {
  algorithm: TotpAlgorithm
  /** Code length, 6 to 10. */
  digits: number
  /** Length of a time step. */
  periodSeconds: number
}

/** What every authenticator app supports: SHA-1, 6 digits, 30 s. */
export const DEFAULT_TOTP_PARAMS: Readonly<TotpParams> = Object.freeze({ algorithm: 'SHA1', digits: 6, periodSeconds: 30 })

/** Bytes of a new secret: 160 bits. */
export const TOTP_SECRET_BYTES = 20

const HASHES = { SHA1: sha1, SHA256: sha256, SHA512: sha512 } as const

/** A TOTP shared secret. Prints as `{ kind, bits }` only: the key stays out of logs and JSON. */
export class TotpSecret {
  readonly #key: Uint8Array

  constructor(key: Uint8Array) {
    this.#key = Uint8Array.from(key)
  }

  /** A copy of the raw key. */
  bytes(): Uint8Array {
    return Uint8Array.from(this.#key)
  }

  /** The key as unpadded upper-case base32: the `secret=` of the key URI and what users may type. */
  base32(): string {
    return base32nopad.encode(this.#key)
  }

  toJSON(): { kind: 'totp-secret'; bits: number } {
    return { kind: 'totp-secret', bits: this.#key.length * 8 }
  }
}

/**
 * A new 160-bit secret from `random`.
 *
 * @example
 * const secret = newTotpSecret(random)
 * secret.base32() // 32 characters of A–Z2–7
 */
export const newTotpSecret = (random: Random): TotpSecret => new TotpSecret(random.bytes(TOTP_SECRET_BYTES))

/**
 * Reads a base32 secret, tolerating lower case, spaces and `=` padding (as users copy it).
 * Errors: INVALID_PARAM when it is not base32 or shorter than 128 bits.
 *
 * @example
 * totpSecretFromBase32('GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ') // ok: '12345678901234567890'
 */
export const totpSecretFromBase32 = (text: string): Result<TotpSecret, 'INVALID_PARAM'> => {
  const cleaned = text.replace(/[\s=]/g, '').toUpperCase()
  let key: Uint8Array
  try {
    key = base32nopad.decode(cleaned)
  } catch {
    // Safe: the decoder throws only on text that is not base32: bad input, answered as a Result.
    return fail('INVALID_PARAM', 'the TOTP secret is not base32')
  }
  if (key.length < 16) return fail('INVALID_PARAM', 'the TOTP secret is shorter than 128 bits')
  return ok(new TotpSecret(key))
}

const counterBytes = (counter: number): Uint8Array => {
  if (!Number.isSafeInteger(counter) || counter < 0) throw new RangeError('HOTP counter must be a safe integer ≥ 0')
  const out = new Uint8Array(8)
  const view = new DataView(out.buffer)
  view.setUint32(0, Math.floor(counter / 2 ** 32))
  view.setUint32(4, counter >>> 0)
  return out
}

/**
 * The HOTP value for `counter` (RFC 4226 §5.3, dynamic truncation), zero-padded to `digits`.
 *
 * @example
 * hotp(utf8('12345678901234567890'), 0) // '755224' (RFC 4226 Appendix D)
 */
export const hotp = (key: Uint8Array, counter: number, digits = 6, algorithm: TotpAlgorithm = 'SHA1'): string => {
  const mac = hmac(HASHES[algorithm], key, counterBytes(counter))
  const offset = (mac[mac.length - 1] as number) & 0x0f
  const binary =
    (((mac[offset] as number) & 0x7f) << 24) |
    ((mac[offset + 1] as number) << 16) |
    ((mac[offset + 2] as number) << 8) |
    (mac[offset + 3] as number)
  return String(binary % 10 ** digits).padStart(digits, '0')
}

/** The RFC 6238 time step of `now` (ms): floor(seconds since the epoch / period). */
export const totpStep = (now: number, periodSeconds: number): number => Math.floor(now / 1000 / periodSeconds)

/**
 * The TOTP code at `now` (ms).
 *
 * @example
 * generateTotp(secret.bytes(), clock.now()) // '287082'
 */
export const generateTotp = (key: Uint8Array, now: number, params: TotpParams = DEFAULT_TOTP_PARAMS): string =>
  hotp(key, totpStep(now, params.periodSeconds), params.digits, params.algorithm)

/** Input of {@link verifyTotp}. */
export interface TotpCheck {
  secret: TotpSecret | Uint8Array
  /** What the user typed; spaces are ignored. */
  code: string
  now: number
  /** The step of the last accepted code for this secret, or null if none: steps ≤ it are replays. */
  lastUsedStep: number | null
  params?: TotpParams
  /** Steps accepted either side of the current one (clock drift); default 1. */
  windowSteps?: number
}

/**
 * Verifies a TOTP code within ±`windowSteps` of the current step, comparing every candidate in
 * constant time. Returns the matched step, which the caller stores as the new `lastUsedStep`
 * (atomically with accepting the login), so the same code cannot be used twice.
 * Errors: TOTP_INVALID when no step in the window matches; TOTP_REPLAYED when it matches only steps
 * that were already used.
 *
 * @example
 * const r = verifyTotp({ secret, code: '287082', now, lastUsedStep: account.totpLastStep })
 * if (r.ok) account.totpLastStep = r.value
 */
export const verifyTotp = (check: TotpCheck): Result<number, 'TOTP_INVALID' | 'TOTP_REPLAYED'> => {
  const params = check.params ?? DEFAULT_TOTP_PARAMS
  const window = check.windowSteps ?? 1
  const key = check.secret instanceof TotpSecret ? check.secret.bytes() : check.secret
  const code = check.code.replace(/\s/g, '')
  if (!new RegExp(`^[0-9]{${params.digits}}$`).test(code)) {
    return fail('TOTP_INVALID', `the code must be ${params.digits} digits`)
  }
  const current = totpStep(check.now, params.periodSeconds)
  const last = check.lastUsedStep ?? -1
  let fresh = -1
  let replayed = false
  // No early exit: every step in the window is computed and compared whatever matches.
  for (let step = current + window; step >= current - window; step--) {
    if (step < 0) continue
    const matches = equalConstantTime(hotp(key, step, params.digits, params.algorithm), code)
    if (matches && step > last) fresh = step
    if (matches && step <= last) replayed = true
  }
  if (fresh >= 0) return ok(fresh)
  if (replayed) return fail('TOTP_REPLAYED', 'this code was already used')
  return fail('TOTP_INVALID', 'wrong code')
}
