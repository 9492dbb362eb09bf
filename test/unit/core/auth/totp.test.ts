import { describe, expect, it } from 'vitest'
import { inspect } from 'node:util'
import vectors from '../../../vectors/rfc6238-totp.json'
import {
  DEFAULT_TOTP_PARAMS,
  TotpSecret,
  generateTotp,
  hotp,
  newTotpSecret,
  totpSecretFromBase32,
  totpStep,
  verifyTotp,
  type TotpAlgorithm,
} from '../../../../src/core/auth/totp.ts'
import { totpKeyUri } from '../../../../src/core/auth/totp-key-uri.ts'
import { seededRandom } from '../../../helpers/seeded-random.ts'

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)
const seed = (algorithm: TotpAlgorithm): Uint8Array => utf8(vectors.seeds_ascii[algorithm])
const PERIOD_MS = 30_000

describe('hotp (RFC 4226 Appendix D)', () => {
  it.each(vectors.hotp)('gives $code at counter $counter', ({ counter, code }) => {
    expect(hotp(seed('SHA1'), counter, 6, 'SHA1')).toBe(code)
  })
})

describe('generateTotp (RFC 6238 Appendix B)', () => {
  it.each(vectors.totp)('gives $code with $algorithm at T=$time_seconds', (v) => {
    const params = { algorithm: v.algorithm as TotpAlgorithm, digits: vectors.totp_digits, periodSeconds: 30 }
    const now = v.time_seconds * 1000
    expect(totpStep(now, 30)).toBe(Number.parseInt(v.step_hex, 16))
    expect(generateTotp(seed(params.algorithm), now, params)).toBe(v.code)
  })
  it('verifies every vector as the current step', () => {
    for (const v of vectors.totp) {
      const params = { algorithm: v.algorithm as TotpAlgorithm, digits: 8, periodSeconds: 30 }
      const checked = verifyTotp({ secret: seed(params.algorithm), code: v.code, now: v.time_seconds * 1000, lastUsedStep: null, params })
      expect(checked).toEqual({ ok: true, value: totpStep(v.time_seconds * 1000, 30) })
    }
  })
})

describe('verifyTotp', () => {
  const secret = newTotpSecret(seededRandom('totp'))
  const now = Date.UTC(2026, 0, 1, 12, 0, 10)
  const step = totpStep(now, 30)
  const codeAt = (offsetSteps: number): string => generateTotp(secret.bytes(), now + offsetSteps * PERIOD_MS)

  it('accepts the codes of the previous, current and next step and returns the matched step', () => {
    for (const offset of [-1, 0, 1]) {
      expect(verifyTotp({ secret, code: codeAt(offset), now, lastUsedStep: null })).toEqual({ ok: true, value: step + offset })
    }
  })
  it('refuses codes two steps away when the window is ±1', () => {
    for (const offset of [-2, 2]) {
      const r = verifyTotp({ secret, code: codeAt(offset), now, lastUsedStep: null })
      expect(r.ok).toBe(false)
      if (!r.ok) expect(r.code).toBe('TOTP_INVALID')
    }
  })
  it('accepts two steps away when the window is widened to 2', () => {
    expect(verifyTotp({ secret, code: codeAt(-2), now, lastUsedStep: null, windowSteps: 2 })).toEqual({ ok: true, value: step - 2 })
  })
  it('refuses the same code again once its step is stored (replay)', () => {
    const first = verifyTotp({ secret, code: codeAt(0), now, lastUsedStep: null })
    expect(first.ok).toBe(true)
    const lastUsedStep = first.ok ? first.value : null
    const again = verifyTotp({ secret, code: codeAt(0), now: now + 5_000, lastUsedStep })
    expect(again).toMatchObject({ ok: false, code: 'TOTP_REPLAYED' })
  })
  it('refuses an older code after a newer one was used', () => {
    const r = verifyTotp({ secret, code: codeAt(-1), now, lastUsedStep: step })
    expect(r).toMatchObject({ ok: false, code: 'TOTP_REPLAYED' })
  })
  it('still accepts the next step after the current one was used', () => {
    expect(verifyTotp({ secret, code: codeAt(1), now, lastUsedStep: step })).toEqual({ ok: true, value: step + 1 })
  })
  it('tells a wrong code from a replayed one', () => {
    const wrong = String((Number(codeAt(0)) + 1) % 1_000_000).padStart(6, '0')
    expect([-1, 0, 1].map(codeAt)).not.toContain(wrong)
    expect(verifyTotp({ secret, code: wrong, now, lastUsedStep: step })).toMatchObject({ ok: false, code: 'TOTP_INVALID' })
  })
  it('ignores spaces and refuses codes of the wrong shape', () => {
    const code = codeAt(0)
    expect(verifyTotp({ secret, code: `${code.slice(0, 3)} ${code.slice(3)}`, now, lastUsedStep: null }).ok).toBe(true)
    for (const bad of ['', '12345', '1234567', 'abcdef', `${code}0`]) {
      expect(verifyTotp({ secret, code: bad, now, lastUsedStep: null })).toMatchObject({ ok: false, code: 'TOTP_INVALID' })
    }
  })
  it('skips negative steps near the epoch', () => {
    const key = seed('SHA1')
    expect(verifyTotp({ secret: key, code: hotp(key, 0), now: 1_000, lastUsedStep: null })).toEqual({ ok: true, value: 0 })
  })
})

