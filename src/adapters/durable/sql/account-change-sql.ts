/**
 * The steps that sign devices out with their feed event, over a {@link AccountSql} (Node file and
 * account object alike), inside the caller's transaction: an account update with its sign-out
 * (`AccountStore.updateAndSignOut`: a password change, a disable) and the sign-out of chosen devices
 * (`DeviceStore.revokeMany`: a "not me" report, the operator's sign-out) land with their event, or
 * not at all.
 */
import { countedEvent } from '../../../core/accounts/counted-event.ts'
import type { AccountRecord } from '../../../core/accounts/records.ts'
import type { AccountUpdateEffects, AccountUpdateResult, CountedFeedAppend, DevicesSignedOut, StoredSecurityEvent } from '../../../ports.ts'
import type { AccountSql } from './account-sql.ts'
import { appendEvent } from './security-sql.ts'

const appendCounted = (
  tables: AccountSql,
  accountId: string,
  append: CountedFeedAppend | undefined,
  signedOut: number,
  nowMs: number,
): StoredSecurityEvent | null =>
  append === undefined ? null : appendEvent(tables, accountId, countedEvent(append.event, append.countAs, signedOut), append.bounds, nowMs)

/**
 * The compare-and-swap, then the sign-out and the event; `renamed` (nothing written) when `next`
 * changes the id or the username.
 *
 * @example
 * const result = sql.transaction(() => updateAndSignOut(tables, id, version, next, { signOut: { keepDeviceId } }, nowMs))
 */
export const updateAndSignOut = (
  tables: AccountSql,
  accountId: string,
  expectedVersion: number,
  next: AccountRecord,
  { signOut, append }: AccountUpdateEffects,
  nowMs: number,
): AccountUpdateResult | 'renamed' => {
  const outcome = tables.updateAccount(accountId, expectedVersion, next)
  if (outcome !== 'ok') return outcome === 'renamed' ? outcome : { outcome, signedOut: 0, event: null }
  const signedOut = signOut === undefined ? 0 : tables.revokeAllExcept(accountId, signOut.keepDeviceId, nowMs)
  return { outcome, signedOut, event: appendCounted(tables, accountId, append, signedOut, nowMs) }
}

/**
 * Signs out each of `deviceIds` of the account, then appends the event when one was signed out.
 *
 * @example
 * const result = sql.transaction(() => revokeMany(tables, accountId, [reported, ...siblings], append, nowMs))
 */
export const revokeMany = (
  tables: AccountSql,
  accountId: string,
  deviceIds: readonly string[],
  append: CountedFeedAppend | undefined,
  nowMs: number,
): DevicesSignedOut => {
  const revoked = deviceIds.filter((id) => tables.revokeDevice(accountId, id, nowMs))
  return { revoked, event: revoked.length === 0 ? null : appendCounted(tables, accountId, append, revoked.length, nowMs) }
}
