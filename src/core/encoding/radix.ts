/**
 * The RFC 4648 encodings qrelay reads and writes: base64 (padded and unpadded), base64url (unpadded)
 * and base32 (unpadded). Decoding is strict, so one text never stands for two byte strings: a letter
 * outside the alphabet, a length no encoding produces, non-zero trailing bits or wrong padding throw.
 *
 * @see https://www.rfc-editor.org/rfc/rfc4648
 */

/** An encoding: bytes to text and back (`decode` throws on text it would not have written). */
export interface Radix {
  encode(bytes: Uint8Array): string
  decode(text: string): Uint8Array
}

const CHUNK = 4096

/** The text of `codes` (UTF-16 code units) as one flat string for short inputs, a few chunks for long ones. */
const textOf = (codes: number[]): string => {
  if (codes.length <= CHUNK) return String.fromCharCode.apply(null, codes)
  const parts: string[] = []
  for (let at = 0; at < codes.length; at += CHUNK) parts.push(String.fromCharCode.apply(null, codes.slice(at, at + CHUNK)))
  return parts.join('')
}

const radix = (alphabet: string, bits: number, padded: boolean): Radix => {
  const values = new Int8Array(128).fill(-1)
  for (let i = 0; i < alphabet.length; i++) values[alphabet.charCodeAt(i)] = i
  const mask = (1 << bits) - 1
  const letters = Array.from(alphabet, (letter) => letter.charCodeAt(0))
  // Letter codes, turned into text a chunk at a time: a string grown one letter at a time is a chain
  // of one rope node per letter (32 bytes each) until something flattens it, and ids, tokens and
  // secret hashes are kept for the life of a channel or a socket.
  const encode = (bytes: Uint8Array): string => {
    const codes: number[] = []
    let carry = 0
    let held = 0
    for (const byte of bytes) {
      carry = ((carry << 8) | byte) & 0xffff
      held += 8
      while (held >= bits) {
        held -= bits
        codes.push(letters[(carry >> held) & mask] as number)
      }
    }
    if (held > 0) codes.push(letters[(carry << (bits - held)) & mask] as number)
    if (padded) while ((codes.length * bits) % 8 !== 0) codes.push(61)
    return textOf(codes)
  }
  const decode = (text: string): Uint8Array => {
    let end = text.length
    if (padded) {
      if ((text.length * bits) % 8 !== 0) throw new Error('radix: the padded text has no whole number of bytes')
      while (end > 0 && text[end - 1] === '=') {
        end--
        if ((end * bits) % 8 === 0) throw new Error('radix: too much padding')
      }
    }
    const out = new Uint8Array(Math.floor((end * bits) / 8))
    let carry = 0
    let held = 0
    let at = 0
    for (let i = 0; i < end; i++) {
      const code = text.charCodeAt(i)
      const value = code < 128 ? (values[code] as number) : -1
      if (value < 0) throw new Error('radix: a letter outside the alphabet')
      carry = ((carry << bits) | value) & 0xffff
      held += bits
      if (held >= 8) {
        held -= 8
        out[at++] = (carry >> held) & 0xff
      }
    }
    if (held >= bits) throw new Error('radix: a length no encoding produces')
    if ((carry & ((1 << held) - 1)) !== 0) throw new Error('radix: non-zero trailing bits')
    return out
  }
  return { encode, decode }
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** Standard base64 with `=` padding (RFC 4648 §4). */
export const base64: Radix = radix(BASE64, 6, true)
/** Standard base64 without padding. */
export const base64nopad: Radix = radix(BASE64, 6, false)
/** URL-safe base64 without padding (RFC 4648 §5; JOSE's base64url). */
export const base64urlnopad: Radix = radix(BASE64URL, 6, false)
/** Base32 without padding (RFC 4648 §6; TOTP keys). */
export const base32nopad: Radix = radix('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 5, false)
