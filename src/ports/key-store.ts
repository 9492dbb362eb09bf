import type { SigningKeySet } from '../core/crypto/signing-key-set.ts'

/** Persistence of the channel-ticket signing keys ({@link SigningKeySet}); never prints key material. */
export interface KeyStore {
  readonly kind: 'memory' | 'file' | 'config' | 'durable-object'
  /** The stored set, or null when none was saved yet. */
  load(): Promise<SigningKeySet | null>
  /**
   * Stores `set` unless a set is already stored, atomically; returns the stored set (the caller's, or
   * the one that was there first: two processes starting together end up with the same keys).
   */
  saveIfAbsent(set: SigningKeySet): Promise<SigningKeySet>
  /** Replaces the stored set atomically (readers see the old set or the new one, never a mix). */
  save(set: SigningKeySet): Promise<void>
}
