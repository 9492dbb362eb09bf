/**
 * SQLite durable store over libsql: the embedded default, one file under the data directory. Each
 * intent is one `BEGIN IMMEDIATE` transaction (or one statement), run synchronously, so it is atomic
 * against this process (nothing interleaves a synchronous call) and against other processes on the
 * same file (SQLite's write lock; they wait up to the busy timeout). Foreign keys do the cascades:
 * deleting a device deletes its access tokens in the same statement.
 */
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'libsql'
import { isAccountUsable, judgeRefresh, usernameKey, type AccountStatus } from '../../core/accounts/records.ts'
import type { Clock, DurableStore, MintOutcome, ReplaceOutcome, RotateResult } from '../../ports.ts'
import { migrateWaiting, retryWhileBusy, SQLITE_BUSY_TIMEOUT_MS, SQLITE_BUSY_WAIT_MS } from './sqlite-busy.ts'
import {
  ACCESS_COLUMNS,
  ACCOUNT_COLUMNS,
  DEVICE_COLUMNS,
  FAMILY_COLUMNS,
  fromAccess,
  fromAccount,
  fromDevice,
  fromFamily,
  fromSecurityEvent,
  params,
  SECURITY_EVENT_COLUMNS,
  toAccess,
  toAccount,
  toDevice,
  toFamily,
  toSecurityEvent,
  type AccessRow,
  type AccountRow,
  type DeviceRow,
  type FamilyRow,
  type SecurityEventRow,
} from './sqlite-rows.ts'
import { nextEventId, storedEvent } from './security-feed.ts'

/** Options of {@link sqliteStore}: an open database (see {@link openSqlite}) and the clock. */
export interface SqliteStoreOptions {
  db: Database.Database
  clock: Clock
}

export { SQLITE_BUSY_TIMEOUT_MS }

/**
 * Opens (creating if needed) `<dataDir>/qrelay.db`: the directory is made owner-only, the journal is
 * WAL (readers never block the writer), `synchronous = FULL` (a revocation that returned survives a
 * power cut), foreign keys on, and a short busy timeout (writes retry asynchronously up to
 * SQLITE_BUSY_TIMEOUT_MS, see `sqlite-busy.ts`). The caller closes it.
 *
 * @example
 * const db = openSqlite(config.storage.dataDir)
 * const durable = sqliteStore({ db, clock: systemClock })
 */
export const openSqlite = (dataDir: string): Database.Database => {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const path = join(dataDir, 'qrelay.db')
  // The file holds password hashes and token hashes: owner only. Created empty first so that it never
  // exists with the umask's mode; SQLite gives its -wal and -shm files the database file's mode.
  closeSync(openSync(path, 'a', 0o600))
  chmodSync(path, 0o600)
  const db = new Database(path)
  db.exec('PRAGMA journal_mode = WAL')
  db.exec('PRAGMA synchronous = FULL')
  db.exec(`PRAGMA busy_timeout = ${SQLITE_BUSY_WAIT_MS}`)
  db.exec('PRAGMA foreign_keys = ON')
  return db
}

/**
 * Builds the SQLite durable store, migrating the schema first (throws SchemaVersionError when the
 * file is newer than this build). The caller owns and closes `db`.
 *
 * @example
 * const durable = sqliteStore({ db: openSqlite('/var/lib/qrelay'), clock: systemClock })
 */
