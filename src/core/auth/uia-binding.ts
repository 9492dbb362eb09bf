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

/**
 * JSON with object keys sorted at every depth: equal values give equal text whatever the key order.
 * Written with its own stack, not by recursion, so no nesting can overflow the call stack (request
 * bodies are also refused past `MAX_JSON_DEPTH` before they get here).
 */
export const canonicalJson = (root: unknown): string => {
  const out: string[] = []
  // Work left to do, last first: a value to write, or literal text (brackets, commas, keys).
  const todo: Array<{ value: unknown } | string> = [{ value: root }]
  for (let item = todo.pop(); item !== undefined; item = todo.pop()) {
    if (typeof item === 'string') {
      out.push(item)
      continue
    }
    const { value } = item
    const parts: Array<{ value: unknown } | string> = []
    if (Array.isArray(value)) {
      out.push('[')
      for (let i = 0; i < value.length; i++) {
        if (i > 0) parts.push(',')
        parts.push({ value: value[i] ?? null })
      }
      parts.push(']')
    } else if (value !== null && typeof value === 'object') {
      out.push('{')
      const record = value as Record<string, unknown>
      const keys = Object.keys(record)
        .sort()
        .filter((key) => record[key] !== undefined)
      keys.forEach((key, i) => parts.push(`${i > 0 ? ',' : ''}${JSON.stringify(key)}:`, { value: record[key] }))
      parts.push('}')
    } else {
      out.push(JSON.stringify(value) ?? 'null')
    }
    for (let i = parts.length - 1; i >= 0; i--) todo.push(parts[i] as { value: unknown } | string)
  }
  return out.join('')
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
