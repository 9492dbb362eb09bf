/**
 * The rules of the durable store's account tables, written once over a {@link SqlExecutor}: the Node
 * SQLite store (`../sqlite.ts`) and the account Durable Object (`src/runtime/account-object.ts`) both
 * call these. Each method is synchronous and opens no transaction: the caller wraps an intent that
 * writes more than once in `transaction` (Node wraps every intent, for SQLite's write lock).
 *
 * Cascades are explicit deletes (a device's access tokens and mark, a family's used hashes): the
 * Node file's foreign keys would also do them, the object's tables have no foreign keys.
 */
import { touchedNetworks } from '../../../core/accounts/recent-networks.ts'
import {
  isAccountUsable,
  isStillAuthorised,
  judgeRefresh,
  REFRESH_USED_KEPT,
  usernameKey,
  type AccessTokenRecord,
  type AccountRecord,
  type DeviceRecord,
  type RefreshFamilyRecord,
} from '../../../core/accounts/records.ts'
import type { DeviceSeen, MintOutcome, ReplaceOutcome, RotateRequest, RotateResult, SessionMintOutcome } from '../../../ports.ts'
import type { SqlExecutor } from './executor.ts'
import {
  fromAccess,
  fromAccount,
  fromDevice,
  fromFamily,
  recentNetworksColumn,
  toAccess,
  toAccount,
  toDevice,
  toFamily,
  type AccessRow,
  type AccountHead,
  type AccountRow,
  type DeviceRow,
  type FamilyRow,
} from './rows.ts'
import { ownedStatements, recordStatements as q, type AccountScope, type OwnedStatements } from './statements.ts'

/** A refused step of {@link AccountSql.createDeviceWithTokens}: thrown to roll the transaction back. */
export class MintRefused extends Error {
  constructor(readonly outcome: Exclude<SessionMintOutcome, 'ok'>) {
    super(`mint refused: ${outcome}`)
  }
}

/** The account, credential, device and token intents over one SQLite database. */
export class AccountSql {
  /** The statements whose text depends on the scope (codes, marks, events). */
  readonly owned: OwnedStatements

  /** `sql` runs the statements; `scope` says which table shape it holds. */
  constructor(
    readonly sql: SqlExecutor,
    scope: AccountScope,
  ) {
    this.owned = ownedStatements(scope)
  }

  /** The account's head, or null when there is no such account. */
  head(accountId: string): AccountHead | null {
    return this.sql.get<AccountHead>(q.accountHead(accountId)) ?? null
  }

  /**
   * True when the account exists and may mint now (active, not locked), for a sign-in authorised under
   * `authorisedEpoch` when given (`isStillAuthorised`).
   */
  usable(accountId: string, nowMs: number, authorisedEpoch?: number): boolean {
    const head = this.head(accountId)
    return (
      head !== null &&
      isAccountUsable({ status: head.status, lockedUntilMs: head.locked_until_ms }, nowMs) &&
      isStillAuthorised({ authEpoch: Number(head.auth_epoch) }, authorisedEpoch)
    )
  }

  /** True when the account has this device. */
  hasDevice(accountId: string, deviceId: string): boolean {
    return this.sql.get(q.device(accountId, deviceId)) !== undefined
  }

  /** Inserts the account unless its id (or, in the Node file, its username) is taken. */
  createAccount(account: AccountRecord, nameKey: string): 'ok' | 'exists' {
    return this.sql.run(q.accountInsert(fromAccount(account, nameKey))) === 1 ? 'ok' : 'exists'
  }

  /** The account, or null. */
  getAccount(accountId: string): AccountRecord | null {
    const row = this.sql.get<AccountRow>(q.account(accountId))
    return row === undefined ? null : toAccount(row)
  }

  /** Node file only: the objects find an account by name through the index objects. */
  findByUsername(username: string): AccountRecord | null {
    const row = this.sql.get<AccountRow>(q.accountByUsername(usernameKey(username)))
    return row === undefined ? null : toAccount(row)
  }

  /** Node file only: up to `limit` accounts after the username key `after`, in key order. */
  listAccounts(after: string | null, limit: number): AccountRecord[] {
    return this.sql.all<AccountRow>(q.accountPage(after, limit)).map(toAccount)
  }

  /** Compare-and-swap on the version; `renamed` (nothing stored) when `next` changes the id or username. */
  updateAccount(accountId: string, expectedVersion: number, next: AccountRecord): ReplaceOutcome | 'renamed' {
    const head = this.head(accountId)
    if (head === null) return 'missing'
    if (next.id !== head.id || usernameKey(next.username) !== head.username_key) return 'renamed'
    if (head.version !== expectedVersion) return 'mismatch'
    this.sql.run(q.accountUpdate(fromAccount(next, head.username_key)))
    return 'ok'
  }

