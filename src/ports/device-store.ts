import type { AccessTokenRecord, DeviceRecord, RefreshFamilyRecord } from '../core/accounts/records.ts'
import type { MintOutcome, SessionMintOutcome } from './mint-outcome.ts'
import type { SecurityEvent } from './security-events.ts'
import type { SecurityFeedBounds, StoredSecurityEvent } from './security-state-store.ts'

/**
 * A security event a session mint appends to its account's feed in the same step as the device
 * (`DeviceStore.createWithTokens`): the event is stored if and only if the session is.
 */
export interface FeedAppend {
  event: SecurityEvent
  bounds: SecurityFeedBounds
}

/**
 * A {@link FeedAppend} of a step that signs devices out: with `countAs`, the event's detail of that
 * name is set, inside the step, to how many devices it signed out (`core/accounts/counted-event.ts`).
 */
export interface CountedFeedAppend extends FeedAppend {
  countAs?: string | undefined
}

/** Outcome of {@link DeviceStore.revokeMany}. */
export interface DevicesSignedOut {
  /** The devices signed out, in the order asked; an id that was not a device of the account is left out. */
  revoked: string[]
  /** The appended event with its cursor, or null (no `append`, or nothing signed out). */
  event: StoredSecurityEvent | null
}

/** Where and when a device was last seen (see {@link DeviceStore.touch}). */
export interface DeviceSeen {
  atMs: number
  network?: string
}

/** Devices of an account. Every method is scoped by account: a device id alone finds nothing. */
export interface DeviceStore {
  /** Atomically inserts the device if its account is usable at the store's now (see {@link MintOutcome}). */
  create(device: DeviceRecord): Promise<MintOutcome>
  /**
   * Creates the device with its first refresh family and access token (of that family and device),
   * all or nothing: `ok`, or `denied`/`exists` as {@link create} and `TokenStore.createRefreshFamily`
   * / `putAccess` would answer, with nothing left behind. The sign-in's session mint: one step on the
   * account on every store (one commit on SQLite and in the account's Durable Object, one script on
   * the account's Redis slot; the token look-ups of Redis and Durable Objects, on other slots or
   * objects, are written first and point at nothing until then). A throw may come after the writes
   * (an answer lost): the caller revokes the device then. With `append`, the event goes to the
   * account's feed (`SecurityStateStore.appendEvent`) in the same step.
   *
   * `planned`: the records are a redemption plan's (`core/oauth/redemption-plan.ts`), which a retry
   * mints again with the same ids. Records of this plan already stored (a mint cut short by an older
   * version's steps) are kept instead of refused, the missing ones written, and the event appended
   * once (`adapters/durable/session-mint.ts`): `ok` when this call completed the session, `exists`
   * when it was completed before or a stored record is not this plan's untouched one.
   *
   * `authorisedEpoch`: the account's `authEpoch` when this sign-in was authorised (the password
   * verified, the grant approved); `denied` when the account's has moved past it since, in the same
   * step (`isStillAuthorised`: a password change with its sign-out, a disable or a TOTP enrolment
   * landed in between, finding 47). Absent: not compared.
   *
   * `maxDevices`: the account's cap on devices (finding 62), checked in the same step when the device
   * is new: at the cap, the account's devices with no live refresh family (expired or revoked: they
   * can never refresh again) are signed out first, and if the account is still at the cap the answer
   * is `full` with nothing written. Absent: no cap.
   */
  createWithTokens(
    device: DeviceRecord,
    tokens: { family: RefreshFamilyRecord; access: AccessTokenRecord },
    append?: FeedAppend,
    planned?: boolean,
    authorisedEpoch?: number,
    maxDevices?: number,
  ): Promise<SessionMintOutcome>
  /** The device, or null (also when it belongs to another account). */
  get(accountId: string, deviceId: string): Promise<DeviceRecord | null>
  /** The account's devices, oldest first (ties by id). */
  listByAccount(accountId: string): Promise<DeviceRecord[]>
  /** Sets the display name; false when there is no such device. */
  rename(accountId: string, deviceId: string, displayName: string): Promise<boolean>
  /** Records a sighting if it is newer than the stored one (concurrent touches never go back); false when missing. */
  touch(accountId: string, deviceId: string, seen: DeviceSeen): Promise<boolean>
  /**
   * Signs the device out, in one step: deletes the device and its access tokens and revokes its refresh
   * families. False when there was no such device.
   */
  revoke(accountId: string, deviceId: string): Promise<boolean>
  /**
   * {@link revoke} for every device of the account except `keepDeviceId` (null: all), in one step:
   * password change with `logout_devices` (MSC2457), account disable. Returns how many were revoked.
   */
  revokeAllExcept(accountId: string, keepDeviceId: string | null): Promise<number>
  /**
   * {@link revoke} for each of `deviceIds` of the account, with the event appended to its feed when at
   * least one was signed out, all in one step on the account (one commit on SQLite and in the account's
   * Durable Object, one script on the account's Redis slot): a "not me" report signs the reported
   * device and its QR channel's other devices out together with `device_not_me`, the operator's sign-out
   * of a device goes with `device_revoked`; a crash leaves all of it or none.
   */
  revokeMany(accountId: string, deviceIds: readonly string[], append?: CountedFeedAppend): Promise<DevicesSignedOut>
}
