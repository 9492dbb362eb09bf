/** The pure parts of the pages: typed user codes with look-alikes, and the language choice. */
import { describe, expect, it } from 'vitest'
import { pickLang, translator } from '../../../src/http/pages/i18n/index.ts'
import { readTypedUserCode } from '../../../src/http/pages/user-code-input.ts'

describe('readTypedUserCode', () => {
  it('accepts case, spaces, dashes, look-alike digits and Cyrillic capitals', () => {
    expect(readTypedUserCode(' bcdfg – hjklm ')).toBe('BCDFGHJKLM')
    expect(readTypedUserCode('5ZBGC-2TMHK')).toBe('SZBGCZTMHK')
    expect(readTypedUserCode('8CDF6 HJKLM')).toBe('BCDFGHJKLM')
    expect(readTypedUserCode('СТМНК-РВХZZ')).toBe('CTMHKPBXZZ')
  })
  it('refuses what cannot be a code', () => {
    expect(readTypedUserCode('BCDFG-HJKL')).toBeNull()
    expect(readTypedUserCode('ABCDE-FGHIJ')).toBeNull()
    expect(readTypedUserCode('0CDFG-HJKLM')).toBeNull()
  })
})

describe('pickLang', () => {
  it('prefers ?lang=, then the best Accept-Language with a catalog, else English', () => {
    expect(pickLang('de', 'en')).toBe('de')
    expect(pickLang(undefined, 'fr-FR, de-DE;q=0.8, en;q=0.5')).toBe('de')
    expect(pickLang(undefined, 'de;q=0, en')).toBe('en')
    expect(pickLang('xx', 'fr')).toBe('en')
  })
  it('fills placeholders', () => {
    expect(translator('de')('signedInAs', { name: 'alice' })).toBe('Angemeldet als alice.')
  })
})

describe("the account feed's words for the operator's actions", () => {
  it("says the administrator set the password or turned two-step verification off, and the owner's own changes as before", async () => {
    const { eventText } = await import('../../../src/http/pages/account-kit.tsx')
    const t = translator('en')
    const none = new Map<string, string>()
    const at = { id: 1, atMs: 0 }
    expect(eventText(t, { ...at, type: 'password_changed', details: { by: 'operator', devices_signed_out: 2 } }, none)).toBe(
      'The administrator set a new password and signed every device out. Devices signed out: 2.',
    )
    expect(eventText(t, { ...at, type: 'password_changed', details: { devices_signed_out: 1 } }, none)).toBe(
      'The password was changed. Devices signed out: 1.',
    )
    expect(eventText(t, { ...at, type: 'totp_disabled', details: { by: 'operator', recovery_codes_removed: 3 } }, none)).toBe(
      'The administrator turned two-step verification off.',
    )
    expect(eventText(t, { ...at, type: 'totp_disabled' }, none)).toBe('Two-step verification was turned off.')
    expect(eventText(translator('de'), { ...at, type: 'totp_disabled', details: { by: 'operator' } }, none)).toContain('Administrator')
  })
})
