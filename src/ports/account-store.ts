import type { AccountRecord } from '../core/accounts/records.ts'
import type { CountedFeedAppend } from './device-store.ts'
import type { ReplaceOutcome } from './replace-outcome.ts'
import type { StoredSecurityEvent } from './security-state-store.ts'

/** Outcome of {@link AccountStore.create}: `exists` when the id or the username is taken. */
export type AccountCreateOutcome = 'ok' | 'exists'

/** One page of {@link AccountStore.list}. */
export interface AccountPage {
  accounts: AccountRecord[]
  /** The cursor of the next page, or null after the last one. */
  next: string | null
}

/** What {@link AccountStore.updateAndSignOut} does in the same step as the account update. */
export interface AccountUpdateEffects {
  /** Signs out every device but `keepDeviceId` (null: all), as `DeviceStore.revokeAllExcept`; absent: none. */
  signOut?: { keepDeviceId: string | null }
  /**
   * Appends the event to the account's feed (`SecurityStateStore.appendEvent`); with `countAs`, the
   * event's detail of that name is set to how many devices were signed out.
   */
  append?: CountedFeedAppend
}

/** Outcome of {@link AccountStore.updateAndSignOut}: nothing is written unless `outcome` is `ok`. */
export interface AccountUpdateResult {
  outcome: ReplaceOutcome
  /** How many devices were signed out. */
  signedOut: number
  /** The appended event with its cursor, or null (no `append`, or not `ok`). */
  event: StoredSecurityEvent | null
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
   * {@link update} with what must go with it, all or nothing in one step on the account (one commit on
   * SQLite and in the account's Durable Object, one script on the account's Redis slot): the devices
   * signed out and the feed event. A password change (MSC2457 `logout_devices`) and an account
   * disable: a crash can never leave the new password stored with the other sessions still in, or
   * without its event. On a version mismatch nothing is written.
   */
  updateAndSignOut(id: string, expectedVersion: number, next: AccountRecord, effects: AccountUpdateEffects): Promise<AccountUpdateResult>
  /**
   * Accounts in `usernameKey` order, those after the cursor `after` (null: from the first), at most
   * `limit` of them. For operators (`GET /v1/admin/users`, `qrelay user list`); requests never list.
   * An account created while paging appears on a later page when its key sorts after the cursor.
   */
  list(after: string | null, limit: number): Promise<AccountPage>
}
