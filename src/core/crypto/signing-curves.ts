/**
 * The two curves of the signing keys as points only: noble's Ed25519 and P-256 point classes, built
 * from the same curve parameters as `@noble/curves/ed25519.js` and `nist.js` but without the signature
 * schemes around them (EdDSA, ECDSA, DER, hash-to-curve), which qrelay never runs with noble: signing
 * and checking go through jose or the platform. The Worker's bundle carries about 16 KB less
 * (BENCHMARKS.md, session 13). The public key of a private key is computed as noble's
 * `ed25519.getPublicKey` and `p256.getPublicKey(d, false)` compute it, by the same point code
 * (`test/unit/core/crypto/signing-curves.test.ts` compares them on vectors and random keys).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8032#section-5.1.5 (Ed25519 key generation)
 * @see https://www.secg.org/sec1-v2.pdf §2.3.3, §3.2.1 (P-256 points and keys)
 */
import { edwards } from '@noble/curves/abstract/edwards.js'
import { weierstrass } from '@noble/curves/abstract/weierstrass.js'
import { bytesToNumberLE } from '@noble/curves/utils.js'
import { sha512 } from '@noble/hashes/sha2.js'

// RFC 8032 §5.1 (edwards25519), as @noble/curves/ed25519.js declares it.
const ed25519Point = /* @__PURE__ */ edwards({
  p: BigInt('0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed'),
  n: BigInt('0x1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3ed'),
  h: BigInt(8),
  a: BigInt('0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffec'),
  d: BigInt('0x52036cee2b6ffe738cc740797779e89800700a4d4141d8ab75eb4dca135978a3'),
  Gx: BigInt('0x216936d3cd6e53fec0a4e231fdd6dc5c692cc7609525a7b2c9562d608f25d51a'),
  Gy: BigInt('0x6666666666666666666666666666666666666666666666666666666666666658'),
})

// FIPS 186-5 / SEC 2 secp256r1, as @noble/curves/nist.js declares it.
const p256Point = /* @__PURE__ */ weierstrass({
  p: BigInt('0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff'),
  n: BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551'),
  h: BigInt(1),
  a: BigInt('0xffffffff00000001000000000000000000000000fffffffffffffffffffffffc'),
  b: BigInt('0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b'),
  Gx: BigInt('0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296'),
  Gy: BigInt('0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5'),
})

/**
 * Throws unless `x` is the RFC 8032 encoding of an Ed25519 point (`y` below p, `x` recoverable), as
 * `ed25519.Point.fromBytes(x)` does.
 */
export const assertEd25519Point = (x: Uint8Array): void => {
  ed25519Point.fromBytes(x)
}

/**
 * The Ed25519 public key of a 32-byte private key (RFC 8032 §5.1.5: SHA-512, clamp, multiply the base
 * point), as `ed25519.getPublicKey(seed)` computes it. Throws when `seed` is not 32 bytes.
 *
 * @example
 * ed25519PublicKey(seed) // 32 bytes
 */
export const ed25519PublicKey = (seed: Uint8Array): Uint8Array => {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new Error('an Ed25519 private key is 32 bytes')
  const head = sha512(seed).slice(0, 32)
  head[0] = (head[0] as number) & 248
  head[31] = ((head[31] as number) & 127) | 64
  // The scalar reduced mod n, as noble's `modN_LE` reduces it.
  const scalar = ed25519Point.Fn.create(bytesToNumberLE(head))
  return ed25519Point.BASE.multiply(scalar).toBytes()
}

/**
 * Throws unless `point` is an uncompressed P-256 point on the curve (`0x04‖x‖y`), as
 * `p256.Point.fromBytes(point)` does.
 */
export const assertP256Point = (point: Uint8Array): void => {
  p256Point.fromBytes(point)
}

/**
 * The uncompressed P-256 public key (`0x04‖x‖y`) of a 32-byte private key, as
 * `p256.getPublicKey(d, false)` computes it. Throws when `d` is not 32 bytes or not in [1, n).
 *
 * @example
 * p256PublicKey(d) // 65 bytes
 */
export const p256PublicKey = (d: Uint8Array): Uint8Array => p256Point.BASE.multiply(p256Point.Fn.fromBytes(d)).toBytes(false)
