/**
 * The named statements of the durable store's account tables, shared by the Node SQLite file and the
 * account Durable Object. Each is a function of its arguments returning a positional {@link Query}.
 *
 * The two shapes differ in one place only: the object holds ONE account, and its tables of recovery
 * codes, last-authenticated marks and security events have no `account_id` column (see
 * `./schema.ts`), so there the statements on those tables name no account. Every other table has the
 * same columns in both shapes, and its statements are the same text.
 */
import { query, type Query } from './executor.ts'
import {
  ACCESS_COLUMNS,
  ACCOUNT_COLUMNS,
  ACCOUNT_INSERT_COLUMNS,
  DEVICE_COLUMNS,
  FAMILY_COLUMNS,
  insertOf,
  SECURITY_EVENT_COLUMNS,
  valuesOf,
  type AccessRow,
  type DeviceRow,
  type FamilyRow,
  type SecurityEventRow,
} from './rows.ts'

/** `all-accounts`: the Node file, every account in one set of tables. `one-account`: an account object. */
export type AccountScope = 'all-accounts' | 'one-account'

const insertRow = (table: string, columns: string, row: object): Query =>
  query(`${insertOf(table, columns)} ON CONFLICT DO NOTHING`, ...valuesOf(columns, row))

const ACCOUNT_UPDATE_COLUMNS =
  'password_hash, status, locked_until_ms, totp_secret, totp_confirmed_at_ms, totp_pending, auth_epoch, version, updated_at_ms, id'
const HEAD_COLUMNS = 'id, username_key, status, locked_until_ms, auth_epoch, version'

