/**
 * The schema of the durable store's SQLite tables, in its two shapes.
 *
 * - The Node file (every account, one file): the ordered, append-only {@link MIGRATIONS} of
 *   `../sqlite-migrations.ts`, applied by `migrate` under `PRAGMA user_version`. That list stays in
 *   that file (the webhook outbox's steps are in it too); a new step is appended there.
 * - An account Durable Object (ONE account): {@link ACCOUNT_OBJECT_SCHEMA}. The same tables and
 *   columns, except that the object's `recovery_codes`, `auth_marks` and `security_events` have no
 *   `account_id` (everything in the object is its account's), `devices` is keyed by `id` alone, and
 *   there are no foreign keys (the cascades are explicit deletes, see `./account-sql.ts`). Objects
 *   made since their first release hold these tables: they are never renamed; a later column is added
 *   to an object that lacks it (`ACCOUNT_OBJECT_COLUMNS`).
 */
export { MIGRATIONS } from '../sqlite-migrations.ts'

/** One step of the object schema: idempotent (`IF NOT EXISTS`), so every start applies them all. */
export interface ObjectSchemaStep {
  description: string
  sql: string
}

/** The account object's schema steps, oldest first; append only. */
export const ACCOUNT_OBJECT_SCHEMA: readonly ObjectSchemaStep[] = [
  {
    description: 'account, abandoned usernames, recovery codes, devices, refresh families, access tokens',
    sql: `
CREATE TABLE IF NOT EXISTS accounts (
  id TEXT PRIMARY KEY, username TEXT NOT NULL, username_key TEXT NOT NULL, password_hash TEXT NOT NULL,
  status TEXT NOT NULL, locked_until_ms INTEGER NOT NULL, totp_secret TEXT, totp_confirmed_at_ms INTEGER,
  last_totp_step INTEGER NOT NULL DEFAULT -1, version INTEGER NOT NULL, created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS abandoned_usernames (username_key TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS recovery_codes (code_hash TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS devices (
  account_id TEXT NOT NULL, id TEXT PRIMARY KEY, display_name TEXT NOT NULL, origin TEXT NOT NULL,
  approved_by_device_id TEXT, channel_hash TEXT, quarantine_until_ms INTEGER NOT NULL,
  created_at_ms INTEGER NOT NULL, last_seen_at_ms INTEGER NOT NULL, last_seen_network TEXT);
CREATE TABLE IF NOT EXISTS refresh_families (
  id TEXT PRIMARY KEY, account_id TEXT NOT NULL, device_id TEXT NOT NULL, scopes TEXT NOT NULL, jkt TEXT,
  current_hash TEXT NOT NULL, previous_hash TEXT, rotated_at_ms INTEGER, generation INTEGER NOT NULL,
  created_at_ms INTEGER NOT NULL, expires_at_ms INTEGER NOT NULL, revoked_at_ms INTEGER);
CREATE INDEX IF NOT EXISTS refresh_families_by_device ON refresh_families (device_id);
CREATE INDEX IF NOT EXISTS refresh_families_by_expiry ON refresh_families (expires_at_ms);
CREATE TABLE IF NOT EXISTS refresh_used (family_id TEXT NOT NULL, token_hash TEXT NOT NULL, PRIMARY KEY (family_id, token_hash));
CREATE TABLE IF NOT EXISTS access_tokens (
  id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, account_id TEXT NOT NULL, device_id TEXT NOT NULL,
  family_id TEXT, scopes TEXT NOT NULL, jkt TEXT, issued_at_ms INTEGER NOT NULL, expires_at_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS access_tokens_by_device ON access_tokens (device_id);
CREATE INDEX IF NOT EXISTS access_tokens_by_family ON access_tokens (family_id);
CREATE INDEX IF NOT EXISTS access_tokens_by_expiry ON access_tokens (expires_at_ms);`,
  },
  {
    description: 'security state: last-authenticated marks and the security-event feed',
    sql: `
CREATE TABLE IF NOT EXISTS auth_marks (device_id TEXT PRIMARY KEY, at_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS security_events (
  id INTEGER PRIMARY KEY, type TEXT NOT NULL, at_ms INTEGER NOT NULL, device_id TEXT, details TEXT,
  expires_at_ms INTEGER NOT NULL);`,
  },
]

/** A column the object's tables gained after their first release, added when missing. */
interface ObjectColumn {
  table: string
  column: string
  sql: string
}

/** The columns added since, oldest first; append only (ALTER TABLE has no IF NOT EXISTS). */
const ACCOUNT_OBJECT_COLUMNS: readonly ObjectColumn[] = [
  // The sign-in epoch (SQLite file: migration 6).
  { table: 'accounts', column: 'auth_epoch', sql: 'ALTER TABLE accounts ADD COLUMN auth_epoch INTEGER NOT NULL DEFAULT 0' },
  // A device's recent networks (SQLite file: migration 7, finding 49).
  { table: 'devices', column: 'recent_networks', sql: 'ALTER TABLE devices ADD COLUMN recent_networks TEXT' },
  // What authorised a pending TOTP enrolment (SQLite file: migration 8, finding 57).
  { table: 'accounts', column: 'totp_pending', sql: 'ALTER TABLE accounts ADD COLUMN totp_pending TEXT' },
  // The generation of a rotated-out refresh token, to keep only the newest (SQLite file: migration 9, finding 63).
  { table: 'refresh_used', column: 'generation', sql: 'ALTER TABLE refresh_used ADD COLUMN generation INTEGER NOT NULL DEFAULT 0' },
]

/**
 * Applies every object schema step (each is idempotent) through `exec`, then adds each later column
 * that `columnsOf` (the table's column names) does not list yet.
 */
export const applyObjectSchema = (exec: (sql: string) => void, columnsOf: (table: string) => readonly string[]): void => {
  for (const step of ACCOUNT_OBJECT_SCHEMA) exec(step.sql)
  for (const added of ACCOUNT_OBJECT_COLUMNS) if (!columnsOf(added.table).includes(added.column)) exec(added.sql)
}
