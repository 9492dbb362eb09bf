/**
 * The server's signing keyring: which key signs now, which public keys the JWKS publishes, and
 * rotation. Key material comes from a {@link KeyStore} (operator configuration, the data-directory file,
 * or memory); on first start with an empty store an Ed25519 key is generated and saved.
 *
 * Private keys are imported as non-extractable CryptoKeys (WebCrypto: Node 20 and Workers both do
 * Ed25519); the keyring prints only key ids.
 *
 * @see SECURITY.md (the BCP mitigations: request binding, unique values); docs/qr-login.md
 */
import { importJWK } from 'jose'
import { publicJwkOf, type PublicJwk, type SigningAlg } from '../core/crypto/signing-jwk.ts'
import { newKeySet, publishedKeys, rotateKeySet, type SigningKeyRecord, type SigningKeySet } from '../core/crypto/signing-key-set.ts'
import type { KeyStore } from '../ports.ts'
import type { TicketPlatform } from './channel-ticket-platform.ts'
import type { Clock, Random } from '../ports.ts'

/** What the keyring needs. */
export interface SigningKeysOptions {
  store: KeyStore
  clock: Clock
  random: Random
  /** How long a rotated-out key stays in the JWKS (≥ the longest ticket lifetime plus JWKS cache time). */
  retiredKeyTtlMs: number
  /** How often the store is read again, so another process's rotation (the CLI's) is seen; default 60 s. */
  reloadIntervalMs?: number
  /** The platform's own ticket signatures (Node's `ticketPlatform(nodeJwsSignatures())`); default: jose on Web Crypto. */
  platform?: TicketPlatform
  /** Told when a background reload failed (the keys in memory stay in use); the runtimes log it. */
  onReloadFailed?: (error: unknown) => void
}

/** The key that signs now. */
export interface CurrentSigningKey {
  kid: string
  alg: SigningAlg
  /** Non-extractable: cannot be exported or printed. */
  privateKey: CryptoKey
}

/** A JWK set, as served at the JWKS URL. */
export interface PublicJwks {
  keys: PublicJwk[]
}

const importCurrent = async (set: SigningKeySet): Promise<CurrentSigningKey> => {
  const { kid, alg, jwk } = set.keys[0] as SigningKeyRecord
  const privateKey = (await importJWK({ ...jwk }, alg, { extractable: false })) as CryptoKey
  return { kid, alg, privateKey }
}

/** True when `records` are the keys named by `kids`, in that order. */
const sameKids = (kids: readonly string[], records: readonly SigningKeyRecord[]): boolean =>
  kids.length === records.length && records.every((r, i) => r.kid === kids[i])

/** The keyring; build it with {@link openSigningKeys}. */
export class SigningKeys {
  #set: SigningKeySet
  #current: CurrentSigningKey
  readonly #options: SigningKeysOptions
  #rotating: Promise<void> = Promise.resolve()
  #loadedAtMs: number
  /** The last JWKS answered by `publicJwks`, and what it was made from. */
  #published: { set: SigningKeySet; kids: string[]; jwks: PublicJwks } | undefined

  private constructor(set: SigningKeySet, current: CurrentSigningKey, options: SigningKeysOptions) {
    this.#set = set
    this.#current = current
    this.#options = options
    this.#loadedAtMs = options.clock.now()
  }

  /** Reads the stored set again (another process, e.g. `qrelay keys rotate`, may have changed it). */
  async reload(): Promise<void> {
    this.#loadedAtMs = this.#options.clock.now()
    const set = await this.#options.store.load()
    if (set === null) return
    const current = set.keys[0]?.kid === this.#current.kid ? this.#current : await importCurrent(set)
    this.#set = set
    this.#current = current
  }

  /** Starts a reload in the background once the last one is `reloadIntervalMs` old; callers keep the keys they have. */
  #reloadWhenStale(): void {
    if (this.#options.clock.now() - this.#loadedAtMs < (this.#options.reloadIntervalMs ?? 60_000)) return
    // A failed reload keeps the keys in memory, and the next stale read tries again: said, not thrown.
    void this.reload().catch((error: unknown) => this.#options.onReloadFailed?.(error))
  }

  /** Loads the keys from `options.store`, generating and saving a first key when it is empty. */
  static async open(options: SigningKeysOptions): Promise<SigningKeys> {
    const { store, clock, random } = options
    const set = (await store.load()) ?? (await store.saveIfAbsent(newKeySet(random, clock.now())))
    return new SigningKeys(set, await importCurrent(set), options)
  }

  /** The platform's own signatures of these keys, when it has them (tickets are signed and checked with them). */
  get platform(): TicketPlatform | undefined {
    return this.#options.platform
  }

  /** Where the keys are kept (the operator's key actions write there). */
  get store(): KeyStore {
    return this.#options.store
  }

  /** The key to sign with. */
  current(): CurrentSigningKey {
    this.#reloadWhenStale()
    return this.#current
  }

  /**
   * The JWKS to publish now: the current key and the retired keys still inside their publication time.
   * Frozen, and the same object for as long as the same keys are published.
   */
  publicJwks(): PublicJwks {
    const { clock, retiredKeyTtlMs } = this.#options
    this.#reloadWhenStale()
    const published = publishedKeys(this.#set, clock.now(), retiredKeyTtlMs)
    const last = this.#published
    // The same object while the same keys are published: verifiers keep their imported keys by it.
    if (last !== undefined && last.set === this.#set && sameKids(last.kids, published)) return last.jwks
    const jwks: PublicJwks = Object.freeze({
      keys: Object.freeze(published.map((k) => Object.freeze(publicJwkOf(k.jwk, k.kid)))) as PublicJwk[],
    })
    this.#published = { set: this.#set, kids: published.map((k) => k.kid), jwks }
    return jwks
  }

  /**
   * Makes a new current key and retires the old one (still published for `retiredKeyTtlMs`). The store
   * is written first, so a failed save (e.g. keys from configuration: RelayError FORBIDDEN) changes nothing.
   */
  rotate(): Promise<void> {
    const run = async (): Promise<void> => {
      const { store, clock, random, retiredKeyTtlMs } = this.#options
      const next = rotateKeySet(this.#set, random, clock.now(), retiredKeyTtlMs)
      const current = await importCurrent(next)
      await store.save(next)
      this.#set = next
      this.#current = current
      this.#loadedAtMs = clock.now()
    }
    // Serialized: two overlapping rotations must not both retire the same key.
    const result = this.#rotating.then(run)
    // Safe to drop: the caller gets the rejection through `result`; this chain only orders the rotations.
    this.#rotating = result.catch(() => {})
    return result
  }

  /** Key ids only. */
  toJSON(): { store: string; current: string; keys: string[] } {
    return { store: this.#options.store.kind, current: this.#current.kid, keys: this.#set.keys.map((k) => k.kid) }
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `SigningKeys ${JSON.stringify(this.toJSON())}`
  }
}

/**
 * Opens the keyring.
 *
 * @example
 * const keys = await openSigningKeys({ store: fileKeyStore(path), clock, random, retiredKeyTtlMs: 86_400_000 })
 * app.get('/oauth2/jwks', (c) => c.json(keys.publicJwks()))
 */
export const openSigningKeys = (options: SigningKeysOptions): Promise<SigningKeys> => SigningKeys.open(options)