/** Statements of `accounts`, `devices`, `access_tokens`, `refresh_families` and `refresh_used`. */
export const recordStatements = {
  accountInsert: (row: object) => insertRow('accounts', ACCOUNT_INSERT_COLUMNS, row),
  account: (id: string) => query(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = ?`, id),
  /** Only the Node file answers by username: the objects have an index object for that. */
  accountByUsername: (key: string) => query(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE username_key = ?`, key),
  /** Node file only: a page of accounts in username-key order, after `after` (null: from the first). */
  accountPage: (after: string | null, limit: number) =>
    query(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE username_key > ? ORDER BY username_key LIMIT ?`, after ?? '', limit),
  accountHead: (id: string) => query(`SELECT ${HEAD_COLUMNS} FROM accounts WHERE id = ?`, id),
  accountUpdate: (row: object) =>
    query(
      `UPDATE accounts SET password_hash = ?, status = ?, locked_until_ms = ?, totp_secret = ?,
        totp_confirmed_at_ms = ?, totp_pending = ?, auth_epoch = ?, version = ?, updated_at_ms = ? WHERE id = ?`,
      ...valuesOf(ACCOUNT_UPDATE_COLUMNS, row),
    ),
  totpStep: (id: string, step: number) =>
    query('UPDATE accounts SET last_totp_step = ? WHERE id = ? AND last_totp_step < ?', step, id, step),

  deviceInsert: (row: DeviceRow) => insertRow('devices', DEVICE_COLUMNS, row),
  device: (a: string, id: string) => query(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE account_id = ? AND id = ?`, a, id),
  devices: (a: string) => query(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE account_id = ? ORDER BY created_at_ms, id`, a),
  deviceIds: (a: string) => query('SELECT id FROM devices WHERE account_id = ?', a),
  deviceCount: (a: string) => query('SELECT count(*) AS n FROM devices WHERE account_id = ?', a),
  /** The account's devices with no live refresh family: they can never refresh again (finding 62). */
  deadDeviceIds: (a: string, nowMs: number) =>
    query(
      `SELECT id FROM devices d WHERE account_id = ? AND NOT EXISTS (SELECT 1 FROM refresh_families f
        WHERE f.account_id = d.account_id AND f.device_id = d.id AND f.revoked_at_ms IS NULL AND f.expires_at_ms > ?)`,
      a,
      nowMs,
    ),
  deviceRename: (a: string, id: string, name: string) =>
    query('UPDATE devices SET display_name = ? WHERE account_id = ? AND id = ?', name, a, id),
  deviceTouch: (a: string, id: string, atMs: number, network: string | null, recent: string | null) =>
    query(
      `UPDATE devices SET last_seen_at_ms = ?, last_seen_network = ?, recent_networks = ?
        WHERE account_id = ? AND id = ? AND last_seen_at_ms < ?`,
      atMs,
      network,
      recent,
      a,
      id,
      atMs,
    ),
  deviceRecentNetworks: (a: string, id: string, recent: string | null) =>
    query('UPDATE devices SET recent_networks = ? WHERE account_id = ? AND id = ?', recent, a, id),
  deviceDelete: (a: string, id: string) => query('DELETE FROM devices WHERE account_id = ? AND id = ?', a, id),
  familiesOfDevice: (a: string, deviceId: string, nowMs: number) =>
    query(
      'SELECT id FROM refresh_families WHERE account_id = ? AND device_id = ? AND revoked_at_ms IS NULL AND expires_at_ms > ?',
      a,
      deviceId,
      nowMs,
    ),

  accessInsert: (row: AccessRow) => insertRow('access_tokens', ACCESS_COLUMNS, row),
  access: (id: string, nowMs: number) => query(`SELECT ${ACCESS_COLUMNS} FROM access_tokens WHERE id = ? AND expires_at_ms > ?`, id, nowMs),
  /** With RETURNING: read it with `all`. */
  accessDelete: (id: string) => query('DELETE FROM access_tokens WHERE id = ? RETURNING expires_at_ms', id),
  accessDeleteExpired: (id: string, nowMs: number) => query('DELETE FROM access_tokens WHERE id = ? AND expires_at_ms <= ?', id, nowMs),
  accessDeleteFamily: (familyId: string) => query('DELETE FROM access_tokens WHERE family_id = ?', familyId),
  accessDeleteDevice: (a: string, deviceId: string) =>
    query('DELETE FROM access_tokens WHERE account_id = ? AND device_id = ?', a, deviceId),
  accessPurge: (nowMs: number) => query('DELETE FROM access_tokens WHERE expires_at_ms <= ?', nowMs),

  familyInsert: (row: FamilyRow) => insertRow('refresh_families', FAMILY_COLUMNS, row),
  family: (id: string, nowMs: number) =>
    query(`SELECT ${FAMILY_COLUMNS} FROM refresh_families WHERE id = ? AND expires_at_ms > ?`, id, nowMs),
  familyDeleteExpired: (id: string, nowMs: number) => query('DELETE FROM refresh_families WHERE id = ? AND expires_at_ms <= ?', id, nowMs),
  familyRotate: (id: string, nextHash: string, presentedHash: string, nowMs: number) =>
    query(
      'UPDATE refresh_families SET current_hash = ?, previous_hash = ?, rotated_at_ms = ?, generation = generation + 1 WHERE id = ?',
      nextHash,
      presentedHash,
      nowMs,
      id,
    ),
  familyRevoke: (id: string, nowMs: number) => query('UPDATE refresh_families SET revoked_at_ms = ? WHERE id = ?', nowMs, id),
  familyPurge: (nowMs: number) => query('DELETE FROM refresh_families WHERE expires_at_ms <= ?', nowMs),
  used: (familyId: string, hash: string) =>
    query('SELECT 1 AS used FROM refresh_used WHERE family_id = ? AND token_hash = ?', familyId, hash),
  usedInsert: (familyId: string, hash: string, generation: number) =>
    query('INSERT OR IGNORE INTO refresh_used (family_id, token_hash, generation) VALUES (?, ?, ?)', familyId, hash, generation),
  /** Drops the family's used hashes of generation `upTo` and older (finding 63: only the newest are kept). */
  usedTrim: (familyId: string, upTo: number) => query('DELETE FROM refresh_used WHERE family_id = ? AND generation <= ?', familyId, upTo),
  usedDeleteFamily: (familyId: string) => query('DELETE FROM refresh_used WHERE family_id = ?', familyId),
  usedPurge: (nowMs: number) =>
    query('DELETE FROM refresh_used WHERE family_id IN (SELECT id FROM refresh_families WHERE expires_at_ms <= ?)', nowMs),
  /** The earliest expiry left in `access_tokens` or `refresh_families` (the object's sweep alarm). */
  earliestExpiry: (table: 'access_tokens' | 'refresh_families') => query(`SELECT min(expires_at_ms) AS at FROM ${table}`),
}

/**
 * Statements of `recovery_codes`, `auth_marks` and `security_events`: in `one-account` scope they
 * name no account (the object's tables have no account column), in `all-accounts` they do.
 */
export const ownedStatements = (scope: AccountScope) => {
  const one = scope === 'one-account'
  // The account filter of a WHERE, the account column of an INSERT, and their argument.
  const and = one ? '' : 'account_id = ? AND '
  const where = one ? '' : ' WHERE account_id = ?'
  const column = one ? '' : 'account_id, '
  const mark = one ? '' : '?, '
  const of = (a: string): string[] => (one ? [] : [a])
  return {
    codesDelete: (a: string) => query(`DELETE FROM recovery_codes${where}`, ...of(a)),
    codeInsert: (a: string, hash: string) =>
      query(`INSERT OR IGNORE INTO recovery_codes (${column}code_hash) VALUES (${mark}?)`, ...of(a), hash),
    codeConsume: (a: string, hash: string) => query(`DELETE FROM recovery_codes WHERE ${and}code_hash = ?`, ...of(a), hash),
    codeCount: (a: string) => query(`SELECT count(*) AS n FROM recovery_codes${where}`, ...of(a)),

    markUpsert: (a: string, deviceId: string, atMs: number) =>
      query(
        `INSERT INTO auth_marks (${column}device_id, at_ms) VALUES (${mark}?, ?)
          ON CONFLICT DO UPDATE SET at_ms = max(at_ms, excluded.at_ms)`,
        ...of(a),
        deviceId,
        atMs,
      ),
    mark: (a: string, deviceId: string) => query(`SELECT at_ms FROM auth_marks WHERE ${and}device_id = ?`, ...of(a), deviceId),
    markDelete: (a: string, deviceId: string) => query(`DELETE FROM auth_marks WHERE ${and}device_id = ?`, ...of(a), deviceId),

    lastEventId: (a: string) => query(`SELECT max(id) AS id FROM security_events${where}`, ...of(a)),
    eventInsert: (a: string, row: SecurityEventRow, expiresAtMs: number) =>
      query(
        `INSERT INTO security_events (${column}${SECURITY_EVENT_COLUMNS}, expires_at_ms) VALUES (${mark}?, ?, ?, ?, ?, ?)`,
        ...of(a),
        ...valuesOf(SECURITY_EVENT_COLUMNS, row),
        expiresAtMs,
      ),
    eventsExpire: (a: string, nowMs: number) => query(`DELETE FROM security_events WHERE ${and}expires_at_ms <= ?`, ...of(a), nowMs),
    eventsTrim: (a: string, keep: number) =>
      query(
        `DELETE FROM security_events WHERE ${and}id NOT IN (SELECT id FROM security_events${where} ORDER BY id DESC LIMIT ?)`,
        ...of(a),
        ...of(a),
        keep,
      ),
    events: (a: string, since: number, nowMs: number, limit: number) =>
      query(
        `SELECT ${SECURITY_EVENT_COLUMNS} FROM security_events WHERE ${and}id > ? AND expires_at_ms > ? ORDER BY id LIMIT ?`,
        ...of(a),
        since,
        nowMs,
        limit,
      ),
  }
}

/** The statements of one scope (see {@link ownedStatements}). */
export type OwnedStatements = ReturnType<typeof ownedStatements>
