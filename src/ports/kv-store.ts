import type { ReplaceOutcome } from './replace-outcome.ts'

/**
 * Small short-lived JSON values (UIA sessions, lockout marks). A value past its TTL is gone for every
 * method. `replaceIfMatch` compares the whole stored text, so it is a compare-and-swap on the value.
 */
export interface KvStore {
  /** Stores `value` under `key` for `ttlMs`, replacing whatever was there. */
  put(key: string, value: string, ttlMs: number): Promise<void>
  /** The live value, or null. */
  get(key: string): Promise<string | null>
  /**
   * Stores `next` only if the stored value still equals `expected`. With `ttlMs` the entry then expires
   * `ttlMs` from now (in the same atomic step); without it, the expiry is kept.
   */
  replaceIfMatch(key: string, expected: string, next: string, ttlMs?: number): Promise<ReplaceOutcome>
  /** Atomically reads and deletes: of many concurrent callers, at most one gets the value. */
  takeOnce(key: string): Promise<string | null>
}
