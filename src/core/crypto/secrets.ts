/**
 * Bearer secrets: generation from an injected {@link Random}, hashing for storage, and constant-time
 * comparison. Stored values are always `sha256(secret)`, never the secret.
 *
 * @see https://thecopenhagenbook.com/server-side-tokens
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { hmac } from '@noble/hashes/hmac.js'
import { base64urlnopad } from '../encoding/radix.ts'
import type { Random } from '../../ports.ts'

const encoder = new TextEncoder()

/** Encodes bytes as unpadded base64url (`[A-Za-z0-9_-]`, inside the Matrix opaque-identifier grammar). */
export const toBase64Url = (bytes: Uint8Array): string => base64urlnopad.encode(bytes)

/** Decodes unpadded base64url; throws on malformed input. */
export const fromBase64Url = (text: string): Uint8Array => base64urlnopad.decode(text)

/**
 * A new random identifier or secret of `bytes` bytes (default 16 = 128 bits), base64url.
 *
 * @example
 * const id = newOpaqueId(random) // 22 characters
 */
export const newOpaqueId = (random: Random, bytes = 16): string => toBase64Url(random.bytes(bytes))

/** SHA-256 of a secret, base64url: what the stores keep instead of the secret. */
export const hashSecret = (secret: string): string => toBase64Url(sha256(encoder.encode(secret)))

/** Compares two strings in time that depends only on their lengths. */
export const equalConstantTime = (a: string, b: string): boolean => {
  const x = encoder.encode(a)
  const y = encoder.encode(b)
  let diff = x.length ^ y.length
  const n = Math.max(x.length, y.length)
  for (let i = 0; i < n; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0)
  return diff === 0
}

/** True when `secret` hashes to `storedHash`, compared in constant time. */
export const secretMatches = (secret: string, storedHash: string): boolean => equalConstantTime(hashSecret(secret), storedHash)

/**
 * A keyed, truncated hash for logs: the same bearer value always logs the same 16 hex characters,
 * and nobody without the key can link the log line back to the value.
 */
export const redactWith =
  (key: Uint8Array) =>
  (value: string): string => {
    const mac = hmac(sha256, key, encoder.encode(value))
    let hex = ''
    for (let i = 0; i < 8; i++) hex += (mac[i] as number).toString(16).padStart(2, '0')
    return hex
  }

/**
 * Compares two byte arrays in time that depends only on their lengths (password hashes, MACs).
 *
 * @example
 * equalBytesConstantTime(computedTag, storedTag) // true or false, no early exit
 */
export const equalBytesConstantTime = (a: Uint8Array, b: Uint8Array): boolean => {
  let diff = a.length ^ b.length
  const n = Math.max(a.length, b.length)
  for (let i = 0; i < n; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0)
  return diff === 0
}
