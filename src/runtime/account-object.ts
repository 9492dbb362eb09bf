/**
 * The Durable Object of one account (named `acct:<accountId>`): the account row, its TOTP step and
 * recovery codes, devices, access tokens, refresh families and security state, in the object's
 * SQLite storage. The schema, statements and rules are those of the Node SQLite store
 * (`src/adapters/durable/sql/`), in its `one-account` scope: this object holds ONE account's rows.
 *
 * Each method is one atomic intent: it runs synchronous SQL only (no await before its last write), so
 * the input gate lets no other call in between, and intents with several writes run inside
 * `transactionSync` so they land together or not at all. Time-based decisions use the caller's clock
 * (`nowMs`); an alarm frees expired tokens and families by the object's own clock.
 *
 * The schema is made by the first `createAccount` (or `abandonUsername`) only: reading an unknown
 * account id writes nothing. The design of the whole store is in `src/adapters/durable/durable-object.ts`.
 */
import { DurableObject } from 'cloudflare:workers'
import {
  usernameKey,
  type AccessTokenRecord,
  type AccountRecord,
  type DeviceRecord,
  type RefreshFamilyRecord,
} from '../core/accounts/records.ts'
import type { AccountObjectApi } from '../adapters/durable/durable-object-api.ts'
import type { SessionTokens } from '../adapters/durable/session-mint.ts'
import { revokeMany, updateAndSignOut } from '../adapters/durable/sql/account-change-sql.ts'
import { AccountSql, MintRefused } from '../adapters/durable/sql/account-sql.ts'
import { query } from '../adapters/durable/sql/executor.ts'
import { objectExecutor } from '../adapters/durable/sql/object-executor.ts'
import { applyObjectSchema } from '../adapters/durable/sql/schema.ts'
import { appendEvent, lastAuthenticated, markAuthenticated, readEvents } from '../adapters/durable/sql/security-sql.ts'
import { mintSession } from '../adapters/durable/sql/session-mint-sql.ts'
import { recordStatements } from '../adapters/durable/sql/statements.ts'
import type {
  AccountCreateOutcome,
  AccountUpdateEffects,
  AccountUpdateResult,
  CountedFeedAppend,
  DeviceSeen,
  DevicesSignedOut,
  FeedAppend,
  MintOutcome,
  ReplaceOutcome,
  RotateRequest,
  RotateResult,
  SecurityEvent,
  SecurityFeedBounds,
  SessionMintOutcome,
  StoredSecurityEvent,
} from '../ports.ts'

// Expired rows are invisible at once; freeing them waits a little so that one alarm frees many.
const SWEEP_DELAY_MS = 60_000

// What only the object has: the check for its tables, its one account's id, and the usernames it
// gave up (`abandonUsername`): the Node file has a UNIQUE username instead.
const HAS_TABLES = query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'accounts'")
const ACCOUNT_ID = query('SELECT id FROM accounts')
const abandoned = (nameKey: string) => query('SELECT 1 FROM abandoned_usernames WHERE username_key = ?', nameKey)
const abandon = (nameKey: string) => query('INSERT OR IGNORE INTO abandoned_usernames (username_key) VALUES (?)', nameKey)

/** The object's schema steps, and the columns added since (read with `PRAGMA table_info`). */
const applySchema = (storage: DurableObjectStorage): void =>
  applyObjectSchema(
    (sql) => storage.sql.exec(sql),
    (table) =>
      storage.sql
        .exec<{ name: string }>(`PRAGMA table_info(${table})`)
        .toArray()
        .map((c) => c.name),
  )

