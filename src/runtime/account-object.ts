/**
 * The Durable Object of one account (named `acct:<accountId>`): the account row, its TOTP step and
 * recovery codes, devices, access tokens and refresh families, in the object's SQLite storage, with
 * the tables and row mapping of the SQLite store (`src/adapters/durable/sqlite-rows.ts`).
 *
 * Each method is one atomic intent: it runs synchronous SQL only (no await before its last write), so
 * the input gate lets no other call in between, and intents with several writes run inside
 * `transactionSync` so they land together or not at all. Time-based decisions use the caller's clock
 * (`nowMs`); an alarm frees expired tokens and families by the object's own clock.
 *
 * The schema is made by the first `createAccount` only: reading an unknown account id writes nothing.
 * The design of the whole store is in `src/adapters/durable/durable-object.ts`.
 */
import { DurableObject } from 'cloudflare:workers'
import {
  isAccountUsable,
  judgeRefresh,
  usernameKey,
  type AccessTokenRecord,
  type AccountRecord,
  type AccountStatus,
  type DeviceRecord,
  type RefreshFamilyRecord,
} from '../core/accounts/records.ts'
import type { AccountObjectApi } from '../adapters/durable/durable-object.ts'
import {
  ACCESS_COLUMNS,
  ACCOUNT_COLUMNS,
  DEVICE_COLUMNS,
  FAMILY_COLUMNS,
  fromAccess,
  fromAccount,
  fromDevice,
  fromFamily,
  toAccess,
  toAccount,
  toDevice,
  toFamily,
  type AccessRow,
  type AccountRow,
  type DeviceRow,
  type FamilyRow,
} from '../adapters/durable/sqlite-rows.ts'
import type {
  AccountCreateOutcome,
  DeviceSeen,
  MintOutcome,
  ReplaceOutcome,
  RotateRequest,
  RotateResult,
  SecurityEvent,
  SecurityFeedBounds,
  StoredSecurityEvent,
} from '../ports.ts'
import * as security from './account-security.ts'

// Foreign keys are left out: every cascade is an explicit DELETE inside the same transaction.
const SCHEMA = `
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
CREATE INDEX IF NOT EXISTS access_tokens_by_expiry ON access_tokens (expires_at_ms);
${security.SECURITY_SCHEMA}`

// Expired rows are invisible at once; freeing them waits a little so that one alarm frees many.
const SWEEP_DELAY_MS = 60_000

/** `a, b` → `?, ?`, and the row's values in that order. */
const columnsOf = (columns: string): string[] => columns.split(',').map((c) => c.trim())
const insertOf = (table: string, columns: string): string =>
  `INSERT INTO ${table} (${columns}) VALUES (${columnsOf(columns)
    .map(() => '?')
    .join(', ')})`
const valuesOf = (columns: string, row: object): unknown[] =>
  columnsOf(columns).map((c) => (row as Record<string, unknown>)[c] ?? null)

const INSERT_ACCOUNT = insertOf('accounts', `${ACCOUNT_COLUMNS}, username_key`)
const INSERT_DEVICE = insertOf('devices', DEVICE_COLUMNS)
const INSERT_ACCESS = insertOf('access_tokens', ACCESS_COLUMNS)
const INSERT_FAMILY = insertOf('refresh_families', FAMILY_COLUMNS)

interface AccountHead {
  id: string
  username_key: string
  status: AccountStatus
  locked_until_ms: number
  version: number
}

