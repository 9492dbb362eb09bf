/**
 * The security state of one account object (`./account-object.ts`): the last-authenticated mark of
 * each device and the account's security-event feed, in the object's SQLite storage. Plain functions
 * over the object's synchronous `exec`, so each intent stays one uninterrupted step of the object.
 * The rules are those of every durable adapter (`src/adapters/durable/security-feed.ts`).
 */
import {
  fromSecurityEvent,
  SECURITY_EVENT_COLUMNS,
  toSecurityEvent,
  type SecurityEventRow,
} from '../adapters/durable/sqlite-rows.ts'
import { nextEventId, storedEvent } from '../adapters/durable/security-feed.ts'
import type { SecurityEvent, SecurityFeedBounds, StoredSecurityEvent } from '../ports.ts'

/** Runs one statement and returns its rows. */
export type Exec = <Row = Record<string, unknown>>(query: string, ...bindings: unknown[]) => Row[]

/** Tables of the security state; `IF NOT EXISTS`, so objects made before them get them at start. */
export const SECURITY_SCHEMA = `
CREATE TABLE IF NOT EXISTS auth_marks (device_id TEXT PRIMARY KEY, at_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS security_events (
  id INTEGER PRIMARY KEY, type TEXT NOT NULL, at_ms INTEGER NOT NULL, device_id TEXT, details TEXT,
  expires_at_ms INTEGER NOT NULL);`

/** Records a proof on an existing device unless a later one is stored. */
export const markAuthenticated = (exec: Exec, deviceId: string, atMs: number): void => {
  exec(
    'INSERT INTO auth_marks (device_id, at_ms) VALUES (?, ?) ON CONFLICT (device_id) DO UPDATE SET at_ms = max(at_ms, excluded.at_ms)',
    deviceId,
    atMs,
  )
}

/** The device's mark, or null. */
export const lastAuthenticated = (exec: Exec, deviceId: string): number | null => {
  const row = exec<{ at_ms: number }>('SELECT at_ms FROM auth_marks WHERE device_id = ?', deviceId)[0]
  return row === undefined ? null : Number(row.at_ms)
}

/** Appends an event, drops the expired ones and keeps the newest `maxEvents`. */
export const appendEvent = (exec: Exec, event: SecurityEvent, bounds: SecurityFeedBounds, nowMs: number): StoredSecurityEvent => {
  const last = exec<{ id: number | null }>('SELECT max(id) AS id FROM security_events')[0]?.id ?? 0
  const added = storedEvent(nextEventId(Number(last), nowMs), event)
  const row = fromSecurityEvent(added)
  exec('DELETE FROM security_events WHERE expires_at_ms <= ?', nowMs)
  exec(
    `INSERT INTO security_events (${SECURITY_EVENT_COLUMNS}, expires_at_ms) VALUES (?, ?, ?, ?, ?, ?)`,
    row.id,
    row.type,
    row.at_ms,
    row.device_id,
    row.details,
    nowMs + bounds.retentionMs,
  )
  exec(
    'DELETE FROM security_events WHERE id NOT IN (SELECT id FROM security_events ORDER BY id DESC LIMIT ?)',
    Math.max(1, bounds.maxEvents),
  )
  return added
}

/** Unexpired events after `since`, oldest first, at most `limit`. */
export const readEvents = (exec: Exec, since: number, limit: number, nowMs: number): StoredSecurityEvent[] =>
  exec<SecurityEventRow>(
    `SELECT ${SECURITY_EVENT_COLUMNS} FROM security_events WHERE id > ? AND expires_at_ms > ? ORDER BY id LIMIT ?`,
    since,
    nowMs,
    Math.max(0, limit),
  ).map(toSecurityEvent)
