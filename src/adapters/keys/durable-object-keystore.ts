/**
 * The Workers keystore: the signing key set in one Durable Object (`src/runtime/key-object.ts`), so
 * every isolate of a deployment signs with, and publishes, the same keys. The object stores the text
 * of `serializeKeySet`; this file only speaks to its stub, so it type-checks and bundles anywhere.
 */
import { parseKeySetFile, serializeKeySet, type SigningKeySet } from '../../core/crypto/signing-key-set.ts'
import type { KeyStore } from '../../ports.ts'
import type { ObjectNamespace } from '../storage/durable-object.ts'

/** What the key object answers. */
export interface KeyObjectApi {
  load(): Promise<string | null>
  /** Stores `text` unless a set is stored; returns the stored text. */
  saveIfAbsent(text: string): Promise<string>
  save(text: string): Promise<void>
}

const parse = (text: string): SigningKeySet => {
  const parsed = parseKeySetFile(text)
  // The detail names the problem, never key material.
  if (!parsed.ok) throw new Error(`stored signing keys: ${parsed.detail}`)
  return parsed.value
}

/**
 * A keystore in the key object named `name` (default `signing-keys`) of `namespace`.
 *
 * @example
 * const store = durableObjectKeyStore(env.RELAY_KEYS)
 */
export const durableObjectKeyStore = (namespace: ObjectNamespace<KeyObjectApi>, name = 'signing-keys'): KeyStore => {
  const object = (): KeyObjectApi => namespace.getByName(name)
  return {
    kind: 'durable-object',
    async load() {
      const text = await object().load()
      return text === null ? null : parse(text)
    },
    saveIfAbsent: async (set) => parse(await object().saveIfAbsent(serializeKeySet(set))),
    save: (set) => object().save(serializeKeySet(set)),
    toJSON: () => ({ kind: 'durable-object', name }),
  } as KeyStore
}
