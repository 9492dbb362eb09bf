/**
 * An account update with its sign-out and feed event (`AccountStore.updateAndSignOut`) over a
 * {@link AccountSql} (Node file and account object alike), inside the caller's transaction: a
 * password change or a disable lands with every other device signed out and its event, or not at all.
 */
import { countedEvent } from '../../../core/accounts/counted-event.ts'
import type { AccountRecord } from '../../../core/accounts/records.ts'
import type { AccountUpdateEffects, AccountUpdateResult } from '../../../ports.ts'
import type { AccountSql } from './account-sql.ts'
import { appendEvent } from './security-sql.ts'

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
  const event =
    append === undefined
      ? null
      : appendEvent(tables, accountId, countedEvent(append.event, append.countAs, signedOut), append.bounds, nowMs)
  return { outcome, signedOut, event }
}
