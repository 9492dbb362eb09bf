/**
 * The signing keys' point-only curves (src/core/crypto/signing-curves.ts) give what noble's full
 * ed25519 and p256 give: the same public keys (RFC vectors, then random private keys) and the same
 * verdict on every point encoding and private key, valid or not.
 */
import { ed25519 } from '@noble/curves/ed25519.js'
import { p256 } from '@noble/curves/nist.js'
import { base64urlnopad } from '@scure/base'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { assertEd25519Point, assertP256Point, ed25519PublicKey, p256PublicKey } from '../../../../src/core/crypto/signing-curves.ts'

const hex = (text: string): Uint8Array => Uint8Array.from(text.match(/../g) as string[], (byte) => Number.parseInt(byte, 16))
const be32 = (value: bigint): Uint8Array => hex(value.toString(16).padStart(64, '0'))
const le32 = (value: bigint): Uint8Array => be32(value).reverse()

/** 'ok', or 'throws' when `run` throws: the verdict both implementations must share. */
const verdict = (run: () => unknown): unknown => {
  try {
    return run()
  } catch {
    return 'throws'
  }
}

const ED_P = 2n ** 255n - 19n
const P256_P = BigInt('0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff')
const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551')
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 })

describe('ed25519PublicKey', () => {
  it('gives the public keys of RFC 8032 §7.1 tests 1-3', () => {
    const cases = [
      [
        '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
        'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
      ],
      [
        '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
        '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
      ],
      [
        'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
        'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
      ],
    ] as const
    for (const [secret, expected] of cases) expect(ed25519PublicKey(hex(secret))).toEqual(hex(expected))
  })

  it('gives what noble ed25519.getPublicKey gives, for any 32 bytes', () => {
    fc.assert(
      fc.property(bytes32, (seed) => {
        expect(ed25519PublicKey(seed)).toEqual(ed25519.getPublicKey(seed))
      }),
      { numRuns: 200 },
    )
  })

  it('throws on a key that is not 32 bytes, as noble does', () => {
    for (const length of [0, 31, 33, 64]) {
      const seed = new Uint8Array(length)
      expect(verdict(() => ed25519PublicKey(seed))).toBe('throws')
      expect(verdict(() => ed25519.getPublicKey(seed))).toBe('throws')
    }
  })
})

describe('assertEd25519Point', () => {
  const same = (x: Uint8Array): void => {
    expect(verdict(() => assertEd25519Point(x))).toEqual(verdict(() => void ed25519.Point.fromBytes(x)))
  }

  it('accepts and refuses exactly the encodings noble refuses, for any 32 bytes (about half are points)', () => {
    fc.assert(fc.property(bytes32, same), { numRuns: 500 })
  })

  it('agrees on the edge encodings: y ≥ p, x = 0 with its sign bit set, the identity, other lengths', () => {
    const edges = [le32(ED_P), le32(ED_P + 1n), le32(2n ** 255n - 1n), le32(1n), le32(1n | (1n << 255n)), le32(ED_P - 1n), le32(0n)]
    for (const x of edges) same(x)
    expect(verdict(() => assertEd25519Point(le32(1n | (1n << 255n))))).toBe('throws')
    expect(verdict(() => assertEd25519Point(le32(ED_P)))).toBe('throws')
    expect(verdict(() => assertEd25519Point(new Uint8Array(31)))).toBe('throws')
    expect(verdict(() => assertEd25519Point(ed25519.getPublicKey(new Uint8Array(32))))).toBeUndefined()
  })
})

describe('p256PublicKey', () => {
  it('gives the public key of RFC 7515 A.3', () => {
    const d = base64urlnopad.decode('jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI')
    const x = base64urlnopad.decode('f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU')
    const y = base64urlnopad.decode('x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0')
    expect(p256PublicKey(d)).toEqual(Uint8Array.of(4, ...x, ...y))
  })

  it('gives what noble p256.getPublicKey(d, false) gives, for any 32 bytes (and throws where it throws)', () => {
    fc.assert(
      fc.property(bytes32, (d) => {
        expect(verdict(() => p256PublicKey(d))).toEqual(verdict(() => p256.getPublicKey(d, false)))
      }),
      { numRuns: 200 },
    )
  })

  it('throws on 0, n and above, and on other lengths, as noble does; n - 1 and 1 are keys', () => {
    for (const d of [be32(0n), be32(P256_N), be32(P256_N + 1n), be32(2n ** 256n - 1n), new Uint8Array(31), new Uint8Array(33)]) {
      expect(verdict(() => p256PublicKey(d))).toBe('throws')
      expect(verdict(() => p256.getPublicKey(d, false))).toBe('throws')
    }
    for (const d of [be32(1n), be32(P256_N - 1n)]) expect(p256PublicKey(d)).toEqual(p256.getPublicKey(d, false))
  })
})

describe('assertP256Point', () => {
  const same = (point: Uint8Array): void => {
    expect(verdict(() => assertP256Point(point))).toEqual(verdict(() => void p256.Point.fromBytes(point)))
  }

  it('accepts every public key and refuses a changed y, as noble does', () => {
    fc.assert(
      fc.property(bytes32, (d) => {
        const key = verdict(() => p256.getPublicKey(d, false))
        if (!(key instanceof Uint8Array)) return
        same(key)
        expect(verdict(() => assertP256Point(key))).toBeUndefined()
        const changed = key.slice()
        changed[64] = (changed[64] as number) ^ 1
        same(changed)
        expect(verdict(() => assertP256Point(changed))).toBe('throws')
      }),
      { numRuns: 100 },
    )
  })

  it('agrees on random bytes and on the edges: coordinates ≥ p, the point at infinity, other prefixes and lengths', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 65, maxLength: 65 }), (bytes) => same(Uint8Array.of(4, ...bytes.slice(1)))),
      { numRuns: 100 },
    )
    const g = p256.Point.BASE.toBytes(false)
    const edges = [
      Uint8Array.of(4, ...be32(P256_P), ...g.slice(33)),
      Uint8Array.of(4, ...g.slice(1, 33), ...be32(P256_P)),
      Uint8Array.of(4, ...new Uint8Array(64)),
      Uint8Array.of(0),
      Uint8Array.of(2, ...g.slice(1, 33)),
      Uint8Array.of(5, ...g.slice(1)),
      g.slice(0, 64),
      g,
    ]
    for (const point of edges) same(point)
  })
})
