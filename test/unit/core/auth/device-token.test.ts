import { describe, expect, it } from 'vitest'
import { inspect } from 'node:util'
import { mintDeviceToken, parseDeviceToken, verifyDeviceToken } from '../../../../src/core/auth/device-token.ts'
import { hashSecret } from '../../../../src/core/crypto/secrets.ts'
import { seededRandom } from '../../../helpers/seeded-random.ts'

describe('mintDeviceToken', () => {
  it('makes id.secret with 16- and 32-byte base64url parts', () => {
    const token = mintDeviceToken(seededRandom('mint'))
    expect(token.bearer()).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/)
    expect(token.bearer().startsWith(`${token.id}.`)).toBe(true)
  })
  it('stores SHA-256 of the secret part only', () => {
    const token = mintDeviceToken(seededRandom('hash'))
    const secret = token.bearer().split('.')[1] as string
    expect(token.secretHash()).toBe(hashSecret(secret))
    expect(token.secretHash()).not.toContain(secret)
  })
  it('differs across draws', () => {
    const random = seededRandom('many')
    const bearers = new Set(Array.from({ length: 200 }, () => mintDeviceToken(random).bearer()))
    expect(bearers.size).toBe(200)
  })
  it('never shows the secret in JSON or inspect output', () => {
    const token = mintDeviceToken(seededRandom('print'))
    const secret = token.bearer().split('.')[1] as string
    expect(JSON.stringify({ token })).toBe(`{"token":{"kind":"device-token","id":"${token.id}"}}`)
    expect(inspect(token)).not.toContain(secret)
    expect(String(token)).not.toContain(secret)
  })
})

describe('parseDeviceToken / verifyDeviceToken', () => {
  const token = mintDeviceToken(seededRandom('verify'))
  const stored = token.secretHash()

  it('parses its own bearer value and verifies against the stored hash', () => {
    const parsed = parseDeviceToken(token.bearer())
    expect(parsed.ok).toBe(true)
    if (parsed.ok) {
      expect(parsed.value.id).toBe(token.id)
      expect(verifyDeviceToken(parsed.value, stored)).toEqual({ ok: true, value: true })
    }
  })
  it('refuses a token whose secret was tampered with (every position)', () => {
    const bearer = token.bearer()
    const dot = bearer.indexOf('.')
    for (let i = dot + 1; i < bearer.length - 1; i++) {
      const flipped = bearer[i] === 'A' ? 'B' : 'A'
      const tampered = bearer.slice(0, i) + flipped + bearer.slice(i + 1)
      const parsed = parseDeviceToken(tampered)
      expect(parsed.ok).toBe(true)
      if (parsed.ok) expect(verifyDeviceToken(parsed.value, stored)).toMatchObject({ ok: false, code: 'INVALID_TOKEN' })
    }
  })
  it("refuses a right secret presented with another id when checked against that id's record", () => {
    const other = mintDeviceToken(seededRandom('other'))
    const swapped = parseDeviceToken(`${other.id}.${token.bearer().split('.')[1]}`)
    expect(swapped.ok && verifyDeviceToken(swapped.value, other.secretHash()).ok).toBe(false)
  })
  it.each([
    ['empty', ''],
    ['no dot', 'A'.repeat(65)],
    ['two dots', `${'A'.repeat(22)}.${'A'.repeat(21)}.${'A'.repeat(21)}`],
    ['short id', `${'A'.repeat(21)}.${'A'.repeat(43)}`],
    ['long secret', `${'A'.repeat(22)}.${'A'.repeat(44)}`],
    ['padding', `${'A'.repeat(22)}.${'A'.repeat(43)}=`],
    ['standard base64 alphabet', `${'A'.repeat(21)}+.${'A'.repeat(43)}`],
    ['non-zero padding bits in the id', `${'A'.repeat(21)}B.${'A'.repeat(43)}`],
    ['non-zero padding bits in the secret', `${'A'.repeat(22)}.${'A'.repeat(42)}B`],
    ['whitespace', ` ${'A'.repeat(22)}.${'A'.repeat(43)}`],
    ['Bearer prefix', `Bearer ${'A'.repeat(22)}.${'A'.repeat(43)}`],
  ])('refuses a malformed token (%s)', (_name, text) => {
    expect(parseDeviceToken(text)).toMatchObject({ ok: false, code: 'INVALID_TOKEN' })
  })
})
