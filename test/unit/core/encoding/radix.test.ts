/**
 * The RFC 4648 codecs: the RFC's own test vectors first, then, on seeded random input, the same
 * texts and the same refusals as @scure/base (the library they replace in the server), for bytes and
 * for arbitrary text over each alphabet (with padding and stray letters mixed in).
 */
import * as scure from '@scure/base'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { base32nopad, base64, base64nopad, base64urlnopad, type Radix } from '../../../../src/core/encoding/radix.ts'

const bytesOf = (text: string): Uint8Array => new TextEncoder().encode(text)

describe('RFC 4648 §10 test vectors', () => {
  const cases: Array<[string, string, string]> = [
    ['', '', ''],
    ['f', 'Zg==', 'MY'],
    ['fo', 'Zm8=', 'MZXQ'],
    ['foo', 'Zm9v', 'MZXW6'],
    ['foob', 'Zm9vYg==', 'MZXW6YQ'],
    ['fooba', 'Zm9vYmE=', 'MZXW6YTB'],
    ['foobar', 'Zm9vYmFy', 'MZXW6YTBOI'],
  ]
  it.each(cases)('%j', (plain, b64, b32) => {
    expect(base64.encode(bytesOf(plain))).toBe(b64)
    expect(base64.decode(b64)).toEqual(bytesOf(plain))
    expect(base64nopad.encode(bytesOf(plain))).toBe(b64.replace(/=+$/, ''))
    expect(base32nopad.encode(bytesOf(plain))).toBe(b32)
    expect(base32nopad.decode(b32)).toEqual(bytesOf(plain))
  })

  it('base64url uses - and _', () => {
    expect(base64urlnopad.encode(new Uint8Array([0xfb, 0xff]))).toBe('-_8')
    expect(base64nopad.encode(new Uint8Array([0xfb, 0xff]))).toBe('+/8')
  })

  it('refuses non-zero trailing bits, impossible lengths, stray letters and wrong padding', () => {
    expect(() => base64nopad.decode('QR')).toThrow()
    expect(() => base64nopad.decode('QUJDR')).toThrow()
    expect(() => base64urlnopad.decode('ab+c')).toThrow()
    expect(() => base64.decode('QQ=')).toThrow()
    expect(() => base64.decode('QQ===')).toThrow()
    expect(() => base64.decode('QUJD====')).toThrow()
    expect(() => base32nopad.decode('MZX')).toThrow()
    expect(() => base32nopad.decode('mzxw6')).toThrow()
  })
})

const outcome = (coder: { decode(text: string): Uint8Array }, text: string): Uint8Array | 'refused' => {
  try {
    return coder.decode(text)
  } catch {
    return 'refused'
  }
}

const pairs: Array<[string, Radix, scure.BytesCoder, string]> = [
  ['base64', base64, scure.base64, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/='],
  ['base64nopad', base64nopad, scure.base64nopad, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-'],
  ['base64urlnopad', base64urlnopad, scure.base64urlnopad, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+'],
  ['base32nopad', base32nopad, scure.base32nopad, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567=a1'],
]

describe.each(pairs)('%s against @scure/base', (_name, ours, theirs, letters) => {
  it('writes the same text for any bytes, and reads it back', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), (bytes) => {
        const text = ours.encode(bytes)
        expect(text).toBe(theirs.encode(bytes))
        expect(ours.decode(text)).toEqual(bytes)
      }),
      { seed: 4648, numRuns: 2000 },
    )
  })

  it('reads any text as it does, refusals included', () => {
    const text = fc.array(fc.constantFrom(...letters), { maxLength: 24 }).map((chars) => chars.join(''))
    fc.assert(
      fc.property(text, (candidate) => {
        expect(outcome(ours, candidate)).toEqual(outcome(theirs, candidate))
      }),
      { seed: 4648, numRuns: 5000 },
    )
  })
})
