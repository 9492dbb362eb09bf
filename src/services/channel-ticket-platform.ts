/**
 * The platform path of channel tickets (`ports/jws-signatures.ts`): the server signs and checks its
 * tickets with one native call instead of jose's Web Crypto jobs.
 *
 * Signing writes the compact JWS jose writes (the same header and claims JSON, in the same order;
 * Ed25519 is deterministic, so the same bytes). Checking takes only the tickets the server signs: a
 * header of exactly `alg`, `kid` and the ticket `typ`, canonical base64url, one published key by that
 * `kid` and `alg`, a valid signature, and claims that jose's `jwtVerify` would accept with the options
 * `verifyChannelTicket` gives it (the required claims, issuer, subject, numeric `iat`, no `nbf`, `exp`
 * in force). Anything else gets null and jose decides as before, so every ticket gets the verdict,
 * error and claims it got (`test/unit/services/channel-ticket-platform.test.ts`). The runtime that has
 * such signatures hands `channel-ticket.ts` their {@link ticketPlatform}, so a runtime without them
 * (Workers, browsers) does not carry this module.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7515#section-5.2 (validating a JWS)
 */
import { base64url, type JSONWebKeySet, type JWTPayload } from 'jose'
import type { PublicJwk, SigningAlg } from '../core/crypto/signing-jwk.ts'
import type { JwsSignatures } from '../ports.ts'

const SEGMENT = /^[A-Za-z0-9_-]+$/
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })
const REQUIRED = ['iss', 'sub', 'iat', 'exp'] as const

const encode = (text: string): string => base64url.encode(text)

/** The bytes of a canonical base64url segment (the only spelling of its bytes); null otherwise. */
const decodeCanonical = (segment: string): Uint8Array | null => {
  if (!SEGMENT.test(segment)) return null
  let bytes: Uint8Array
  try {
    bytes = base64url.decode(segment)
  } catch {
    // No base64 has this length: jose says how it refuses it.
    return null
  }
  return base64url.encode(bytes) === segment ? bytes : null
}

/** A JSON object from a canonical segment of strict UTF-8; null for anything else. */
const objectOf = (segment: string): Record<string, unknown> | null => {
  const bytes = decodeCanonical(segment)
  if (bytes === null) return null
  let value: unknown
  try {
    value = JSON.parse(STRICT_UTF8.decode(bytes))
  } catch {
    // Not UTF-8 or not JSON: jose says how it refuses it.
    return null
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null
}

/**
 * The ticket jose's `SignJWT` makes of `claims` under `header`, signed on the platform; null when the
 * platform cannot sign with `key` (then jose signs).
 *
 * @example
 * const jws = signOnPlatform(signatures, key.alg, key.privateKey, { alg, kid, typ }, { iss, sub, iat, exp })
 */
export const signOnPlatform = (
  signatures: JwsSignatures,
  alg: SigningAlg,
  key: CryptoKey,
  header: Record<string, string>,
  claims: Record<string, unknown>,
): string | null => {
  const input = `${encode(JSON.stringify(header))}.${encode(JSON.stringify(claims))}`
  const signature = signatures.sign(alg, key, input)
  return signature === null ? null : `${input}.${base64url.encode(signature)}`
}

/** What the check insists on, as `verifyChannelTicket` hands it to jose. */
export interface PlatformTicketCheck {
  typ: string
  issuer: string
  channelId?: string
  toleranceSeconds: number
  nowMs: number
}

/** The one published key named `kid` for `alg` with only the members the keyring publishes; null otherwise. */
const keyOf = (jwks: JSONWebKeySet, kid: string, alg: SigningAlg): PublicJwk | null => {
  // jose refuses a set with a member that is not an object before it looks for the key.
  if (!jwks.keys.every((key) => typeof key === 'object' && key !== null && !Array.isArray(key))) return null
  const named = jwks.keys.filter((key) => key.kid === kid)
  const key = named[0] as (PublicJwk & Record<string, unknown>) | undefined
  if (named.length !== 1 || key === undefined || key.alg !== alg || key.use !== 'sig') return null
  if (alg === 'EdDSA') return key.kty === 'OKP' && key.crv === 'Ed25519' && Object.keys(key).length === 6 ? key : null
  return key.kty === 'EC' && key.crv === 'P-256' && Object.keys(key).length === 7 ? key : null
}

/** The claims when jose would accept them with `check` (see the module comment); null to let jose decide. */
const acceptedClaims = (payload: Record<string, unknown>, check: PlatformTicketCheck): JWTPayload | null => {
  if (REQUIRED.some((claim) => !Object.hasOwn(payload, claim)) || payload.nbf !== undefined) return null
  if (payload.iss !== check.issuer || (check.channelId !== undefined && payload.sub !== check.channelId)) return null
  const now = Math.floor(check.nowMs / 1000)
  if (typeof payload.iat !== 'number' || typeof payload.exp !== 'number' || payload.exp <= now - check.toleranceSeconds) return null
  return payload as JWTPayload
}

/**
 * The claims of `jws` when the platform finds it a valid ticket jose would accept; null to leave it
 * to jose (any other ticket, and every refusal).
 *
 * @example
 * const payload = verifyOnPlatform(signatures, jws, keys.publicJwks(), { typ, issuer, toleranceSeconds: 0, nowMs })
 */
export const verifyOnPlatform = (
  signatures: JwsSignatures,
  jws: string,
  jwks: JSONWebKeySet,
  check: PlatformTicketCheck,
): JWTPayload | null => {
  const parts = jws.split('.')
  if (parts.length !== 3) return null
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string]
  const header = objectOf(encodedHeader)
  if (header === null || Object.keys(header).length !== 3 || header.typ !== check.typ || typeof header.kid !== 'string') return null
  const alg = header.alg
  if (alg !== 'EdDSA' && alg !== 'ES256') return null
  const key = keyOf(jwks, header.kid, alg)
  const signature = decodeCanonical(encodedSignature)
  if (key === null || signature === null || signature.length !== 64) return null
  const payload = objectOf(encodedPayload)
  if (payload === null || signatures.verify(alg, key, `${encodedHeader}.${encodedPayload}`, signature) !== true) return null
  return acceptedClaims(payload, check)
}

/** The platform path as `signChannelTicket` and `verifyChannelTicket` take it. */
export interface TicketPlatform {
  /** {@link signOnPlatform} with the platform's signatures. */
  sign(alg: SigningAlg, key: CryptoKey, header: Record<string, string>, claims: Record<string, unknown>): string | null
  /** {@link verifyOnPlatform} with the platform's signatures. */
  verify(jws: string, jwks: JSONWebKeySet, check: PlatformTicketCheck): JWTPayload | null
}

/**
 * The ticket path of a platform's own `signatures`.
 *
 * @example
 * const keys = await openSigningKeys({ store, clock, random, retiredKeyTtlMs, platform: ticketPlatform(nodeJwsSignatures()) })
 */
export const ticketPlatform = (signatures: JwsSignatures): TicketPlatform => ({
  sign: (alg, key, header, claims) => signOnPlatform(signatures, alg, key, header, claims),
  verify: (jws, jwks, check) => verifyOnPlatform(signatures, jws, jwks, check),
})
