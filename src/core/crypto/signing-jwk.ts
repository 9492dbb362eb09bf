/**
 * Signing keys as JWKs (RFC 7517): strict validation (the private part must match the public one),
 * short key ids from the RFC 7638 thumbprint, public views for a JWKS, and Ed25519 key generation
 * from an injected {@link Random}. Pure and synchronous (noble's points, `signing-curves.ts`), so config
 * parsing can use it.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7517, https://www.rfc-editor.org/rfc/rfc8037 (OKP/Ed25519)
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { fail, ok, type Result } from '../errors.ts'
import type { Random } from '../../ports.ts'
import { fromBase64Url, toBase64Url } from './secrets.ts'
import { assertEd25519Point, assertP256Point, ed25519PublicKey, p256PublicKey } from './signing-curves.ts'

/** JWS algorithms qrelay signs with: Ed25519 (default) or P-256. */
export type SigningAlg = 'EdDSA' | 'ES256'

/** An Ed25519 key (RFC 8037); `d` present on private keys. */
export interface OkpJwk {
  kty: 'OKP'
  crv: 'Ed25519'
  x: string
  d?: string
}

/** A P-256 key (RFC 7518 §6.2); `d` present on private keys. */
export interface EcJwk {
  kty: 'EC'
  crv: 'P-256'
  x: string
  y: string
  d?: string
}

/** A signing key qrelay accepts: only the members it needs, nothing else. */
export type SigningJwk = OkpJwk | EcJwk

/** The public form published in a JWKS. */
export type PublicJwk = (Omit<OkpJwk, 'd'> | Omit<EcJwk, 'd'>) & { kid: string; alg: SigningAlg; use: 'sig' }

const encoder = new TextEncoder()

/** The JWS `alg` of a key. */
export const algOf = (jwk: SigningJwk): SigningAlg => (jwk.kty === 'OKP' ? 'EdDSA' : 'ES256')

/** The key without its private part. */
export const publicPartOf = (jwk: SigningJwk): SigningJwk =>
  jwk.kty === 'OKP' ? { kty: 'OKP', crv: jwk.crv, x: jwk.x } : { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y }

/**
 * A short key id: base64url of the first 8 bytes of the RFC 7638 thumbprint (11 characters; tickets
 * travel in QR codes, so every byte of the header counts).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7638#section-3.2
 * @example
 * keyIdOf(jwk) // 'l5n8ZaM2xH0'
 */
export const keyIdOf = (jwk: SigningJwk): string => {
  // RFC 7638: required members only, lexicographic order, no whitespace.
  const canonical =
    jwk.kty === 'OKP' ? `{"crv":"${jwk.crv}","kty":"OKP","x":"${jwk.x}"}` : `{"crv":"${jwk.crv}","kty":"EC","x":"${jwk.x}","y":"${jwk.y}"}`
  return toBase64Url(sha256(encoder.encode(canonical)).slice(0, 8))
}

/** The JWKS entry of a key. */
export const publicJwkOf = (jwk: SigningJwk, kid: string): PublicJwk =>
  ({ ...publicPartOf(jwk), kid, alg: algOf(jwk), use: 'sig' }) as PublicJwk

const bytes32 = (value: unknown): Uint8Array | null => {
  if (typeof value !== 'string') return null
  try {
    const out = fromBase64Url(value)
    return out.length === 32 && toBase64Url(out) === value ? out : null
  } catch {
    // Safe: the decoder throws only on text that is not base64url; the caller reports null as bad input.
    return null
  }
}

const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i])

/**
 * Validates one JWK from configuration or a key file: Ed25519 or P-256, canonical base64url, a point on
 * the curve, and (when `d` is there) a private key that matches the public one. Unknown members are
 * dropped; `alg` and `use`, if given, must agree. Returns the key and its `kid` if it had one.
 * Errors (INVALID_PARAM): the detail names the problem, never a key value.
 * @example
 * const parsed = parseSigningJwk(JSON.parse(text).keys[0])
 */
export const parseSigningJwk = (value: unknown): Result<{ jwk: SigningJwk; kid?: string }, 'INVALID_PARAM'> => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('INVALID_PARAM', 'a key is not a JSON object')
  const v = value as Record<string, unknown>
  if (v.kid !== undefined && (typeof v.kid !== 'string' || !/^[\x21-\x7e]{1,64}$/.test(v.kid))) {
    return fail('INVALID_PARAM', 'kid must be 1 to 64 printable ASCII characters')
  }
  if (v.use !== undefined && v.use !== 'sig') return fail('INVALID_PARAM', 'use must be "sig"')
  const x = bytes32(v.x)
  if (x === null) return fail('INVALID_PARAM', 'x must be 32 bytes of canonical base64url')
  const d = v.d === undefined ? undefined : bytes32(v.d)
  if (d === null) return fail('INVALID_PARAM', 'd must be 32 bytes of canonical base64url')
  let jwk: SigningJwk
  if (v.kty === 'OKP' && v.crv === 'Ed25519') {
    try {
      if (d === undefined) assertEd25519Point(x)
      else if (!equalBytes(ed25519PublicKey(d), x)) return fail('INVALID_PARAM', 'd does not match x')
    } catch {
      // Safe: noble throws only on bytes that are not a curve point or a valid scalar: bad input, a Result.
      return fail('INVALID_PARAM', 'x is not an Ed25519 public key')
    }
    jwk = { kty: 'OKP', crv: 'Ed25519', x: v.x as string }
  } else if (v.kty === 'EC' && v.crv === 'P-256') {
    const y = bytes32(v.y)
    if (y === null) return fail('INVALID_PARAM', 'y must be 32 bytes of canonical base64url')
    const point = Uint8Array.of(0x04, ...x, ...y)
    try {
      if (d === undefined) assertP256Point(point)
      else if (!equalBytes(p256PublicKey(d), point)) return fail('INVALID_PARAM', 'd does not match x and y')
    } catch {
      // Safe: noble throws only on bytes that are not a curve point or a valid scalar: bad input, a Result.
      return fail('INVALID_PARAM', 'not a valid P-256 key')
    }
    jwk = { kty: 'EC', crv: 'P-256', x: v.x as string, y: v.y as string }
  } else {
    return fail('INVALID_PARAM', 'only OKP/Ed25519 and EC/P-256 keys are supported')
  }
  if (v.alg !== undefined && v.alg !== algOf(jwk)) return fail('INVALID_PARAM', `alg must be ${algOf(jwk)} for this key`)
  if (d !== undefined) jwk.d = v.d as string
  return ok(v.kid === undefined ? { jwk } : { jwk, kid: v.kid as string })
}

/**
 * A new Ed25519 private key from 32 bytes of `random`.
 *
 * @example
 * const jwk = newEd25519Jwk(random) // { kty: 'OKP', crv: 'Ed25519', x, d }
 */
export const newEd25519Jwk = (random: Random): OkpJwk => {
  const seed = random.bytes(32)
  return { kty: 'OKP', crv: 'Ed25519', x: toBase64Url(ed25519PublicKey(seed)), d: toBase64Url(seed) }
}
