/**
 * Rows of the SQLite tables of the durable store (the Node file and the account Durable Object) and
 * their mapping to records. NULL columns become absent fields, so a record read back equals the record
 * written.
 */
import type {
  AccessTokenRecord,
  AccountRecord,
  AccountStatus,
  DeviceOrigin,
  DeviceRecord,
  NetworkSighting,
  PendingTotp,
  RefreshFamilyRecord,
} from '../../../core/accounts/records.ts'
import type { StoredSecurityEvent } from '../../../ports.ts'

/** A row of `accounts` (without `username_key` and `last_totp_step`). */
export interface AccountRow {
  id: string
  username: string
  password_hash: string
  status: string
  locked_until_ms: number
  totp_secret: string | null
  totp_confirmed_at_ms: number | null
  /** `AccountRecord.authEpoch`, 0 when the record has none (SQLite file: migration 6). */
  auth_epoch: number
  version: number
  created_at_ms: number
  updated_at_ms: number
  /** `TotpEnrolment.pending` as JSON, NULL when none (SQLite file: migration 8). */
  totp_pending: string | null
}

/** A row of `devices`. */
export interface DeviceRow {
  account_id: string
  id: string
  display_name: string
  origin: string
  approved_by_device_id: string | null
  channel_hash: string | null
  quarantine_until_ms: number
  created_at_ms: number
  last_seen_at_ms: number
  last_seen_network: string | null
  /** `DeviceRecord.recentNetworks` as JSON; NULL when absent. */
  recent_networks: string | null
}

/** A row of `access_tokens`. */
export interface AccessRow {
  id: string
  secret_hash: string
  account_id: string
  device_id: string
  family_id: string | null
  scopes: string
  jkt: string | null
  issued_at_ms: number
  expires_at_ms: number
}

/** A row of `refresh_families`. */
export interface FamilyRow {
  id: string
  account_id: string
  device_id: string
  scopes: string
  jkt: string | null
  current_hash: string
  previous_hash: string | null
  rotated_at_ms: number | null
  generation: number
  created_at_ms: number
  expires_at_ms: number
  revoked_at_ms: number | null
}

/** Column lists of each table's record (named parameters of the same names come from `from…`). */
export const ACCOUNT_COLUMNS = [
  'id, username, password_hash, status, locked_until_ms, totp_secret, totp_confirmed_at_ms',
  'auth_epoch, version, created_at_ms, updated_at_ms, totp_pending',
].join(', ')
export const DEVICE_COLUMNS = [
  'account_id, id, display_name, origin, approved_by_device_id, channel_hash',
  'quarantine_until_ms, created_at_ms, last_seen_at_ms, last_seen_network, recent_networks',
].join(', ')
export const ACCESS_COLUMNS = 'id, secret_hash, account_id, device_id, family_id, scopes, jkt, issued_at_ms, expires_at_ms'
export const FAMILY_COLUMNS = [
  'id, account_id, device_id, scopes, jkt, current_hash, previous_hash, rotated_at_ms, generation',
  'created_at_ms, expires_at_ms, revoked_at_ms',
].join(', ')

/** The account columns of an INSERT: the record's, then its uniqueness key. */
export const ACCOUNT_INSERT_COLUMNS = `${ACCOUNT_COLUMNS}, username_key`

/** What the mint rules read of an account: who it is, and whether it may mint now. */
export interface AccountHead {
  id: string
  username_key: string
  status: AccountStatus
  locked_until_ms: number
  auth_epoch: number
  version: number
}

const columnsOf = (columns: string): string[] => columns.split(',').map((c) => c.trim())

/** `INSERT INTO table (a, b) VALUES (?, ?)`: positional, the one binding style of both drivers. */
export const insertOf = (table: string, columns: string): string =>
  `INSERT INTO ${table} (${columns}) VALUES (${columnsOf(columns)
    .map(() => '?')
    .join(', ')})`

/** The row's values in the order of `columns` (a missing one is NULL). */
export const valuesOf = (columns: string, row: object): unknown[] =>
  columnsOf(columns).map((c) => (row as Record<string, unknown>)[c] ?? null)

// Sets `key` only when the column held a value: absent, not undefined, so records compare equal.
const withOptional = <T extends object, K extends string, V>(target: T, key: K, value: V | null): T => {
  if (value !== null) (target as Record<string, unknown>)[key] = value
  return target
}

/** An account row as a record. */
export const toAccount = (r: AccountRow): AccountRecord => {
  const account: AccountRecord = {
    id: r.id,
    username: r.username,
    passwordHash: r.password_hash,
    status: r.status === 'active' ? 'active' : 'disabled',
    lockedUntilMs: r.locked_until_ms,
    version: r.version,
    createdAtMs: r.created_at_ms,
    updatedAtMs: r.updated_at_ms,
  }
  if (r.totp_secret !== null) {
    const totp = withOptional({ secret: r.totp_secret }, 'confirmedAtMs', r.totp_confirmed_at_ms)
    account.totp = withOptional(totp, 'pending', r.totp_pending === null ? null : (JSON.parse(r.totp_pending) as PendingTotp))
  }
  if (Number(r.auth_epoch) > 0) account.authEpoch = Number(r.auth_epoch)
  return account
}

/** A record as account-row parameters, with its uniqueness key. */
export const fromAccount = (a: AccountRecord, usernameKey: string): Record<string, unknown> => ({
  id: a.id,
  username: a.username,
  username_key: usernameKey,
  password_hash: a.passwordHash,
  status: a.status,
  locked_until_ms: a.lockedUntilMs,
  totp_secret: a.totp?.secret ?? null,
  totp_confirmed_at_ms: a.totp?.confirmedAtMs ?? null,
  auth_epoch: a.authEpoch ?? 0,
  version: a.version,
  created_at_ms: a.createdAtMs,
  updated_at_ms: a.updatedAtMs,
  totp_pending: a.totp?.pending === undefined ? null : JSON.stringify(a.totp.pending),
})

