/**
 * What the two Matrix login QR layouts share: after the prefix, a version (MSC4108) or type (MSC4388)
 * byte, an intent byte and the displaying device's 32-byte X25519 public key; and, at the end of a
 * decode, no trailing bytes.
 *
 * @see ./qr-msc4108.ts, ./qr-msc4388.ts for the whole layouts
 */
import { fail, ok, type Result } from '../errors.ts'
import { concatBytes, hexByte, type ByteReader } from './qr-bytes.ts'

/** Who shows the QR: the new device (`login`) or the existing one (`reciprocate`). */
export type QrIntent = 'login' | 'reciprocate'

/** How one layout spells its head. */
export interface QrHeadLayout {
  /** What the layout calls the byte after the prefix, for error details. */
  versionName: 'version' | 'type'
  version: number
  intents: Readonly<Record<QrIntent, number>>
  /** Words added to the error of an unknown intent byte (e.g. what else the code may be). */
  unknownIntentHint?: (intentByte: number) => string
}

/** The head of a QR: the layout's version and intent bytes and the public key. */
export interface QrHead {
  intent: QrIntent
  publicKey: Uint8Array
}

/**
 * Encodes `prefix` and the head. Errors (INVALID_PARAM): the key is not 32 bytes.
 *
 * @example
 * const head = encodeQrHead(MATRIX_PREFIX, layout, { intent: 'login', publicKey })
 */
export const encodeQrHead = (prefix: Uint8Array, layout: QrHeadLayout, head: QrHead): Result<Uint8Array, 'INVALID_PARAM'> => {
  const { publicKey } = head
  if (publicKey.length !== 32) return fail('INVALID_PARAM', `bad length: the public key must be 32 bytes, got ${publicKey.length}`)
  return ok(concatBytes(prefix, Uint8Array.of(layout.version, layout.intents[head.intent]), publicKey))
}

/**
 * Reads the head that follows the prefix. Errors (INVALID_PARAM): truncated, unknown version or type,
 * unknown intent.
 *
 * @example
 * const head = readQrHead(byteReader(bytes, MATRIX_PREFIX.length), layout)
 */
export const readQrHead = (reader: ByteReader, layout: QrHeadLayout): Result<QrHead, 'INVALID_PARAM'> => {
  const version = reader.u8()
  if (version === null) return fail('INVALID_PARAM', `truncated: no ${layout.versionName} byte`)
  if (version !== layout.version) return fail('INVALID_PARAM', `unknown version ${hexByte(version)}`)
  const intentByte = reader.u8()
  if (intentByte === null) return fail('INVALID_PARAM', 'truncated: no intent byte')
  const { intents } = layout
  const intent = intentByte === intents.login ? 'login' : intentByte === intents.reciprocate ? 'reciprocate' : null
  if (intent === null) {
    return fail('INVALID_PARAM', `unknown intent ${hexByte(intentByte)}${layout.unknownIntentHint?.(intentByte) ?? ''}`)
  }
  const publicKey = reader.take(32)
  if (publicKey === null) return fail('INVALID_PARAM', 'truncated: the public key is shorter than 32 bytes')
  return ok({ intent, publicKey })
}

/** `value` once the whole payload is read. Errors (INVALID_PARAM): trailing bytes. */
export const endOfQr = <T>(reader: ByteReader, value: T): Result<T, 'INVALID_PARAM'> =>
  reader.remaining > 0 ? fail('INVALID_PARAM', `trailing bytes: ${reader.remaining} after the payload`) : ok(value)
