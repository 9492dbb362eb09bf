/**
 * The platform path of DPoP proof verification (`ports/proof-keys.ts`). It takes the proofs clients
 * send (qrelay's own, the benchmark's, any plain RFC 9449 client's): a compact JWS of base64url
 * characters only, no `crit`, and an `ES256` P-256 or `EdDSA` Ed25519 key with exactly its public
 * members in canonical base64url. Their signature is checked by the platform (Node: node:crypto, each
 * key imported once), then their claims as jose's `jwtVerify` checks them with `verifyDpopProof`'s
 * options (JSON object, the required claims present, numeric `iat`, `nbf` and `exp` in force). Any
 * other proof gets null, and the portable path (jose, Web Crypto) decides as it always did, so every
 * proof gets the verdict it got before (`test/unit/services/dpop-platform.test.ts` compares the two).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7515#section-5.2 (validating a JWS)
 * @see https://www.rfc-editor.org/rfc/rfc7519#section-7.2 (validating a JWT)
 */
import { base64url, type JWK, type JWTPayload, type ProtectedHeaderParameters } from 'jose'
import type { ProofKey, ProofKeys } from '../ports.ts'

/** What the platform path made of a proof; null: not its kind of proof (take the portable path). */
/** The platform path as `verifyDpopProof` takes it (`DpopOptions.platform`). */
export type PlatformProofCheck = (proof: string, header: ProtectedHeaderParameters, jwk: JWK, nowMs: number) => PlatformVerdict | null

export type PlatformVerdict = { kind: 'verified'; payload: JWTPayload; jkt: string } | { kind: 'bad_signature' } | { kind: 'malformed' }

const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/
// 32 bytes in unpadded base64url: 42 characters, then one carrying 4 bits whose 2 padding bits are
// zero, so that every decoder reads the same bytes from it.
const KEY_BYTES_32 = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })
const REQUIRED_CLAIMS = ['jti', 'htm', 'htu', 'iat'] as const

const isKeyBytes = (value: unknown): value is string => typeof value === 'string' && KEY_BYTES_32.test(value)

/** The header's key when it has exactly the members of a public key for `alg`; else null. */
const proofKeyOf = (alg: string, jwk: JWK): ProofKey | null => {
  const members = Object.keys(jwk).length
  if (alg === 'ES256' && members === 4 && jwk.kty === 'EC' && jwk.crv === 'P-256' && isKeyBytes(jwk.x) && isKeyBytes(jwk.y)) {
    return { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }
  }
  if (alg === 'EdDSA' && members === 3 && jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && isKeyBytes(jwk.x)) {
    return { kty: 'OKP', crv: 'Ed25519', x: jwk.x }
  }
  return null
}

const isNumericDate = (value: unknown): value is number => typeof value === 'number'

/**
 * The claims of a proof whose signature holds, checked as jose's `jwtVerify` checks them for
 * `verifyDpopProof` (`requiredClaims`, `currentDate`, no clock tolerance); null when it would refuse.
 */
const claimsOf = (segment: string, nowMs: number): JWTPayload | null => {
  let claims: unknown
  try {
    claims = JSON.parse(STRICT_UTF8.decode(base64url.decode(segment)))
  } catch {
    // Not base64url, not UTF-8 or not JSON: jose's JWTInvalid, which the caller calls malformed.
    return null
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) return null
  const set = claims as JWTPayload
  if (REQUIRED_CLAIMS.some((claim) => !Object.hasOwn(set, claim))) return null
  const now = Math.floor(nowMs / 1000)
  if (!isNumericDate(set.iat)) return null
  if (set.nbf !== undefined && (!isNumericDate(set.nbf) || set.nbf > now)) return null
  if (set.exp !== undefined && (!isNumericDate(set.exp) || set.exp <= now)) return null
  return set
}

/**
 * Verifies `proof` (its header already checked: `typ`, an allowed `alg`, a public `jwk`) on the
 * platform, or returns null to leave it to the portable path.
 *
 * @example
 * const verdict = keys === undefined ? null : verifyOnPlatform(proof, header, jwk, nowMs, keys)
 */
export const verifyOnPlatform = (
  proof: string,
  header: ProtectedHeaderParameters,
  jwk: JWK,
  nowMs: number,
  keys: ProofKeys,
): PlatformVerdict | null => {
  const alg = header.alg
  if ((alg !== 'ES256' && alg !== 'EdDSA') || header.crit !== undefined || !COMPACT.test(proof)) return null
  const key = proofKeyOf(alg, jwk)
  if (key === null) return null
  const payloadAt = proof.indexOf('.') + 1
  const signatureAt = proof.lastIndexOf('.') + 1
  let signature: Uint8Array
  try {
    signature = base64url.decode(proof.slice(signatureAt))
  } catch {
    // A segment length no base64 has: the portable path says how it refuses it.
    return null
  }
  const checked = keys.verify(alg, key, proof.slice(0, signatureAt - 1), signature)
  if (checked === null) return null
  if (!checked.valid) return { kind: 'bad_signature' }
  const payload = claimsOf(proof.slice(payloadAt, signatureAt - 1), nowMs)
  return payload === null ? { kind: 'malformed' } : { kind: 'verified', payload, jkt: checked.jkt }
}

/**
 * The platform path on `keys`, as `verifyDpopProof` takes it.
 *
 * @example
 * const dpop = dpopProofs({ counters, clock, platform: platformProofCheck(nodeProofKeys()) })
 */
export const platformProofCheck =
  (keys: ProofKeys): PlatformProofCheck =>
  (proof, header, jwk, nowMs) =>
    verifyOnPlatform(proof, header, jwk, nowMs, keys)
