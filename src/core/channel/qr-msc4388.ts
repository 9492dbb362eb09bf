/**
 * The MSC4388 QR layout: prefix ‖ 0x03 ‖ intent (0x00 login, 0x01 reciprocate) ‖ 32-byte X25519 key
 * ‖ rendezvous ID with its length ‖ u16 len ‖ homeserver base URL.
 *
 * Two details differ between the proposal text and the code that ships (rust-sdk, crypto-wasm 18.9.0):
 * - prefix: the text's stable form is `MATRIX`; its unstable form, and the only one the code reads
 *   and writes, is `IO_ELEMENT_MSC4388` (`MATRIX` 0x03 is refused by crypto-wasm 18.9.0);
 * - rendezvous ID length: one byte in the text since 2026-06 (commit e43db14c), two bytes big-endian in
 *   the code.
 * We decode every combination and encode the shipped one unless told otherwise.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/blob/726e1154/proposals/4388-secure-qr-channel.md#qr-code-format
 */
import { fail, ok, type Result } from '../errors.ts'
import {
  OPAQUE_ID,
  ascii,
  byteReader,
  concatBytes,
  fieldBytes,
  isHttpUrl,
  readUtf8,
  startsWith,
  withU16Length,
  withU8Length,
} from './qr-bytes.ts'
import { encodeQrHead, endOfQr, readQrHead, type QrHeadLayout } from './qr-head.ts'
import { MATRIX_PREFIX } from './qr-msc4108.ts'

/** The unstable prefix the shipped code uses instead of `MATRIX`. */
export const MSC4388_UNSTABLE_PREFIX = ascii('IO_ELEMENT_MSC4388')
/** The QR type byte of MSC4388. */
export const MSC4388_TYPE = 0x03
const LAYOUT: QrHeadLayout = { versionName: 'type', version: MSC4388_TYPE, intents: { login: 0x00, reciprocate: 0x01 } }

/** Which prefix: `unstable` = `IO_ELEMENT_MSC4388` (shipped), `stable` = `MATRIX` (proposal text). */
export type Msc4388Prefix = 'unstable' | 'stable'
/** Width of the rendezvous ID length: `u16` (shipped code) or `u8` (proposal text). */
export type Msc4388IdLength = 'u16' | 'u8'

/** A QR payload in the MSC4388 layout. */
export interface Msc4388Qr {
  kind: 'msc4388'
  /** `login`: the new device shows the QR; `reciprocate`: the existing device does. */
  intent: 'login' | 'reciprocate'
  /** The displaying device's ephemeral X25519 public key (32 bytes). */
  publicKey: Uint8Array
  /** Rendezvous session ID, in the opaque-identifier grammar (1–255 of `[0-9A-Za-z._~-]`). */
  rendezvousId: string
  /** Homeserver base URL, absolute http(s). See {@link canonicalBaseUrl}. */
  baseUrl: string
  /** Default `unstable`. Decoding always sets it. */
  prefix?: Msc4388Prefix
  /** Default `u16`. Decoding always sets it. */
  idLength?: Msc4388IdLength
}

/**
 * The base URL as rust-sdk writes it: WHATWG-normalized, and without the trailing `/` when the path is
 * just `/`. Null when `text` is not an absolute http(s) URL.
 *
 * @example
 * canonicalBaseUrl('https://matrix-client.matrix.org/') // 'https://matrix-client.matrix.org'
 */
export const canonicalBaseUrl = (text: string): string | null => {
  if (!isHttpUrl(text)) return null
  const url = new URL(text)
  return url.pathname === '/' ? url.href.replace(/\/+$/, '') : url.href
}

/**
 * Encodes an MSC4388 QR payload, exactly as given (no URL normalization: see {@link canonicalBaseUrl}).
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/blob/726e1154/proposals/4388-secure-qr-channel.md#qr-code-format
 * Errors (INVALID_PARAM): key not 32 bytes, ID outside the opaque grammar, base URL not http(s) or too long.
 * @example
 * const bytes = encodeMsc4388Qr({ kind: 'msc4388', intent: 'login', publicKey, rendezvousId: id, baseUrl })
 */
