import { describe, expect, it } from 'vitest'
import { checkCodeDigits, checkCodesMatch, parseEnteredCheckCode } from '../../../../src/core/channel/check-code.ts'

describe('checkCodeDigits', () => {
  it('takes each byte modulo 10, keeping a leading zero', () => {
    expect(checkCodeDigits(Uint8Array.of(0xe9, 0x8e))).toBe('32')
    expect(checkCodeDigits(Uint8Array.of(0x0a, 0x07))).toBe('07')
    expect(checkCodeDigits(Uint8Array.of(0, 0))).toBe('00')
    expect(checkCodeDigits(Uint8Array.of(255, 249))).toBe('59')
  })

  it('reaches all 100 codes', () => {
    const seen = new Set<string>()
    for (let a = 0; a < 256; a++) for (let b = 0; b < 256; b += 7) seen.add(checkCodeDigits(Uint8Array.of(a, b)))
    expect(seen.size).toBe(100)
  })
})

describe('parseEnteredCheckCode', () => {
  it('accepts two digits with surrounding white space', () => {
    expect(parseEnteredCheckCode(' 07\n')).toEqual({ ok: true, value: '07' })
  })

  it('refuses anything that is not two ASCII digits', () => {
    for (const bad of ['', '7', '123', '3 2', 'ab', '٣٢', '+1']) {
      expect(parseEnteredCheckCode(bad), bad).toMatchObject({ ok: false, code: 'INVALID_PARAM' })
    }
  })
})

describe('checkCodesMatch', () => {
  it('is true only for the same code', () => {
    expect(checkCodesMatch('32', '32')).toBe(true)
    expect(checkCodesMatch('32', '23')).toBe(false)
    expect(checkCodesMatch('07', '7')).toBe(false)
  })
})
