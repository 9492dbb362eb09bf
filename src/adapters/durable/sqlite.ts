/**
 * SQLite durable store over libsql: the embedded default, one file under the data directory. Each
 * intent is one `BEGIN IMMEDIATE` transaction (or one statement), run synchronously, so it is atomic
 * against this process (nothing interleaves a synchronous call) and against other processes on the
 * same file (SQLite's write lock; they wait up to the busy timeout). Foreign keys back the cascades
 * up (deleting an account or a device deletes what hangs off it).
 *
 * The statements and rules are shared with the account Durable Object (`./sql/`): this file adds
 * only what the Node side has alone (opening the file, migrations, transactions, busy retries).
 */
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'libsql'
import { usernameKey } from '../../core/accounts/records.ts'
import type { DeviceRecord } from '../../core/accounts/records.ts'
import type { Clock, DurableStore, FeedAppend, ReplaceOutcome, SessionMintOutcome } from '../../ports.ts'
import { type SessionTokens, tokensFitDevice } from './session-mint.ts'
import { revokeMany, updateAndSignOut } from './sql/account-change-sql.ts'
import { AccountSql, MintRefused } from './sql/account-sql.ts'
import type { SqlExecutor } from './sql/executor.ts'
import { libsqlExecutor } from './sql/libsql-executor.ts'
import { appendEvent, lastAuthenticated, markAuthenticated, readEvents } from './sql/security-sql.ts'
import { mintSession } from './sql/session-mint-sql.ts'
import { migrateWaiting, retryWhileBusy, SQLITE_BUSY_TIMEOUT_MS, SQLITE_BUSY_WAIT_MS } from './sqlite-busy.ts'

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
 * `devices.createWithTokens` in one transaction (one commit): a refused step rolls the others back,
 * and the feed event, when given, is appended in the same commit (`sql/session-mint-sql.ts`).
 */
const createWithTokensOnce =
  (sql: SqlExecutor, tables: AccountSql, now: () => number) =>
  (
    device: DeviceRecord,
    tokens: SessionTokens,
    append?: FeedAppend,
    planned?: boolean,
    authorisedEpoch?: number,
    maxDevices?: number,
  ): SessionMintOutcome => {
    if (!tokensFitDevice(device, tokens)) return 'denied'
    try {
      return sql.transaction(() => mintSession(tables, device, tokens, append, planned === true, now(), authorisedEpoch, maxDevices))
    } catch (error) {
      if (error instanceof MintRefused) return error.outcome
      throw error
    }
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

  const sql = libsqlExecutor(db)
  // The file holds every account: each statement names its account (see sql/statements.ts).
  const tables = new AccountSql(sql, 'all-accounts')
  const now = () => clock.now()
  // One immediate transaction per call: the write lock is taken up front, so two processes never
  // both read and then both write. A busy lock is retried without blocking the process (bounded).
  const atomic = <A extends unknown[], R>(fn: (...args: A) => R) => retryWhileBusy((...args: A): R => sql.transaction(() => fn(...args)))

  return {
    kind: 'sqlite',
    accounts: {
      create: atomic((account) => tables.createAccount(account, usernameKey(account.username))),
      get: async (id) => tables.getAccount(id),
      findByUsername: async (username) => tables.findByUsername(username),
      update: atomic((id, expectedVersion, next): ReplaceOutcome => {
        const outcome = tables.updateAccount(id, expectedVersion, next)
        if (outcome === 'renamed') throw new Error('accounts.update may not change the id or the username')
        return outcome
      }),
      updateAndSignOut: atomic((id, expectedVersion, next, effects) => {
        const result = updateAndSignOut(tables, id, expectedVersion, next, effects, now())
        if (result === 'renamed') throw new Error('accounts.update may not change the id or the username')
        return result
      }),
      async list(after, limit) {
        const rows = tables.listAccounts(after, Math.max(0, limit) + 1)
        const accounts = rows.slice(0, Math.max(0, limit))
        const last = accounts.at(-1)
        return { accounts, next: rows.length > accounts.length && last !== undefined ? usernameKey(last.username) : null }
      },
    },
    credentials: {
      useTotpStep: retryWhileBusy((accountId: string, step: number) => tables.useTotpStep(accountId, step)),
      replaceRecoveryCodes: atomic((accountId, codeHashes) => tables.replaceRecoveryCodes(accountId, codeHashes)),
      consumeRecoveryCode: retryWhileBusy((accountId: string, codeHash: string) => tables.consumeRecoveryCode(accountId, codeHash)),
      countRecoveryCodes: async (accountId) => tables.countRecoveryCodes(accountId),
    },
    devices: {
      create: atomic((device) => tables.createDevice(device, now())),
      createWithTokens: retryWhileBusy(createWithTokensOnce(sql, tables, now)),
      get: async (accountId, deviceId) => tables.getDevice(accountId, deviceId),
      listByAccount: async (accountId) => tables.listDevices(accountId),
      rename: retryWhileBusy((accountId: string, deviceId: string, name: string) => tables.renameDevice(accountId, deviceId, name)),
      touch: atomic((accountId, deviceId, seen) => tables.touchDevice(accountId, deviceId, seen)),
      revoke: atomic((accountId, deviceId) => tables.revokeDevice(accountId, deviceId, now())),
      revokeAllExcept: atomic((accountId, keepDeviceId) => tables.revokeAllExcept(accountId, keepDeviceId, now())),
      revokeMany: atomic((accountId, deviceIds, append) => revokeMany(tables, accountId, deviceIds, append, now())),
    },
    tokens: {
      putAccess: atomic((token) => tables.putAccess(token, now())),
      getAccess: async (id) => tables.getAccess(id, now()),
      revokeAccess: retryWhileBusy((id: string) => tables.revokeAccess(id, now())),
      createRefreshFamily: atomic((family) => tables.createFamily(family, now())),
      getRefreshFamily: async (familyId) => tables.liveFamily(familyId, now()),
      rotateRefresh: atomic((request) => tables.rotateRefresh(request, now())),
      revokeRefreshFamily: atomic((familyId) => tables.revokeFamily(familyId, now())),
    },
    security: {
      markAuthenticated: atomic((accountId, deviceId, atMs) => markAuthenticated(tables, accountId, deviceId, atMs)),
      lastAuthenticated: async (accountId, deviceId) => lastAuthenticated(tables, accountId, deviceId),
      appendEvent: atomic((accountId, event, bounds) => appendEvent(tables, accountId, event, bounds, now())),
      readEvents: async (accountId, since, limit) => readEvents(tables, accountId, since, limit, now()),
    },
    purgeExpired: atomic(() => tables.purgeExpired(now())),
    async ping() {
      db.prepare('SELECT 1').get()
    },
    async close() {},
  }
}
