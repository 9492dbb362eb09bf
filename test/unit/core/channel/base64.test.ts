import { describe, expect, it } from 'vitest'
import { decodeBase64, encodeBase64 } from '../../../../src/core/channel/base64.ts'

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values)

describe('encodeBase64', () => {
  it('writes standard base64 without padding when the length is not a multiple of three', () => {
    expect(encodeBase64(bytes(0x41))).toBe('QQ')
    expect(encodeBase64(bytes(0x41, 0x42))).toBe('QUI')
    expect(encodeBase64(bytes(0xfb, 0xff))).toBe('+/8')
    expect(encodeBase64(new Uint8Array(0))).toBe('')
  })
})

describe('decodeBase64', () => {
  it('reads the same bytes with or without canonical padding', () => {
    expect(decodeBase64('QQ')).toEqual(bytes(0x41))
    expect(decodeBase64('QQ==')).toEqual(bytes(0x41))
    expect(decodeBase64('QUI')).toEqual(bytes(0x41, 0x42))
    expect(decodeBase64('QUI=')).toEqual(bytes(0x41, 0x42))
  })

  it('refuses wrong padding, url-safe letters, non-zero trailing bits and stray characters', () => {
    for (const text of ['QQ=', 'QQ===', 'QUI==', 'QUJD=', '=', 'QR', '-_8', 'Q Q', 'QQ\n', 'Q', '====']) {
      expect(decodeBase64(text), text).toBeNull()
    }
  })

  it('inverts encodeBase64 for every length up to 64', () => {
    for (let n = 0; n <= 64; n++) {
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff)
      expect(decodeBase64(encodeBase64(data))).toEqual(data)
    }
  })
})
