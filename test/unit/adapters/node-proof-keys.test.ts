/**
 * node:crypto's DPoP signature check gives Web Crypto's verdict (which jose's portable path uses) and
 * the RFC 7638 thumbprint jose computes, on the RFC examples and on tampered signatures and inputs.
 */
import { webcrypto } from 'node:crypto'
import { base64url, calculateJwkThumbprint } from 'jose'
import { describe, expect, it } from 'vitest'
import { nodeProofKeys } from '../../../src/adapters/platform/node-proof-keys.ts'
import type { ProofKey } from '../../../src/ports.ts'
import rfc8037 from '../../vectors/rfc8037-ed25519.json' with { type: 'json' }
import examples from '../../vectors/jws-ec-examples.json' with { type: 'json' }

const ED25519 = rfc8037.cases[0] as (typeof rfc8037.cases)[0]
const ES256_KEY = examples.rfc7515A3.jwk as ProofKey
const ED25519_KEY: ProofKey = { kty: 'OKP', crv: 'Ed25519', x: ED25519.jwk.x }

/** The signing input and the signature bytes of a compact JWS. */
const partsOf = (jws: string): { input: string; signature: Uint8Array } => {
  const at = jws.lastIndexOf('.')
  return { input: jws.slice(0, at), signature: base64url.decode(jws.slice(at + 1)) }
}

/** Web Crypto's verdict, as jose's portable path gets it (a throw counts as a refusal there). */
const webCryptoVerdict = async (alg: 'ES256' | 'EdDSA', key: ProofKey, input: string, signature: Uint8Array): Promise<boolean> => {
  const algorithm = alg === 'ES256' ? { name: 'ECDSA', namedCurve: 'P-256' } : { name: 'Ed25519' }
  const imported = await webcrypto.subtle.importKey('jwk', key, algorithm, true, ['verify'])
  const signing = alg === 'ES256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'Ed25519' }
  try {
    return await webcrypto.subtle.verify(signing, imported, signature, new TextEncoder().encode(input))
  } catch {
    return false
  }
}

/** Variants of a signature: each byte position flipped in turn (a sample), cut, lengthened, zeros, empty. */
const tamperedSignatures = (signature: Uint8Array): Uint8Array[] => {
  const out: Uint8Array[] = []
  for (const at of [0, 1, 13, 31, 32, 33, 50, signature.length - 1]) {
    const flipped = Uint8Array.from(signature)
    flipped[at] = (flipped[at] as number) ^ 0x01
    out.push(flipped)
  }
  out.push(
    signature.subarray(0, signature.length - 1),
    Uint8Array.from([...signature, 0]),
    new Uint8Array(signature.length),
    new Uint8Array(0),
  )
  return out
}

describe('nodeProofKeys', () => {
  it('verifies the RFC 7515 A.3 ES256 example and gives the key its RFC 7638 thumbprint', async () => {
    const { input, signature } = partsOf(examples.rfc7515A3.jws)
    const checked = nodeProofKeys().verify('ES256', ES256_KEY, input, signature)
    expect(checked).toEqual({ valid: true, jkt: await calculateJwkThumbprint(ES256_KEY, 'sha256') })
  })

  it('verifies the RFC 8037 A.4 Ed25519 example, with the A.3 thumbprint', () => {
    const { input, signature } = partsOf(ED25519.jws)
    expect(nodeProofKeys().verify('EdDSA', ED25519_KEY, input, signature)).toEqual({ valid: true, jkt: ED25519.thumbprint })
  })

  it('verifies the RFC 9449 §4.1 example proof, with the thumbprint of the RFC §6.1 example (cnf.jkt)', () => {
    const { input, signature } = partsOf(examples.rfc9449Proof.proof)
    const key = examples.rfc9449Proof.jwk as ProofKey
    expect(nodeProofKeys().verify('ES256', key, input, signature)).toEqual({ valid: true, jkt: examples.rfc9449Proof.jkt })
  })

  it('refuses tampered signatures and inputs exactly as Web Crypto does', async () => {
    const keys = nodeProofKeys()
    const cases: Array<['ES256' | 'EdDSA', ProofKey, string]> = [
      ['ES256', ES256_KEY, examples.rfc7515A3.jws],
      ['ES256', examples.rfc9449Proof.jwk as ProofKey, examples.rfc9449Proof.proof],
      ['EdDSA', ED25519_KEY, ED25519.jws],
    ]
    for (const [alg, key, jws] of cases) {
      const { input, signature } = partsOf(jws)
      for (const bad of tamperedSignatures(signature)) {
        const expected = await webCryptoVerdict(alg, key, input, bad)
        expect(expected).toBe(false)
        expect(keys.verify(alg, key, input, bad)?.valid).toBe(expected)
      }
      const otherInput = `${input.slice(0, -1)}${input.endsWith('A') ? 'B' : 'A'}`
      expect(keys.verify(alg, key, otherInput, signature)?.valid).toBe(await webCryptoVerdict(alg, key, otherInput, signature))
      expect(keys.verify(alg, key, otherInput, signature)?.valid).toBe(false)
    }
  })

  it('accepts the high-S twin of an ES256 signature exactly when Web Crypto does', async () => {
    // ECDSA (r, s) and (r, n − s) verify alike unless a verifier insists on low S; both sides use OpenSSL.
    const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n
    const { input, signature } = partsOf(examples.rfc7515A3.jws)
    const s = BigInt(`0x${Buffer.from(signature.subarray(32)).toString('hex')}`)
    const twin = Uint8Array.from([...signature.subarray(0, 32), ...Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex')])
    const expected = await webCryptoVerdict('ES256', ES256_KEY, input, twin)
    expect(nodeProofKeys().verify('ES256', ES256_KEY, input, twin)?.valid).toBe(expected)
  })

  it('gives up (null) on a point that is not on the curve, leaving the refusal to the portable path', () => {
    const { x, y } = examples.rfc7515A3.jwk
    const offCurve: ProofKey = { kty: 'EC', crv: 'P-256', x, y: `A${y.slice(1)}` }
    const { input, signature } = partsOf(examples.rfc7515A3.jws)
    expect(nodeProofKeys().verify('ES256', offCurve, input, signature)).toBeNull()
  })

  it('keeps verifying right when its bounded cache evicts keys', async () => {
    const keys = nodeProofKeys(1)
    const es = partsOf(examples.rfc7515A3.jws)
    const ed = partsOf(ED25519.jws)
    for (let round = 0; round < 3; round++) {
      expect(keys.verify('ES256', ES256_KEY, es.input, es.signature)?.valid).toBe(true)
      expect(keys.verify('EdDSA', ED25519_KEY, ed.input, ed.signature)).toEqual({ valid: true, jkt: ED25519.thumbprint })
    }
  })
})
