/**
 * ChaCha20-Poly1305 with the MSC4108 counter nonce: each direction has its own key and counts its
 * messages from 0; the nonce is the counter as 12 little-endian bytes (vodozemac takes the first 12 bytes
 * of a little-endian u128). No associated data. The 2024 MSC text started G's counter at 1; the
 * implementations, and the later text, start both at 0.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8439#section-2.8
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4108
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js'

/** Length of a ChaCha20-Poly1305 nonce. */
export const NONCE_BYTES = 12

/** Length of the Poly1305 tag appended to every ciphertext. */
export const TAG_BYTES = 16

/**
 * The 12-byte little-endian nonce for message number `counter` (0, 1, 2, …).
 *
 * @example
 * counterNonce(1) // Uint8Array [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
 */
export const counterNonce = (counter: number): Uint8Array => {
  if (!Number.isSafeInteger(counter) || counter < 0) throw new RangeError('nonce counter out of range')
  const nonce = new Uint8Array(NONCE_BYTES)
  let rest = counter
  for (let i = 0; i < 8 && rest > 0; i++) {
    nonce[i] = rest % 256
    rest = Math.floor(rest / 256)
  }
  return nonce
}

/**
 * Encrypts `plaintext` as message number `counter` under `key`: ciphertext ‖ 16-byte tag.
 * The caller guarantees that (key, counter) is never used twice.
 *
 * @example
 * const ct = sealCounter(encKeyS, 0, utf8('MATRIX_QR_CODE_LOGIN_INITIATE'))
 */
export const sealCounter = (key: Uint8Array, counter: number, plaintext: Uint8Array): Uint8Array =>
  chacha20poly1305(key, counterNonce(counter)).encrypt(plaintext)

/**
 * Opens message number `counter`; null when the tag does not verify (tampered, wrong key, wrong counter).
 *
 * @example
 * const pt = openCounter(encKeyS, 0, ct) // Uint8Array or null
 */
export const openCounter = (key: Uint8Array, counter: number, ciphertext: Uint8Array): Uint8Array | null => {
  if (ciphertext.length < TAG_BYTES) return null
  try {
    return chacha20poly1305(key, counterNonce(counter)).decrypt(ciphertext)
  } catch {
    // Safe: decrypt throws when the tag does not verify, which this function reports as null by contract.
    return null
  }
}