/** One account and everything it holds. */
export class AccountObject extends DurableObject<Env> implements AccountObjectApi {
  readonly #tables: AccountSql
  #ready: boolean
  // The id of the account row once it exists (it never changes): every statement names it.
  #accountId: string | null = null
  #alarmArmed = false

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.#tables = new AccountSql(objectExecutor(ctx.storage), 'one-account')
    this.#ready = this.#tables.sql.get(HAS_TABLES) !== undefined
    if (this.#ready) {
      // Objects created before a later schema step get it now (every step is idempotent).
      applySchema(ctx.storage)
      void ctx.blockConcurrencyWhile(async () => {
        this.#alarmArmed = (await ctx.storage.getAlarm()) !== null
      })
    }
  }

  #ensureSchema(): void {
    if (this.#ready) return
    applySchema(this.ctx.storage)
    this.#ready = true
  }

  /** The account's id, or null while the object holds no account (or no tables). */
  #id(): string | null {
    if (this.#accountId === null && this.#ready) this.#accountId = this.#tables.sql.get<{ id: string }>(ACCOUNT_ID)?.id ?? null
    return this.#accountId
  }

  /** `fn` over the account's id, or `none` without an account. */
  #with<R>(none: R, fn: (accountId: string) => R): R {
    const id = this.#id()
    return id === null ? none : fn(id)
  }

  /** Like {@link #with}, in one transaction (an intent with several writes). */
  #atomic<R>(none: R, fn: (accountId: string) => R): R {
    return this.#with(none, (id) => this.#tables.sql.transaction(() => fn(id)))
  }

  /** Arms the sweep alarm for a row expiring at `expiresAtMs`, unless one is armed already. */
  async #sweepLater(expiresAtMs: number): Promise<void> {
    if (this.#alarmArmed) return
    this.#alarmArmed = true
    await this.ctx.storage.setAlarm(expiresAtMs + SWEEP_DELAY_MS)
  }

  async createAccount(account: AccountRecord, nameKey: string): Promise<AccountCreateOutcome> {
    if (nameKey !== usernameKey(account.username)) throw new Error('createAccount: username key mismatch')
    this.#ensureSchema()
    if (this.#id() !== null) return 'exists'
    if (this.#tables.sql.get(abandoned(nameKey)) !== undefined) return 'exists'
    return this.#tables.createAccount(account, nameKey)
  }

  async abandonUsername(nameKey: string): Promise<boolean> {
    const id = this.#id()
    if (id !== null) return this.#tables.head(id)?.username_key === nameKey
    this.#ensureSchema()
    this.#tables.sql.run(abandon(nameKey))
    return false
  }

  async getAccount(): Promise<AccountRecord | null> {
    return this.#with(null, (id) => this.#tables.getAccount(id))
  }

  async updateAccount(expectedVersion: number, next: AccountRecord): Promise<ReplaceOutcome | 'renamed'> {
    return this.#with<ReplaceOutcome | 'renamed'>('missing', (id) => this.#tables.updateAccount(id, expectedVersion, next))
  }

  async updateAndSignOut(
    expectedVersion: number,
    next: AccountRecord,
    effects: AccountUpdateEffects,
    nowMs: number,
  ): Promise<AccountUpdateResult | 'renamed'> {
    const missing: AccountUpdateResult = { outcome: 'missing', signedOut: 0, event: null }
    return this.#atomic<AccountUpdateResult | 'renamed'>(missing, (id) =>
      updateAndSignOut(this.#tables, id, expectedVersion, next, effects, nowMs),
    )
  }

  async useTotpStep(step: number): Promise<boolean> {
    return this.#with(false, (id) => this.#tables.useTotpStep(id, step))
  }

  async replaceRecoveryCodes(codeHashes: string[]): Promise<boolean> {
    return this.#atomic(false, (id) => this.#tables.replaceRecoveryCodes(id, codeHashes))
  }

  async consumeRecoveryCode(codeHash: string): Promise<boolean> {
    return this.#with(false, (id) => this.#tables.consumeRecoveryCode(id, codeHash))
  }

  async countRecoveryCodes(): Promise<number> {
    return this.#with(0, (id) => this.#tables.countRecoveryCodes(id))
  }

  async createDevice(device: DeviceRecord, nowMs: number): Promise<MintOutcome> {
    return this.#with<MintOutcome>('denied', () => this.#tables.createDevice(device, nowMs))
  }

  async createSession(
    device: DeviceRecord,
    tokens: SessionTokens,
    append: FeedAppend | null,
    planned: boolean,
    nowMs: number,
    authorisedEpoch?: number,
    maxDevices?: number,
  ): Promise<SessionMintOutcome> {
    const outcome = this.#with<SessionMintOutcome>('denied', (id) => {
      if (id !== device.accountId) return 'denied'
      try {
        return this.#tables.sql.transaction(() =>
          mintSession(this.#tables, device, tokens, append ?? undefined, planned, nowMs, authorisedEpoch, maxDevices),
        )
      } catch (error) {
        if (error instanceof MintRefused) return error.outcome
        throw error
      }
    })
    if (outcome === 'ok') await this.#sweepLater(Math.min(tokens.family.expiresAtMs, tokens.access.expiresAtMs))
    return outcome
  }

  async getDevice(deviceId: string): Promise<DeviceRecord | null> {
    return this.#with(null, (id) => this.#tables.getDevice(id, deviceId))
  }

  async listDevices(): Promise<DeviceRecord[]> {
    return this.#with([], (id) => this.#tables.listDevices(id))
  }

  async renameDevice(deviceId: string, displayName: string): Promise<boolean> {
    return this.#with(false, (id) => this.#tables.renameDevice(id, deviceId, displayName))
  }

  async touchDevice(deviceId: string, seen: DeviceSeen): Promise<boolean> {
    return this.#atomic(false, (id) => this.#tables.touchDevice(id, deviceId, seen))
  }

  async revokeDevice(deviceId: string, nowMs: number): Promise<boolean> {
    return this.#atomic(false, (id) => this.#tables.revokeDevice(id, deviceId, nowMs))
  }

  async revokeAllExcept(keepDeviceId: string | null, nowMs: number): Promise<number> {
    return this.#atomic(0, (id) => this.#tables.revokeAllExcept(id, keepDeviceId, nowMs))
  }

  async revokeMany(deviceIds: readonly string[], append: CountedFeedAppend | null, nowMs: number): Promise<DevicesSignedOut> {
    const none: DevicesSignedOut = { revoked: [], event: null }
    return this.#atomic(none, (id) => revokeMany(this.#tables, id, deviceIds, append ?? undefined, nowMs))
  }

  async putAccess(token: AccessTokenRecord, nowMs: number): Promise<MintOutcome> {
    const outcome = this.#atomic<MintOutcome>('denied', () => this.#tables.putAccess(token, nowMs))
    if (outcome === 'ok') await this.#sweepLater(token.expiresAtMs)
    return outcome
  }

  async getAccess(id: string, nowMs: number): Promise<AccessTokenRecord | null> {
    return this.#with(null, () => this.#tables.getAccess(id, nowMs))
  }

  async revokeAccess(id: string, nowMs: number): Promise<boolean> {
    return this.#with(false, () => this.#tables.revokeAccess(id, nowMs))
  }

  async createFamily(family: RefreshFamilyRecord, nowMs: number): Promise<MintOutcome> {
    const outcome = this.#atomic<MintOutcome>('denied', () => this.#tables.createFamily(family, nowMs))
    if (outcome === 'ok') await this.#sweepLater(family.expiresAtMs)
    return outcome
  }

  async getFamily(id: string, nowMs: number): Promise<RefreshFamilyRecord | null> {
    return this.#with(null, () => this.#tables.liveFamily(id, nowMs))
  }

  async rotateRefresh(request: RotateRequest, nowMs: number): Promise<RotateResult> {
    const missing: RotateResult = { outcome: 'missing', family: null }
    return this.#atomic(missing, () => this.#tables.rotateRefresh(request, nowMs))
  }

  async revokeFamily(id: string, nowMs: number): Promise<boolean> {
    return this.#atomic(false, () => this.#tables.revokeFamily(id, nowMs))
  }

  async markAuthenticated(deviceId: string, atMs: number): Promise<boolean> {
    return this.#with(false, (id) => markAuthenticated(this.#tables, id, deviceId, atMs))
  }

  async lastAuthenticated(deviceId: string): Promise<number | null> {
    return this.#with(null, (id) => lastAuthenticated(this.#tables, id, deviceId))
  }

  async appendEvent(event: SecurityEvent, bounds: SecurityFeedBounds, nowMs: number): Promise<StoredSecurityEvent | null> {
    return this.#atomic(null, (id) => appendEvent(this.#tables, id, event, bounds, nowMs))
  }

  async readEvents(since: number, limit: number, nowMs: number): Promise<StoredSecurityEvent[]> {
    return this.#with([], (id) => readEvents(this.#tables, id, since, limit, nowMs))
  }

  /** Frees tokens and families expired by the object's own clock, then re-arms for the earliest left. */
  override async alarm(): Promise<void> {
    this.#alarmArmed = false
    if (!this.#ready) return
    const now = Date.now()
    const { sql } = this.#tables
    const next = sql.transaction(() => {
      this.#tables.purgeExpired(now)
      const earliest = (table: 'access_tokens' | 'refresh_families'): number | null =>
        sql.get<{ at: number | null }>(recordStatements.earliestExpiry(table))?.at ?? null
      const times = [earliest('access_tokens'), earliest('refresh_families')].filter((at) => at !== null)
      return times.length === 0 ? null : Math.min(...times)
    })
    if (next !== null) await this.#sweepLater(next)
  }
}
