/**
 * The body half of a UIA session's request binding. A client repeats the same request on every
 * round trip, changing only `auth`; the hash covers everything else, so an attacker cannot complete
 * the stages for one request (say, "change my display name") and spend them on another (say, "change
 * my password to mine").
 *
 * The hash is an HMAC under a server key: request bodies can hold new passwords, and a plain hash in
 * the ephemeral store would let whoever reads the store test guesses against it.
 *
 * @see https://spec.matrix.org/v1.16/client-server-api/#user-interactive-authentication-api
 */
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { toBase64Url } from '../crypto/secrets.ts'

const encoder = new TextEncoder()

/** JSON with object keys sorted at every depth: equal values give equal text whatever the key order. */
export const canonicalJson = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`)
    return `{${entries.join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

/**
 * HMAC-SHA-256 (base64url) of the canonical JSON of a request body without its top-level `auth`.
 *
 * @example
 * const bodyHash = requestBodyHash(await c.req.json(), serverKey)
 * startSession(random, now, ttlMs, { method: 'POST', path: '/v1/account/password', bodyHash }, flows, {})
 */
export const requestBodyHash = (body: unknown, key: Uint8Array): string => {
  let rest = body
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const { auth: _auth, ...others } = body as Record<string, unknown>
    rest = others
  }
  return toBase64Url(hmac(sha256, key, encoder.encode(canonicalJson(rest ?? null))))
}
