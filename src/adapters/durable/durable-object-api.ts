/**
 * What the Durable Object durable store (./durable-object.ts) asks of its objects: the account
 * object's and the index shard's methods. The classes are in `src/runtime/` (account-object.ts,
 * account-index-object.ts).
 */
import type { AccessTokenRecord, AccountRecord, DeviceRecord, RefreshFamilyRecord } from '../../core/accounts/records.ts'
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
} from '../../ports.ts'
import type { SessionTokens } from './session-mint.ts'

/** What an account object answers (one object per account id; see `src/runtime/account-object.ts`). */
export interface AccountObjectApi {
  createAccount(account: AccountRecord, nameKey: string): Promise<AccountCreateOutcome>
  /** True when this object holds the account under `nameKey`; otherwise it will never create it. */
  abandonUsername(nameKey: string): Promise<boolean>
  getAccount(): Promise<AccountRecord | null>
  /** `renamed` when `next` changes the id or the username: nothing is stored (the adapter throws). */
  updateAccount(expectedVersion: number, next: AccountRecord): Promise<ReplaceOutcome | 'renamed'>
  /** `AccountStore.updateAndSignOut` on this account, in one transaction; `renamed` as {@link updateAccount}. */
  updateAndSignOut(
    expectedVersion: number,
    next: AccountRecord,
    effects: AccountUpdateEffects,
    nowMs: number,
  ): Promise<AccountUpdateResult | 'renamed'>
  useTotpStep(step: number): Promise<boolean>
  replaceRecoveryCodes(codeHashes: string[]): Promise<boolean>
  consumeRecoveryCode(codeHash: string): Promise<boolean>
  countRecoveryCodes(): Promise<number>
  createDevice(device: DeviceRecord, nowMs: number): Promise<MintOutcome>
  /** `DeviceStore.createWithTokens` on this account, in one transaction (`append` null: no event). */
  createSession(
    device: DeviceRecord,
    tokens: SessionTokens,
    append: FeedAppend | null,
    planned: boolean,
    nowMs: number,
    authorisedEpoch?: number,
    maxDevices?: number,
  ): Promise<SessionMintOutcome>
  getDevice(deviceId: string): Promise<DeviceRecord | null>
  listDevices(): Promise<DeviceRecord[]>
  renameDevice(deviceId: string, displayName: string): Promise<boolean>
  touchDevice(deviceId: string, seen: DeviceSeen): Promise<boolean>
  revokeDevice(deviceId: string, nowMs: number): Promise<boolean>
  revokeAllExcept(keepDeviceId: string | null, nowMs: number): Promise<number>
  /** `DeviceStore.revokeMany` on this account, in one transaction (`append` null: no event). */
  revokeMany(deviceIds: readonly string[], append: CountedFeedAppend | null, nowMs: number): Promise<DevicesSignedOut>
  putAccess(token: AccessTokenRecord, nowMs: number): Promise<MintOutcome>
  getAccess(id: string, nowMs: number): Promise<AccessTokenRecord | null>
  revokeAccess(id: string, nowMs: number): Promise<boolean>
  createFamily(family: RefreshFamilyRecord, nowMs: number): Promise<MintOutcome>
  getFamily(id: string, nowMs: number): Promise<RefreshFamilyRecord | null>
  rotateRefresh(request: RotateRequest, nowMs: number): Promise<RotateResult>
  revokeFamily(id: string, nowMs: number): Promise<boolean>
  markAuthenticated(deviceId: string, atMs: number): Promise<boolean>
  lastAuthenticated(deviceId: string): Promise<number | null>
  appendEvent(event: SecurityEvent, bounds: SecurityFeedBounds, nowMs: number): Promise<StoredSecurityEvent | null>
  readEvents(since: number, limit: number, nowMs: number): Promise<StoredSecurityEvent[]>
}

/** Outcome of {@link IndexObjectApi.claim}: `other` names the account holding the key. */
export type ClaimOutcome = { outcome: 'new' | 'same' } | { outcome: 'other'; holder: string; confirmed: boolean; claimedAtMs: number }

/** What an index shard answers (see `src/runtime/account-index-object.ts`). */
export interface IndexObjectApi {
  /** Maps `key` to `accountId` unless a live entry maps it elsewhere. `expiresAtMs` null: forever. */
  claim(key: string, accountId: string, nowMs: number, expiresAtMs: number | null, confirmed: boolean): Promise<ClaimOutcome>
  confirm(key: string, accountId: string): Promise<void>
  /** Deletes the entry if it still maps `key` to `accountId`. */
  release(key: string, accountId: string): Promise<void>
  /** Moves an unconfirmed entry from `from` to `to` (compare-and-swap); false when it changed. */
  takeOver(key: string, from: string, to: string, nowMs: number): Promise<boolean>
  lookup(key: string, nowMs: number): Promise<string | null>
  /** Confirmed username entries with a username key after `after`, in key order, at most `limit`. */
  listUsernames(after: string | null, limit: number): Promise<Array<{ nameKey: string; accountId: string }>>
  ping(): Promise<void>
}
