import { describe, expect, it } from 'vitest'
import { COMMON_PASSWORDS } from '../../../../src/core/auth/common-passwords.ts'
import { DEFAULT_PASSWORD_POLICY, checkPassword } from '../../../../src/core/auth/password-policy.ts'

describe('COMMON_PASSWORDS', () => {
  it('holds a few hundred lower-case entries without spaces', () => {
    expect(COMMON_PASSWORDS.size).toBeGreaterThanOrEqual(300)
    for (const word of COMMON_PASSWORDS) {
      expect(word).toBe(word.toLowerCase())
      expect(word).not.toMatch(/\s/)
    }
  })
})

describe('checkPassword', () => {
  it('accepts a long uncommon password', () => {
    expect(checkPassword('correct horse battery staple')).toEqual({ ok: true, value: true })
  })
  it('refuses a password shorter than the minimum, counting code points', () => {
    expect(checkPassword('short1!')).toMatchObject({ ok: false, code: 'PASSWORD_TOO_WEAK' })
    // ten emoji are ten characters even though they are twenty UTF-16 units
    expect(checkPassword('🔑'.repeat(9))).toMatchObject({ ok: false, code: 'PASSWORD_TOO_WEAK' })
    expect(checkPassword('🔑'.repeat(10)).ok).toBe(true)
  })
  it('follows a configured policy', () => {
    const policy = { minLength: 4, maxLength: 8 }
    expect(checkPassword('zq9x', { policy }).ok).toBe(true)
    expect(checkPassword('zq9xzq9xz', { policy })).toMatchObject({ ok: false, code: 'PASSWORD_TOO_WEAK' })
  })
  it('refuses a password longer than the maximum', () => {
    const long = 'x7'.repeat(DEFAULT_PASSWORD_POLICY.maxLength)
    expect(checkPassword(long)).toMatchObject({ ok: false, code: 'PASSWORD_TOO_WEAK' })
  })
  it('refuses common passwords whatever their case', () => {
    for (const pw of ['password123', 'PASSWORD123', 'QwertyUiop', '1234567890']) {
      expect(checkPassword(pw)).toMatchObject({ ok: false, code: 'PASSWORD_TOO_WEAK', detail: 'the password is too common' })
    }
  })
  it('refuses the username, its Matrix localpart and the full user id', () => {
    const username = '@Alice.Liddell:example.org'
    for (const pw of ['alice.liddell', 'ALICE.LIDDELL', '@alice.liddell:example.org']) {
      expect(checkPassword(pw, { username })).toMatchObject({ ok: false, code: 'PASSWORD_TOO_WEAK' })
    }
    expect(checkPassword('montgomery-burns', { username: 'Montgomery-Burns' })).toMatchObject({ ok: false })
    expect(checkPassword('alice.liddell!', { username }).ok).toBe(true)
  })
  it('never echoes the password in the detail', () => {
    const r = checkPassword('iloveyou123')
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.detail).not.toContain('iloveyou123')
  })
})