/** One account and everything it holds. */
export class AccountObject extends DurableObject<Env> implements AccountObjectApi {
  #ready: boolean
  #alarmArmed = false

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.#ready = this.#sql("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'accounts'").length > 0
    if (this.#ready) {
      // Objects created before the security-state tables existed get them now (idempotent).
      this.ctx.storage.sql.exec(security.SECURITY_SCHEMA)
      void ctx.blockConcurrencyWhile(async () => {
        this.#alarmArmed = (await ctx.storage.getAlarm()) !== null
      })
    }
  }

  #sql<Row = Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): Row[] {
    return this.ctx.storage.sql.exec(query, ...bindings).toArray() as Row[]
  }

  /** How many rows a write changed (by RETURNING: `rowsWritten` also counts index rows). */
  #changes(query: string, ...bindings: unknown[]): number {
    return this.#sql(`${query} RETURNING 1`, ...bindings).length
  }

  #head(): AccountHead | null {
    if (!this.#ready) return null
    return this.#sql<AccountHead>('SELECT id, username_key, status, locked_until_ms, version FROM accounts')[0] ?? null
  }

  #usable(nowMs: number): AccountHead | null {
    const head = this.#head()
    if (head === null) return null
    return isAccountUsable({ status: head.status, lockedUntilMs: head.locked_until_ms }, nowMs) ? head : null
  }

  #hasDevice(deviceId: string): boolean {
    return this.#ready && this.#sql('SELECT 1 FROM devices WHERE id = ?', deviceId).length > 0
  }

  #liveFamily(id: string, nowMs: number): RefreshFamilyRecord | null {
    if (!this.#ready) return null
    const row = this.#sql<FamilyRow>(`SELECT ${FAMILY_COLUMNS} FROM refresh_families WHERE id = ? AND expires_at_ms > ?`, id, nowMs)[0]
    return row === undefined ? null : toFamily(row)
  }

  #revokeFamily(id: string, nowMs: number): void {
    this.#sql('UPDATE refresh_families SET revoked_at_ms = ? WHERE id = ?', nowMs, id)
    this.#sql('DELETE FROM access_tokens WHERE family_id = ?', id)
  }

  #revokeDevice(deviceId: string, nowMs: number): boolean {
    const families = this.#sql<{ id: string }>(
      'SELECT id FROM refresh_families WHERE device_id = ? AND revoked_at_ms IS NULL AND expires_at_ms > ?',
      deviceId,
      nowMs,
    )
    for (const { id } of families) this.#revokeFamily(id, nowMs)
    this.#sql('DELETE FROM access_tokens WHERE device_id = ?', deviceId)
    this.#sql('DELETE FROM auth_marks WHERE device_id = ?', deviceId)
    return this.#changes('DELETE FROM devices WHERE id = ?', deviceId) === 1
  }

  /** Arms the sweep alarm for a row expiring at `expiresAtMs`, unless one is armed already. */
  async #sweepLater(expiresAtMs: number): Promise<void> {
    if (this.#alarmArmed) return
    this.#alarmArmed = true
    await this.ctx.storage.setAlarm(expiresAtMs + SWEEP_DELAY_MS)
  }

  async createAccount(account: AccountRecord, nameKey: string): Promise<AccountCreateOutcome> {
    if (nameKey !== usernameKey(account.username)) throw new Error('createAccount: username key mismatch')
    if (!this.#ready) {
      this.ctx.storage.sql.exec(SCHEMA)
      this.#ready = true
    }
    if (this.#head() !== null) return 'exists'
    if (this.#sql('SELECT 1 FROM abandoned_usernames WHERE username_key = ?', nameKey).length > 0) return 'exists'
    this.#sql(INSERT_ACCOUNT, ...valuesOf(`${ACCOUNT_COLUMNS}, username_key`, fromAccount(account, nameKey)))
    return 'ok'
  }

  async abandonUsername(nameKey: string): Promise<boolean> {
    const head = this.#head()
    if (head !== null) return head.username_key === nameKey
    if (!this.#ready) {
      this.ctx.storage.sql.exec(SCHEMA)
      this.#ready = true
    }
    this.#sql('INSERT OR IGNORE INTO abandoned_usernames (username_key) VALUES (?)', nameKey)
    return false
  }

  async getAccount(): Promise<AccountRecord | null> {
    if (!this.#ready) return null
    const row = this.#sql<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts`)[0]
    return row === undefined ? null : toAccount(row)
  }

  async updateAccount(expectedVersion: number, next: AccountRecord): Promise<ReplaceOutcome | 'renamed'> {
    const head = this.#head()
    if (head === null) return 'missing'
    if (next.id !== head.id || usernameKey(next.username) !== head.username_key) return 'renamed'
    if (head.version !== expectedVersion) return 'mismatch'
    const row = fromAccount(next, head.username_key)
    this.#sql(
      `UPDATE accounts SET password_hash = ?, status = ?, locked_until_ms = ?, totp_secret = ?,
        totp_confirmed_at_ms = ?, version = ?, updated_at_ms = ? WHERE id = ?`,
      ...valuesOf('password_hash, status, locked_until_ms, totp_secret, totp_confirmed_at_ms, version, updated_at_ms, id', row),
    )
    return 'ok'
  }

  async useTotpStep(step: number): Promise<boolean> {
    if (this.#head() === null) return false
    return this.#changes('UPDATE accounts SET last_totp_step = ? WHERE last_totp_step < ?', step, step) === 1
  }

  async replaceRecoveryCodes(codeHashes: string[]): Promise<boolean> {
    if (this.#head() === null) return false
    this.ctx.storage.transactionSync(() => {
      this.#sql('DELETE FROM recovery_codes')
      for (const hash of codeHashes) this.#sql('INSERT OR IGNORE INTO recovery_codes (code_hash) VALUES (?)', hash)
    })
    return true
  }

  async consumeRecoveryCode(codeHash: string): Promise<boolean> {
    return this.#ready && this.#changes('DELETE FROM recovery_codes WHERE code_hash = ?', codeHash) === 1
  }

  async countRecoveryCodes(): Promise<number> {
    return this.#ready ? Number(this.#sql('SELECT count(*) AS n FROM recovery_codes')[0]?.n) : 0
  }

  async createDevice(device: DeviceRecord, nowMs: number): Promise<MintOutcome> {
    const head = this.#usable(nowMs)
    if (head === null || device.accountId !== head.id) return 'denied'
    if (this.#hasDevice(device.id)) return 'exists'
    this.#sql(INSERT_DEVICE, ...valuesOf(DEVICE_COLUMNS, fromDevice(device)))
    return 'ok'
  }

  async getDevice(deviceId: string): Promise<DeviceRecord | null> {
    if (!this.#ready) return null
    const row = this.#sql<DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE id = ?`, deviceId)[0]
    return row === undefined ? null : toDevice(row)
  }

  async listDevices(): Promise<DeviceRecord[]> {
    if (!this.#ready) return []
    return this.#sql<DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices ORDER BY created_at_ms, id`).map(toDevice)
  }

  async renameDevice(deviceId: string, displayName: string): Promise<boolean> {
    return this.#ready && this.#changes('UPDATE devices SET display_name = ? WHERE id = ?', displayName, deviceId) === 1
  }

  async touchDevice(deviceId: string, seen: DeviceSeen): Promise<boolean> {
    if (!this.#hasDevice(deviceId)) return false
    this.#sql(
      'UPDATE devices SET last_seen_at_ms = ?, last_seen_network = ? WHERE id = ? AND last_seen_at_ms < ?',
      seen.atMs,
      seen.network ?? null,
      deviceId,
      seen.atMs,
    )
    return true
  }

  async revokeDevice(deviceId: string, nowMs: number): Promise<boolean> {
    if (!this.#ready) return false
    return this.ctx.storage.transactionSync(() => this.#revokeDevice(deviceId, nowMs))
  }

  async revokeAllExcept(keepDeviceId: string | null, nowMs: number): Promise<number> {
    if (!this.#ready) return 0
    return this.ctx.storage.transactionSync(() => {
      const ids = this.#sql<{ id: string }>('SELECT id FROM devices').map((r) => r.id)
      return ids.filter((id) => id !== keepDeviceId && this.#revokeDevice(id, nowMs)).length
    })
  }

  async putAccess(token: AccessTokenRecord, nowMs: number): Promise<MintOutcome> {
    const head = this.#usable(nowMs)
    if (head === null || token.accountId !== head.id || !this.#hasDevice(token.deviceId)) return 'denied'
    if (token.familyId !== undefined) {
      const family = this.#liveFamily(token.familyId, nowMs)
      if (family === null || family.revokedAtMs !== undefined || family.deviceId !== token.deviceId) return 'denied'
    }
    const written = this.ctx.storage.transactionSync(() => {
      this.#sql('DELETE FROM access_tokens WHERE id = ? AND expires_at_ms <= ?', token.id, nowMs)
      return this.#changes(`${INSERT_ACCESS} ON CONFLICT DO NOTHING`, ...valuesOf(ACCESS_COLUMNS, fromAccess(token)))
    })
    if (written === 0) return 'exists'
    await this.#sweepLater(token.expiresAtMs)
    return 'ok'
  }

  async getAccess(id: string, nowMs: number): Promise<AccessTokenRecord | null> {
    if (!this.#ready) return null
    const row = this.#sql<AccessRow>(`SELECT ${ACCESS_COLUMNS} FROM access_tokens WHERE id = ? AND expires_at_ms > ?`, id, nowMs)[0]
    return row === undefined ? null : toAccess(row)
  }

  async revokeAccess(id: string, nowMs: number): Promise<boolean> {
    if (!this.#ready) return false
    const rows = this.#sql<{ expires_at_ms: number }>('DELETE FROM access_tokens WHERE id = ? RETURNING expires_at_ms', id)
    return rows.some((r) => r.expires_at_ms > nowMs)
  }

  async createFamily(family: RefreshFamilyRecord, nowMs: number): Promise<MintOutcome> {
    const head = this.#usable(nowMs)
    if (head === null || family.accountId !== head.id || !this.#hasDevice(family.deviceId)) return 'denied'
    const written = this.ctx.storage.transactionSync(() => {
      const expired = this.#changes('DELETE FROM refresh_families WHERE id = ? AND expires_at_ms <= ?', family.id, nowMs)
      if (expired > 0) this.#sql('DELETE FROM refresh_used WHERE family_id = ?', family.id)
      return this.#changes(`${INSERT_FAMILY} ON CONFLICT DO NOTHING`, ...valuesOf(FAMILY_COLUMNS, fromFamily(family)))
    })
    if (written === 0) return 'exists'
    await this.#sweepLater(family.expiresAtMs)
    return 'ok'
  }

  async getFamily(id: string, nowMs: number): Promise<RefreshFamilyRecord | null> {
    return this.#liveFamily(id, nowMs)
  }

  async rotateRefresh({ familyId, presentedHash, nextHash, graceMs }: RotateRequest, nowMs: number): Promise<RotateResult> {
    const family = this.#liveFamily(familyId, nowMs)
    if (family === null) return { outcome: 'missing', family: null }
    const wasUsed = this.#sql('SELECT 1 FROM refresh_used WHERE family_id = ? AND token_hash = ?', familyId, presentedHash).length > 0
    const verdict = judgeRefresh(family, presentedHash, wasUsed, nowMs, graceMs)
    switch (verdict) {
      case 'missing':
        return { outcome: 'missing', family: null }
      case 'revoked':
      case 'raced':
        return { outcome: verdict, family }
      case 'reuse':
        this.ctx.storage.transactionSync(() => this.#revokeFamily(familyId, nowMs))
        return { outcome: 'reused', family: this.#liveFamily(familyId, nowMs) }
      case 'rotate':
        if (this.#usable(nowMs) === null || !this.#hasDevice(family.deviceId)) return { outcome: 'denied', family }
        this.ctx.storage.transactionSync(() => {
          this.#sql('INSERT OR IGNORE INTO refresh_used (family_id, token_hash) VALUES (?, ?)', familyId, presentedHash)
          this.#sql(
            `UPDATE refresh_families SET current_hash = ?, previous_hash = ?, rotated_at_ms = ?,
              generation = generation + 1 WHERE id = ?`,
            nextHash,
            presentedHash,
            nowMs,
            familyId,
          )
        })
        return { outcome: 'rotated', family: this.#liveFamily(familyId, nowMs) }
      default: {
        const unreachable: never = verdict
        throw new Error(`unknown verdict ${String(unreachable)}`)
      }
    }
  }

  async revokeFamily(id: string, nowMs: number): Promise<boolean> {
    const family = this.#liveFamily(id, nowMs)
    if (family === null || family.revokedAtMs !== undefined) return false
    this.ctx.storage.transactionSync(() => this.#revokeFamily(id, nowMs))
    return true
  }

  async markAuthenticated(deviceId: string, atMs: number): Promise<boolean> {
    if (!this.#hasDevice(deviceId)) return false
    security.markAuthenticated((q, ...b) => this.#sql(q, ...b), deviceId, atMs)
    return true
  }

  async lastAuthenticated(deviceId: string): Promise<number | null> {
    return this.#ready ? security.lastAuthenticated((q, ...b) => this.#sql(q, ...b), deviceId) : null
  }

  async appendEvent(event: SecurityEvent, bounds: SecurityFeedBounds, nowMs: number): Promise<StoredSecurityEvent | null> {
    if (this.#head() === null) return null
    return this.ctx.storage.transactionSync(() => security.appendEvent((q, ...b) => this.#sql(q, ...b), event, bounds, nowMs))
  }

  async readEvents(since: number, limit: number, nowMs: number): Promise<StoredSecurityEvent[]> {
    return this.#ready ? security.readEvents((q, ...b) => this.#sql(q, ...b), since, limit, nowMs) : []
  }

  /** Frees tokens and families expired by the object's own clock, then re-arms for the earliest left. */
  override async alarm(): Promise<void> {
    this.#alarmArmed = false
    if (!this.#ready) return
    const now = Date.now()
    const next = this.ctx.storage.transactionSync(() => {
      this.#sql('DELETE FROM access_tokens WHERE expires_at_ms <= ?', now)
      this.#sql('DELETE FROM refresh_used WHERE family_id IN (SELECT id FROM refresh_families WHERE expires_at_ms <= ?)', now)
      this.#sql('DELETE FROM refresh_families WHERE expires_at_ms <= ?', now)
      const earliest = (table: string): number | null =>
        this.#sql<{ at: number | null }>(`SELECT min(expires_at_ms) AS at FROM ${table}`)[0]?.at ?? null
      const times = [earliest('access_tokens'), earliest('refresh_families')].filter((at) => at !== null)
      return times.length === 0 ? null : Math.min(...times)
    })
    if (next !== null) await this.#sweepLater(next)
  }
}