  /** Records a TOTP step unless it (or a later one) was used: true once per step. */
  useTotpStep(accountId: string, step: number): boolean {
    return this.sql.run(q.totpStep(accountId, step)) === 1
  }

  /** Replaces every recovery code of an existing account; false without the account. */
  replaceRecoveryCodes(accountId: string, codeHashes: readonly string[]): boolean {
    if (this.head(accountId) === null) return false
    this.sql.run(this.owned.codesDelete(accountId))
    for (const hash of codeHashes) this.sql.run(this.owned.codeInsert(accountId, hash))
    return true
  }

  /** Deletes the code; true once per code. */
  consumeRecoveryCode(accountId: string, codeHash: string): boolean {
    return this.sql.run(this.owned.codeConsume(accountId, codeHash)) === 1
  }

  /** How many recovery codes are left. */
  countRecoveryCodes(accountId: string): number {
    return Number(this.sql.get<{ n: number }>(this.owned.codeCount(accountId))?.n ?? 0)
  }

  /** Mints a device on a usable account (for a sign-in authorised under `authorisedEpoch`, when given). */
  createDevice(device: DeviceRecord, nowMs: number, authorisedEpoch?: number): MintOutcome {
    if (!this.usable(device.accountId, nowMs, authorisedEpoch)) return 'denied'
    return this.sql.run(q.deviceInsert(fromDevice(device))) === 1 ? 'ok' : 'exists'
  }

  /**
   * Mints a device with its first family and access token; anything but `ok` is thrown as a
   * {@link MintRefused} so that the caller's transaction rolls the earlier inserts back.
   */
  createDeviceWithTokens(
    device: DeviceRecord,
    family: RefreshFamilyRecord,
    access: AccessTokenRecord,
    nowMs: number,
    authorisedEpoch?: number,
  ): 'ok' {
    for (const step of [
      () => this.createDevice(device, nowMs, authorisedEpoch),
      () => this.createFamily(family, nowMs),
      () => this.putAccess(access, nowMs),
    ]) {
      const outcome = step()
      if (outcome !== 'ok') throw new MintRefused(outcome)
    }
    return 'ok'
  }

  /** The device, or null. */
  getDevice(accountId: string, deviceId: string): DeviceRecord | null {
    const row = this.sql.get<DeviceRow>(q.device(accountId, deviceId))
    return row === undefined ? null : toDevice(row)
  }

  /** The account's devices, oldest first. */
  listDevices(accountId: string): DeviceRecord[] {
    return this.sql.all<DeviceRow>(q.devices(accountId)).map(toDevice)
  }

  /** Renames the device; false without it. */
  renameDevice(accountId: string, deviceId: string, displayName: string): boolean {
    return this.sql.run(q.deviceRename(accountId, deviceId, displayName)) === 1
  }

  /** Keeps the recent networks and moves the last-seen time forward only; true when the device exists. Run it in a transaction. */
  touchDevice(accountId: string, deviceId: string, seen: DeviceSeen): boolean {
    const device = this.getDevice(accountId, deviceId)
    if (device === null) return false
    const recent = recentNetworksColumn(touchedNetworks(device, seen))
    if (seen.atMs > device.lastSeenAtMs) this.sql.run(q.deviceTouch(accountId, deviceId, seen.atMs, seen.network ?? null, recent))
    else if (recent !== recentNetworksColumn(device.recentNetworks)) this.sql.run(q.deviceRecentNetworks(accountId, deviceId, recent))
    return true
  }

  /** Revokes the device's live families, then deletes it with its access tokens and mark. */
  revokeDevice(accountId: string, deviceId: string, nowMs: number): boolean {
    const families = this.sql.all<{ id: string }>(q.familiesOfDevice(accountId, deviceId, nowMs))
    for (const { id } of families) this.#revokeFamily(id, nowMs)
    this.sql.run(q.accessDeleteDevice(accountId, deviceId))
    this.sql.run(this.owned.markDelete(accountId, deviceId))
    return this.sql.run(q.deviceDelete(accountId, deviceId)) === 1
  }

  /** Revokes every device but `keepDeviceId`; returns how many. */
  revokeAllExcept(accountId: string, keepDeviceId: string | null, nowMs: number): number {
    const ids = this.sql.all<{ id: string }>(q.deviceIds(accountId)).map((r) => r.id)
    return ids.filter((id) => id !== keepDeviceId && this.revokeDevice(accountId, id, nowMs)).length
  }

