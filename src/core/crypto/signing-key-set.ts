/**
 * The set of signing keys behind the JWKS, as pure data and transitions: the first key signs, the
 * others are still published so that what they signed keeps verifying. Rotation retires the current
 * key (dropping its private part) and keeps it published for a while; `publishedKeys(set, now)` says
 * which keys a JWKS shows at `now`.
 *
 * Two serialized forms: the operator's JWK set (`{"keys":[…]}`, first key private and current) and the
 * key file the embedded default writes (`{"version":1,"keys":[records]}`).
 */
import { fail, ok, type Result } from '../errors.ts'
import type { Random } from '../../ports.ts'
import { algOf, keyIdOf, newEd25519Jwk, parseSigningJwk, publicPartOf, type SigningAlg, type SigningJwk } from './signing-jwk.ts'

/** One key of the set. */
export interface SigningKeyRecord {
  kid: string
  alg: SigningAlg
  /** Private (with `d`) for the current key; retired keys keep only their public part. */
  jwk: SigningJwk
  createdAtMs: number
  /** When it stopped signing. Absent on the current key and on operator keys (published until removed). */
  retiredAtMs?: number
}

/** Signing keys, current first. */
export interface SigningKeySet {
  keys: readonly SigningKeyRecord[]
}

/** Most keys a set may hold (the JWKS is fetched by every verifier). */
export const MAX_KEYS = 16

const checkSet = (keys: SigningKeyRecord[]): Result<SigningKeySet, 'INVALID_PARAM'> => {
  if (keys.length === 0) return fail('INVALID_PARAM', 'the key set is empty')
  if (keys.length > MAX_KEYS) return fail('INVALID_PARAM', `the key set holds more than ${MAX_KEYS} keys`)
  const first = keys[0] as SigningKeyRecord
  if (first.jwk.d === undefined) return fail('INVALID_PARAM', 'the first (current) key must be a private key')
  if (first.retiredAtMs !== undefined) return fail('INVALID_PARAM', 'the first (current) key must not be retired')
  if (new Set(keys.map((k) => k.kid)).size !== keys.length) return fail('INVALID_PARAM', 'two keys share a kid')
  return ok({ keys })
}

const parseJson = (text: string, what: string): Result<Record<string, unknown>, 'INVALID_PARAM'> => {
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return ok(value as Record<string, unknown>)
  } catch {
    // Safe: JSON.parse throws only a SyntaxError on bad text, reported below without echoing it (it holds private keys).
  }
  return fail('INVALID_PARAM', `${what} is not a JSON object`)
}

/**
 * Parses the operator's JWK set (`{"keys":[…]}`): the first key must be private and signs; the others
 * (private or public) stay published. Missing `kid`s are derived with {@link keyIdOf}.
 * Errors (INVALID_PARAM): the detail names the key index and problem, never key material.
 * @example
 * const set = parseSigningJwks(env.QRELAY_TICKET_SIGNING_JWKS)
 */
export const parseSigningJwks = (text: string): Result<SigningKeySet, 'INVALID_PARAM'> => {
  const json = parseJson(text, 'the JWK set')
  if (!json.ok) return json
  if (!Array.isArray(json.value.keys)) return fail('INVALID_PARAM', 'the JWK set has no "keys" array')
  const keys: SigningKeyRecord[] = []
  for (const [i, entry] of (json.value.keys as unknown[]).entries()) {
    const parsed = parseSigningJwk(entry)
    if (!parsed.ok) return fail('INVALID_PARAM', `key ${i}: ${parsed.detail}`)
    const { jwk, kid = keyIdOf(jwk) } = parsed.value
    keys.push({ kid, alg: algOf(jwk), jwk, createdAtMs: 0 })
  }
  return checkSet(keys)
}

/**
 * Parses a key file written by {@link serializeKeySet}.
 * Errors (INVALID_PARAM): not the format, or a key that fails {@link parseSigningJwk}.
 */
export const parseKeySetFile = (text: string): Result<SigningKeySet, 'INVALID_PARAM'> => {
  const json = parseJson(text, 'the key file')
  if (!json.ok) return json
  if (json.value.version !== 1 || !Array.isArray(json.value.keys)) return fail('INVALID_PARAM', 'the key file is not version 1')
  const keys: SigningKeyRecord[] = []
  for (const [i, entry] of (json.value.keys as unknown[]).entries()) {
    const r = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>
    const parsed = parseSigningJwk(r.jwk)
    if (!parsed.ok) return fail('INVALID_PARAM', `key ${i}: ${parsed.detail}`)
    const { jwk } = parsed.value
    const times = [r.createdAtMs, r.retiredAtMs ?? 0]
    if (typeof r.kid !== 'string' || r.alg !== algOf(jwk) || !times.every((t) => Number.isSafeInteger(t) && (t as number) >= 0)) {
      return fail('INVALID_PARAM', `key ${i}: kid, alg, createdAtMs or retiredAtMs missing or wrong`)
    }
    const record: SigningKeyRecord = { kid: r.kid, alg: algOf(jwk), jwk, createdAtMs: r.createdAtMs as number }
    if (r.retiredAtMs !== undefined) record.retiredAtMs = r.retiredAtMs as number
    keys.push(record)
  }
  return checkSet(keys)
}

/** The key file text for `set` (holds private keys: write it with mode 0600). */
export const serializeKeySet = (set: SigningKeySet): string => `${JSON.stringify({ version: 1, keys: set.keys }, null, 2)}\n`

const newRecord = (random: Random, nowMs: number): SigningKeyRecord => {
  const jwk = newEd25519Jwk(random)
  return { kid: keyIdOf(jwk), alg: 'EdDSA', jwk, createdAtMs: nowMs }
}

/** A set holding one new Ed25519 key. */
export const newKeySet = (random: Random, nowMs: number): SigningKeySet => ({ keys: [newRecord(random, nowMs)] })

/** True while `key` belongs in the JWKS at `nowMs`. */
const isPublished = (key: SigningKeyRecord, nowMs: number, retiredKeyTtlMs: number): boolean =>
  key.retiredAtMs === undefined || nowMs < key.retiredAtMs + retiredKeyTtlMs

/**
 * The set after a rotation at `nowMs`: a new Ed25519 key signs; the old current key is retired (its
 * private part dropped) and stays published for `retiredKeyTtlMs`; keys retired longer ago are removed.
 *
 * @example
 * const next = rotateKeySet(set, random, clock.now(), 86_400_000)
 */
export const rotateKeySet = (set: SigningKeySet, random: Random, nowMs: number, retiredKeyTtlMs: number): SigningKeySet => {
  const [current, ...older] = set.keys as [SigningKeyRecord, ...SigningKeyRecord[]]
  const retired: SigningKeyRecord = { ...current, jwk: publicPartOf(current.jwk), retiredAtMs: nowMs }
  const kept = [retired, ...older].filter((k) => isPublished(k, nowMs, retiredKeyTtlMs))
  return { keys: [newRecord(random, nowMs), ...kept].slice(0, MAX_KEYS) }
}

/** The keys a JWKS shows at `nowMs`: the current one and every key not retired for `retiredKeyTtlMs` yet. */
export const publishedKeys = (set: SigningKeySet, nowMs: number, retiredKeyTtlMs: number): SigningKeyRecord[] =>
  set.keys.filter((k) => isPublished(k, nowMs, retiredKeyTtlMs))
