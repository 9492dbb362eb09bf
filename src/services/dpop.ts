/**
 * DPoP proofs (RFC 9449): verifies the proof JWT a client sends in the `DPoP` header and returns the
 * RFC 7638 thumbprint of its key (`jkt`), which grants and tokens are bound to. Checks: `typ`
 * `dpop+jwt`; `alg` from an allow-list (ES256, EdDSA); a public `jwk` in the header (never a private
 * key); the signature by that key; `htm` and `htu` equal to the request (htu without query and
 * fragment, normalized); `iat` within a window around `currentDate`; a `jti`; `ath` when an access
 * token comes with the proof; `nonce` when the server demands one.
 *
 * Replay: the caller marks {@link replayKey} used, atomically, for {@link replayWindowMs}; a second use
 * of the same `jti` by the same key is a replay. Time is passed in, never read.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.3 (checking DPoP proofs)
 */
import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  EmbeddedJWK,
  errors,
  jwtVerify,
  type JWK,
  type JWTPayload,
  type ProtectedHeaderParameters,
} from 'jose'
import { sha256 } from '@noble/hashes/sha2.js'
import { RelayError } from '../core/errors.ts'
import { boundedMemo } from '../core/bounded-memo.ts'
import { equalConstantTime, hashSecret, toBase64Url } from '../core/crypto/secrets.ts'
import type { PlatformProofCheck } from './dpop-platform.ts'

/** The proof's `typ` (RFC 9449 §4.2). */
export const DPOP_TYP = 'dpop+jwt'

/** Algorithms accepted by default: asymmetric, and the two qrelay's clients use. */
export const DPOP_ALGORITHMS = ['ES256', 'EdDSA'] as const

/** The request the proof must be for. */
export interface DpopRequest {
  /** HTTP method, as received (`POST`). */
  method: string
  /** The full request URL; query and fragment are ignored. */
  url: string
  /** The access token presented with the proof, if any: then `ath` is required and checked. */
  accessToken?: string
  /**
   * The nonce the server currently demands, if any (RFC 9449 §8): the one value, or a test of
   * freshness (stateless nonces accept the current and the previous window's).
   */
  nonce?: string | ((nonce: string) => boolean)
}

/** Verification limits. */
export interface DpopOptions {
  /** Default {@link DPOP_ALGORITHMS}. */
  algorithms?: readonly string[]
  /** How old a proof may be. Default 60 s. */
  maxAgeMs?: number
  /** How far in the future `iat` may be (client clock ahead). Default 5 s. */
  clockSkewMs?: number
  /**
   * The platform's check (Node: node:crypto, keys imported once; `platformProofCheck`); the proofs it
   * does not take, and every proof without it (Workers), go the portable way (jose on Web Crypto). Same
   * verdicts. Passed in, so a runtime without it does not carry its code.
   */
  platform?: PlatformProofCheck
}

/** A verified proof. */
export interface VerifiedDpopProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's key, base64url. */
  jkt: string
  jti: string
  /** `iat` in seconds, as signed. */
  iat: number
}

const DEFAULT_MAX_AGE_MS = 60_000
const DEFAULT_SKEW_MS = 5_000
const MAX_JTI_LENGTH = 256
// Members that only a private (or symmetric) key has: such a key must never travel in a header.
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const

const refuse = (detail: string): RelayError => new RelayError('INVALID_DPOP_PROOF', { detail })

/**
 * The `htu` form of a URL: scheme, host (lower case, default port dropped) and path; no query, no
 * fragment. Null when not an http(s) URL.
 *
 * @example
 * normalizeHtu('HTTPS://Server.Example:443/token?x=1#f') // 'https://server.example/token'
 */
export const normalizeHtu = (text: string): string | null => {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    // Not a URL: no `htu` can match it, which the caller refuses.
    return null
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null
  return `${url.protocol}//${url.host}${url.pathname}`
}

/**
 * {@link normalizeHtu} of a request's URL, parsed once per URL: an endpoint asks with the same URL (its
 * public one) each time; 64 are enough for every endpoint under a few origins.
 */
const targetHtu = boundedMemo(normalizeHtu, 64)

/** `ath`: base64url SHA-256 of the access token's ASCII bytes (RFC 9449 §4.2). */
export const accessTokenHash = (accessToken: string): string => toBase64Url(sha256(new TextEncoder().encode(accessToken)))

/**
 * The take-once key that marks a proof used: per key thumbprint, `jti` hashed so the key stays short.
 *
 * @example
 * // CounterStore.increment is atomic and sets the TTL on creation: only the first use sees 1.
 * const uses = await counters.increment(replayKey(proof.jkt, proof.jti), replayWindowMs(options))
 * if (uses !== 1) throw new RelayError('INVALID_DPOP_PROOF', { detail: 'DPoP proof replayed' })
 */
export const replayKey = (jkt: string, jti: string): string => `dpop:${jkt}:${hashSecret(jti)}`

/**
 * How long a used `jti` must be remembered: one millisecond past the last instant its proof could
 * still be accepted. A proof first used at t with `iat` = t + skew is accepted up to and including
 * t + skew + maxAge, and a counter is gone at its expiry instant on the memory store and the Durable
 * Object (Redis keeps it through that millisecond): without the extra millisecond the stores disagreed
 * at that instant and the first two accepted a replay (finding 55).
 */
