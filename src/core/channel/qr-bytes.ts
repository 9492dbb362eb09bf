/**
 * Byte-level helpers shared by the QR payload codecs: a reader that fails softly at the end of its
 * input, length-prefixed UTF-8 fields, and the field checks (http(s) URL, opaque identifier).
 * Everything here is pure and runs the same on Node, Workers and browsers.
 */
import { fail, ok, type Result } from '../errors.ts'

const encoder = new TextEncoder()
// fatal: malformed UTF-8 is refused, not replaced; ignoreBOM: a leading U+FEFF stays, so decode ∘ encode = id.
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** The opaque-identifier grammar of the Matrix spec (appendices, "Opaque Identifiers"): 1 to 255 bytes. */
export const OPAQUE_ID = /^[0-9A-Za-z._~-]{1,255}$/

/** ASCII bytes of a constant such as a QR prefix. */
export const ascii = (text: string): Uint8Array => encoder.encode(text)

/** UTF-8 bytes of `text`, or null when `text` holds a lone surrogate (it would not survive a round trip). */
export const utf8Bytes = (text: string): Uint8Array | null => {
  const bytes = encoder.encode(text)
  return strictDecoder.decode(bytes) === text ? bytes : null
}

/** Strict UTF-8 decoding; null on any malformed sequence. */
export const utf8Text = (bytes: Uint8Array): string | null => {
  try {
    return strictDecoder.decode(bytes)
  } catch {
    // Safe: the fatal decoder throws only on malformed UTF-8, which this function reports as null.
    return null
  }
}

/** True when `bytes` begins with `prefix`. */
export const startsWith = (bytes: Uint8Array, prefix: Uint8Array): boolean =>
  bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b)

/** Concatenates byte strings. */
export const concatBytes = (...parts: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

/** One length byte then the bytes; the caller has checked `bytes.length <= 255`. */
export const withU8Length = (bytes: Uint8Array): Uint8Array => concatBytes(Uint8Array.of(bytes.length), bytes)

/** Two length bytes (big-endian) then the bytes; the caller has checked `bytes.length <= 65535`. */
export const withU16Length = (bytes: Uint8Array): Uint8Array => concatBytes(Uint8Array.of(bytes.length >> 8, bytes.length & 0xff), bytes)

/**
 * True for an absolute http(s) URL with a host and no whitespace or control characters (which the
 * WHATWG parser would silently strip, so the text shown would not be the URL used).
 */
export const isHttpUrl = (text: string): boolean => {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what this check rejects
  if (text.length === 0 || /[\u0000-\u0020\u007f]/.test(text)) return false
  try {
    const url = new URL(text)
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.host !== ''
  } catch {
    // Safe: the URL parser throws only on text that is not a URL, which is simply not an http(s) URL.
    return false
  }
}

/** A cursor over a byte string whose reads return null past the end instead of throwing. */
export interface ByteReader {
  /** Bytes not read yet. */
  readonly remaining: number
  /** The next byte without consuming it. */
  peek(): number | null
  u8(): number | null
  /** Big-endian 16-bit unsigned. */
  u16(): number | null
  take(length: number): Uint8Array | null
}

/** A {@link ByteReader} over `bytes`, starting at `offset`. */
export const byteReader = (bytes: Uint8Array, offset = 0): ByteReader => {
  let at = offset
  return {
    get remaining() {
      return bytes.length - at
    },
    peek: () => (at < bytes.length ? (bytes[at] as number) : null),
    u8() {
      if (at + 1 > bytes.length) return null
      return bytes[at++] as number
    },
    u16() {
      if (at + 2 > bytes.length) return null
      const value = ((bytes[at] as number) << 8) | (bytes[at + 1] as number)
      at += 2
      return value
    },
    take(length) {
      if (at + length > bytes.length) return null
      const out = bytes.slice(at, at + length)
      at += length
      return out
    },
  }
}

/** Two-digit hex of a byte, for error details (`0x04`). */
export const hexByte = (value: number): string => `0x${value.toString(16).padStart(2, '0')}`

/**
 * Reads a length-prefixed UTF-8 string (`width` = 1 or 2 length bytes, big-endian).
 * Errors (INVALID_PARAM): `truncated: …`, `… is not valid UTF-8`.
 */
export const readUtf8 = (reader: ByteReader, width: 1 | 2, what: string): Result<string, 'INVALID_PARAM'> => {
  const length = width === 1 ? reader.u8() : reader.u16()
  if (length === null) return fail('INVALID_PARAM', `truncated: no length of the ${what}`)
  const bytes = reader.take(length)
  if (bytes === null) return fail('INVALID_PARAM', `truncated: the ${what} is shorter than its length ${length}`)
  const text = utf8Text(bytes)
  return text === null ? fail('INVALID_PARAM', `the ${what} is not valid UTF-8`) : ok(text)
}

/**
 * UTF-8 bytes of a field for encoding, at most `maxBytes` long and not empty.
 * Errors (INVALID_PARAM): `bad length: …`, `… is not valid Unicode`.
 */
export const fieldBytes = (text: string, maxBytes: number, what: string): Result<Uint8Array, 'INVALID_PARAM'> => {
  const bytes = utf8Bytes(text)
  if (bytes === null) return fail('INVALID_PARAM', `the ${what} is not valid Unicode`)
  if (bytes.length === 0 || bytes.length > maxBytes) {
    return fail('INVALID_PARAM', `bad length: the ${what} must be 1 to ${maxBytes} bytes, got ${bytes.length}`)
  }
  return ok(bytes)
}
