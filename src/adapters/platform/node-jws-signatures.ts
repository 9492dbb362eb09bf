/**
 * Channel-ticket signatures on node:crypto (the `JwsSignatures` port): the keyring's private
 * CryptoKey is taken as a `KeyObject` once, each published key is imported once (kept by the JWKS
 * member object, which the keyring keeps while its keys do not change), and a sign or verify is then
 * one synchronous native call instead of a Web Crypto job. Ed25519 signatures are deterministic, so a
 * ticket's bytes are those jose signs (`test/unit/services/channel-ticket-platform.test.ts`).
 */
import { createPublicKey, KeyObject, sign, verify } from 'node:crypto'
import type { PublicJwk, SigningAlg } from '../../core/crypto/signing-jwk.ts'
import type { JwsSignatures } from '../../ports.ts'

/** P-256 signatures as JWS writes them: r‖s, 64 bytes (RFC 7518 §3.4). */
const P1363 = 'ieee-p1363' as const

/**
 * Builds the port.
 *
 * @example
 * const keys = await openSigningKeys({ store, clock, random, retiredKeyTtlMs, platform: ticketPlatform(nodeJwsSignatures()) })
 */
export const nodeJwsSignatures = (): JwsSignatures => {
  const privateKeys = new WeakMap<CryptoKey, KeyObject | null>()
  const publicKeys = new WeakMap<PublicJwk, KeyObject | null>()
  const privateOf = (key: CryptoKey): KeyObject | null => {
    let found = privateKeys.get(key)
    if (found === undefined) {
      try {
        found = KeyObject.from(key)
      } catch {
        // Not a key node:crypto can take (another realm's CryptoKey): jose signs with it instead.
        found = null
      }
      privateKeys.set(key, found)
    }
    return found
  }
  const publicOf = (jwk: PublicJwk): KeyObject | null => {
    let found = publicKeys.get(jwk)
    if (found === undefined) {
      const members = jwk.kty === 'EC' ? { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } : { kty: jwk.kty, crv: jwk.crv, x: jwk.x }
      try {
        found = createPublicKey({ key: members, format: 'jwk' })
      } catch {
        // Not a key this platform imports: jose decides (and refuses) as it always did.
        found = null
      }
      publicKeys.set(jwk, found)
    }
    return found
  }
  const fits = (alg: SigningAlg, key: KeyObject): boolean =>
    alg === 'EdDSA'
      ? key.asymmetricKeyType === 'ed25519'
      : key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
  return {
    sign(alg, key, signingInput) {
      const found = privateOf(key)
      if (found === null || found.type !== 'private' || !fits(alg, found)) return null
      const data = Buffer.from(signingInput, 'latin1')
      return alg === 'EdDSA' ? sign(null, data, found) : sign('sha256', data, { key: found, dsaEncoding: P1363 })
    },
    verify(alg, jwk, signingInput, signature) {
      const found = publicOf(jwk)
      if (found === null || !fits(alg, found)) return null
      const data = Buffer.from(signingInput, 'latin1')
      return alg === 'EdDSA' ? verify(null, data, found, signature) : verify('sha256', data, { key: found, dsaEncoding: P1363 }, signature)
    },
  }
}
