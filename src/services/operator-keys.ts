/**
 * Operator actions on the channel-ticket signing keys (`qrelay keys …`, `/v1/admin/keys`): list them,
 * rotate (a new key signs; the old one stays published at `/oauth2/jwks` so the tickets it signed keep
 * verifying), and retire a rotated-out key (it leaves the JWKS at once). Every change is written to the
 * key store first, then the keyring of this process reloads it; other processes reload within their
 * `reloadIntervalMs` (`SigningKeys`). Keys from configuration (`QRELAY_TICKET_SIGNING_JWKS`) cannot be
 * changed here: the store refuses with `FORBIDDEN`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7517 (JWK Set)
 */
import { rotateKeySet, type SigningKeyRecord, type SigningKeySet } from '../core/crypto/signing-key-set.ts'
import { RelayError } from '../core/errors.ts'
import type { Clock, KeyStore, Random } from '../ports.ts'
import type { SigningKeys } from './signing-keys.ts'

/** What an operator sees of one key (never key material). */
export interface SigningKeyInfo {
  kid: string
  alg: string
  /** `active` signs; `published` verifies only (rotated out); `expired` is past its publication time. */
  state: 'active' | 'published' | 'expired'
  createdAtMs: number
  retiredAtMs?: number
  /** When a rotated-out key leaves the JWKS by itself (unless retired before); absent for operator keys. */
  publishedUntilMs?: number
}

/** The operator's key actions. */
export interface OperatorKeys {
  /** Where the keys live (`file`, `config`, `durable-object`, `memory`). */
  readonly storeKind: KeyStore['kind']
  /** Every stored key, the active one first. */
  list(): Promise<SigningKeyInfo[]>
  /** Makes a new active key; the old one stays published. */
  rotate(): Promise<{ active: SigningKeyInfo; previous: SigningKeyInfo }>
  /** Removes a rotated-out key from the JWKS. Errors: NOT_FOUND (no such kid), FORBIDDEN (the active key). */
  retire(kid: string): Promise<SigningKeyInfo>
}

const loadSet = async (store: KeyStore): Promise<SigningKeySet> => {
  const set = await store.load()
  if (set === null) throw new RelayError('NOT_FOUND', { detail: 'no signing keys yet: the server makes the first at its first start' })
  return set
}

/**
 * Builds the service on `store`; `keys` is this process's keyring, reloaded after each change.
 *
 * @example
 * const keys = operatorKeys({ store: signingKeys.store, keys: signingKeys, clock, random, retiredKeyTtlMs })
 * await keys.rotate()
 */
export const operatorKeys = (deps: {
  store: KeyStore
  keys?: SigningKeys
  clock: Clock
  random: Random
  retiredKeyTtlMs: number
}): OperatorKeys => {
  const { store, clock, random, retiredKeyTtlMs } = deps
  const infoOf = (key: SigningKeyRecord, index: number): SigningKeyInfo => {
    if (index === 0) return { kid: key.kid, alg: key.alg, state: 'active', createdAtMs: key.createdAtMs }
    if (key.retiredAtMs === undefined) return { kid: key.kid, alg: key.alg, state: 'published', createdAtMs: key.createdAtMs }
    const publishedUntilMs = key.retiredAtMs + retiredKeyTtlMs
    const state = clock.now() < publishedUntilMs ? 'published' : 'expired'
    return { kid: key.kid, alg: key.alg, state, createdAtMs: key.createdAtMs, retiredAtMs: key.retiredAtMs, publishedUntilMs }
  }
  const saved = async (next: SigningKeySet): Promise<void> => {
    await store.save(next)
    await deps.keys?.reload()
  }
  return {
    storeKind: store.kind,
    list: async () => (await loadSet(store)).keys.map(infoOf),
    async rotate() {
      const set = await loadSet(store)
      const now = clock.now()
      const next = rotateKeySet(set, random, now, retiredKeyTtlMs)
      await saved(next)
      const before = set.keys[0] as SigningKeyRecord
      return { active: infoOf(next.keys[0] as SigningKeyRecord, 0), previous: infoOf({ ...before, retiredAtMs: now }, 1) }
    },
    async retire(kid) {
      const set = await loadSet(store)
      const index = set.keys.findIndex((key) => key.kid === kid)
      if (index < 0) throw new RelayError('NOT_FOUND', { detail: `no signing key ${kid}` })
      if (index === 0) throw new RelayError('FORBIDDEN', { detail: `${kid} is the active key: rotate first, then retire it` })
      const retired = infoOf(set.keys[index] as SigningKeyRecord, index)
      await saved({ keys: set.keys.filter((key) => key.kid !== kid) })
      return retired
    },
  }
}
