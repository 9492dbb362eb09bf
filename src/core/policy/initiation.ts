/**
 * Optional initiation modes (BCP "authenticate-then-initiate" and "request-initiation verification"):
 * - only signed-in devices may create channels;
 * - a short one-time code is shown to the approver (on its signed-in device, which the attacker does
 *   not hold) and must be typed on the new device before the grant can be approved. A phisher who
 *   relays a QR code to a victim never sees that code. Few attempts, then the code burns.
 *
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-cross-device-security/ (authenticate-then-initiate,
 *   request-initiation verification)
 */
import type { Random } from '../../ports.ts'
import { equalConstantTime, hashSecret, newOpaqueId } from '../crypto/secrets.ts'
import { fail, ok, type Result } from '../errors.ts'

/** The initiation policy. */
export interface InitiationConfig {
  /** Only authenticated devices may create channels. Default false. */
  requireAuthenticatedCreator: boolean
  /** The new device must type a code shown to the approver. Default false. */
  requireVerificationCode: boolean
  /** Digits of that code. Default 6. */
  codeDigits: number
  /** Wrong entries before the code burns. Default 5. */
  maxAttempts: number
  /** How long the code lives. Default 120 s (a channel's lifetime). */
  codeTtlMs: number
}

/** Defaults of {@link InitiationConfig}: both modes off. */
export const DEFAULT_INITIATION: Readonly<InitiationConfig> = {
  requireAuthenticatedCreator: false,
  requireVerificationCode: false,
  codeDigits: 6,
  maxAttempts: 5,
  codeTtlMs: 120_000,
}

/**
 * Authenticate-then-initiate. Errors: UNAUTHORIZED when the mode is on and the creator is anonymous.
 *
 * @example
 * const allowed = mayCreateChannel(config, { authenticated: session !== null })
 */
export const mayCreateChannel = (
  config: Pick<InitiationConfig, 'requireAuthenticatedCreator'>,
  creator: { authenticated: boolean },
): Result<true, 'UNAUTHORIZED'> =>
  !config.requireAuthenticatedCreator || creator.authenticated
    ? ok(true)
    : fail('UNAUTHORIZED', 'only signed-in devices may create channels here')

/** A verification code as stored: hashed with a per-code salt, attempts counted. */
export interface InitiationChallenge {
  salt: string
  codeHash: string
  expiresAtMs: number
  attemptsLeft: number
  state: 'open' | 'verified' | 'burned'
}

/** How an attempt went. */
export type AttemptVerdict = 'verified' | 'mismatch' | 'burned' | 'expired' | 'already_verified'

/** An attempt's verdict, the challenge to store, and the attempts left. */
export interface AttemptOutcome {
  verdict: AttemptVerdict
  next: InitiationChallenge
}

const digitsOf = (random: Random, count: number): string => {
  let code = ''
  // 250 is the largest multiple of 10 below 256: rejection keeps the digits uniform. Bounded rounds.
  for (let round = 0; round < 64 && code.length < count; round++) {
    for (const byte of random.bytes(count - code.length + 2)) if (byte < 250 && code.length < count) code += byte % 10
  }
  if (code.length < count) throw new Error('initiation code: the random source returned no usable bytes')
  return code
}

// The salt makes a leaked hash useless without the record; the short TTL and attempt cap do the rest.
const hashCode = (salt: string, code: string): string => hashSecret(`${salt}.${code}`)

/**
 * A new code and its stored challenge; show `code` to the approver only.
 *
 * @example
 * const { code, challenge } = createInitiationChallenge(random, now, config) // code '047261'
 */
export const createInitiationChallenge = (
  random: Random,
  now: number,
  config: Pick<InitiationConfig, 'codeDigits' | 'maxAttempts' | 'codeTtlMs'>,
): { code: string; challenge: InitiationChallenge } => {
  const code = digitsOf(random, config.codeDigits)
  const salt = newOpaqueId(random)
  const challenge: InitiationChallenge = {
    salt,
    codeHash: hashCode(salt, code),
    expiresAtMs: now + config.codeTtlMs,
    attemptsLeft: config.maxAttempts,
    state: 'open',
  }
  const issued = { code, challenge }
  // The code is a secret of the approver's screen: printing the pair shows the challenge only.
  const describe = () => ({ challenge: { expiresAtMs: challenge.expiresAtMs, attemptsLeft: challenge.attemptsLeft } })
  Object.defineProperty(issued, 'toJSON', { value: describe, enumerable: false })
  Object.defineProperty(issued, Symbol.for('nodejs.util.inspect.custom'), { value: describe, enumerable: false })
  return issued
}

/** Typed input as a code: full-width digits folded, spaces and dashes dropped. */
export const normalizeInitiationCode = (typed: string): string => typed.normalize('NFKC').replace(/[\s\p{Pd}]/gu, '')

/**
 * Checks a typed code, in constant time, spending one attempt when wrong; the last wrong attempt burns
 * the code, and a burned or expired code never verifies.
 *
 * @example
 * const { verdict, next } = attemptInitiationCode(challenge, typed, now)
 * await kv.replaceIfMatch(key, JSON.stringify(challenge), JSON.stringify(next))
 */
export const attemptInitiationCode = (challenge: InitiationChallenge, typed: string, now: number): AttemptOutcome => {
  if (challenge.state === 'verified') return { verdict: 'already_verified', next: challenge }
  if (challenge.state === 'burned') return { verdict: 'burned', next: challenge }
  if (now >= challenge.expiresAtMs) return { verdict: 'expired', next: { ...challenge, state: 'burned' } }
  if (equalConstantTime(hashCode(challenge.salt, normalizeInitiationCode(typed)), challenge.codeHash)) {
    return { verdict: 'verified', next: { ...challenge, state: 'verified' } }
  }
  const attemptsLeft = Math.max(0, challenge.attemptsLeft - 1)
  const state = attemptsLeft === 0 ? 'burned' : 'open'
  return { verdict: state === 'burned' ? 'burned' : 'mismatch', next: { ...challenge, attemptsLeft, state } }
}