describe('TotpSecret', () => {
  it('draws 160 bits and round-trips through unpadded base32', () => {
    const secret = newTotpSecret(seededRandom(7))
    expect(secret.bytes()).toHaveLength(20)
    expect(secret.base32()).toMatch(/^[A-Z2-7]{32}$/)
    const back = totpSecretFromBase32(
      secret
        .base32()
        .toLowerCase()
        .replace(/(.{4})/g, '$1 '),
    )
    expect(back.ok && back.value.bytes()).toEqual(secret.bytes())
  })
  it('reads the RFC seed from its base32 form', () => {
    const r = totpSecretFromBase32('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ')
    expect(r.ok && r.value.bytes()).toEqual(seed('SHA1'))
  })
  it('refuses non-base32 and short secrets', () => {
    expect(totpSecretFromBase32('not base32 at all!')).toMatchObject({ ok: false, code: 'INVALID_PARAM' })
    expect(totpSecretFromBase32('GEZDGNBV')).toMatchObject({ ok: false, code: 'INVALID_PARAM' })
  })
  it('never shows the key in JSON or inspect output', () => {
    const secret = newTotpSecret(seededRandom(8))
    const b32 = secret.base32()
    expect(JSON.stringify({ secret })).toBe('{"secret":{"kind":"totp-secret","bits":160}}')
    expect(inspect(secret)).not.toContain(b32)
    expect(inspect(secret)).not.toMatch(/\d+, \d+/)
  })
})

describe('totpKeyUri', () => {
  const secret = new TotpSecret(seed('SHA1'))
  it('builds the otpauth URI with escaped label and issuer', () => {
    expect(totpKeyUri({ secret, issuer: 'Example Chat', account: '@alice:example.org' })).toBe(
      'otpauth://totp/Example%20Chat:%40alice%3Aexample.org' +
        '?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example%20Chat&algorithm=SHA1&digits=6&period=30',
    )
  })
  it('escapes reserved characters and carries non-default parameters', () => {
    const uri = totpKeyUri({
      secret,
      issuer: 'A&B/C?',
      account: 'bob+x@example.org',
      params: { ...DEFAULT_TOTP_PARAMS, algorithm: 'SHA256', digits: 8, periodSeconds: 60 },
    })
    const url = new URL(uri)
    expect(url.protocol).toBe('otpauth:')
    // An authenticator app's view: the label runs to the '?', split at its first literal colon.
    const label = uri.slice('otpauth://totp/'.length, uri.indexOf('?'))
    const colon = label.indexOf(':')
    expect(decodeURIComponent(label.slice(0, colon))).toBe('A&B/C?')
    expect(decodeURIComponent(label.slice(colon + 1))).toBe('bob+x@example.org')
    expect(url.searchParams.get('issuer')).toBe('A&B/C?')
    expect(url.searchParams.get('algorithm')).toBe('SHA256')
    expect(url.searchParams.get('digits')).toBe('8')
    expect(url.searchParams.get('period')).toBe('60')
    expect(uri).not.toContain('+x')
  })
  it('throws on an issuer holding a colon (configuration bug)', () => {
    expect(() => totpKeyUri({ secret, issuer: 'a:b', account: 'x' })).toThrow(TypeError)
    expect(() => totpKeyUri({ secret, issuer: '', account: 'x' })).toThrow(TypeError)
  })
})
