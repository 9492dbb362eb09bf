/**
 * DPoP proof signatures on node:crypto (the `ProofKeys` port): each proof key is imported once and
 * kept, with its RFC 7638 thumbprint, in a bounded LRU keyed by its members (the ones the thumbprint
 * hashes); a check is then one synchronous native verify instead of a Web Crypto key import, verify
 * and digest. Verdicts are those of Web Crypto, which runs the same OpenSSL code
 * (`test/unit/adapters/node-proof-keys.test.ts`).
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto'
import type { ProofKey, ProofKeys } from '../../ports.ts'

/** Keys kept by default: far more clients than poll one server at once; each entry is a few hundred bytes. */
const DEFAULT_MAX_KEYS = 4096

/** RFC 7638: the required members in lexicographic order, SHA-256, base64url. */
const thumbprintOf = (key: ProofKey): string => {
  const members = key.kty === 'EC' ? { crv: key.crv, kty: key.kty, x: key.x, y: key.y } : { crv: key.crv, kty: key.kty, x: key.x }
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url')
}

/**
 * Builds the port with room for `maxKeys` keys (the least recently used one leaves first).
 *
 * @example
 * const dpop = dpopProofs({ counters, clock, keys: nodeProofKeys() })
 */
export const nodeProofKeys = (maxKeys = DEFAULT_MAX_KEYS): ProofKeys => {
  const keys = new Map<string, { key: KeyObject; jkt: string }>()
  const imported = (proofKey: ProofKey): { key: KeyObject; jkt: string } | null => {
    const id = proofKey.kty === 'EC' ? `${proofKey.crv}:${proofKey.x}:${proofKey.y}` : `${proofKey.crv}:${proofKey.x}`
    const kept = keys.get(id)
    if (kept !== undefined) {
      keys.delete(id)
      keys.set(id, kept)
      return kept
    }
    let key: KeyObject
    try {
      key = createPublicKey({ key: proofKey, format: 'jwk' })
    } catch {
      // Not a point of the curve (or not a key at all): the portable path refuses it as before.
      return null
    }
    const entry = { key, jkt: thumbprintOf(proofKey) }
    if (keys.size >= maxKeys) keys.delete(keys.keys().next().value as string)
    keys.set(id, entry)
    return entry
  }
  return {
    verify(alg, proofKey, signingInput, signature) {
      const entry = imported(proofKey)
      if (entry === null) return null
      let valid: boolean
      try {
        const key = { key: entry.key, dsaEncoding: 'ieee-p1363' as const }
        valid = verify(alg === 'ES256' ? 'sha256' : null, Buffer.from(signingInput, 'latin1'), key, signature)
      } catch {
        // Web Crypto's verify throwing is jose's JWSSignatureVerificationFailed: the same refusal.
        valid = false
      }
      return { valid, jkt: entry.jkt }
    },
  }
}
