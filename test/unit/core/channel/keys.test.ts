import { describe, expect, it } from 'vitest'
import { hex } from '@scure/base'
import { EphemeralKey, agreeX25519, parsePublicKey } from '../../../../src/core/channel/keys.ts'
import { createInitiate, acceptInitiate, startGenerator } from '../../../../src/core/channel/handshake.ts'
import { encodeBase64 } from '../../../../src/core/channel/base64.ts'
import { seededRandom } from '../../../helpers/seeded-random.ts'
import { unwrap } from './channel-fixture.ts'

/**
 * Public keys of small order on Curve25519 and its twist, and non-canonical encodings of them
 * (https://cr.yp.to/ecdh.html#validate; the blocklist libsodium carries): 0, 1, the two points of
 * order 8, p − 1, p, p + 1, and 0 and 1 with the ignored top bit set.
 */
const LOW_ORDER_HEX = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000080',
  '0100000000000000000000000000000000000000000000000000000000000080',
]

describe('agreeX25519', () => {
  it.each(LOW_ORDER_HEX)('refuses the low-order key %s as non-contributory', (lowOrder) => {
    const secret = seededRandom('low-order').bytes(32)
    expect(agreeX25519(secret, hex.decode(lowOrder))).toEqual({
      ok: false,
      code: 'INVALID_PARAM',
      detail: 'non-contributory public key',
    })
  })

  it('refuses a key that is not 32 bytes', () => {
    expect(agreeX25519(new Uint8Array(32).fill(1), new Uint8Array(31)).ok).toBe(false)
  })
})

describe('createInitiate and acceptInitiate with low-order keys', () => {
  it.each(LOW_ORDER_HEX)('S refuses to scan the low-order G key %s', (lowOrder) => {
    const result = createInitiate(seededRandom(1), hex.decode(lowOrder))
    expect(result).toMatchObject({ ok: false, code: 'INVALID_PARAM', detail: 'non-contributory public key' })
    expect(createInitiate(seededRandom(1), encodeBase64(hex.decode(lowOrder))).ok).toBe(false)
  })

  it.each(LOW_ORDER_HEX)('G refuses an initiate carrying the low-order S key %s', (lowOrder) => {
    const g = startGenerator(seededRandom(2))
    const forged = `${encodeBase64(new Uint8Array(45))}|${encodeBase64(hex.decode(lowOrder))}`
    expect(acceptInitiate(g, forged)).toMatchObject({ ok: false, code: 'INVALID_PARAM' })
    expect(g.key.forgotten).toBe(false)
  })
})

describe('parsePublicKey', () => {
  it('reads 32-byte keys with or without padding', () => {
    const key = seededRandom(3).bytes(32)
    expect(unwrap(parsePublicKey(encodeBase64(key)))).toEqual(key)
    expect(unwrap(parsePublicKey(`${encodeBase64(key)}=`))).toEqual(key)
  })

  it('refuses other lengths and non-base64', () => {
    expect(parsePublicKey(encodeBase64(new Uint8Array(31))).ok).toBe(false)
    expect(parsePublicKey(encodeBase64(new Uint8Array(33))).ok).toBe(false)
    expect(parsePublicKey('not base64 at all!').ok).toBe(false)
  })
})

describe('EphemeralKey', () => {
  it('refuses to agree once forgotten', () => {
    const a = EphemeralKey.generate(seededRandom(4))
    const b = EphemeralKey.generate(seededRandom(5))
    expect(a.agree(b.publicKey).ok).toBe(true)
    a.forget()
    expect(a.forgotten).toBe(true)
    expect(a.agree(b.publicKey)).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' })
  })

  it('gives the same public key for the same randomness', () => {
    expect(EphemeralKey.generate(seededRandom(6)).publicKeyBase64).toBe(EphemeralKey.generate(seededRandom(6)).publicKeyBase64)
  })
})
