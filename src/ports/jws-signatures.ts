/**
 * A platform's own JWS signatures for the server's channel tickets (RFC 7515 §5, RFC 8037): one
 * synchronous native sign or verify, each key imported once. Node's is
 * `src/adapters/platform/node-jws-signatures.ts`; without one, jose on Web Crypto signs and checks
 * every ticket, as on Workers.
 */
import type { PublicJwk, SigningAlg } from '../core/crypto/signing-jwk.ts'

/** The port. */
export interface JwsSignatures {
  /**
   * The signature of the ASCII `signingInput` by the keyring's private `key` under `alg` (`EdDSA`:
   * Ed25519; `ES256`: P-256 with SHA-256, r‖s). Null when this platform cannot use the key: jose signs.
   */
  sign(alg: SigningAlg, key: CryptoKey, signingInput: string): Uint8Array | null
  /**
   * Whether `signature` over the ASCII `signingInput` holds for the published `key` (kept by object
   * identity: the keyring answers the same frozen JWKS while its keys do not change). Null when this
   * platform cannot import the key: jose decides.
   */
  verify(alg: SigningAlg, key: PublicJwk, signingInput: string, signature: Uint8Array): boolean | null
}
