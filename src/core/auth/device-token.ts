/**
 * Device tokens: `<id>.<secret>` bearer values. The id (16 random bytes) finds the record; the secret
 * (32 random bytes) proves possession and is stored only as SHA-256, compared in constant time. A
 * database leak gives lookups, not sessions.
 *
 * @see https://thecopenhagenbook.com/server-side-tokens
 */
import type { Random } from '../../ports.ts'
import { fromBase64Url, hashSecret, newOpaqueId, secretMatches } from '../crypto/secrets.ts'
import { fail, ok, type Result } from '../errors.ts'

/** Random bytes in the id part. */
export const DEVICE_TOKEN_ID_BYTES = 16
/** Random bytes in the secret part. */
export const DEVICE_TOKEN_SECRET_BYTES = 32

// base64url without padding: 16 bytes → 22 characters, 32 bytes → 43 characters.
const TOKEN = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/

// The decoder refuses non-zero padding bits, so each token has exactly one spelling.
const isCanonical = (text: string): boolean => {
  try {
    fromBase64Url(text)
    return true
  } catch {
    // Safe: the decoder throws only on non-canonical base64url, which is exactly what this tests.
    return false
  }
}

/** A device token. Prints as `{ kind, id }` only: the secret stays out of logs and JSON. */
export class DeviceToken {
  /** Lookup key of the stored record (not a credential on its own). */
  readonly id: string
  readonly #secret: string

  constructor(id: string, secret: string) {
    this.id = id
    this.#secret = secret
  }

  /** The full bearer value `<id>.<secret>`, to hand to the device once. Never log it. */
  bearer(): string {
    return `${this.id}.${this.#secret}`
  }

  /** What the store keeps: SHA-256 of the secret, base64url. */
  secretHash(): string {
    return hashSecret(this.#secret)
  }

  /** True when the secret hashes to `storedHash`, compared in constant time. */
  matches(storedHash: string): boolean {
    return secretMatches(this.#secret, storedHash)
  }

  toJSON(): { kind: 'device-token'; id: string } {
    return { kind: 'device-token', id: this.id }
  }
}

/**
 * A new token from `random`.
 *
 * @example
 * const token = mintDeviceToken(random)
 * await devices.create({ id: token.id, secretHash: token.secretHash() }); respond(token.bearer())
 */
export const mintDeviceToken = (random: Random): DeviceToken =>
  new DeviceToken(newOpaqueId(random, DEVICE_TOKEN_ID_BYTES), newOpaqueId(random, DEVICE_TOKEN_SECRET_BYTES))

/**
 * Parses a presented bearer value strictly: exactly `<22 chars>.<43 chars>` of canonical base64url.
 * Errors: INVALID_TOKEN for anything else.
 *
 * @example
 * const parsed = parseDeviceToken(header.slice('Bearer '.length))
 */
export const parseDeviceToken = (text: string): Result<DeviceToken, 'INVALID_TOKEN'> => {
  const match = TOKEN.exec(text)
  if (match === null) return fail('INVALID_TOKEN', 'malformed token')
  const [, id, secret] = match as unknown as [string, string, string]
  if (!isCanonical(id) || !isCanonical(secret)) {
    return fail('INVALID_TOKEN', 'malformed token')
  }
  return ok(new DeviceToken(id, secret))
}

/**
 * Checks a parsed token against the secret hash stored under its id, in constant time.
 * Errors: INVALID_TOKEN when the secret does not match.
 *
 * @example
 * const row = await devices.get(token.id)
 * const checked = verifyDeviceToken(token, row?.secretHash ?? '')
 */
export const verifyDeviceToken = (token: DeviceToken, storedSecretHash: string): Result<true, 'INVALID_TOKEN'> =>
  token.matches(storedSecretHash) ? ok(true) : fail('INVALID_TOKEN', 'unknown or revoked token')
