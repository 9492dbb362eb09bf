import type { AccountRecord } from '../core/accounts/records.ts'
import type { ReplaceOutcome } from './replace-outcome.ts'

/** Outcome of {@link AccountStore.create}: `exists` when the id or the username is taken. */
export type AccountCreateOutcome = 'ok' | 'exists'

/** Accounts. Usernames are unique under `usernameKey` (case-insensitive). Accounts are never deleted. */
export interface AccountStore {
  /** Atomically inserts a new account unless its id or username (any case) exists. */
  create(account: AccountRecord): Promise<AccountCreateOutcome>
  /** The account, or null. */
  get(id: string): Promise<AccountRecord | null>
  /** The account whose username equals `username` under `usernameKey`, or null. */
  findByUsername(username: string): Promise<AccountRecord | null>
  /**
   * Compare-and-swap: stores `next` only if the stored `version` equals `expectedVersion`. `next` comes
   * from `reviseAccount`; changing `id` or `username` is a bug and throws.
   */
  update(id: string, expectedVersion: number, next: AccountRecord): Promise<ReplaceOutcome>
}
