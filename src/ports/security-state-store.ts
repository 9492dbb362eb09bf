import type { SecurityEvent } from './security-events.ts'

/** One event of an account's security feed as stored: a {@link SecurityEvent} with its cursor. */
export interface StoredSecurityEvent extends SecurityEvent {
  /** Cursor: strictly increasing per account (`max(last id + 1, now)`), so `since` never skips one. */
  id: number
}

/** How an account's feed is bounded: the newest `maxEvents` events, each kept `retentionMs`. */
export interface SecurityFeedBounds {
  maxEvents: number
  retentionMs: number
}

/**
 * Security state of an account that must survive a restart: when the user last proved a credential
 * on each device (the trusted-approver rule), and the account's security-event feed (`GET /v1/events`).
 * Both belong to the account: nothing is written for an unknown account, and a device's mark goes
 * with the device.
 */
export interface SecurityStateStore {
  /** Records a proof on the device at `atMs` unless a later one is stored; false when there is no such device. */
  markAuthenticated(accountId: string, deviceId: string, atMs: number): Promise<boolean>
  /** The device's latest mark, or null (none, or no such device). */
  lastAuthenticated(accountId: string, deviceId: string): Promise<number | null>
  /**
   * Atomically appends `event` with the next cursor (`max(last + 1, store's now)`), drops the events
   * older than `retentionMs` and all but the newest `maxEvents`. Null (nothing written) for an unknown account.
   */
  appendEvent(accountId: string, event: SecurityEvent, bounds: SecurityFeedBounds): Promise<StoredSecurityEvent | null>
  /** Unexpired events with `id > since`, oldest first, at most `limit`. */
  readEvents(accountId: string, since: number, limit: number): Promise<StoredSecurityEvent[]>
}
