import { describe, expect, it } from 'vitest'
import { CompactSign, importJWK } from 'jose'
import { p256 } from '@noble/curves/nist.js'
import { base64urlnopad } from '@scure/base'
import { keyIdOf, newEd25519Jwk, parseSigningJwk, publicJwkOf, type SigningJwk } from '../../../../src/core/crypto/signing-jwk.ts'
import {
  newKeySet,
  parseKeySetFile,
  parseSigningJwks,
  publishedKeys,
  rotateKeySet,
  serializeKeySet,
} from '../../../../src/core/crypto/signing-key-set.ts'
import { seededRandom } from '../../../helpers/seeded-random.ts'
import rfc8037 from '../../../vectors/rfc8037-ed25519.json' with { type: 'json' }

const RFC = rfc8037.cases[0]!
const p256Jwk = (): SigningJwk => {
  const d = seededRandom('p256').bytes(32)
  const pub = p256.getPublicKey(d, false)
  const b = base64urlnopad.encode
  return { kty: 'EC', crv: 'P-256', x: b(pub.slice(1, 33)), y: b(pub.slice(33)), d: b(d) }
}

describe('keyIdOf', () => {
  it('is the first 8 bytes of the RFC 7638 thumbprint (RFC 8037 A.3)', () => {
    const thumbprint = base64urlnopad.decode(RFC.thumbprint)
    expect(keyIdOf(RFC.jwk as SigningJwk)).toBe(base64urlnopad.encode(thumbprint.slice(0, 8)))
  })

  it('ignores the private part', () => {
    const { d: _d, ...pub } = RFC.jwk
    expect(keyIdOf(pub as SigningJwk)).toBe(keyIdOf(RFC.jwk as SigningJwk))
  })
})

describe('parseSigningJwk', () => {
  it('accepts the RFC 8037 key, and jose signs with it exactly as RFC 8037 A.4', async () => {
    const parsed = parseSigningJwk({ ...RFC.jwk, alg: 'EdDSA', use: 'sig', kid: 'rfc', extra: 1 })
    expect(parsed).toEqual({ ok: true, value: { jwk: RFC.jwk, kid: 'rfc' } })
    if (!parsed.ok) return
    const key = await importJWK({ ...parsed.value.jwk }, 'EdDSA')
    const jws = await new CompactSign(new TextEncoder().encode(RFC.payload)).setProtectedHeader({ alg: 'EdDSA' }).sign(key)
    expect(jws).toBe(RFC.jws)
  })

  it('accepts a P-256 key and a public-only key', () => {
    expect(parseSigningJwk(p256Jwk())).toMatchObject({ ok: true })
    const { d: _d, ...pub } = RFC.jwk
    expect(parseSigningJwk(pub)).toEqual({ ok: true, value: { jwk: pub } })
  })

  const other = newEd25519Jwk(seededRandom('other'))
  it.each([
    ['not an object', 'key', 'JSON object'],
    ['a private part of another key', { ...RFC.jwk, d: other.d }, 'does not match'],
    ['a P-256 private part of another key', { ...p256Jwk(), d: RFC.jwk.d }, 'does not match'],
    ['a short x', { ...RFC.jwk, x: RFC.jwk.x.slice(0, 40) }, 'x must be 32 bytes'],
    ['padded base64', { ...RFC.jwk, x: `${RFC.jwk.x}=` }, 'x must be 32 bytes'],
    ['standard base64', { ...RFC.jwk, d: RFC.jwk.d.replaceAll('_', '/') }, 'd must be 32 bytes'],
    ['an RSA key', { kty: 'RSA', n: 'AQAB', e: 'AQAB' }, 'x must be'],
    ['an X25519 key', { ...RFC.jwk, crv: 'X25519' }, 'only OKP/Ed25519'],
    ['a P-256 point off the curve', { ...p256Jwk(), d: undefined, y: p256Jwk().x }, 'P-256'],
    ['an alg that does not fit', { ...RFC.jwk, alg: 'ES256' }, 'alg must be EdDSA'],
    ['use enc', { ...RFC.jwk, use: 'enc' }, 'use must be'],
    ['an empty kid', { ...RFC.jwk, kid: '' }, 'kid'],
  ])('refuses %s, without echoing key material', (_, value, detail) => {
    const result = parseSigningJwk(value)
    expect(result).toMatchObject({ ok: false, code: 'INVALID_PARAM' })
    const text = result.ok ? '' : (result.detail as string)
    expect(text).toContain(detail)
    expect(text).not.toContain(RFC.jwk.d)
  })
})