export const replayWindowMs = (options: DpopOptions = {}): number =>
  (options.maxAgeMs ?? DEFAULT_MAX_AGE_MS) + (options.clockSkewMs ?? DEFAULT_SKEW_MS) + 1

/** Header checks done before any crypto, so each refusal has a precise detail. */
const checkHeader = (proof: string, algorithms: readonly string[]): { header: ProtectedHeaderParameters; jwk: JWK } => {
  let header
  try {
    header = decodeProtectedHeader(proof)
  } catch {
    throw refuse('malformed DPoP proof')
  }
  if (typeof header.typ !== 'string' || header.typ.toLowerCase() !== DPOP_TYP) {
    throw refuse('DPoP proof "typ" must be dpop+jwt')
  }
  if (typeof header.alg !== 'string' || !algorithms.includes(header.alg)) {
    throw refuse('DPoP proof algorithm not allowed')
  }
  const jwk = header.jwk
  if (typeof jwk !== 'object' || jwk === null) throw refuse('DPoP proof has no "jwk" header')
  if (PRIVATE_MEMBERS.some((member) => member in jwk)) throw refuse('DPoP proof "jwk" must be a public key')
  return { header, jwk }
}

/** The portable check of signature and claims (jose on Web Crypto). */
const verifyPortably = async (proof: string, algorithms: readonly string[], nowMs: number): Promise<JWTPayload> => {
  try {
    const { payload } = await jwtVerify(proof, EmbeddedJWK, {
      typ: DPOP_TYP,
      algorithms: [...algorithms],
      currentDate: new Date(nowMs),
      requiredClaims: ['jti', 'htm', 'htu', 'iat'],
    })
    return payload
  } catch (error) {
    if (error instanceof errors.JWSSignatureVerificationFailed) throw refuse('DPoP proof signature invalid')
    if (error instanceof errors.JOSEError) throw refuse('malformed DPoP proof')
    throw error
  }
}

/**
 * Verifies a DPoP proof for `request` at `currentDate`.
 * Errors: RelayError INVALID_DPOP_PROOF (detail names the check), DPOP_NONCE_REQUIRED when the server
 * demands a nonce and the proof lacks it or carries another (answer with `use_dpop_nonce`).
 *
 * @example
 * const { jkt, jti } = await verifyDpopProof(c.req.header('dpop') ?? '', { method: 'POST', url }, clock.now())
 */
export const verifyDpopProof = async (
  proof: string,
  request: DpopRequest,
  currentDate: Date | number,
  options: DpopOptions = {},
): Promise<VerifiedDpopProof> => {
  const algorithms = options.algorithms ?? DPOP_ALGORITHMS
  const { header, jwk } = checkHeader(proof, algorithms)
  const nowMs = typeof currentDate === 'number' ? currentDate : currentDate.getTime()
  const verdict = options.platform === undefined ? null : options.platform(proof, header, jwk, nowMs)
  if (verdict?.kind === 'bad_signature') throw refuse('DPoP proof signature invalid')
  if (verdict?.kind === 'malformed') throw refuse('malformed DPoP proof')
  const payload = verdict === null ? await verifyPortably(proof, algorithms, nowMs) : verdict.payload
  const { jti, htm, htu, iat } = payload
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) {
    throw refuse('DPoP proof "jti" invalid')
  }
  if (typeof htm !== 'string' || htm !== request.method) throw refuse('DPoP proof "htm" does not match the request')
  const expectedHtu = targetHtu(request.url)
  // A proof for the very URL (the usual case) needs no second parse: it normalizes to the same.
  if (typeof htu !== 'string' || expectedHtu === null || (htu !== request.url && normalizeHtu(htu) !== expectedHtu)) {
    throw refuse('DPoP proof "htu" does not match the request')
  }
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw refuse('DPoP proof "iat" invalid')
  const iatMs = iat * 1000
  if (iatMs > nowMs + (options.clockSkewMs ?? DEFAULT_SKEW_MS)) throw refuse('DPoP proof "iat" is in the future')
  if (iatMs < nowMs - (options.maxAgeMs ?? DEFAULT_MAX_AGE_MS)) throw refuse('DPoP proof is too old')
  if (request.accessToken !== undefined) {
    const ath = payload.ath
    if (typeof ath !== 'string' || !equalConstantTime(ath, accessTokenHash(request.accessToken))) {
      throw refuse('DPoP proof "ath" does not match the access token')
    }
  }
  if (request.nonce !== undefined) {
    const nonce = payload.nonce
    const fresh =
      typeof nonce === 'string' && (typeof request.nonce === 'string' ? equalConstantTime(nonce, request.nonce) : request.nonce(nonce))
    if (!fresh) {
      throw new RelayError('DPOP_NONCE_REQUIRED', { detail: 'a fresh DPoP nonce is required' })
    }
  }
  return { jkt: verdict === null ? await calculateJwkThumbprint(jwk, 'sha256') : verdict.jkt, jti, iat }
}
