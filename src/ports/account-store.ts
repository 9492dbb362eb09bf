import type { AccountRecord } from '../core/accounts/records.ts'
import type { ReplaceOutcome } from './replace-outcome.ts'

/** Outcome of {@link AccountStore.create}: `exists` when the id or the username is taken. */
export type AccountCreateOutcome = 'ok' | 'exists'

/** One page of {@link AccountStore.list}. */
export interface AccountPage {
  accounts: AccountRecord[]
  /** The cursor of the next page, or null after the last one. */
  next: string | null
}

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
  /**
   * Accounts in `usernameKey` order, those after the cursor `after` (null: from the first), at most
   * `limit` of them. For operators (`GET /v1/admin/users`, `qrelay user list`); requests never list.
   * An account created while paging appears on a later page when its key sorts after the cursor.
   */
  list(after: string | null, limit: number): Promise<AccountPage>
}
