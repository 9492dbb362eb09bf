/**
 * The successor of a refresh token, sealed under the token it replaces, so that a retry of the same
 * refresh (after a transient failure, or a concurrent duplicate) can be handed the same new token
 * instead of being judged a replay. The seal is the successor's secret XOR SHA-256 of a label and
 * the presented secret: only a holder of the presented token can open it, and the store that keeps
 * it (minutes at most) learns nothing usable. Each presented secret seals exactly one successor.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2 (refresh token rotation)
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { fromBase64Url, toBase64Url } from '../crypto/secrets.ts'
import { DEVICE_TOKEN_SECRET_BYTES } from './device-token.ts'

const LABEL = 'qrelay refresh successor v1\u0000'
const encoder = new TextEncoder()

const pad = (presentedSecret: string): Uint8Array => sha256(encoder.encode(`${LABEL}${presentedSecret}`))

const xor = (a: Uint8Array, b: Uint8Array): Uint8Array => a.map((byte, i) => byte ^ (b[i] as number))

/**
 * Seals `nextSecret` (the base64url secret part of the new token) under `presentedSecret`.
 *
 * @example
 * const seal = sealSuccessor(next, presented); openSuccessor(seal, presented) === next // true
 */
export const sealSuccessor = (nextSecret: string, presentedSecret: string): string =>
  toBase64Url(xor(fromBase64Url(nextSecret), pad(presentedSecret)))

/** The successor secret of a seal, or null when the seal is malformed. */
export const openSuccessor = (seal: string, presentedSecret: string): string | null => {
  let bytes: Uint8Array
  try {
    bytes = fromBase64Url(seal)
  } catch {
    // Safe: the decoder throws only on a seal that is not base64url, which is "malformed" (null) by contract.
    return null
  }
  return bytes.length === DEVICE_TOKEN_SECRET_BYTES ? toBase64Url(xor(bytes, pad(presentedSecret))) : null
}
