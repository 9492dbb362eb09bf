/**
 * The security state of an account over a {@link SqlExecutor} (Node file and account object alike):
 * the last-authenticated mark of each device and the account's security-event feed. The feed's rules
 * are those of every durable adapter (`../security-feed.ts`). Synchronous; the caller wraps
 * {@link appendEvent} in a transaction.
 */
import type { SecurityEvent, SecurityFeedBounds, StoredSecurityEvent } from '../../../ports.ts'
import { nextEventId, storedEvent } from '../security-feed.ts'
import type { AccountSql } from './account-sql.ts'
import { fromSecurityEvent, toSecurityEvent, type SecurityEventRow } from './rows.ts'

/** Records a proof on an existing device unless a later one is stored; false without the device. */
export const markAuthenticated = (tables: AccountSql, accountId: string, deviceId: string, atMs: number): boolean => {
  if (!tables.hasDevice(accountId, deviceId)) return false
  tables.sql.run(tables.owned.markUpsert(accountId, deviceId, atMs))
  return true
}

/** The device's mark, or null. */
export const lastAuthenticated = (tables: AccountSql, accountId: string, deviceId: string): number | null => {
  const row = tables.sql.get<{ at_ms: number }>(tables.owned.mark(accountId, deviceId))
  return row === undefined ? null : Number(row.at_ms)
}

/** Appends an event, drops the expired ones and keeps the newest `maxEvents`; null without the account. */
export const appendEvent = (
  tables: AccountSql,
  accountId: string,
  event: SecurityEvent,
  bounds: SecurityFeedBounds,
  nowMs: number,
): StoredSecurityEvent | null => {
  if (tables.head(accountId) === null) return null
  const { sql, owned } = tables
  const last = sql.get<{ id: number | null }>(owned.lastEventId(accountId))?.id ?? 0
  const added = storedEvent(nextEventId(Number(last), nowMs), event)
  sql.run(owned.eventsExpire(accountId, nowMs))
  sql.run(owned.eventInsert(accountId, fromSecurityEvent(added), nowMs + bounds.retentionMs))
  sql.run(owned.eventsTrim(accountId, Math.max(1, bounds.maxEvents)))
  return added
}

/** Unexpired events after `since`, oldest first, at most `limit`. */
export const readEvents = (tables: AccountSql, accountId: string, since: number, limit: number, nowMs: number): StoredSecurityEvent[] =>
  tables.sql.all<SecurityEventRow>(tables.owned.events(accountId, since, nowMs, Math.max(0, limit))).map(toSecurityEvent)
