/**
 * Base64 as the MSC4108 (2024) secure channel writes it: the standard alphabet, written without
 * padding, read with or without it. That is vodozemac's `base64_encode`/`base64_decode` (`NO_PAD` with
 * `DecodePaddingMode::Indifferent`), so what we write is byte-for-byte what the Matrix clients write.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4108
 */
import { base64nopad } from '../encoding/radix.ts'

/**
 * Encodes bytes as unpadded standard base64 (`+`, `/`, no `=`).
 *
 * @example
 * encodeBase64(new Uint8Array([0x41])) // 'QQ'
 */
export const encodeBase64 = (bytes: Uint8Array): string => base64nopad.encode(bytes)

/**
 * Decodes standard base64 with canonical padding or none; null when malformed (bad letter, wrong
 * padding, non-zero trailing bits), so that one text never stands for two byte strings.
 *
 * @example
 * decodeBase64('QQ') // Uint8Array [0x41]
 * decodeBase64('QQ==') // Uint8Array [0x41]
 * decodeBase64('QR') // null
 */
export const decodeBase64 = (text: string): Uint8Array | null => {
  let body = text
  if (text.endsWith('=')) {
    // Padding, when present, must be the canonical one: it completes the text to a multiple of four.
    if (text.length % 4 !== 0) return null
    body = text.endsWith('==') ? text.slice(0, -2) : text.slice(0, -1)
  }
  try {
    return base64nopad.decode(body)
  } catch {
    // Safe: the decoder throws only on text that is not base64, which this function reports as null.
    return null
  }
}