/** A device row as a record. */
export const toDevice = (r: DeviceRow): DeviceRecord => {
  const device: DeviceRecord = {
    id: r.id,
    accountId: r.account_id,
    displayName: r.display_name,
    origin: r.origin as DeviceOrigin,
    quarantineUntilMs: r.quarantine_until_ms,
    createdAtMs: r.created_at_ms,
    lastSeenAtMs: r.last_seen_at_ms,
  }
  withOptional(device, 'approvedByDeviceId', r.approved_by_device_id)
  withOptional(device, 'channelHash', r.channel_hash)
  withOptional(device, 'lastSeenNetwork', r.last_seen_network)
  return withOptional(device, 'recentNetworks', r.recent_networks === null ? null : (JSON.parse(r.recent_networks) as NetworkSighting[]))
}

/** `DeviceRecord.recentNetworks` as its column: JSON, or NULL when there is none. */
export const recentNetworksColumn = (recent: readonly NetworkSighting[] | undefined): string | null =>
  recent === undefined || recent.length === 0 ? null : JSON.stringify(recent.map(({ network, atMs }) => ({ network, atMs })))

/** A record as device-row parameters. */
export const fromDevice = (d: DeviceRecord): DeviceRow => ({
  account_id: d.accountId,
  id: d.id,
  display_name: d.displayName,
  origin: d.origin,
  approved_by_device_id: d.approvedByDeviceId ?? null,
  channel_hash: d.channelHash ?? null,
  quarantine_until_ms: d.quarantineUntilMs,
  created_at_ms: d.createdAtMs,
  last_seen_at_ms: d.lastSeenAtMs,
  last_seen_network: d.lastSeenNetwork ?? null,
  recent_networks: recentNetworksColumn(d.recentNetworks),
})

/** An access-token row as a record. */
export const toAccess = (r: AccessRow): AccessTokenRecord => {
  const token: AccessTokenRecord = {
    id: r.id,
    secretHash: r.secret_hash,
    accountId: r.account_id,
    deviceId: r.device_id,
    scopes: JSON.parse(r.scopes) as string[],
    issuedAtMs: r.issued_at_ms,
    expiresAtMs: r.expires_at_ms,
  }
  withOptional(token, 'familyId', r.family_id)
  return withOptional(token, 'jkt', r.jkt)
}

/** A record as access-token-row parameters. */
export const fromAccess = (t: AccessTokenRecord): AccessRow => ({
  id: t.id,
  secret_hash: t.secretHash,
  account_id: t.accountId,
  device_id: t.deviceId,
  family_id: t.familyId ?? null,
  scopes: JSON.stringify(t.scopes),
  jkt: t.jkt ?? null,
  issued_at_ms: t.issuedAtMs,
  expires_at_ms: t.expiresAtMs,
})

/** A refresh-family row as a record. */
export const toFamily = (r: FamilyRow): RefreshFamilyRecord => {
  const family: RefreshFamilyRecord = {
    id: r.id,
    accountId: r.account_id,
    deviceId: r.device_id,
    scopes: JSON.parse(r.scopes) as string[],
    currentHash: r.current_hash,
    generation: r.generation,
    createdAtMs: r.created_at_ms,
    expiresAtMs: r.expires_at_ms,
  }
  withOptional(family, 'jkt', r.jkt)
  withOptional(family, 'previousHash', r.previous_hash)
  withOptional(family, 'rotatedAtMs', r.rotated_at_ms)
  return withOptional(family, 'revokedAtMs', r.revoked_at_ms)
}

/** A record as refresh-family-row parameters. */
export const fromFamily = (f: RefreshFamilyRecord): FamilyRow => ({
  id: f.id,
  account_id: f.accountId,
  device_id: f.deviceId,
  scopes: JSON.stringify(f.scopes),
  jkt: f.jkt ?? null,
  current_hash: f.currentHash,
  previous_hash: f.previousHash ?? null,
  rotated_at_ms: f.rotatedAtMs ?? null,
  generation: f.generation,
  created_at_ms: f.createdAtMs,
  expires_at_ms: f.expiresAtMs,
  revoked_at_ms: f.revokedAtMs ?? null,
})

/** A row of `security_events` (the DO's table has no `account_id`). */
export interface SecurityEventRow {
  id: number
  type: string
  at_ms: number
  device_id: string | null
  details: string | null
}

/** Columns of a security event (both shapes; the file's table also has `account_id`). */
export const SECURITY_EVENT_COLUMNS = 'id, type, at_ms, device_id, details'

/** A security-event row as a stored event. */
export const toSecurityEvent = (r: SecurityEventRow): StoredSecurityEvent => {
  const event: StoredSecurityEvent = { id: Number(r.id), type: r.type as StoredSecurityEvent['type'], atMs: Number(r.at_ms) }
  withOptional(event, 'deviceId', r.device_id)
  return withOptional(event, 'details', r.details === null ? null : (JSON.parse(r.details) as StoredSecurityEvent['details']))
}

/** A stored event as security-event-row values. */
export const fromSecurityEvent = (e: StoredSecurityEvent): SecurityEventRow => ({
  id: e.id,
  type: e.type,
  at_ms: e.atMs,
  device_id: e.deviceId ?? null,
  details: e.details === undefined ? null : JSON.stringify(e.details),
})
