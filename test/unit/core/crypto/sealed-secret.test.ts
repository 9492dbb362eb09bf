import { describe, expect, it } from 'vitest'
import {
  formatSealingKeyring,
  isSealed,
  newSealingKeyring,
  openSecret,
  parseSealingKeyring,
  sealSecret,
  type SealingKeyring,
} from '../../../../src/core/crypto/sealed-secret.ts'
import { seededRandom } from '../../../helpers/seeded-random.ts'

const HEX_A = 'a1'.repeat(32)
const HEX_B = 'b2'.repeat(32)
const ring = (text: string): SealingKeyring => {
  const parsed = parseSealingKeyring(text)
  if (!parsed.ok) throw new Error(parsed.detail)
  return parsed.value
}
const ALICE = { accountId: 'acct-alice', purpose: 'totp' }
const SEED = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'

describe('sealed secrets', () => {
  it('seals to v1.<kid>.<base64url> and opens back, current key not stale', () => {
    const r = ring(`k1:${HEX_A}`)
    const sealed = sealSecret(r, SEED, ALICE, seededRandom(1))
    expect(sealed).toMatch(/^v1\.k1\.[A-Za-z0-9_-]+$/)
    expect(sealed).not.toContain(SEED)
    expect(isSealed(sealed)).toBe(true)
    expect(openSecret(r, sealed, ALICE)).toEqual({ ok: true, value: { plaintext: SEED, stale: false } })
    // A fresh nonce each time.
    expect(sealSecret(r, SEED, ALICE, seededRandom(2))).not.toBe(sealed)
  })

  it('refuses another account, another purpose, a relabelled key id, a tampered body, an unknown key', () => {
    const r = ring(`k1:${HEX_A},k2:${HEX_A}`)
    const sealed = sealSecret(r, SEED, ALICE, seededRandom(1))
    expect(openSecret(r, sealed, { ...ALICE, accountId: 'acct-bob' }).ok).toBe(false)
    expect(openSecret(r, sealed, { ...ALICE, purpose: 'webhook' }).ok).toBe(false)
    expect(openSecret(r, sealed.replace('v1.k1.', 'v1.k2.'), ALICE).ok).toBe(false)
    const body = sealed.slice('v1.k1.'.length)
    const flipped = `v1.k1.${body.slice(0, 10)}${body[10] === 'A' ? 'B' : 'A'}${body.slice(11)}`
    expect(openSecret(r, flipped, ALICE).ok).toBe(false)
    expect(openSecret(ring(`k9:${HEX_A}`), sealed, ALICE)).toMatchObject({ ok: false, detail: 'sealed under unknown key "k1"' })
    expect(openSecret(r, 'v1.k1', ALICE).ok).toBe(false)
    expect(openSecret(r, 'v1.k1.!!!', ALICE).ok).toBe(false)
    expect(openSecret(r, 'v1.k1.AAAA', ALICE).ok).toBe(false)
  })

  it('opens values of an older key as stale, and a legacy plain value only when the caller accepts it', () => {
    const old = ring(`k1:${HEX_A}`)
    const rotated = ring(`k2:${HEX_B},k1:${HEX_A}`)
    const sealed = sealSecret(old, SEED, ALICE, seededRandom(1))
    expect(openSecret(rotated, sealed, ALICE)).toEqual({ ok: true, value: { plaintext: SEED, stale: true } })
    expect(sealSecret(rotated, SEED, ALICE, seededRandom(1))).toMatch(/^v1\.k2\./)
    expect(openSecret(rotated, SEED, ALICE).ok).toBe(false)
    expect(openSecret(rotated, SEED, ALICE, (v) => /^[A-Z2-7]+$/.test(v))).toEqual({ ok: true, value: { plaintext: SEED, stale: true } })
  })

  it('parses keyrings, refusing bad entries without echoing key material, and never prints keys', () => {
    expect(parseSealingKeyring(HEX_A)).toMatchObject({ ok: false })
    expect(JSON.stringify(parseSealingKeyring(HEX_A))).not.toContain(HEX_A.slice(0, 16))
    expect(parseSealingKeyring(`k1:${HEX_A.slice(2)}`)).toMatchObject({ ok: false, detail: expect.stringContaining('entry 1') })
    expect(parseSealingKeyring(`k1:${HEX_A},k1:${HEX_B}`)).toMatchObject({ ok: false, detail: 'key id "k1" appears twice' })
    expect(parseSealingKeyring(`bad id:${HEX_A}`)).toMatchObject({ ok: false })
    const r = ring(` k2:${HEX_B} , k1:${HEX_A} `)
    expect(r.keys.map((k) => k.id)).toEqual(['k2', 'k1'])
    expect(JSON.stringify(r)).toBe('{"kind":"sealing-keyring","ids":["k2","k1"]}')
    expect(String(r)).not.toContain(HEX_A)
    expect(formatSealingKeyring(r)).toBe(`k2:${HEX_B},k1:${HEX_A}`)
    const fresh = newSealingKeyring(seededRandom(3), 'k1')
    expect(ring(formatSealingKeyring(fresh)).keys[0]?.key).toEqual(fresh.keys[0]?.key)
  })
})
