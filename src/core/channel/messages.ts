/**
 * Wire forms of the MSC4108 (2024) channel messages, exactly as vodozemac writes them:
 * LoginInitiate is `b64(ciphertext) + "|" + b64(Sp)`, every later message (LoginOk first) is
 * `b64(ciphertext)`, all in unpadded standard base64. Reading accepts padding too, as vodozemac does.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4108
 */
import { fail, ok, type Result } from '../errors.ts'
import { decodeBase64, encodeBase64 } from './base64.ts'
import { X25519_KEY_BYTES } from './keys.ts'

/** Plaintext of the first message, S→G. */
export const LOGIN_INITIATE_TEXT = 'MATRIX_QR_CODE_LOGIN_INITIATE'

/** Plaintext of the second message, G→S. */
export const LOGIN_OK_TEXT = 'MATRIX_QR_CODE_LOGIN_OK'

const encoder = new TextEncoder()
// fatal: a message that is not UTF-8 is refused rather than patched with U+FFFD.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** UTF-8 bytes of a message text. */
export const utf8Encode = (text: string): Uint8Array => encoder.encode(text)

/** Strict UTF-8 decoding; null on a malformed sequence. */
export const utf8Decode = (bytes: Uint8Array): string | null => {
  try {
    return decoder.decode(bytes)
  } catch {
    // Safe: the fatal decoder throws only on malformed UTF-8, which this function reports as null.
    return null
  }
}

/** A LoginInitiateMessage taken apart: S's public key and the still-sealed ciphertext. */
export interface InitiateParts {
  ciphertext: Uint8Array
  publicKey: Uint8Array
}

/**
 * Writes a LoginInitiateMessage.
 *
 * @example
 * encodeInitiate(ciphertext, sp) // 'kzNh…JbY3|ST6C…Ux0'
 */
export const encodeInitiate = (ciphertext: Uint8Array, publicKey: Uint8Array): string =>
  `${encodeBase64(ciphertext)}|${encodeBase64(publicKey)}`

/**
 * Reads a LoginInitiateMessage: splits at the first `|`, then reads the key (43 or 44 base64
 * characters of 32 bytes, as vodozemac's `Curve25519PublicKey::from_base64`) and the ciphertext.
 * Errors: DECRYPTION_FAILED when the text is malformed (it cannot be opened).
 *
 * @example
 * const parts = parseInitiate('kzNh…JbY3|ST6C…Ux0')
 * if (parts.ok) parts.value.publicKey // S's 32-byte key
 */
export const parseInitiate = (text: string): Result<InitiateParts, 'DECRYPTION_FAILED'> => {
  const bar = text.indexOf('|')
  if (bar < 0) return fail('DECRYPTION_FAILED', 'the initiate message has no | separator')
  const keyText = text.slice(bar + 1)
  const publicKey = keyText.length === 43 || keyText.length === 44 ? decodeBase64(keyText) : null
  if (publicKey === null || publicKey.length !== X25519_KEY_BYTES) {
    return fail('DECRYPTION_FAILED', 'the initiate message does not end in a 32-byte base64 key')
  }
  const ciphertext = parseSealed(text.slice(0, bar))
  return ciphertext.ok ? ok({ ciphertext: ciphertext.value, publicKey }) : ciphertext
}

/**
 * Writes a sealed message (LoginOk and everything after it).
 *
 * @example
 * encodeSealed(ciphertext) // 'i0Dt0/j0…X4ae'
 */
export const encodeSealed = (ciphertext: Uint8Array): string => encodeBase64(ciphertext)

/**
 * Reads a sealed message into its ciphertext bytes.
 * Errors: DECRYPTION_FAILED when it is not base64 (it cannot be opened).
 *
 * @example
 * parseSealed('i0Dt0/j0…X4ae') // ok: 39 bytes
 */
export const parseSealed = (text: string): Result<Uint8Array, 'DECRYPTION_FAILED'> => {
  const bytes = decodeBase64(text)
  return bytes === null ? fail('DECRYPTION_FAILED', 'the message is not base64') : ok(bytes)
}
