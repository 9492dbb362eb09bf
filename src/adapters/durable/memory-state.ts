/**
 * The Maps behind the memory durable store (./memory.ts), and the look-ups its sub-stores share:
 * live (unexpired) tokens and families, usable accounts, and revoking a device with its tokens.
 */
import {
  isAccountUsable,
  type AccessTokenRecord,
  type AccountRecord,
  type DeviceRecord,
  type RefreshFamilyRecord,
} from '../../core/accounts/records.ts'
import type { Clock } from '../../ports.ts'
import type { KeptEvent } from './security-feed.ts'

/** One account and what goes with it. */
export interface AccountState {
  record: AccountRecord
  lastTotpStep: number
  recoveryCodes: Set<string>
  devices: Map<string, DeviceRecord>
  /** Last proof of a credential per device id (goes with the device). */
  authMarks: Map<string, number>
  /** The security-event feed, oldest first. */
  feed: KeptEvent[]
}

/** One refresh family and the refresh hashes already rotated away. */
export interface FamilyState {
  record: RefreshFamilyRecord
  used: Set<string>
}

/** Everything the memory durable store holds, and its clock. */
export interface MemoryDurableState {
  clock: Clock
  accounts: Map<string, AccountState>
  /** Username key to account id. */
  usernames: Map<string, string>
  access: Map<string, AccessTokenRecord>
  families: Map<string, FamilyState>
}

/** Records are copied in and out, so callers never share objects with the store. */
export const copy = <T>(value: T): T => structuredClone(value)

/** The account if it exists and may be used now, else null. */
export const usableAccount = (s: MemoryDurableState, accountId: string): AccountState | null => {
  const state = s.accounts.get(accountId)
  return state !== undefined && isAccountUsable(state.record, s.clock.now()) ? state : null
}

/** The access token if it has not expired; an expired one is dropped. */
export const liveAccess = (s: MemoryDurableState, id: string): AccessTokenRecord | null => {
  const token = s.access.get(id)
  if (token === undefined) return null
  if (token.expiresAtMs > s.clock.now()) return token
  s.access.delete(id)
  return null
}

/** The refresh family if it has not expired; an expired one is dropped. */
export const liveFamily = (s: MemoryDurableState, id: string): FamilyState | null => {
  const family = s.families.get(id)
  if (family === undefined) return null
  if (family.record.expiresAtMs > s.clock.now()) return family
  s.families.delete(id)
  return null
}

/** Marks the family revoked and drops its access tokens. */
export const revokeFamily = (s: MemoryDurableState, family: FamilyState): void => {
  family.record.revokedAtMs = s.clock.now()
  for (const [id, token] of s.access) if (token.familyId === family.record.id) s.access.delete(id)
}

/** Removes the device with its auth mark, its access tokens and its refresh families; false if it was not there. */
export const revokeDevice = (s: MemoryDurableState, state: AccountState, deviceId: string): boolean => {
  if (!state.devices.delete(deviceId)) return false
  state.authMarks.delete(deviceId)
  const accountId = state.record.id
  for (const [id, token] of s.access) {
    if (token.accountId === accountId && token.deviceId === deviceId) s.access.delete(id)
  }
  for (const family of s.families.values()) {
    const { record } = family
    if (record.accountId === accountId && record.deviceId === deviceId && record.revokedAtMs === undefined) {
      revokeFamily(s, family)
    }
  }
  return true
}

/**
 * Room for one more device of the account under `max` (finding 62): at the cap, its devices with no
 * live refresh family (expired or revoked: they can never refresh again) are signed out, unless that
 * still leaves it at the cap; then nothing is changed and the answer is false.
 */
export const roomForDevice = (s: MemoryDurableState, state: AccountState, max: number): boolean => {
  if (state.devices.size < max) return true
  const now = s.clock.now()
  const live = new Set<string>()
  for (const { record } of s.families.values()) {
    if (record.accountId === state.record.id && record.revokedAtMs === undefined && record.expiresAtMs > now) live.add(record.deviceId)
  }
  const dead = [...state.devices.keys()].filter((id) => !live.has(id))
  if (state.devices.size - dead.length >= max) return false
  for (const id of dead) revokeDevice(s, state, id)
  return true
}
