/**
 * The new device's DPoP key (RFC 9449): a key pair made on the device (the private half
 * non-extractable where Web Crypto allows), its RFC 7638 thumbprint (`jkt`, what the server binds the
 * session to), and a proof per request: `htm`, `htu`, `iat`, a fresh `jti`, and `ath` when an access
 * token goes with it. Web Crypto only (no `node:`), through jose.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { SignJWT, base64url, exportJWK, generateKeyPair, type JWK } from 'jose'
import type { Random } from '../ports.ts'
import { webRandom } from './platform.ts'

/** The signature algorithms the server accepts for DPoP proofs. */
export type DpopAlgorithm = 'ES256' | 'EdDSA'

/** A DPoP key: its thumbprint and a proof maker. Prints no key material. */
export interface DpopKey {
  /** The RFC 7638 SHA-256 thumbprint of the public key (unpadded base64url). */
  readonly jkt: string
  readonly algorithm: DpopAlgorithm
  /**
   * A DPoP proof JWT for `method url` (the URL the server sees as public: no query, no fragment),
   * with `ath` when `accessToken` is given and `nonce` when the server handed one out (RFC 9449 §8).
   */
  proof(method: string, url: string, accessToken?: string, nonce?: string): Promise<string>
}

/** Options of {@link generateDpopKey}. */
export interface DpopKeyOptions {
  /** Default ES256 (every Web Crypto has it; Ed25519 is newer). */
  algorithm?: DpopAlgorithm
  /** Clock of the proofs' `iat`, in ms. Default `Date.now`. */
  now?: () => number
  /** Randomness of the `jti`s. Default Web Crypto. */
  random?: Random
}

/** `ath`: the unpadded base64url SHA-256 of the access token (RFC 9449 §4.2). */
export const accessTokenHashOf = (accessToken: string): string => base64url.encode(sha256(new TextEncoder().encode(accessToken)))

/**
 * The RFC 7638 SHA-256 thumbprint of a public key: its required members in lexicographic order, no
 * whitespace (what jose's `calculateJwkThumbprint` hashes), hashed here at once instead of in a Web
 * Crypto job.
 */
const thumbprintOf = (jwk: JWK): string => {
  const members = jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x }
  return base64url.encode(sha256(new TextEncoder().encode(JSON.stringify(members))))
}

/**
 * Makes a DPoP key pair whose private key cannot be exported (Web Crypto `extractable: false`).
 *
 * @example
 * const key = await generateDpopKey()
 * const res = await fetch(url, { headers: { dpop: await key.proof('POST', url) } })
 */
export const generateDpopKey = async (options: DpopKeyOptions = {}): Promise<DpopKey> => {
  const algorithm = options.algorithm ?? 'ES256'
  const now = options.now ?? Date.now
  const random = options.random ?? webRandom()
  const { privateKey, publicKey } = await generateKeyPair(algorithm, {
    extractable: false,
    ...(algorithm === 'EdDSA' ? { crv: 'Ed25519' } : {}),
  })
  const full = await exportJWK(publicKey)
  const jwk: JWK =
    algorithm === 'ES256' ? { kty: full.kty, crv: full.crv, x: full.x, y: full.y } : { kty: full.kty, crv: full.crv, x: full.x }
  const jkt = thumbprintOf(jwk)
  const key: DpopKey = {
    jkt,
    algorithm,
    async proof(method: string, url: string, accessToken?: string, nonce?: string): Promise<string> {
      const claims: Record<string, unknown> = {
        jti: base64url.encode(random.bytes(16)),
        htm: method.toUpperCase(),
        htu: url,
        iat: Math.floor(now() / 1000),
      }
      if (accessToken !== undefined) claims.ath = accessTokenHashOf(accessToken)
      if (nonce !== undefined) claims.nonce = nonce
      return new SignJWT(claims).setProtectedHeader({ typ: 'dpop+jwt', alg: algorithm, jwk }).sign(privateKey)
    },
  }
  return Object.freeze(Object.assign(key, { toJSON: () => ({ jkt, algorithm }) }))
}
