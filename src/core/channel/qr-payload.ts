/**
 * What goes into a login QR code: the two Matrix layouts behind one encode/decode pair. The QR is
 * binary (byte mode), so payloads are bytes, never text.
 *
 * | layout | prefix | version/type | intents |
 * |---|---|---|---|
 * | MSC4108 2024 | `MATRIX` | 0x02 | 0x03 login, 0x04 reciprocate |
 * | MSC4388 | `IO_ELEMENT_MSC4388` (shipped) or `MATRIX` (stable text) | 0x03 | 0x00 login, 0x01 reciprocate |
 *
 * @see ./qr-msc4108.ts, ./qr-msc4388.ts for the field layouts
 */
import { fail, type Result } from '../errors.ts'
import { MATRIX_PREFIX, decodeMsc4108Qr, encodeMsc4108Qr, type Msc4108Qr } from './qr-msc4108.ts'
import { MSC4388_TYPE, MSC4388_UNSTABLE_PREFIX, decodeMsc4388Qr, encodeMsc4388Qr, type Msc4388Qr } from './qr-msc4388.ts'
import { startsWith } from './qr-bytes.ts'

export type { Msc4108Qr, Msc4108LoginQr, Msc4108ReciprocateQr } from './qr-msc4108.ts'
export type { Msc4388Qr, Msc4388Prefix, Msc4388IdLength } from './qr-msc4388.ts'
export { canonicalBaseUrl } from './qr-msc4388.ts'

/** A login QR payload in either layout; `kind` says which. */
export type QrPayload = Msc4108Qr | Msc4388Qr

/**
 * Encodes a login QR payload to the bytes to put in a byte-mode QR segment.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4108, https://github.com/matrix-org/matrix-spec-proposals/pull/4388
 * Errors (INVALID_PARAM): a field the layout cannot carry (key length, URL, ID grammar, lengths).
 * @example
 * const bytes = encodeQrPayload({ kind: 'msc4388', intent: 'login', publicKey, rendezvousId, baseUrl })
 * if (bytes.ok) svg = renderQrSvg(bytes.value)
 */
export const encodeQrPayload = (payload: QrPayload): Result<Uint8Array, 'INVALID_PARAM'> => {
  switch (payload.kind) {
    case 'msc4108':
      return encodeMsc4108Qr(payload)
    case 'msc4388':
      return encodeMsc4388Qr(payload)
    default: {
      const never: never = payload
      return fail('INVALID_PARAM', `unknown QR layout ${String((never as { kind: unknown }).kind)}`)
    }
  }
}

/**
 * Decodes the bytes of a scanned login QR code, whichever layout it uses.
 * `MATRIX` 0x02 is the 2024 layout, `MATRIX` 0x03 and `IO_ELEMENT_MSC4388` 0x03 are MSC4388.
 *
 * Errors (INVALID_PARAM, detail names the problem): wrong prefix, unknown version/type, unknown intent,
 * truncated, trailing bytes, bad length, non-UTF-8 text, URL not http(s), ID outside the opaque grammar.
 * @example
 * const qr = decodeQrPayload(scannedBytes)
 * if (qr.ok && qr.value.kind === 'msc4388') join(qr.value.baseUrl, qr.value.rendezvousId)
 */
export const decodeQrPayload = (bytes: Uint8Array): Result<QrPayload, 'INVALID_PARAM'> => {
  if (startsWith(bytes, MSC4388_UNSTABLE_PREFIX)) return decodeMsc4388Qr(bytes)
  if (startsWith(bytes, MATRIX_PREFIX)) {
    return bytes[MATRIX_PREFIX.length] === MSC4388_TYPE ? decodeMsc4388Qr(bytes) : decodeMsc4108Qr(bytes)
  }
  const partial = [MATRIX_PREFIX, MSC4388_UNSTABLE_PREFIX].some((prefix) => bytes.length < prefix.length && startsWith(prefix, bytes))
  return fail('INVALID_PARAM', partial ? 'truncated: the prefix is incomplete' : 'wrong prefix: not a Matrix login QR code')
}
