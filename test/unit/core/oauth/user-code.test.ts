import { describe, expect, it } from 'vitest'
import {
  DEVICE_CODE_BYTES,
  USER_CODE_ALPHABET,
  USER_CODE_LENGTH,
  codeEntropyBits,
  formatUserCode,
  generateDeviceCode,
  generateUserCode,
  hashUserCode,
  normalizeUserCode,
} from '../../../../src/core/oauth/user-code.ts'
import { fromBase64Url } from '../../../../src/core/crypto/secrets.ts'
import { seededRandom } from '../../../helpers/seeded-random.ts'
import type { Random } from '../../../../src/ports.ts'

describe('user code alphabet', () => {
  it('gives at least 40 bits of entropy', () => {
    expect(codeEntropyBits(USER_CODE_ALPHABET.length, USER_CODE_LENGTH)).toBeGreaterThanOrEqual(40)
    expect(codeEntropyBits(20, 10)).toBeCloseTo(43.22, 2)
  })

  it('holds only distinct upper-case consonants: no digits, no vowels (no O/0, I/1 mix-ups, no words)', () => {
    expect(new Set(USER_CODE_ALPHABET).size).toBe(USER_CODE_ALPHABET.length)
    expect(USER_CODE_ALPHABET).toMatch(/^[B-DF-HJ-NP-TV-XZ]+$/)
  })
})

describe('generateUserCode', () => {
  it('draws 10 letters of the alphabet', () => {
    const code = generateUserCode(seededRandom(1))
    expect(code).toHaveLength(USER_CODE_LENGTH)
    for (const char of code) expect(USER_CODE_ALPHABET).toContain(char)
  })

  it('is distinct over many draws from one seeded source', () => {
    const random = seededRandom('user-codes')
    const codes = new Set<string>()
    for (let i = 0; i < 5000; i++) codes.add(generateUserCode(random))
    expect(codes.size).toBe(5000)
  })

  it('uses every letter of the alphabet over many draws', () => {
    const random = seededRandom(7)
    const seen = new Set<string>()
    for (let i = 0; i < 200; i++) for (const char of generateUserCode(random)) seen.add(char)
    expect(seen.size).toBe(USER_CODE_ALPHABET.length)
  })

  it('rejects biased bytes and throws when the source never yields a usable one', () => {
    const onlyHigh: Random = { bytes: (n) => new Uint8Array(n).fill(250) }
    expect(() => generateUserCode(onlyHigh)).toThrow(/random source/)
  })
})

describe('formatUserCode / normalizeUserCode', () => {
  it('shows the code as XXXXX-XXXXX', () => {
    expect(formatUserCode('KXPRTBMZQD')).toBe('KXPRT-BMZQD')
  })

  it('round-trips every generated code through its displayed form', () => {
    const random = seededRandom(3)
    for (let i = 0; i < 200; i++) {
      const code = generateUserCode(random)
      expect(normalizeUserCode(formatUserCode(code))).toBe(code)
      expect(normalizeUserCode(formatUserCode(code).toLowerCase())).toBe(code)
    }
  })

  it('folds case, spaces, Unicode dashes and full-width letters when typed', () => {
    expect(normalizeUserCode(' kxprt – bmzqd ')).toBe('KXPRTBMZQD')
    expect(normalizeUserCode('KX PR TB MZ QD')).toBe('KXPRTBMZQD')
    expect(normalizeUserCode('ｋｘｐｒｔ-ｂｍｚｑｄ')).toBe('KXPRTBMZQD')
  })

  it('returns null when the input is not a code', () => {
    expect(normalizeUserCode('KXPRT-BMZQ')).toBeNull()
    expect(normalizeUserCode('KXPRT-BMZQDD')).toBeNull()
    expect(normalizeUserCode('AXPRT-BMZQD')).toBeNull()
    expect(normalizeUserCode('KXPR1-BMZQD')).toBeNull()
    expect(normalizeUserCode('')).toBeNull()
  })

  it('hashes the canonical form, so every typed spelling finds the same grant', () => {
    expect(hashUserCode(normalizeUserCode('kxprt bmzqd')!)).toBe(hashUserCode('KXPRTBMZQD'))
    expect(hashUserCode('KXPRTBMZQD')).not.toContain('KXPRT')
  })
})

describe('generateDeviceCode', () => {
  it('carries 256 bits as unpadded base64url', () => {
    const code = generateDeviceCode(seededRandom(1))
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(fromBase64Url(code)).toHaveLength(DEVICE_CODE_BYTES)
    expect(DEVICE_CODE_BYTES * 8).toBeGreaterThanOrEqual(256)
  })

  it('differs on every draw', () => {
    const random = seededRandom(2)
    expect(new Set(Array.from({ length: 100 }, () => generateDeviceCode(random))).size).toBe(100)
  })
})
