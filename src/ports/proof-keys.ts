/**
 * A platform's own check of DPoP proof signatures (RFC 9449 §4.3, RFC 7515 §5.2). Node's
 * (`src/adapters/platform/node.ts`) imports each key once with node:crypto and verifies synchronously;
 * without one, the portable path (jose on Web Crypto) checks every proof, as it does on Workers.
 */

/** The public keys the platform path takes: exactly these members, nothing else (RFC 7518 §6.2, RFC 8037 §2). */
export type ProofKey = { kty: 'EC'; crv: 'P-256'; x: string; y: string } | { kty: 'OKP'; crv: 'Ed25519'; x: string }

/** A signature check and the key's RFC 7638 SHA-256 thumbprint (base64url). */
export interface ProofSignature {
  valid: boolean
  jkt: string
}

/** The port. */
export interface ProofKeys {
  /**
   * Checks `signature` over the ASCII `signingInput` by `key` under `alg` (`ES256`: P-256 with
   * SHA-256, signature r‖s; `EdDSA`: Ed25519). Null when this platform cannot import the key: the
   * portable path then decides (and refuses) as it always did.
   */
  verify(alg: 'ES256' | 'EdDSA', key: ProofKey, signingInput: string, signature: Uint8Array): ProofSignature | null
}
