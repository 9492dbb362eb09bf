/**
 * Key derivation of the MSC4108 (2024) secure channel, as vodozemac does it: HKDF-SHA-512 with no
 * salt over the X25519 shared secret, one info string per output, each naming both public keys with
 * G's (the QR code's) first. The MSC text says HKDF-SHA-256, but every shipped client runs SHA-512,
 * and only SHA-512 interoperates.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4108
 * @see https://www.rfc-editor.org/rfc/rfc5869
 */
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha512 } from '@noble/hashes/sha2.js'
import { encodeBase64 } from './base64.ts'

/** The application prefix of every MSC4108 info string. */
export const MSC4108_INFO_PREFIX = 'MATRIX_QR_CODE_LOGIN'

/** Length of each encryption key. */
export const CHANNEL_KEY_BYTES = 32

/** Length of the check code's raw material. */
export const CHECK_CODE_BYTES = 2

const encoder = new TextEncoder()

/**
 * The HKDF info string `<label>|<b64 Gp>|<b64 Sp>` (unpadded standard base64, G's key first).
 *
 * @example
 * channelInfo('MATRIX_QR_CODE_LOGIN_CHECKCODE', gp, sp) // 'MATRIX_QR_CODE_LOGIN_CHECKCODE|B6N8…|ST6C…'
 */
export const channelInfo = (label: string, generatorKey: Uint8Array, scannerKey: Uint8Array): string =>
  `${label}|${encodeBase64(generatorKey)}|${encodeBase64(scannerKey)}`

/**
 * HKDF-SHA-512 with the salt absent (RFC 5869: a hash-length string of zeros) and a text info.
 *
 * @see https://www.rfc-editor.org/rfc/rfc5869#section-2.2
 * @example
 * const key = hkdfSha512(sharedSecret, 'MATRIX_QR_CODE_LOGIN_ENCKEY_S|…|…', 32)
 */
export const hkdfSha512 = (ikm: Uint8Array, info: string, length: number): Uint8Array =>
  hkdf(sha512, ikm, undefined, encoder.encode(info), length)

/** The secret outputs of the MSC4108 key derivation. Never printed: the channel keeps them private. */
export interface ChannelKeys {
  /** Encrypts S→G (the scanner's messages, starting with LoginInitiate). */
  encKeyS: Uint8Array
  /** Encrypts G→S (the QR owner's messages, starting with LoginOk). */
  encKeyG: Uint8Array
  /** Two bytes that become the check code. */
  checkBytes: Uint8Array
}

/**
 * Derives EncKey_S, EncKey_G and the check bytes from the X25519 shared secret and both public keys.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4108
 * @example
 * const { encKeyS, encKeyG, checkBytes } = deriveChannelKeys(shared, gp, sp)
 */
export const deriveChannelKeys = (sharedSecret: Uint8Array, generatorKey: Uint8Array, scannerKey: Uint8Array): ChannelKeys => {
  const derive = (label: string, length: number): Uint8Array =>
    hkdfSha512(sharedSecret, channelInfo(`${MSC4108_INFO_PREFIX}_${label}`, generatorKey, scannerKey), length)
  return {
    encKeyS: derive('ENCKEY_S', CHANNEL_KEY_BYTES),
    encKeyG: derive('ENCKEY_G', CHANNEL_KEY_BYTES),
    checkBytes: derive('CHECKCODE', CHECK_CODE_BYTES),
  }
}
