/**
 * The rules every durable adapter applies to a session mint (`DeviceStore.createWithTokens`): which
 * records belong together, and, for a redemption plan's mint (`planned`), which of them a retry may
 * keep. The Lua of the Redis store mirrors them; the conformance suite holds every adapter to the same
 * behaviour.
 *
 * Every store writes the device, its refresh family, its access token and the feed event in one
 * step on the account (one commit on SQLite and in the account's Durable Object, one script on the
 * account's Redis slot). A planned mint may still meet a part of its session: one written by an older
 * version that took the four in turn, cut short. It keeps what is of this very plan and writes the
 * rest, and appends the event once: the event of its device in the feed says the session was
 * completed before, and then nothing is written.
 */
import type { AccessTokenRecord, DeviceRecord, RefreshFamilyRecord } from '../../core/accounts/records.ts'
import type { SecurityEvent, StoredSecurityEvent } from '../../ports.ts'

/** The new session's records: the device's first family and its access token of that family. */
export interface SessionTokens {
  family: RefreshFamilyRecord
  access: AccessTokenRecord
}

/**
 * True when `family` and `access` belong to `device` (same account and device, the token of that
 * family, a family not revoked): every adapter answers `denied` otherwise, before writing anything.
 */
export const tokensFitDevice = (device: DeviceRecord, { family, access }: SessionTokens): boolean =>
  family.accountId === device.accountId &&
  family.deviceId === device.id &&
  family.revokedAtMs === undefined &&
  access.accountId === device.accountId &&
  access.deviceId === device.id &&
  access.familyId === family.id

/** What a planned mint finds of its session (live records by the plan's ids, and the feed's events). */
export interface FoundSession {
  device: DeviceRecord | null
  family: RefreshFamilyRecord | null
  access: AccessTokenRecord | null
  /** Whether the account's feed holds the mint's event (see {@link reportedIn}). */
  reported: boolean
}

/** Which records a planned mint writes (the others are stored already, of this very plan). */
export interface MissingParts {
  device: boolean
  family: boolean
  access: boolean
  event: boolean
}

/**
 * The append-once intent of a planned mint's event: an event of the same type for the same device
 * (the plan's device id, never another session's) is in the feed.
 */
export const reportedIn = (feed: readonly StoredSecurityEvent[], event: SecurityEvent): boolean =>
  feed.some((e) => e.type === event.type && e.deviceId !== undefined && e.deviceId === event.deviceId)

/**
 * What a planned mint of `device` and `tokens` writes, given what it `found`; `exists` when it must
 * write nothing: the session was completed before (its event is in the feed, or, without an event,
 * all three records are stored), or a stored record is not this plan's untouched one (another
 * approver or channel, a family revoked, rotated or of another secret, a token of another secret).
 *
 * @example
 * const missing = missingParts(device, { family, access }, found, append !== undefined)
 * if (missing === 'exists') return 'exists'
 */
export const missingParts = (
  device: DeviceRecord,
  { family, access }: SessionTokens,
  found: FoundSession,
  withEvent: boolean,
): MissingParts | 'exists' => {
  if (withEvent && found.reported) return 'exists'
  const d = found.device
  if (
    d !== null &&
    (d.accountId !== device.accountId ||
      d.origin !== device.origin ||
      d.approvedByDeviceId !== device.approvedByDeviceId ||
      d.channelHash !== device.channelHash)
  ) {
    return 'exists'
  }
  const f = found.family
  if (
    f !== null &&
    (f.accountId !== family.accountId ||
      f.deviceId !== family.deviceId ||
      f.revokedAtMs !== undefined ||
      f.generation !== 0 ||
      f.currentHash !== family.currentHash ||
      f.jkt !== family.jkt)
  ) {
    return 'exists'
  }
  const a = found.access
  if (
    a !== null &&
    (a.accountId !== access.accountId ||
      a.deviceId !== access.deviceId ||
      a.familyId !== access.familyId ||
      a.secretHash !== access.secretHash ||
      a.jkt !== access.jkt)
  ) {
    return 'exists'
  }
  const missing = { device: d === null, family: f === null, access: a === null, event: withEvent }
  return missing.device || missing.family || missing.access || missing.event ? missing : 'exists'
}