export const sqliteStore = ({ db, clock }: SqliteStoreOptions): DurableStore => {
  // A connection-level setting: the cascades depend on it, so it is set here whoever opened db.
  db.exec('PRAGMA foreign_keys = ON')
  migrateWaiting(db)

  const sql = (source: string) => db.prepare(source)
  // One immediate transaction per call: the write lock is taken up front, so two processes never
  // both read and then both write. A busy lock is retried without blocking the process (bounded).
  const atomic = <A extends unknown[], R>(fn: (...args: A) => R) =>
    retryWhileBusy((...args: A): R => db.transaction(fn).immediate(...args) as R)

  const q = {
    accountInsert: sql(`INSERT INTO accounts (${ACCOUNT_COLUMNS}, username_key)
      VALUES (${params(ACCOUNT_COLUMNS)}, @username_key) ON CONFLICT DO NOTHING`),
    accountById: sql(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = ?`),
    accountByUsername: sql(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE username_key = ?`),
    accountHead: sql('SELECT version, username_key, status, locked_until_ms FROM accounts WHERE id = ?'),
    accountUpdate: sql(`UPDATE accounts SET password_hash = @password_hash, status = @status,
      locked_until_ms = @locked_until_ms, totp_secret = @totp_secret, totp_confirmed_at_ms = @totp_confirmed_at_ms,
      version = @version, updated_at_ms = @updated_at_ms WHERE id = @id`),
    totpStep: sql('UPDATE accounts SET last_totp_step = ?2 WHERE id = ?1 AND last_totp_step < ?2'),
    codesDelete: sql('DELETE FROM recovery_codes WHERE account_id = ?'),
    codeInsert: sql('INSERT OR IGNORE INTO recovery_codes (account_id, code_hash) VALUES (?, ?)'),
    codeConsume: sql('DELETE FROM recovery_codes WHERE account_id = ? AND code_hash = ?'),
    codeCount: sql('SELECT count(*) AS n FROM recovery_codes WHERE account_id = ?'),
    deviceInsert: sql(`INSERT INTO devices (${DEVICE_COLUMNS}) VALUES (${params(DEVICE_COLUMNS)})
      ON CONFLICT DO NOTHING`),
    device: sql(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE account_id = ? AND id = ?`),
    devices: sql(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE account_id = ? ORDER BY created_at_ms, id`),
    deviceIds: sql('SELECT id FROM devices WHERE account_id = ?'),
    deviceRename: sql('UPDATE devices SET display_name = ? WHERE account_id = ? AND id = ?'),
    deviceTouch: sql(`UPDATE devices SET last_seen_at_ms = ?1, last_seen_network = ?2
      WHERE account_id = ?3 AND id = ?4 AND last_seen_at_ms < ?1`),
    deviceDelete: sql('DELETE FROM devices WHERE account_id = ? AND id = ?'),
    familiesOfDevice: sql(`SELECT id FROM refresh_families
      WHERE account_id = ? AND device_id = ? AND revoked_at_ms IS NULL AND expires_at_ms > ?`),
    accessInsert: sql(`INSERT INTO access_tokens (${ACCESS_COLUMNS}) VALUES (${params(ACCESS_COLUMNS)})
      ON CONFLICT DO NOTHING`),
    access: sql(`SELECT ${ACCESS_COLUMNS} FROM access_tokens WHERE id = ? AND expires_at_ms > ?`),
    accessDelete: sql('DELETE FROM access_tokens WHERE id = ? RETURNING expires_at_ms'),
    accessDeleteExpired: sql('DELETE FROM access_tokens WHERE id = ? AND expires_at_ms <= ?'),
    accessDeleteFamily: sql('DELETE FROM access_tokens WHERE family_id = ?'),
    accessPurge: sql('DELETE FROM access_tokens WHERE expires_at_ms <= ?'),
    familyInsert: sql(`INSERT INTO refresh_families (${FAMILY_COLUMNS}) VALUES (${params(FAMILY_COLUMNS)})
      ON CONFLICT DO NOTHING`),
    family: sql(`SELECT ${FAMILY_COLUMNS} FROM refresh_families WHERE id = ? AND expires_at_ms > ?`),
    familyDeleteExpired: sql('DELETE FROM refresh_families WHERE id = ? AND expires_at_ms <= ?'),
    familyRotate: sql(`UPDATE refresh_families SET current_hash = ?, previous_hash = ?, rotated_at_ms = ?,
      generation = generation + 1 WHERE id = ?`),
    familyRevoke: sql('UPDATE refresh_families SET revoked_at_ms = ? WHERE id = ?'),
    familyPurge: sql('DELETE FROM refresh_families WHERE expires_at_ms <= ?'),
    used: sql('SELECT 1 AS used FROM refresh_used WHERE family_id = ? AND token_hash = ?'),
    usedInsert: sql('INSERT OR IGNORE INTO refresh_used (family_id, token_hash) VALUES (?, ?)'),
    markUpsert: sql(`INSERT INTO auth_marks (account_id, device_id, at_ms) VALUES (?1, ?2, ?3)
      ON CONFLICT DO UPDATE SET at_ms = max(at_ms, ?3)`),
    mark: sql('SELECT at_ms FROM auth_marks WHERE account_id = ? AND device_id = ?'),
    lastEventId: sql('SELECT max(id) AS id FROM security_events WHERE account_id = ?'),
    eventInsert: sql(`INSERT INTO security_events (account_id, ${SECURITY_EVENT_COLUMNS}, expires_at_ms)
      VALUES (@account_id, ${params(SECURITY_EVENT_COLUMNS)}, @expires_at_ms)`),
    eventsExpire: sql('DELETE FROM security_events WHERE account_id = ? AND expires_at_ms <= ?'),
    eventsTrim: sql(`DELETE FROM security_events WHERE account_id = ?1 AND id NOT IN
      (SELECT id FROM security_events WHERE account_id = ?1 ORDER BY id DESC LIMIT ?2)`),
    events: sql(`SELECT ${SECURITY_EVENT_COLUMNS} FROM security_events
      WHERE account_id = ? AND id > ? AND expires_at_ms > ? ORDER BY id LIMIT ?`),
  }

  const getAccount = (id: string) => {
    const row = q.accountById.get(id) as AccountRow | undefined
    return row === undefined ? null : toAccount(row)
  }
  const usable = (accountId: string): boolean => {
    const head = q.accountHead.get(accountId) as { status: AccountStatus; locked_until_ms: number } | undefined
    if (head === undefined) return false
    return isAccountUsable({ status: head.status, lockedUntilMs: head.locked_until_ms }, clock.now())
  }
  const hasDevice = (accountId: string, deviceId: string): boolean => q.device.get(accountId, deviceId) !== undefined
  const liveFamily = (id: string) => {
    const row = q.family.get(id, clock.now()) as FamilyRow | undefined
    return row === undefined ? null : toFamily(row)
  }
  const revokeFamily = (familyId: string): void => {
    q.familyRevoke.run(clock.now(), familyId)
    q.accessDeleteFamily.run(familyId)
  }
  const revokeDevice = (accountId: string, deviceId: string): boolean => {
    const families = q.familiesOfDevice.all(accountId, deviceId, clock.now()) as Array<{ id: string }>
    for (const { id } of families) revokeFamily(id)
    return q.deviceDelete.run(accountId, deviceId).changes === 1 // cascades to its access tokens
  }

  return {
    kind: 'sqlite',
    accounts: {
      create: atomic((account) => {
        const row = fromAccount(account, usernameKey(account.username))
        return q.accountInsert.run(row).changes === 1 ? 'ok' : 'exists'
      }),
      get: async (id) => getAccount(id),
      async findByUsername(username) {
        const row = q.accountByUsername.get(usernameKey(username)) as AccountRow | undefined
        return row === undefined ? null : toAccount(row)
      },
      update: atomic((id, expectedVersion, next): ReplaceOutcome => {
        const head = q.accountHead.get(id) as { version: number; username_key: string } | undefined
        if (head === undefined) return 'missing'
        if (next.id !== id || usernameKey(next.username) !== head.username_key) {
          throw new Error('accounts.update may not change the id or the username')
        }
        if (head.version !== expectedVersion) return 'mismatch'
        q.accountUpdate.run(fromAccount(next, head.username_key))
        return 'ok'
      }),
    },
    credentials: {
      useTotpStep: retryWhileBusy((accountId: string, step: number) => q.totpStep.run(accountId, step).changes === 1),
      replaceRecoveryCodes: atomic((accountId, codeHashes) => {
        if (q.accountHead.get(accountId) === undefined) return false
        q.codesDelete.run(accountId)
        for (const hash of codeHashes) q.codeInsert.run(accountId, hash)
        return true
      }),
      consumeRecoveryCode: retryWhileBusy((accountId: string, codeHash: string) => q.codeConsume.run(accountId, codeHash).changes === 1),
      countRecoveryCodes: async (accountId) => (q.codeCount.get(accountId) as { n: number }).n,
    },
    devices: {
      create: atomic((device): MintOutcome => {
        if (!usable(device.accountId)) return 'denied'
        return q.deviceInsert.run(fromDevice(device)).changes === 1 ? 'ok' : 'exists'
      }),
      async get(accountId, deviceId) {
        const row = q.device.get(accountId, deviceId) as DeviceRow | undefined
        return row === undefined ? null : toDevice(row)
      },
      listByAccount: async (accountId) => (q.devices.all(accountId) as DeviceRow[]).map(toDevice),
      rename: retryWhileBusy((accountId: string, deviceId: string, name: string) => q.deviceRename.run(name, accountId, deviceId).changes === 1),
      touch: atomic((accountId, deviceId, seen) => {
        if (q.deviceTouch.run(seen.atMs, seen.network ?? null, accountId, deviceId).changes === 1) return true
        return hasDevice(accountId, deviceId)
      }),
      revoke: atomic(revokeDevice),
      revokeAllExcept: atomic((accountId, keepDeviceId) => {
        const ids = (q.deviceIds.all(accountId) as Array<{ id: string }>).map((r) => r.id)
        return ids.filter((id) => id !== keepDeviceId && revokeDevice(accountId, id)).length
      }),
    },
    tokens: {
      putAccess: atomic((token): MintOutcome => {
        if (!usable(token.accountId) || !hasDevice(token.accountId, token.deviceId)) return 'denied'
        if (token.familyId !== undefined) {
          const family = liveFamily(token.familyId)
          const live = family !== null && family.revokedAtMs === undefined && family.deviceId === token.deviceId
          if (!live) return 'denied'
        }
        q.accessDeleteExpired.run(token.id, clock.now())
        return q.accessInsert.run(fromAccess(token)).changes === 1 ? 'ok' : 'exists'
      }),
      async getAccess(id) {
        const row = q.access.get(id, clock.now()) as AccessRow | undefined
        return row === undefined ? null : toAccess(row)
      },
      revokeAccess: retryWhileBusy((id: string) => {
        const rows = q.accessDelete.all(id) as Array<{ expires_at_ms: number }>
        return rows.some((r) => r.expires_at_ms > clock.now())
      }),
      createRefreshFamily: atomic((family): MintOutcome => {
        if (!usable(family.accountId) || !hasDevice(family.accountId, family.deviceId)) return 'denied'
        q.familyDeleteExpired.run(family.id, clock.now())
        return q.familyInsert.run(fromFamily(family)).changes === 1 ? 'ok' : 'exists'
      }),
      getRefreshFamily: async (familyId) => liveFamily(familyId),
      rotateRefresh: atomic(({ familyId, presentedHash, nextHash, graceMs }): RotateResult => {
        const family = liveFamily(familyId)
        if (family === null) return { outcome: 'missing', family: null }
        const wasUsed = q.used.get(familyId, presentedHash) !== undefined
        const verdict = judgeRefresh(family, presentedHash, wasUsed, clock.now(), graceMs)
        switch (verdict) {
          case 'missing':
            return { outcome: 'missing', family: null }
          case 'revoked':
          case 'raced':
            return { outcome: verdict, family }
          case 'reuse':
            revokeFamily(familyId)
            return { outcome: 'reused', family: liveFamily(familyId) }
          case 'rotate':
            if (!usable(family.accountId) || !hasDevice(family.accountId, family.deviceId)) {
              return { outcome: 'denied', family }
            }
            q.usedInsert.run(familyId, presentedHash)
            q.familyRotate.run(nextHash, presentedHash, clock.now(), familyId)
            return { outcome: 'rotated', family: liveFamily(familyId) }
          default: {
            const unreachable: never = verdict
            throw new Error(`unknown verdict ${String(unreachable)}`)
          }
        }
      }),
      revokeRefreshFamily: atomic((familyId) => {
        const family = liveFamily(familyId)
        if (family === null || family.revokedAtMs !== undefined) return false
        revokeFamily(familyId)
        return true
      }),
    },
    security: {
      markAuthenticated: atomic((accountId, deviceId, atMs) => {
        if (!hasDevice(accountId, deviceId)) return false
        q.markUpsert.run(accountId, deviceId, atMs)
        return true
      }),
      async lastAuthenticated(accountId, deviceId) {
        const row = q.mark.get(accountId, deviceId) as { at_ms: number } | undefined
        return row === undefined ? null : Number(row.at_ms)
      },
      appendEvent: atomic((accountId, event, bounds) => {
        if (q.accountHead.get(accountId) === undefined) return null
        const now = clock.now()
        const last = (q.lastEventId.get(accountId) as { id: number | null }).id ?? 0
        const added = storedEvent(nextEventId(Number(last), now), event)
        q.eventsExpire.run(accountId, now)
        q.eventInsert.run({ account_id: accountId, ...fromSecurityEvent(added), expires_at_ms: now + bounds.retentionMs })
        q.eventsTrim.run(accountId, Math.max(1, bounds.maxEvents))
        return added
      }),
      async readEvents(accountId, since, limit) {
        const rows = q.events.all(accountId, since, clock.now(), Math.max(0, limit)) as SecurityEventRow[]
        return rows.map(toSecurityEvent)
      },
    },
    purgeExpired: atomic(() => {
      const now = clock.now()
      return q.accessPurge.run(now).changes + q.familyPurge.run(now).changes
    }),
    async ping() {
      db.prepare('SELECT 1').get()
    },
    async close() {},
  }
}
