/**
 * Where the signing keys live: the two runtime-neutral adapters of the `KeyStore` port (src/ports.ts),
 * memory (tests, and Workers only with a single isolate in mind) and the operator's JWK set
 * from configuration (read-only: rotate by editing the configuration). The file adapter is Node only,
 * in ./file-keystore.ts.
 */
import { RelayError } from '../../core/errors.ts'
import { parseSigningJwks, type SigningKeySet } from '../../core/crypto/signing-key-set.ts'
import type { KeyStore } from '../../ports.ts'

/**
 * A keystore in memory. Keys die with the process, so verifiers holding a ticket signed before a restart
 * will not find its key: for tests and single-process development.
 *
 * @example
 * const keys = await openSigningKeys({ store: memoryKeyStore(), clock, random, retiredKeyTtlMs })
 */
export const memoryKeyStore = (initial: SigningKeySet | null = null): KeyStore => {
  let stored = initial
  return {
    kind: 'memory',
    load: async () => stored,
    async saveIfAbsent(set) {
      stored ??= set
      return stored
    },
    async save(set) {
      stored = set
    },
    toJSON: () => ({ kind: 'memory', keys: stored?.keys.map((k) => k.kid) ?? [] }),
  } as KeyStore
}

/**
 * A read-only keystore over the operator's JWK set (the first key signs). The text is validated now;
 * the RelayError (INVALID_PARAM) names the problem but never echoes key material.
 *
 * @example
 * const store = configKeyStore(env.QRELAY_TICKET_SIGNING_JWKS)
 */
export const configKeyStore = (jwksJson: string): KeyStore => {
  const parsed = parseSigningJwks(jwksJson)
  if (!parsed.ok) throw new RelayError('INVALID_PARAM', { detail: `signing JWK set: ${parsed.detail}` })
  const set = parsed.value
  const readOnly = (): never => {
    throw new RelayError('FORBIDDEN', { detail: 'signing keys come from configuration: rotate them there' })
  }
  return {
    kind: 'config',
    load: async () => set,
    saveIfAbsent: async () => readOnly(),
    save: async () => readOnly(),
    toJSON: () => ({ kind: 'config', keys: set.keys.map((k) => k.kid) }),
  } as KeyStore
}
