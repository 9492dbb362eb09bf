import { describe, expect, it } from 'vitest'
import { inspect } from 'node:util'
import {
  RECOVERY_CODE_ALPHABET,
  RECOVERY_CODE_LENGTH,
  consumeRecoveryCode,
  generateRecoveryCodes,
  hashRecoveryCode,
  normalizeRecoveryCode,
} from '../../../../src/core/auth/recovery-codes.ts'
import { hashSecret } from '../../../../src/core/crypto/secrets.ts'
import { seededRandom } from '../../../helpers/seeded-random.ts'

describe('generateRecoveryCodes', () => {
  const set = generateRecoveryCodes(seededRandom('recovery'))

  it('makes 10 distinct grouped codes', () => {
    expect(set.codes()).toHaveLength(10)
    expect(new Set(set.codes()).size).toBe(10)
    for (const code of set.codes()) expect(code).toMatch(/^[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}$/)
  })
  it('gives each code at least 50 bits (alphabet size × length)', () => {
    expect(new Set(RECOVERY_CODE_ALPHABET).size).toBe(32)
    expect(RECOVERY_CODE_ALPHABET).not.toMatch(/[ilou]/)
    expect(Math.log2(RECOVERY_CODE_ALPHABET.length) * RECOVERY_CODE_LENGTH).toBeGreaterThanOrEqual(50)
  })
  it('uses every symbol of the alphabet over many draws', () => {
    const random = seededRandom('spread')
    const seen = new Set<string>()
    for (let i = 0; i < 20; i++) for (const code of generateRecoveryCodes(random).codes()) for (const ch of code) seen.add(ch)
    seen.delete('-')
    expect(seen.size).toBe(32)
  })
  it('stores SHA-256 of the normalized code, in order', () => {
    expect(set.hashes).toEqual(set.codes().map((c) => hashSecret(c.replaceAll('-', ''))))
  })
  it('asks for a count', () => {
    expect(generateRecoveryCodes(seededRandom(3), 16).codes()).toHaveLength(16)
  })
  it('never shows the codes in JSON or inspect output', () => {
    const json = JSON.stringify({ set })
    const shown = inspect(set)
    expect(json).toBe('{"set":{"kind":"recovery-codes","count":10}}')
    for (const code of set.codes()) {
      expect(json).not.toContain(code)
      expect(shown).not.toContain(code)
    }
  })
})

describe('normalizeRecoveryCode', () => {
  it('ignores case, spaces and dashes', () => {
    expect(normalizeRecoveryCode(' ABCD efgh-JKMN ')).toBe('abcdefghjkmn')
    expect(normalizeRecoveryCode('abcd–efgh—jkmn')).toBe('abcdefghjkmn')
  })
  it('reads i and l as 1 and o as 0, as Crockford base32 does', () => {
    expect(normalizeRecoveryCode('IL0o-1111-0000')).toBe('110011110000')
  })
  it('refuses wrong lengths and foreign symbols', () => {
    for (const bad of ['', 'abcd-efgh-jkm', 'abcd-efgh-jkmnp', 'abcd-efgh-jkmu', 'abcd_efgh_jkmn', 'abcd-efgh-jkm!']) {
      expect(normalizeRecoveryCode(bad)).toBeNull()
    }
    expect(hashRecoveryCode('nope')).toBeNull()
  })
})

describe('consumeRecoveryCode', () => {
  const set = generateRecoveryCodes(seededRandom('consume'))
  const code = set.codes()[3] as string

  it('finds a code typed loosely and returns the hashes that remain', () => {
    const r = consumeRecoveryCode(set.hashes, ` ${code.toUpperCase().replaceAll('-', ' ')} `)
    expect(r.ok).toBe(true)
    if (r.ok) {
      expect(r.value.index).toBe(3)
      expect(r.value.remaining).toHaveLength(9)
      expect(r.value.remaining).not.toContain(set.hashes[3])
    }
  })
  it('accepts each code once: the same code fails against what remains', () => {
    const first = consumeRecoveryCode(set.hashes, code)
    expect(first.ok).toBe(true)
    const remaining = first.ok ? first.value.remaining : []
    expect(consumeRecoveryCode(remaining, code)).toMatchObject({ ok: false, code: 'RECOVERY_CODE_INVALID' })
  })
  it('spends all ten one by one and then nothing is left', () => {
    let hashes: readonly string[] = set.hashes
    for (const c of set.codes()) {
      const r = consumeRecoveryCode(hashes, c)
      expect(r.ok).toBe(true)
      hashes = r.ok ? r.value.remaining : hashes
    }
    expect(hashes).toEqual([])
  })
  it('refuses wrong and malformed codes', () => {
    for (const bad of ['zzzz-zzzz-zzzz', 'abc', '', set.hashes[0] as string]) {
      expect(consumeRecoveryCode(set.hashes, bad)).toMatchObject({ ok: false, code: 'RECOVERY_CODE_INVALID' })
    }
  })
  it('leaves the input list untouched (pure)', () => {
    const before = [...set.hashes]
    consumeRecoveryCode(set.hashes, code)
    expect(set.hashes).toEqual(before)
  })
})
