/**
 * Where the keyring that seals second-factor secrets at rest (`src/core/crypto/sealed-secret.ts`)
 * comes from: the `QRELAY_SECRETS_KEYS` setting when set; otherwise a key generated on first start and
 * kept where the channel-ticket keys are kept (a 0600 file in the data directory on Node, the key
 * Durable Object on Workers), so every start, and every isolate, opens what the others sealed.
 */
import { formatSealingKeyring, newSealingKeyring, parseSealingKeyring, type SealingKeyring } from '../../core/crypto/sealed-secret.ts'
import type { Random } from '../../ports.ts'
import type { ObjectNamespace } from '../storage/durable-object.ts'
import type { KeyObjectApi } from './durable-object-keystore.ts'

/** Where a generated keyring is kept, as keyring text. Never logs it. */
export interface SealingKeyStore {
  /** The stored text, or null. */
  load(): Promise<string | null>
  /** Stores `text` unless some text is stored; returns the stored text (the first writer's). */
  saveIfAbsent(text: string): Promise<string>
}

/** Id of the key generated when none is configured. */
export const GENERATED_SEALING_KEY_ID = 'k1'

const parse = (text: string, where: string): SealingKeyring => {
  const ring = parseSealingKeyring(text.trim())
  // The detail names the problem, never key material.
  if (!ring.ok) throw new Error(`${where}: ${ring.detail ?? 'not a sealing keyring'}`)
  return ring.value
}

/**
 * The keyring: the configured one, else the stored one, else a new one stored first.
 *
 * @example
 * const ring = await openSealingKeyring({ configured: config.auth.secretsKeys, store: fileSealingKeyStore(dir), random })
 */
export const openSealingKeyring = async (deps: {
  configured: string | undefined
  store: SealingKeyStore
  random: Random
}): Promise<SealingKeyring> => {
  if (deps.configured !== undefined) return parse(deps.configured, 'QRELAY_SECRETS_KEYS')
  const stored = await deps.store.load()
  if (stored !== null) return parse(stored, 'stored secrets keys')
  const fresh = formatSealingKeyring(newSealingKeyring(deps.random, GENERATED_SEALING_KEY_ID))
  return parse(await deps.store.saveIfAbsent(fresh), 'stored secrets keys')
}

/**
 * The Workers store: the key object named `name` (default `secrets-keys`) of the key namespace, the
 * same class that holds the signing keys (`src/runtime/key-object.ts`), under its own name.
 *
 * @example
 * const store = durableObjectSealingKeyStore(env.RELAY_KEYS)
 */
export const durableObjectSealingKeyStore = (namespace: ObjectNamespace<KeyObjectApi>, name = 'secrets-keys'): SealingKeyStore => {
  const object = (): KeyObjectApi => namespace.getByName(name)
  return { load: () => object().load(), saveIfAbsent: (text) => object().saveIfAbsent(text) }
}

/** A store in memory (tests, and the CLI on a memory store). */
export const memorySealingKeyStore = (): SealingKeyStore => {
  let text: string | null = null
  return {
    load: async () => text,
    async saveIfAbsent(next) {
      text ??= next
      return text
    },
  }
}