describe('publicJwkOf', () => {
  it('drops d and adds kid, alg and use', () => {
    expect(publicJwkOf(RFC.jwk as SigningJwk, 'k')).toEqual({
      kty: 'OKP',
      crv: 'Ed25519',
      x: RFC.jwk.x,
      kid: 'k',
      alg: 'EdDSA',
      use: 'sig',
    })
  })
})

describe('parseSigningJwks', () => {
  it('makes the first key current and derives missing kids', () => {
    const { d: _d, ...pub } = newEd25519Jwk(seededRandom('old'))
    const result = parseSigningJwks(JSON.stringify({ keys: [RFC.jwk, { ...pub, kid: 'old-1' }] }))
    expect(result).toMatchObject({ ok: true, value: { keys: [{ kid: keyIdOf(RFC.jwk as SigningJwk), alg: 'EdDSA' }, { kid: 'old-1' }] } })
  })

  it.each([
    ['text that is not JSON', `{"keys":[${JSON.stringify(RFC.jwk)}`, 'not a JSON object'],
    ['no keys array', '{"key":[]}', 'no "keys" array'],
    ['an empty set', '{"keys":[]}', 'empty'],
    ['a public first key', JSON.stringify({ keys: [{ ...RFC.jwk, d: undefined }] }), 'private key'],
    [
      'two keys with one kid',
      JSON.stringify({
        keys: [
          { ...RFC.jwk, kid: 'a' },
          { ...p256Jwk(), kid: 'a' },
        ],
      }),
      'share a kid',
    ],
    ['a bad second key', JSON.stringify({ keys: [RFC.jwk, { kty: 'OKP' }] }), 'key 1:'],
  ])('refuses %s, without echoing key material', (_, text, detail) => {
    const result = parseSigningJwks(text)
    expect(result).toMatchObject({ ok: false, code: 'INVALID_PARAM' })
    expect(result.ok ? '' : result.detail).toContain(detail)
    expect(result.ok ? '' : result.detail).not.toContain(RFC.jwk.d)
  })
})

describe('rotateKeySet', () => {
  const DAY = 86_400_000
  it('puts a new key first, retires the old one without its private part, and drops keys retired too long ago', () => {
    const random = seededRandom(1)
    const first = newKeySet(random, 0)
    const second = rotateKeySet(first, random, 1000, DAY)
    expect(second.keys.map((k) => k.kid)).toEqual([expect.any(String), first.keys[0]!.kid])
    expect(second.keys[0]!.jwk.d).toBeDefined()
    expect(second.keys[1]).toMatchObject({ retiredAtMs: 1000 })
    expect(second.keys[1]!.jwk.d).toBeUndefined()
    const third = rotateKeySet(second, random, 1000 + DAY, DAY)
    expect(third.keys.map((k) => k.kid)).toEqual([third.keys[0]!.kid, second.keys[0]!.kid])
  })

  it('publishes a retired key until its time is up', () => {
    const random = seededRandom(2)
    const set = rotateKeySet(newKeySet(random, 0), random, 5000, DAY)
    expect(publishedKeys(set, 5000 + DAY - 1, DAY)).toHaveLength(2)
    expect(publishedKeys(set, 5000 + DAY, DAY)).toHaveLength(1)
  })
})

describe('serializeKeySet', () => {
  it('is read back by parseKeySetFile', () => {
    const random = seededRandom(3)
    const set = rotateKeySet(newKeySet(random, 10), random, 20, 1000)
    expect(parseKeySetFile(serializeKeySet(set))).toEqual({ ok: true, value: set })
  })

  it.each([
    ['another version', { version: 2, keys: [] }],
    ['a record without kid', { version: 1, keys: [{ alg: 'EdDSA', jwk: RFC.jwk, createdAtMs: 0 }] }],
    ['a negative time', { version: 1, keys: [{ kid: 'a', alg: 'EdDSA', jwk: RFC.jwk, createdAtMs: -1 }] }],
    ['a retired current key', { version: 1, keys: [{ kid: 'a', alg: 'EdDSA', jwk: RFC.jwk, createdAtMs: 0, retiredAtMs: 5 }] }],
  ])('refuses a file with %s', (_, value) => {
    expect(parseKeySetFile(JSON.stringify(value))).toMatchObject({ ok: false, code: 'INVALID_PARAM' })
  })
})
