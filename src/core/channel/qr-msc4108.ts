/**
 * The MSC4108 2024 QR layout, the one every shipped client (Element Web, Element X) shows and scans:
 *
 * `MATRIX` ‖ 0x02 ‖ intent (0x03 login, 0x04 reciprocate) ‖ 32-byte X25519 key ‖ u16 len ‖ rendezvous URL
 * ‖ (reciprocate only) u16 len ‖ server name. Lengths are big-endian byte counts of UTF-8 text.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/blob/0b315f54/proposals/4108-oidc-qr-login.md
 */
import { fail, ok, type Result } from '../errors.ts'
import { ascii, byteReader, concatBytes, fieldBytes, isHttpUrl, readUtf8, startsWith, withU16Length } from './qr-bytes.ts'
import { encodeQrHead, endOfQr, readQrHead, type QrHeadLayout } from './qr-head.ts'

/** `MATRIX`: the prefix of every stable Matrix QR code. */
export const MATRIX_PREFIX = ascii('MATRIX')
/** The version byte of the 2024 login layout (device verification QR codes also use 0x02, with modes 0x00–0x02). */
export const MSC4108_VERSION = 0x02
const LAYOUT: QrHeadLayout = {
  versionName: 'version',
  version: MSC4108_VERSION,
  intents: { login: 0x03, reciprocate: 0x04 },
  // MATRIX 0x02 with modes 0x00–0x02 is a device verification code: say so rather than "unknown".
  unknownIntentHint: (intentByte) => (intentByte <= 0x02 ? ' (a device verification QR code?)' : ''),
}

interface Msc4108Common {
  kind: 'msc4108'
  /** The displaying device's ephemeral X25519 public key (32 bytes). */
  publicKey: Uint8Array
  /** Absolute http(s) URL of the rendezvous session. */
  rendezvousUrl: string
}

/** A 2024 QR shown by the new device (intent 0x03). */
export interface Msc4108LoginQr extends Msc4108Common {
  intent: 'login'
}

/** A 2024 QR shown by the existing device (intent 0x04): also names the homeserver. */
export interface Msc4108ReciprocateQr extends Msc4108Common {
  intent: 'reciprocate'
  /** Free text: js-sdk puts a server name here, rust-sdk a base URL. */
  serverName: string
}

/** A QR payload in the MSC4108 2024 layout. */
export type Msc4108Qr = Msc4108LoginQr | Msc4108ReciprocateQr

/**
 * Encodes a 2024 QR payload.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/blob/0b315f54/proposals/4108-oidc-qr-login.md#qr-code-format
 * Errors (INVALID_PARAM): key not 32 bytes, URL not http(s), a field empty or over 65535 bytes.
 * @example
 * const bytes = encodeMsc4108Qr({ kind: 'msc4108', intent: 'login', publicKey, rendezvousUrl })
 */
export const encodeMsc4108Qr = (qr: Msc4108Qr): Result<Uint8Array, 'INVALID_PARAM'> => {
  const prefixed = encodeQrHead(MATRIX_PREFIX, LAYOUT, qr)
  if (!prefixed.ok) return prefixed
  if (!isHttpUrl(qr.rendezvousUrl)) return fail('INVALID_PARAM', 'the rendezvous URL is not an absolute http(s) URL')
  const url = fieldBytes(qr.rendezvousUrl, 0xffff, 'rendezvous URL')
  if (!url.ok) return url
  const head = concatBytes(prefixed.value, withU16Length(url.value))
  if (qr.intent === 'login') return ok(head)
  const server = fieldBytes(qr.serverName, 0xffff, 'server name')
  return server.ok ? ok(concatBytes(head, withU16Length(server.value))) : server
}

/**
 * Decodes a 2024 QR payload; refuses anything else (other prefixes, versions, intents, trailing bytes).
 *
 * Errors (INVALID_PARAM, detail says which): wrong prefix, unknown version, unknown intent, truncated,
 * trailing bytes, non-UTF-8 text, URL not http(s), empty server name.
 * @example
 * const qr = decodeMsc4108Qr(bytes)
 * if (qr.ok && qr.value.intent === 'reciprocate') console.log(qr.value.serverName)
 */
export const decodeMsc4108Qr = (bytes: Uint8Array): Result<Msc4108Qr, 'INVALID_PARAM'> => {
  if (!startsWith(bytes, MATRIX_PREFIX)) return fail('INVALID_PARAM', 'wrong prefix: not a MATRIX QR code')
  const reader = byteReader(bytes, MATRIX_PREFIX.length)
  const head = readQrHead(reader, LAYOUT)
  if (!head.ok) return head
  const { intent, publicKey } = head.value
  const url = readUtf8(reader, 2, 'rendezvous URL')
  if (!url.ok) return url
  if (!isHttpUrl(url.value)) return fail('INVALID_PARAM', 'the rendezvous URL is not an absolute http(s) URL')
  let qr: Msc4108Qr = { kind: 'msc4108', intent: 'login', publicKey, rendezvousUrl: url.value }
  if (intent === 'reciprocate') {
    const server = readUtf8(reader, 2, 'server name')
    if (!server.ok) return server
    if (server.value === '') return fail('INVALID_PARAM', 'bad length: the server name is empty')
    qr = { kind: 'msc4108', intent, publicKey, rendezvousUrl: url.value, serverName: server.value }
  }
  return endOfQr(reader, qr)
}
