import { describe, expect, it } from 'vitest'
import { equalConstantTime, hashSecret, newOpaqueId, redactWith, secretMatches } from '../../../src/core/crypto/secrets.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

describe('newOpaqueId', () => {
  it('makes 128-bit ids in the Matrix opaque-identifier grammar, short', () => {
    const id = newOpaqueId(seededRandom(1))
    expect(id).toMatch(/^[0-9A-Za-z\-._~]{22}$/)
  })
  it('differs across draws', () => {
    const random = seededRandom(2)
    const ids = new Set(Array.from({ length: 1000 }, () => newOpaqueId(random)))
    expect(ids.size).toBe(1000)
  })
})

describe('hashSecret / secretMatches', () => {
  it('stores SHA-256 (known answer for "abc")', () => {
    // SHA-256("abc") = ba7816bf…, base64url
    expect(hashSecret('abc')).toBe('ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0')
  })
  it('matches only the right secret', () => {
    const stored = hashSecret('s3cret')
    expect(secretMatches('s3cret', stored)).toBe(true)
    expect(secretMatches('s3creT', stored)).toBe(false)
  })
})

describe('equalConstantTime', () => {
  it('compares strings of equal and unequal lengths', () => {
    expect(equalConstantTime('abc', 'abc')).toBe(true)
    expect(equalConstantTime('abc', 'abd')).toBe(false)
    expect(equalConstantTime('abc', 'abcd')).toBe(false)
    expect(equalConstantTime('', '')).toBe(true)
  })
})

describe('redactWith', () => {
  it('gives a stable 16-hex-character keyed hash that never contains the value', () => {
    const redact = redactWith(new Uint8Array(32).fill(1))
    const other = redactWith(new Uint8Array(32).fill(2))
    expect(redact('channel-id-123')).toMatch(/^[0-9a-f]{16}$/)
    expect(redact('channel-id-123')).toBe(redact('channel-id-123'))
    expect(redact('channel-id-123')).not.toBe(other('channel-id-123'))
  })
})