export const encodeMsc4388Qr = (qr: Msc4388Qr): Result<Uint8Array, 'INVALID_PARAM'> => {
  const head = encodeQrHead(qr.prefix === 'stable' ? MATRIX_PREFIX : MSC4388_UNSTABLE_PREFIX, LAYOUT, qr)
  if (!head.ok) return head
  if (!OPAQUE_ID.test(qr.rendezvousId))
    return fail('INVALID_PARAM', 'the rendezvous ID is not an opaque identifier (1–255 of [0-9A-Za-z._~-])')
  if (!isHttpUrl(qr.baseUrl)) return fail('INVALID_PARAM', 'the base URL is not an absolute http(s) URL')
  const url = fieldBytes(qr.baseUrl, 0xffff, 'base URL')
  if (!url.ok) return url
  const id = ascii(qr.rendezvousId)
  return ok(concatBytes(head.value, qr.idLength === 'u8' ? withU8Length(id) : withU16Length(id), withU16Length(url.value)))
}

/**
 * Decodes an MSC4388 QR payload under either prefix and either ID-length width.
 *
 * The width is unambiguous because IDs are 1 to 255 bytes: after the key, a 0x00 byte can only be the
 * high byte of a u16 length (a u8 length of 0 would be an empty ID), and any other byte can only be a
 * u8 length (a u16 length with a non-zero high byte would be 256 bytes or more).
 *
 * Errors (INVALID_PARAM, detail says which): wrong prefix, unknown type, unknown intent, truncated,
 * trailing bytes, bad length, non-UTF-8 text, ID outside the opaque grammar, base URL not http(s).
 * @example
 * const qr = decodeMsc4388Qr(bytes) // { ok: true, value: { kind: 'msc4388', idLength: 'u16', … } }
 */
export const decodeMsc4388Qr = (bytes: Uint8Array): Result<Msc4388Qr, 'INVALID_PARAM'> => {
  const prefix: Msc4388Prefix | null = startsWith(bytes, MSC4388_UNSTABLE_PREFIX)
    ? 'unstable'
    : startsWith(bytes, MATRIX_PREFIX)
      ? 'stable'
      : null
  if (prefix === null) return fail('INVALID_PARAM', 'wrong prefix: neither IO_ELEMENT_MSC4388 nor MATRIX')
  const reader = byteReader(bytes, (prefix === 'stable' ? MATRIX_PREFIX : MSC4388_UNSTABLE_PREFIX).length)
  const head = readQrHead(reader, LAYOUT)
  if (!head.ok) return head
  const { intent, publicKey } = head.value
  const first = reader.peek()
  if (first === null) return fail('INVALID_PARAM', 'truncated: no length of the rendezvous ID')
  const idLength: Msc4388IdLength = first === 0x00 ? 'u16' : 'u8'
  const id = readUtf8(reader, idLength === 'u16' ? 2 : 1, 'rendezvous ID')
  if (!id.ok) return id
  if (id.value === '') return fail('INVALID_PARAM', 'bad length: the rendezvous ID is empty')
  if (!OPAQUE_ID.test(id.value)) return fail('INVALID_PARAM', 'the rendezvous ID is not an opaque identifier (1–255 of [0-9A-Za-z._~-])')
  const baseUrl = readUtf8(reader, 2, 'base URL')
  if (!baseUrl.ok) return baseUrl
  if (!isHttpUrl(baseUrl.value)) return fail('INVALID_PARAM', 'the base URL is not an absolute http(s) URL')
  return endOfQr(reader, { kind: 'msc4388', intent, publicKey, rendezvousId: id.value, baseUrl: baseUrl.value, prefix, idLength })
}
