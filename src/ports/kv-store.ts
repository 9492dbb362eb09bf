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
  /** Stores `next` (keeping the expiry) only if the stored value still equals `expected`. */
  replaceIfMatch(key: string, expected: string, next: string): Promise<ReplaceOutcome>
  /** Atomically reads and deletes: of many concurrent callers, at most one gets the value. */
  takeOnce(key: string): Promise<string | null>
}
