import { describe, expect, it } from 'vitest'
import { argon2id } from '@noble/hashes/argon2.js'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import vectors from '../../../vectors/argon2id.json'
import {
  DEFAULT_ARGON2_PARAMS,
  hashPassword,
  hashPasswordAsync,
  needsRehash,
  parsePasswordHash,
  verifyPassword,
  verifyPasswordAsync,
  type Argon2Params,
} from '../../../../src/core/auth/password-hash.ts'
import { seededRandom } from '../../../helpers/seeded-random.ts'

// Small costs keep the suite fast; one test runs the defaults to check the PHC format.
const FAST: Argon2Params = { memoryKiB: 64, iterations: 1, parallelism: 1, saltBytes: 16, hashBytes: 32 }

describe('argon2id (RFC 9106 §5.3)', () => {
  it('matches the RFC tag with secret and associated data', () => {
    const v = vectors.rfc9106
    const tag = argon2id(hexToBytes(v.password_hex), hexToBytes(v.salt_hex), {
      m: v.memory_kib,
      t: v.iterations,
      p: v.parallelism,
      dkLen: v.tag_length,
      key: hexToBytes(v.secret_hex),
      personalization: hexToBytes(v.associated_data_hex),
    })
    expect(bytesToHex(tag)).toBe(v.tag_hex)
  })
})

describe('verifyPassword', () => {
  it.each(vectors.phc)('accepts the reference implementation PHC string $encoded', (v) => {
    expect(verifyPassword(v.encoded, v.password)).toEqual({ ok: true, value: true })
    const parsed = parsePasswordHash(v.encoded)
    expect(parsed.ok && bytesToHex(parsed.value.hash)).toBe(v.tag_hex)
    expect(parsed.ok && new TextDecoder().decode(parsed.value.salt)).toBe(v.salt_ascii)
  })
  it('refuses a wrong password with INVALID_CREDENTIALS', () => {
    const phc = vectors.phc[0]!.encoded
    expect(verifyPassword(phc, 'passwore')).toMatchObject({ ok: false, code: 'INVALID_CREDENTIALS' })
  })
  it('reports a malformed stored hash as INTERNAL, not as a wrong password', () => {
    expect(verifyPassword('$argon2i$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR', 'password')).toMatchObject({
      ok: false,
      code: 'INTERNAL',
    })
  })
  it('round-trips with hashPassword, sync and async', async () => {
    const random = seededRandom('pw')
    const phc = hashPassword(random, 'correct horse battery staple', FAST)
    expect(verifyPassword(phc, 'correct horse battery staple').ok).toBe(true)
    expect(verifyPassword(phc, 'correct horse battery stapl').ok).toBe(false)
    const phcAsync = await hashPasswordAsync(random, 'tr0ub4dor&3', FAST)
    expect(await verifyPasswordAsync(phcAsync, 'tr0ub4dor&3')).toEqual({ ok: true, value: true })
    expect(await verifyPasswordAsync(phcAsync, 'tr0ub4dor&4')).toMatchObject({ ok: false, code: 'INVALID_CREDENTIALS' })
    expect(verifyPassword(phcAsync, 'tr0ub4dor&3').ok).toBe(true)
  })
  it('normalizes to NFKC, so composed and decomposed spellings verify alike', () => {
    const phc = hashPassword(seededRandom('nfkc'), 'caf\u00e9-au-lait', FAST)
    expect(verifyPassword(phc, 'cafe\u0301-au-lait').ok).toBe(true)
  })
  it('salts: the same password hashes differently each time', () => {
    const random = seededRandom('salt')
    expect(hashPassword(random, 'same password', FAST)).not.toBe(hashPassword(random, 'same password', FAST))
  })
})

describe('hashPassword', () => {
  it('writes the default parameters in standard unpadded base64 PHC form', () => {
    const phc = hashPassword(seededRandom('default'), 'correct horse battery staple')
    expect(phc).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/)
    expect(needsRehash(phc, DEFAULT_ARGON2_PARAMS)).toBe(false)
  })
})

describe('parsePasswordHash', () => {
  const good = vectors.phc[0]!.encoded
  it.each([
    ['another algorithm', good.replace('argon2id', 'argon2i')],
    ['version 16', good.replace('v=19', 'v=16')],
    ['no version', good.replace('v=19$', '')],
    ['padded base64', `${good}=`],
    ['base64url alphabet', good.replace('/', '_')],
    ['reordered parameters', good.replace('m=256,t=2,p=1', 't=2,m=256,p=1')],
    ['leading zero', good.replace('m=256', 'm=0256')],
    ['extra parameter', good.replace('p=1', 'p=1,keyid=x')],
    ['short salt', good.replace('c29tZXNhbHQ', 'c29tZQ')],
    ['huge memory', good.replace('m=256', 'm=99999999')],
    ['memory under 8 KiB per lane', good.replace('m=256,t=2,p=1', 'm=8,t=2,p=2')],
    ['non-canonical trailing bits', good.replace('c29tZXNhbHQ', 'c29tZXNhbHR')],
  ])('refuses %s', (_name, phc) => {
    expect(parsePasswordHash(phc)).toMatchObject({ ok: false, code: 'INVALID_PARAM' })
  })
})

describe('needsRehash', () => {
  const phc = hashPassword(seededRandom('rehash'), 'some long password', FAST)
  it('is false when every parameter matches', () => {
    expect(needsRehash(phc, FAST)).toBe(false)
  })
  it.each([
    ['memory', { ...FAST, memoryKiB: 128 }],
    ['iterations', { ...FAST, iterations: 2 }],
    ['parallelism', { ...FAST, parallelism: 2 }],
    ['salt length', { ...FAST, saltBytes: 32 }],
    ['tag length', { ...FAST, hashBytes: 64 }],
  ])('is true when the %s changed', (_name, params) => {
    expect(needsRehash(phc, params)).toBe(true)
  })
  it('is true for a malformed string', () => {
    expect(needsRehash('$2b$12$bcrypt', FAST)).toBe(true)
  })
})
