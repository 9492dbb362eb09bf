import { describe, expect, it } from 'vitest'
import { hex } from '@scure/base'
import { TAG_BYTES, counterNonce, openCounter, sealCounter } from '../../../../src/core/channel/aead.ts'
import { seededRandom } from '../../../helpers/seeded-random.ts'

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

describe('counterNonce', () => {
  it('writes the counter as 12 little-endian bytes', () => {
    expect(hex.encode(counterNonce(0))).toBe('000000000000000000000000')
    expect(hex.encode(counterNonce(1))).toBe('010000000000000000000000')
    expect(hex.encode(counterNonce(0x0102))).toBe('020100000000000000000000')
    expect(hex.encode(counterNonce(2 ** 40 + 5))).toBe('050000000001000000000000')
    expect(hex.encode(counterNonce(Number.MAX_SAFE_INTEGER))).toBe('ffffffffffff1f0000000000')
  })

  it('refuses negative, fractional and unsafe counters', () => {
    for (const bad of [-1, 0.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN]) expect(() => counterNonce(bad)).toThrow(RangeError)
  })
})

describe('sealCounter and openCounter', () => {
  const key = seededRandom('aead').bytes(32)

  it('round-trips and appends a 16-byte tag', () => {
    const sealed = sealCounter(key, 3, utf8('hello'))
    expect(sealed.length).toBe(5 + TAG_BYTES)
    expect(openCounter(key, 3, sealed)).toEqual(utf8('hello'))
  })

  it('returns null for another counter, another key, a flipped bit or a short input', () => {
    const sealed = sealCounter(key, 3, utf8('hello'))
    expect(openCounter(key, 4, sealed)).toBeNull()
    expect(openCounter(seededRandom('other').bytes(32), 3, sealed)).toBeNull()
    for (let bit = 0; bit < sealed.length * 8; bit++) {
      const flipped = sealed.slice()
      flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7))
      expect(openCounter(key, 3, flipped)).toBeNull()
    }
    expect(openCounter(key, 3, sealed.slice(0, TAG_BYTES - 1))).toBeNull()
  })
})