  /** Mints an access token on a usable account's device (and live family, when it has one). */
  putAccess(token: AccessTokenRecord, nowMs: number): MintOutcome {
    if (!this.usable(token.accountId, nowMs) || !this.hasDevice(token.accountId, token.deviceId)) return 'denied'
    if (token.familyId !== undefined) {
      const family = this.liveFamily(token.familyId, nowMs)
      if (family === null || family.revokedAtMs !== undefined || family.deviceId !== token.deviceId) return 'denied'
    }
    this.sql.run(q.accessDeleteExpired(token.id, nowMs))
    return this.sql.run(q.accessInsert(fromAccess(token))) === 1 ? 'ok' : 'exists'
  }

  /** The access token unless expired. */
  getAccess(id: string, nowMs: number): AccessTokenRecord | null {
    const row = this.sql.get<AccessRow>(q.access(id, nowMs))
    return row === undefined ? null : toAccess(row)
  }

  /** Deletes the token; true when it was live. */
  revokeAccess(id: string, nowMs: number): boolean {
    return this.sql.all<{ expires_at_ms: number }>(q.accessDelete(id)).some((r) => r.expires_at_ms > nowMs)
  }

  /** Mints a refresh family on a usable account's device (an expired one of that id is replaced). */
  createFamily(family: RefreshFamilyRecord, nowMs: number): MintOutcome {
    if (!this.usable(family.accountId, nowMs) || !this.hasDevice(family.accountId, family.deviceId)) return 'denied'
    if (this.sql.run(q.familyDeleteExpired(family.id, nowMs)) > 0) this.sql.run(q.usedDeleteFamily(family.id))
    return this.sql.run(q.familyInsert(fromFamily(family))) === 1 ? 'ok' : 'exists'
  }

  /** The family unless expired (revoked ones are returned: their tokens answer 'revoked'). */
  liveFamily(id: string, nowMs: number): RefreshFamilyRecord | null {
    const row = this.sql.get<FamilyRow>(q.family(id, nowMs))
    return row === undefined ? null : toFamily(row)
  }

  /** One refresh: the verdict of `judgeRefresh`, then its writes. */
  rotateRefresh({ familyId, presentedHash, nextHash, graceMs }: RotateRequest, nowMs: number): RotateResult {
    const family = this.liveFamily(familyId, nowMs)
    if (family === null) return { outcome: 'missing', family: null }
    const wasUsed = this.sql.get(q.used(familyId, presentedHash)) !== undefined
    const verdict = judgeRefresh(family, presentedHash, wasUsed, nowMs, graceMs)
    switch (verdict) {
      case 'missing':
        return { outcome: 'missing', family: null }
      case 'revoked':
      case 'raced':
        return { outcome: verdict, family }
      case 'reuse':
        this.#revokeFamily(familyId, nowMs)
        return { outcome: 'reused', family: this.liveFamily(familyId, nowMs) }
      case 'rotate':
        if (!this.usable(family.accountId, nowMs) || !this.hasDevice(family.accountId, family.deviceId)) {
          return { outcome: 'denied', family }
        }
        // The presented token's generation; only the newest REFRESH_USED_KEPT are kept (finding 63).
        this.sql.run(q.usedInsert(familyId, presentedHash, family.generation))
        this.sql.run(q.usedTrim(familyId, family.generation - REFRESH_USED_KEPT))
        this.sql.run(q.familyRotate(familyId, nextHash, presentedHash, nowMs))
        return { outcome: 'rotated', family: this.liveFamily(familyId, nowMs) }
      default: {
        const unreachable: never = verdict
        throw new Error(`unknown verdict ${String(unreachable)}`)
      }
    }
  }

  /** Revokes a live family and deletes its access tokens; false when missing or revoked already. */
  revokeFamily(id: string, nowMs: number): boolean {
    const family = this.liveFamily(id, nowMs)
    if (family === null || family.revokedAtMs !== undefined) return false
    this.#revokeFamily(id, nowMs)
    return true
  }

  #revokeFamily(id: string, nowMs: number): void {
    this.sql.run(q.familyRevoke(id, nowMs))
    this.sql.run(q.accessDeleteFamily(id))
  }

  /** Deletes expired access tokens and families (with their used hashes); returns how many tokens and families. */
  purgeExpired(nowMs: number): number {
    const tokens = this.sql.run(q.accessPurge(nowMs))
    this.sql.run(q.usedPurge(nowMs))
    return tokens + this.sql.run(q.familyPurge(nowMs))
  }
}
